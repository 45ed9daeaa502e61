"""The Alembic migrations build exactly the tables the models describe, on both databases."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from elevflow.engine.storage import schema
from elevflow.engine.storage.models import Base


def test_migrations_match_the_models(engine):
    with engine.db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], diff
    assert schema.is_current(engine)


def test_upgrading_again_changes_nothing(engine):
    schema.upgrade(engine)
    assert schema.is_current(engine)
