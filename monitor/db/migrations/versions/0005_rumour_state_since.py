"""rumours: the time a seeded state holds since, so older articles cannot move it

Revision ID: 0005
Revises: 0004
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on both backends: no table rebuild, so the views over rumours stay valid.
    # UTC without a zone, like every other time column (see UTCDateTime).
    op.add_column("rumours", sa.Column("state_since", sa.DateTime(), nullable=True))


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
    op.drop_column("rumours", "state_since")
    views.upgrade()
