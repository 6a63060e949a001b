"""Alembic environment: the engine comes from the caller (monitor.db.upgrade), not an ini file."""

from alembic import context
from sqlalchemy import Engine

from monitor.db.models import Base

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through `rumour-monitor init`, which passes the engine")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
