"""Alembic environment: runs the engine's migrations on the connection `engine.storage.schema` hands in."""
from alembic import context

from elevflow.engine.storage.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs the alembic command by hand
    from sqlalchemy import create_engine
    connection = create_engine(config.get_main_option("sqlalchemy.url") or "").connect()

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                  compare_type=True)
with context.begin_transaction():
    context.run_migrations()
