"""The SQLAlchemy store: SQLite by default, PostgreSQL at scale.

Core tables and explicit row conversion (``rows.py``); every write is a compare-and-set on
the version; lists are keyset pages; data scope and filters are part of the SQL so indexes
serve them; text search uses a trigram index (FTS5 on SQLite, pg_trgm on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Self, TypeVar

from sqlalchemy import Connection, Engine, bindparam, make_url, update

from crmkit.storage.catalog import CONTACTS
from crmkit.storage.ports import (
    AuditRepository,
    ContactRepository,
    CustomerRepository,
    DedupRepository,
    ImportRepository,
    NumberRepository,
    Repository,
    UserRepository,
)
from crmkit.storage.queues import EventRepository, JobRepository, OutboxRepository
from crmkit.storage.spec import EntitySpec
from crmkit.storage.sql import rows
from crmkit.storage.sql.audit import SqlAudit
from crmkit.storage.sql.common import id_chunks, one_of
from crmkit.storage.sql.contacts import SqlContacts
from crmkit.storage.sql.customers import SELECT_CUSTOMERS, SqlCustomers
from crmkit.storage.sql.dedup import SqlDedup
from crmkit.storage.sql.engine import build_engine
from crmkit.storage.sql.entities import SqlNumbers, SqlRepository
from crmkit.storage.sql.imports import SqlImports
from crmkit.storage.sql.migrate import upgrade_to_head
from crmkit.storage.sql.queues import SqlEvents, SqlJobs, SqlOutbox  # their tables too
from crmkit.storage.sql.tables import customers
from crmkit.storage.sql.users import SqlUsers
from crmkit.storage.textsearch import search_document

T = TypeVar("T")


class SqlStore:
    """A store in a SQL database reached through SQLAlchemy 2 (Core, no ORM).

    Opening a store creates its engine and migrates the database to the newest schema
    (Alembic, run in code with the migrations shipped in this package); nothing is created
    at import time. Close it with :meth:`close` (it disposes of the engine's pool).

    **SQLite** (``sqlite:///path/crm.db``): WAL journal, ``foreign_keys=ON``,
    ``busy_timeout`` 10 s. crmkit, not the ``sqlite3`` module, controls transactions: the
    module's legacy mode begins a transaction only before INSERT/UPDATE/DELETE, so a
    SAVEPOINT taken first escaped the transaction and DDL was not transactional. By default
    (``sqlite_begin="on_write"``) a unit of work reads in autocommit mode, each read seeing
    the latest commit (like READ COMMITTED on PostgreSQL), and its first write (or
    SAVEPOINT, or DDL) opens ``BEGIN IMMEDIATE``, which waits up to the busy timeout for the
    write lock and then holds it to commit. From the first write on, the unit of work is one
    serialized transaction. What this avoids: a ``BEGIN`` (deferred) transaction that has
    read cannot upgrade to a writer once another connection has committed, and SQLite
    fails that at once with "database is locked" (the busy timeout does not help); here the
    compare-and-set update instead sees the newer version and raises ``ConcurrencyError``.
    ``sqlite://`` is one in-memory database shared by every unit of work of the store
    (``StaticPool``: one connection), meant for tests; use it from one thread at a time.

    **PostgreSQL** (``postgresql+psycopg://user@host/db``): psycopg 3, READ COMMITTED (every
    write is a compare-and-set on the version, so it needs no more). The database user must
    be able to ``CREATE EXTENSION pg_trgm`` the first time (trusted since PostgreSQL 13), or
    an administrator creates it beforehand.

    Args:
        url: the database URL. ``sqlite://`` is in memory.
        schema: PostgreSQL only: keep every table (and Alembic's version table) in this
            schema, created if missing. Connections get ``search_path=<schema>,public``
            (``public`` is where ``pg_trgm`` lives). Without it, the URL's own
            ``?options=-csearch_path%3D...`` is honoured as it stands, so both ways work;
            ``schema=`` is the convenient one. Tests use it to give each run its own schema.
        migrate: bring the schema to head on open (default True). With False the database
            must already be at head.
        sqlite_begin: how SQLite transactions begin: ``"on_write"`` (the default, above),
            ``"immediate"`` (``BEGIN IMMEDIATE`` at the first statement: every unit of work,
            even a read-only one, is one serialized snapshot and holds the write lock; two
            open at once in one thread wait on each other) or ``"deferred"`` (``BEGIN`` at
            the first statement: consistent snapshots for reads, but a read-then-write unit
            of work fails with "database is locked" if another committed in between).
        **engine_options: passed on to ``sqlalchemy.create_engine`` (``echo``,
            ``pool_size``, ``connect_args``...).

    Raises:
        ValueError: ``schema`` is not a plain identifier, or given for SQLite.
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        migrate: bool = True,
        sqlite_begin: str = "on_write",
        **engine_options: Any,
    ) -> None:
        self.url = url
        self.schema = schema
        self.engine: Engine = build_engine(
            url, schema=schema, sqlite_begin=sqlite_begin, **engine_options
        )
        self.dialect_name: str = self.engine.dialect.name
        try:
            if schema is not None:
                self._create_schema(schema)
            if migrate:
                upgrade_to_head(self.engine)
        except BaseException:
            self.engine.dispose()
            raise

    def _create_schema(self, schema: str) -> None:
        with self.engine.begin() as conn:
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('crmkit.schema'))")
            conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')

    def unit_of_work(self) -> SqlUnitOfWork:
        """A new unit of work: one connection, one transaction."""
        return SqlUnitOfWork(self)

    def close(self) -> None:
        """Close every pooled connection. Units of work still open keep theirs."""
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"SqlStore({make_url(self.url).render_as_string(hide_password=True)!r})"

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A raw connection in a transaction (benchmarks, maintenance)."""
        with self.engine.begin() as conn:
            yield conn


def open_sql_store(url: str, **options: Any) -> SqlStore:
    """Entry point for the ``sqlite`` and ``postgresql`` URL schemes (``crmkit.storage``).

    Args:
        url: a SQLAlchemy URL.
        **options: as :class:`SqlStore` (``schema``, ``migrate``, ``sqlite_begin``, engine
            options).
    """
    return SqlStore(url, **options)


class SqlUnitOfWork:
    """One connection and one transaction; repositories run on that connection.

    The transaction begins with the first statement (on SQLite that is when the write lock
    is taken) and ends with :meth:`commit` or :meth:`rollback`; leaving the ``with`` block
    without committing rolls back. After ``commit()`` the unit of work may be used again:
    the next statement begins a new transaction.
    """

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.conn: Connection = store.engine.connect()
        self.dialect = store.dialect_name
        self._dirty_search: set[str] = set()
        self._repos: dict[str, SqlRepository[Any]] = {}
        self.numbers: NumberRepository = SqlNumbers(self)
        self.customers: CustomerRepository = SqlCustomers(self)
        self.sql_contacts = SqlContacts(self)
        self.contacts: ContactRepository = self.sql_contacts
        self._repos[CONTACTS.table] = self.sql_contacts  # ``repo(CONTACTS)`` is the same
        users = SqlUsers(self)
        self.users: UserRepository = users
        self._repos[users.spec.table] = users  # ``repo(USERS)`` is the same repository
        self.audit: AuditRepository = SqlAudit(self)
        self.dedup: DedupRepository = SqlDedup(self)
        self.imports: ImportRepository = SqlImports(self)
        self.events: EventRepository = SqlEvents(self)
        self.outbox: OutboxRepository = SqlOutbox(self)
        self.jobs: JobRepository = SqlJobs(self)

    def repo(self, spec: EntitySpec[T]) -> Repository[T]:
        """The generic repository of ``spec`` (one per table and unit of work)."""
        found = self._repos.get(spec.table)
        if found is None:
            found = self._repos[spec.table] = SqlRepository(self, spec)
        return found

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self.conn.in_transaction():
                self.rollback()
        finally:
            self.conn.close()

    def mark_search_dirty(self, customer_id: str) -> None:
        self._dirty_search.add(customer_id)

    def refresh_search(self) -> None:
        """Rewrite the search documents of customers whose contacts changed."""
        if not self._dirty_search:
            return
        ids = sorted(self._dirty_search)
        self._dirty_search.clear()
        conn = self.conn
        for chunk in id_chunks(conn, ids):
            found = conn.execute(SELECT_CUSTOMERS.where(one_of(conn, customers.c.id, chunk)))
            by_id = {r.id: rows.customer_from_row(r._mapping) for r in found}
            people = self.sql_contacts.for_customers(chunk)
            docs = [
                {"b_id": cid, "b_doc": search_document(customer, people.get(cid, []))}
                for cid, customer in by_id.items()
            ]
            if docs:
                self.conn.execute(
                    update(customers)
                    .where(customers.c.id == bindparam("b_id"))
                    .values(search_text=bindparam("b_doc")),
                    docs,
                )

    def commit(self) -> None:
        self.refresh_search()
        self.conn.commit()

    def rollback(self) -> None:
        self._dirty_search.clear()
        self.conn.rollback()
