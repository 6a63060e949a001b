"""installation: a random id per database, so two installations never share a Message-ID

Revision ID: 0006
Revises: 0005
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "installation",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_installation"),
    )
    # Made here, once: every database, new or upgraded, has exactly one row from now on.
    now = datetime.now(UTC).replace(tzinfo=None)  # UTC without a zone, like every time column
    op.bulk_insert(table, [{"id": uuid.uuid4().hex, "created_at": now}])


def downgrade() -> None:
    op.drop_table("installation")
