"""articles: count processing failures so a poison article is set aside

Revision ID: 0003
Revises: 0002
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on both backends: no table rebuild, so the views over articles stay valid.
    op.add_column(
        "articles",
        sa.Column("process_attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("articles", sa.Column("process_error", sa.Text(), nullable=True))


def _views() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "query_views", Path(__file__).with_name("0002_query_views.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def downgrade() -> None:
    # SQLite refuses DROP COLUMN on a table a view reads: set the views aside meanwhile.
    views = _views()
    views.downgrade()
    op.drop_column("articles", "process_error")
    op.drop_column("articles", "process_attempts")
    views.upgrade()
