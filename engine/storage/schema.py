"""Create or upgrade a database to the newest schema with Alembic."""
from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

if TYPE_CHECKING:  # for type hints only: core.Engine composes every layer
    from ..core import Engine


#: The Alembic scripts, package data of this package (read through importlib.resources, installed or not).
MIGRATIONS = Path(str(resources.files(__package__) / "migrations"))


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest revision (creating every table on an empty one).

    SQLite changes a column by rebuilding its table, which its foreign-key checks would refuse while
    other tables' rows refer to it: they are off for the upgrade (it can only be switched outside a
    transaction), every reference is checked before the commit, and they are on again after.
    """
    config = _config()
    with engine.db.write_engine.connect() as connection:
        raw = connection.connection.driver_connection if engine.db.dialect == "sqlite" else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                if raw is not None and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check")
                                        .all()):
                    raise RuntimeError(f"the upgrade would break references between tables: {broken[:5]}")
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")


def head_revision() -> str | None:
    """The newest revision the migrations know."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: it has no Elevflow tables)."""
    with engine.db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_current(engine: Engine) -> bool:
    """Whether the database is at the newest revision."""
    return current_revision(engine) == head_revision()
