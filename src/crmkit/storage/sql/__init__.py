"""SQL storage (SQLAlchemy 2 Core): SQLite by default, PostgreSQL at scale."""

from crmkit.storage.sql.store import SqlStore, SqlUnitOfWork, open_sql_store

__all__ = ["SqlStore", "SqlUnitOfWork", "open_sql_store"]
