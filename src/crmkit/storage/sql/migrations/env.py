"""Alembic environment: uses the connection crmkit passes in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from crmkit.storage.sql.migrate import include_name, include_object_for
from crmkit.storage.sql.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("crmkit migrations run through crmkit.storage.sql.migrate")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    include_name=include_name,
    include_object=include_object_for(connection.dialect.name),
)
with context.begin_transaction():
    context.run_migrations()
