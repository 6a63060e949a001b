"""sentence_embeddings: record when each cached vector was last used, so maintenance can prune

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on both backends: no rebuild of what may be the biggest table. SQLite
    # cannot add a NOT NULL column without a constant default, so it stays nullable; every
    # row has a value from here on (backfilled below, written on insert).
    op.add_column("sentence_embeddings", sa.Column("last_used_at", sa.DateTime(), nullable=True))
    # Until now only the creation time is known: count it as the last use.
    op.execute("UPDATE sentence_embeddings SET last_used_at = created_at")
    op.create_index("ix_sentence_embeddings_last_used_at", "sentence_embeddings", ["last_used_at"])


def downgrade() -> None:
    op.drop_index("ix_sentence_embeddings_last_used_at", table_name="sentence_embeddings")
    op.drop_column("sentence_embeddings", "last_used_at")
