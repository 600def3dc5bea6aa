"""Alembic, driven from code: the migrations ship inside the package."""

from __future__ import annotations

from collections.abc import Callable

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from crmkit.storage.sql.engine import begin_writing

SCRIPT_LOCATION = "crmkit.storage.sql:migrations"


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    """Leave out what Alembic cannot describe: the SQLite FTS5 table and its shadow tables,
    which the migration creates itself."""
    return not (type_ == "table" and name is not None and name.startswith("customer_fts"))


POSTGRES_ONLY_INDEXES = frozenset({"ix_customers_search_trgm"})


def include_object_for(dialect: str) -> Callable[..., bool]:
    """Alembic ``include_object`` hook: PostgreSQL-only indexes exist only there."""

    def include_object(_obj: object, name: str | None, type_: str, *_: object) -> bool:
        if type_ == "table" and name is not None and dialect == "sqlite":
            # Full-text side tables are FTS5 virtual tables there (storage/sql/fulltext.py)
            from crmkit.storage.sql.fulltext import is_sqlite_fulltext_table

            if is_sqlite_fulltext_table(name):
                return False
        return not (type_ == "index" and name in POSTGRES_ONLY_INDEXES and dialect != "postgresql")

    return include_object


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


def upgrade_to_head(engine: Engine) -> None:
    """Bring the database behind ``engine`` to the newest schema (idempotent).

    Runs in one transaction. Concurrent openers of a fresh database wait for each other
    instead of racing to create the same tables: SQLite through the write lock its
    ``BEGIN IMMEDIATE`` takes (see ``store``), PostgreSQL through an advisory lock per
    schema, after which the second opener finds the schema at head and does nothing.
    """
    config = alembic_config()
    with engine.begin() as connection:
        begin_writing(connection)  # SQLite: hold the write lock before reading the version
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(
                "SELECT pg_advisory_xact_lock("
                "hashtext('crmkit.migrate:' || coalesce(current_schema(), '')))"
            )
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
