"""verdicts: the reader's verdicts judged ahead by model workers in distributed mode, for the
one ordered reading job to find

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from monitor.db.models import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "verdicts",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("verdict", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_verdicts")),
    )
    op.create_index("ix_verdicts_created_at", "verdicts", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_verdicts_created_at", table_name="verdicts")
    op.drop_table("verdicts")
