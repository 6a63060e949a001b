"""views for querying: rumour_status and rumour_timeline

Plain SQL that SQLite and PostgreSQL both accept, so `sqlite3` and `psql` users see the same
columns. Views hold no data: dropping and re-creating them is always safe.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One row per rumour; the last transition is the latest by time, then by id (two transitions
# can share an article's published time).
RUMOUR_STATUS = """
CREATE VIEW rumour_status AS
SELECT
    r.id AS id,
    r.claim AS claim,
    r.state AS state,
    r.confidence AS confidence,
    r.active AS active,
    (SELECT COUNT(*) FROM evidence e WHERE e.rumour_id = r.id) AS evidence_count,
    (SELECT MAX(e.at) FROM evidence e WHERE e.rumour_id = r.id) AS last_evidence_at,
    (SELECT COUNT(*) FROM transitions tc WHERE tc.rumour_id = r.id) AS transition_count,
    t.from_state AS last_from_state,
    t.to_state AS last_to_state,
    t.at AS last_transition_at,
    t.signal AS last_signal,
    t.sentence AS last_sentence,
    a.url AS last_url,
    r.updated_at AS updated_at
FROM rumours r
LEFT JOIN transitions t ON t.id = (
    SELECT t2.id FROM transitions t2
    WHERE t2.rumour_id = r.id
    ORDER BY t2.at DESC, t2.id DESC
    LIMIT 1
)
LEFT JOIN articles a ON a.id = t.article_id
"""

# Transitions and evidence in one stream. Evidence sorts before the transition it caused
# ('evidence' < 'transition' at the same time); the view's own order is a convenience: add
# ORDER BY at, kind, row_id when filtering or joining.
RUMOUR_TIMELINE = """
CREATE VIEW rumour_timeline AS
SELECT
    'transition' AS kind,
    t.rumour_id AS rumour_id,
    t.at AS at,
    t.from_state AS from_state,
    t.to_state AS to_state,
    CAST(NULL AS VARCHAR(20)) AS stance,
    t.signal AS signal,
    t.confidence_before AS confidence_before,
    t.confidence_after AS confidence_after,
    t.sentence AS sentence,
    a.url AS url,
    a.title AS title,
    a.source AS source,
    t.id AS row_id
FROM transitions t
LEFT JOIN articles a ON a.id = t.article_id
UNION ALL
SELECT
    'evidence' AS kind,
    e.rumour_id AS rumour_id,
    e.at AS at,
    CAST(NULL AS VARCHAR(20)) AS from_state,
    CAST(NULL AS VARCHAR(20)) AS to_state,
    e.stance AS stance,
    e.signal AS signal,
    e.confidence_before AS confidence_before,
    e.confidence_after AS confidence_after,
    e.sentence AS sentence,
    a.url AS url,
    a.title AS title,
    a.source AS source,
    e.id AS row_id
FROM evidence e
LEFT JOIN articles a ON a.id = e.article_id
ORDER BY at, kind, row_id
"""


def upgrade() -> None:
    op.execute(RUMOUR_STATUS)
    op.execute(RUMOUR_TIMELINE)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS rumour_timeline")
    op.execute("DROP VIEW IF EXISTS rumour_status")
