"""views: times with their zone (UTC), so a reader of rumour_status/rumour_timeline never guesses

The tables keep UTC without a zone (SQLite has no zoned type; see UTCDateTime). The views now
say so in their values: on PostgreSQL the time columns are `timestamp with time zone`, on
SQLite ISO 8601 text with the offset, `2021-09-06T12:00:00+00:00`, the form every `--json`
prints. The columns and their order are those of revision 0002.

A later migration that must set the views aside (SQLite refuses to alter a table a view reads)
drops them and re-creates them with this module's `create_views()`, not 0002's.

Revision ID: 0007
Revises: 0006
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUMOUR_STATUS = """
CREATE VIEW rumour_status AS
SELECT
    r.id AS id,
    r.claim AS claim,
    r.state AS state,
    r.confidence AS confidence,
    r.active AS active,
    (SELECT COUNT(*) FROM evidence e WHERE e.rumour_id = r.id) AS evidence_count,
    {last_evidence_at} AS last_evidence_at,
    (SELECT COUNT(*) FROM transitions tc WHERE tc.rumour_id = r.id) AS transition_count,
    t.from_state AS last_from_state,
    t.to_state AS last_to_state,
    {last_transition_at} AS last_transition_at,
    t.signal AS last_signal,
    t.sentence AS last_sentence,
    a.url AS last_url,
    {updated_at} AS updated_at
FROM rumours r
LEFT JOIN transitions t ON t.id = (
    SELECT t2.id FROM transitions t2
    WHERE t2.rumour_id = r.id
    ORDER BY t2.at DESC, t2.id DESC
    LIMIT 1
)
LEFT JOIN articles a ON a.id = t.article_id
"""

RUMOUR_TIMELINE = """
CREATE VIEW rumour_timeline AS
SELECT
    'transition' AS kind,
    t.rumour_id AS rumour_id,
    {transition_at} AS at,
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
    {evidence_at} AS at,
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


def zoned(expression: str, dialect: str) -> str:
    """A stored UTC time (no zone) as a time with its zone, in the dialect's own way."""
    if dialect == "sqlite":
        # Same length for every row, so text order is time order (and ORDER BY at still works).
        return f"strftime('%Y-%m-%dT%H:%M:%S+00:00', {expression})"
    return f"(({expression}) AT TIME ZONE 'UTC')"


def create_views() -> None:
    dialect = op.get_bind().dialect.name
    op.execute(
        RUMOUR_STATUS.format(
            last_evidence_at=zoned(
                "(SELECT MAX(e.at) FROM evidence e WHERE e.rumour_id = r.id)", dialect
            ),
            last_transition_at=zoned("t.at", dialect),
            updated_at=zoned("r.updated_at", dialect),
        )
    )
    op.execute(
        RUMOUR_TIMELINE.format(
            transition_at=zoned("t.at", dialect), evidence_at=zoned("e.at", dialect)
        )
    )


def drop_views() -> None:
    op.execute("DROP VIEW IF EXISTS rumour_timeline")
    op.execute("DROP VIEW IF EXISTS rumour_status")


def _first_views() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "query_views", Path(__file__).with_name("0002_query_views.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    drop_views()
    create_views()


def downgrade() -> None:
    drop_views()
    _first_views().upgrade()
