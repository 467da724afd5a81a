"""Run Alembic migrations on the platform database and on brand databases."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _config(kind: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS / kind))
    return config


def head_revision(kind: str) -> str:
    return ScriptDirectory.from_config(_config(kind)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, kind: str, revision: str = "head") -> None:
    """Upgrade the ``kind`` ("platform" or "brand") database behind ``engine``."""
    config = _config(kind)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def autogenerate(engine: Engine, kind: str, message: str) -> None:
    """Write a new revision from the models' difference to ``engine`` (for developers)."""
    config = _config(kind)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
