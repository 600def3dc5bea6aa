"""Alembic environment: uses the connection crmkit passes in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from crmkit.storage.sql.tables import metadata


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    # The SQLite FTS5 table and its shadow tables are managed by the migration itself.
    return not (type_ == "table" and name is not None and name.startswith("customer_fts"))


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("crmkit migrations run through crmkit.storage.sql.migrate")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()
