"""Alembic, driven from code: the migrations ship inside the package."""

from __future__ import annotations

from collections.abc import Callable

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

SCRIPT_LOCATION = "crmkit.storage.sql:migrations"


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    """Leave out what Alembic cannot describe: the SQLite FTS5 table and its shadow tables,
    which the migration creates itself."""
    return not (type_ == "table" and name is not None and name.startswith("customer_fts"))


POSTGRES_ONLY_INDEXES = frozenset({"ix_customers_search_trgm"})


def include_object_for(dialect: str) -> Callable[..., bool]:
    """Alembic ``include_object`` hook: PostgreSQL-only indexes exist only there."""

    def include_object(_obj: object, name: str | None, type_: str, *_: object) -> bool:
        return not (type_ == "index" and name in POSTGRES_ONLY_INDEXES and dialect != "postgresql")

    return include_object


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


def upgrade_to_head(engine: Engine) -> None:
    """Bring the database behind ``engine`` to the newest schema (idempotent)."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
