"""the trained reader: which reader judged each evidence row, how sure it was, who spoke on
record; and whether a rumour's entities were derived from its claim

Revision ID: 0009
Revises: 0008
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on both backends: no table rebuild, so the views stay valid. Older
    # evidence keeps NULLs: the rules judged it, and nobody recorded how sure they were.
    op.add_column("evidence", sa.Column("probability", sa.Float(), nullable=True))
    op.add_column("evidence", sa.Column("on_record", sa.Text(), nullable=True))
    op.add_column("evidence", sa.Column("reader", sa.String(80), nullable=True))
    # Existing rumours were gated on all their entities: keep that until `init` re-reads the
    # seeds and marks the derived ones.
    op.add_column(
        "rumours",
        sa.Column("entities_derived", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def _views() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "zoned_views", Path(__file__).with_name("0007_views_with_zone.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def downgrade() -> None:
    # SQLite refuses DROP COLUMN on a table a view reads: set the views aside meanwhile.
    views = _views()
    views.drop_views()
    op.drop_column("rumours", "entities_derived")
    for column in ("reader", "on_record", "probability"):
        op.drop_column("evidence", column)
    views.create_views()
