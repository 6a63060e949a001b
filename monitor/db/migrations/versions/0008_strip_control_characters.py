"""text from the web: drop control characters stored before the monitor cleaned text on entry

From this version on, titles, article text, feed errors and sentences are cleaned as they are
written (monitor.db.models.CleanText); this cleans what older versions stored, so an old
headline holding "\\x1b[2J" cannot clear the screen of whoever reads it later.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from monitor.controls import strip_controls

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Feed names are left alone: they come from config.toml, which now refuses control characters.
COLUMNS = {
    "feeds": ("url", "disabled_reason", "last_error"),
    "articles": ("url", "source", "title", "text", "author", "site", "process_error"),
    "evidence": ("sentence",),
    "transitions": ("sentence",),
    "alerts": ("last_error",),
}
BATCH = 500


def _clean(table_name: str, columns: tuple[str, ...]) -> None:
    bind = op.get_bind()
    table = sa.table(table_name, sa.column("id", sa.Integer), *(sa.column(c) for c in columns))
    last = 0
    while True:
        rows = bind.execute(
            sa.select(table).where(table.c.id > last).order_by(table.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        for row in rows:
            changed = {
                column: strip_controls(value)
                for column, value in zip(columns, row[1:], strict=True)
                if isinstance(value, str) and strip_controls(value) != value
            }
            if changed:
                bind.execute(sa.update(table).where(table.c.id == row.id).values(**changed))
        last = rows[-1].id


def upgrade() -> None:
    for table_name, columns in COLUMNS.items():
        _clean(table_name, columns)


def downgrade() -> None:
    pass  # the characters are gone for good, and no version needs them back
