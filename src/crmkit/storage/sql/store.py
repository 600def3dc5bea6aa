"""The SQLAlchemy store: SQLite by default, PostgreSQL at scale.

Core tables and explicit row conversion (``rows.py``); every write is a compare-and-set on
the version; lists are keyset pages; data scope and filters are part of the SQL so indexes
serve them; text search uses a trigram index (FTS5 on SQLite, pg_trgm on PostgreSQL).
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any, NoReturn, Self, TypeVar

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Connection,
    Engine,
    bindparam,
    column,
    delete,
    func,
    insert,
    literal,
    literal_column,
    make_url,
    or_,
    select,
    text,
    union,
    update,
)
from sqlalchemy.exc import IntegrityError

from crmkit.domain.audit import AuditEntry
from crmkit.domain.contact import Contact
from crmkit.domain.customer import Customer
from crmkit.domain.errors import FieldError, NotFound, ValidationError
from crmkit.domain.user import Credentials, User
from crmkit.storage.ports import (
    EVERYTHING,
    AuditQuery,
    AuditRepository,
    ContactQuery,
    ContactRepository,
    CoOwnershipRepository,
    CustomerQuery,
    CustomerRepository,
    DedupRepository,
    Deleted,
    ImportRepository,
    NumberRepository,
    Page,
    Repository,
    Scope,
    Summary,
    UserQuery,
    UserRepository,
)
from crmkit.storage.queues import EventRepository, JobRepository, OutboxRepository
from crmkit.storage.spec import EntitySpec
from crmkit.storage.sql import rows
from crmkit.storage.sql.common import (
    bulk_columns,
    cas_update,
    chunks,
    id_chunks,
    insert_many,
    one_of,
    page,
    raise_taken,
)
from crmkit.storage.sql.dedup import SqlDedup, SqlImports, SqlRequests
from crmkit.storage.sql.engine import build_engine
from crmkit.storage.sql.entities import SqlNumbers, SqlRepository
from crmkit.storage.sql.migrate import upgrade_to_head
from crmkit.storage.sql.queues import SqlEvents, SqlJobs, SqlOutbox  # their tables too
from crmkit.storage.sql.search import customer_text_clause, like_escape, prefix
from crmkit.storage.sql.tables import (
    SQLITE_FTS_TABLE,
    audit_log,
    contacts,
    customer_co_owners,
    customer_tags,
    customers,
    user_credentials,
    users,
)
from crmkit.storage.textsearch import normalize_query, search_document

T = TypeVar("T")

# Customer rows are read as plain driver values (no SQLAlchemy type processing) and decoded
# once in ``rows.customer_from_row``: half the cost of a page of 50 at a million rows.
READ: list[ColumnClause[Any]] = [
    column(c.name)
    for c in customers.columns
    if c.name not in ("search_text", "name_key", "province_code", "city_code")
]
# Built once: select(*READ) coerces 32 columns, which costs more than the query on a page.
SELECT_CUSTOMERS = select(*READ).select_from(customers)
# Untyped like READ: a scan reads hundreds of thousands of these.
# Co-owners as text on PostgreSQL too: the empty list most customers hold skips the
# parser (rows._ids).
_SUMMARY, _SUMMARY_PG = bulk_columns(
    "id", "name", "owner_id", "co_owner_ids", "created_at", "deleted_at", json="co_owner_ids"
)
SELECT_SUMMARIES = select(*_SUMMARY).select_from(customers)
SELECT_SUMMARIES_PG = select(*_SUMMARY_PG).select_from(customers)
# New customers' search documents into SQLite's FTS5 index (updates and deletes keep it in
# step by trigger: see search.py).
_INDEX_NEW = text(
    f"INSERT INTO {SQLITE_FTS_TABLE}(rowid, search_text) "
    "SELECT seq, search_text FROM customers WHERE id IN :ids"
).bindparams(bindparam("ids", expanding=True))
SELECT_SHARED_CUSTOMERS = select(*READ).select_from(
    customer_co_owners.join(customers, customers.c.id == customer_co_owners.c.customer_id)
)


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
        self.users: UserRepository = SqlUsers(self)
        self.audit: AuditRepository = SqlAudit(self)
        self.dedup: DedupRepository = SqlDedup(self)
        self.co_ownership: CoOwnershipRepository = SqlRequests(self)
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
            people: dict[str, builtins.list[Contact]] = {}
            for r in conn.execute(
                select(contacts)
                .where(one_of(conn, contacts.c.customer_id, chunk), contacts.c.deleted_at.is_(None))
                .order_by(contacts.c.seq)
            ):
                people.setdefault(r.customer_id, []).append(rows.contact_from_row(r._mapping))
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


# -- shared query pieces -------------------------------------------------------------------
def _deleted_clause(column: Any, mode: Deleted) -> ColumnElement[bool] | None:
    if mode == Deleted.ONLY:
        return column.is_not(None)  # type: ignore[no-any-return]
    if mode == Deleted.INCLUDE:
        return None
    return column.is_(None)  # type: ignore[no-any-return]


def _scope_clause(scope: Scope) -> ColumnElement[bool] | None:
    """Owned or co-owned by someone in the scope.

    Written as ``seq IN (owned UNION ALL shared)`` rather than ``owner IN … OR id IN …``:
    both halves are then index-only lookups and the planner walks the result in keyset order
    instead of sorting every visible customer (10× faster for a salesperson at 1M rows).
    """
    if scope.owner_ids is None:
        return None
    ids = sorted(scope.owner_ids)
    inner = customers.alias("scoped")
    owned = select(inner.c.seq).where(inner.c.owner_id.in_(ids))
    shared = (
        select(inner.c.seq)
        .select_from(customer_co_owners.join(inner, inner.c.id == customer_co_owners.c.customer_id))
        .where(customer_co_owners.c.user_id.in_(ids))
    )
    return customers.c.seq.in_(owned.union_all(shared))


def _code_range(code: str) -> ColumnElement[bool]:
    """A region code and everything inside it, as an indexed equality."""
    if code.endswith("0000"):
        return customers.c.province_code == code[:2]
    if code.endswith("00"):
        return customers.c.city_code == code[:4]
    return customers.c.region_code == code


# -- customers -----------------------------------------------------------------------------
class SqlCustomers:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self._conn = uow.conn

    def _live_contacts(self, customer_id: str) -> builtins.list[Contact]:
        return [
            rows.contact_from_row(r._mapping)
            for r in self._conn.execute(
                select(contacts)
                .where(contacts.c.customer_id == customer_id, contacts.c.deleted_at.is_(None))
                .order_by(contacts.c.seq)
            )
        ]

    def _side_rows(self, batch: Sequence[Customer]) -> None:
        owners = [{"customer_id": c.id, "user_id": u} for c in batch for u in c.co_owner_ids]
        tags = [{"customer_id": c.id, "tag": t} for c in batch for t in c.tags]
        insert_many(self._conn, customer_co_owners, owners)
        insert_many(self._conn, customer_tags, tags)

    def add(self, customer: Customer) -> None:
        self.add_many([customer])

    def add_many(self, batch: Sequence[Customer], *, contacts: Sequence[Contact] = ()) -> None:
        """One multi-row INSERT per table (insertmanyvalues): customers, co-owners, tags,
        and the contacts given with them.

        A new customer's search document is its own name and phones plus those of the
        contacts given with it; SQLite's FTS5 index takes the batch's documents in one
        ``INSERT … SELECT`` (half the work of a trigger's statement per row), PostgreSQL
        indexes them with the rows. A taken id raises
        ``ConcurrencyError(expected=0)``, like a stale update: someone else created it first.
        """
        if not batch:
            self._uow.contacts.add_many(contacts)
            return
        people: dict[str, builtins.list[Contact]] = {}
        for contact in contacts:
            people.setdefault(contact.customer_id, []).append(contact)
        values = [rows.customer_row(c, search_document(c, people.get(c.id, ()))) for c in batch]
        try:
            with self._conn.begin_nested():  # so the check below can still run on PostgreSQL
                insert_many(self._conn, customers, values)
        except IntegrityError as exc:
            raise_taken(self._conn, customers, "customer", [c.id for c in batch], exc)
        if self._uow.dialect == "sqlite":
            for chunk in chunks([c.id for c in batch]):
                self._conn.execute(_INDEX_NEW, {"ids": list(chunk)})
        self._side_rows(batch)
        new = {c.id for c in batch}
        self._uow.sql_contacts.insert(
            contacts, refresh=[c for c in contacts if c.customer_id not in new]
        )

    def get(self, id: str, scope: Scope = EVERYTHING) -> Customer | None:
        stmt = SELECT_CUSTOMERS.where(customers.c.id == id)
        clause = _scope_clause(scope)
        if clause is not None:
            stmt = stmt.where(clause)
        row = self._conn.execute(stmt).first()
        return rows.customer_from_row(row._mapping) if row else None

    def get_many(self, ids: Sequence[str], scope: Scope = EVERYTHING) -> builtins.list[Customer]:
        out: builtins.list[Customer] = []
        clause = _scope_clause(scope)
        conn = self._conn
        for chunk in id_chunks(conn, list(dict.fromkeys(ids))):
            stmt = SELECT_CUSTOMERS.where(one_of(conn, customers.c.id, chunk))
            if clause is not None:
                stmt = stmt.where(clause)
            out.extend(rows.customer_from_row(r._mapping) for r in conn.execute(stmt))
        return out

    def summaries(self, ids: Sequence[str]) -> builtins.list[Summary]:
        c = customers.c
        out: builtins.list[Summary] = []
        conn = self._conn
        query = SELECT_SUMMARIES_PG if conn.dialect.name == "postgresql" else SELECT_SUMMARIES
        for chunk in id_chunks(conn, list(dict.fromkeys(ids))):
            stmt = query.where(one_of(conn, c.id, chunk))
            out.extend(map(rows.summary_from_row, conn.execute(stmt)))
        return out

    def update(self, customer: Customer, expected_version: int) -> None:
        """Compare-and-set on the version; rewrites co-owners, tags and the search text."""
        self._uow.refresh_search()
        doc = search_document(customer, self._live_contacts(customer.id))
        cas_update(
            self._uow, customers, "customer", rows.customer_row(customer, doc), expected_version
        )
        self._conn.execute(
            delete(customer_co_owners).where(customer_co_owners.c.customer_id == customer.id)
        )
        self._conn.execute(delete(customer_tags).where(customer_tags.c.customer_id == customer.id))
        self._side_rows([customer])

    def _where(self, query: CustomerQuery, scope: Scope) -> builtins.list[ColumnElement[bool]]:
        c = customers.c
        where: builtins.list[ColumnElement[bool]] = []
        for clause in (_deleted_clause(c.deleted_at, query.deleted), _scope_clause(scope)):
            if clause is not None:
                where.append(clause)
        equals = (
            (c.owner_id, query.owner_id),
            (c.category, query.category.value if query.category else None),
            (c.kind, query.kind.value if query.kind else None),
            (c.channel_type, query.channel_type.value if query.channel_type else None),
            (c.source, query.source),
            (c.industry, query.industry),
            (c.parent_id, query.parent_id),
        )
        where.extend(col == value for col, value in equals if value is not None)
        if query.region:
            where.append(_code_range(query.region))
        if query.tag is not None:
            where.append(
                c.id.in_(
                    select(customer_tags.c.customer_id).where(customer_tags.c.tag == query.tag)
                )
            )
        if query.created_from is not None:
            where.append(c.created_at >= query.created_from)
        if query.created_to is not None:
            where.append(c.created_at < query.created_to)
        if query.deleted_before is not None:
            where.append(c.deleted_at < query.deleted_before)
        if query.related_to is not None:
            # Merges only: no index on the JSON list, a scan is acceptable there.
            if self._uow.dialect == "postgresql":
                sql = "customers.related_customer_ids @> CAST(:related_to AS jsonb)"
                value = json.dumps([query.related_to])
            else:
                sql = (
                    "EXISTS (SELECT 1 FROM json_each(customers.related_customer_ids) "
                    "WHERE json_each.value = :related_to)"
                )
                value = query.related_to
            related: Any = text(sql).bindparams(related_to=value)
            where.append(related)
        if query.text:
            clause = customer_text_clause(self._uow.dialect, query.text)
            if clause is not None:
                where.append(clause)
        return where

    def list(
        self, query: CustomerQuery, scope: Scope, *, after: str | None, limit: int
    ) -> Page[Customer]:
        self._uow.refresh_search()  # contact changes of this unit of work are searchable
        if scope.owner_ids is None:
            stmt = SELECT_CUSTOMERS.where(*self._where(query, scope))
            return page(
                self._conn, stmt, customers.c.seq, after, limit, True, rows.customer_from_row
            )
        return self._scoped_page(query, scope.owner_ids, after, limit)

    def _scoped_page(
        self, query: CustomerQuery, owner_ids: frozenset[str], after: str | None, limit: int
    ) -> Page[Customer]:
        """A scoped page as the union of two keyset walks, owned and co-owned.

        Each walk follows an index in keyset order and stops after ``limit + 1`` rows, so a
        salesperson's page reads about two pages of rows however large the table is, instead
        of collecting every visible customer and sorting them.
        """
        ids = sorted(owner_ids)
        where = self._where(query, EVERYTHING)
        if after is not None:
            where.append(customers.c.seq < int(after))
        seq = customers.c.seq
        owned = (
            SELECT_CUSTOMERS.where(customers.c.owner_id.in_(ids), *where)
            .order_by(seq.desc())
            .limit(limit + 1)
        )
        shared = (
            SELECT_SHARED_CUSTOMERS.where(customer_co_owners.c.user_id.in_(ids), *where)
            .order_by(seq.desc())
            .limit(limit + 1)
        )
        # SQLite allows ORDER BY / LIMIT in a compound member only inside a subquery. The
        # wrappers select "*" so SQLAlchemy need not build column proxies for 30 columns
        # three times over (that alone cost 2.5 ms a page).
        star: ColumnClause[Any] = literal_column("*")
        both = union(
            select(star).select_from(owned.subquery()),
            select(star).select_from(shared.subquery()),
        ).subquery()
        stmt = (
            select(star).select_from(both).order_by(literal_column("seq").desc()).limit(limit + 1)
        )
        fetched = self._conn.execute(stmt).all()
        more = len(fetched) > limit
        fetched = fetched[:limit]
        items = tuple(rows.customer_from_row(r._mapping) for r in fetched)
        return Page(items, str(fetched[-1].seq) if more and fetched else None)

    def count(self, query: CustomerQuery, scope: Scope, *, cap: int | None = None) -> int:
        self._uow.refresh_search()
        inner = select(literal(1)).select_from(customers).where(*self._where(query, scope))
        if cap is not None:
            inner = inner.limit(cap)
        n = self._conn.execute(select(func.count()).select_from(inner.subquery())).scalar_one()
        return int(n)

    def find_by_keys(
        self, *, name_keys: Sequence[str] = (), phones: Sequence[str] = ()
    ) -> builtins.list[Customer]:
        found: dict[str, Customer] = {}
        c = customers.c
        conn = self._conn
        queries = [
            *((c.name_key, chunk) for chunk in id_chunks(conn, list(name_keys))),
            *((c.mobile, chunk) for chunk in id_chunks(conn, list(phones))),
            *((c.phone, chunk) for chunk in id_chunks(conn, list(phones))),
        ]
        for col, chunk in queries:
            stmt = SELECT_CUSTOMERS.where(one_of(conn, col, chunk), c.deleted_at.is_(None))
            for r in conn.execute(stmt):
                found.setdefault(r.id, rows.customer_from_row(r._mapping))
        return list(found.values())

    def purge(self, ids: Sequence[str]) -> None:
        for chunk in chunks(list(ids)):
            self._conn.execute(delete(contacts).where(contacts.c.customer_id.in_(chunk)))
            self._conn.execute(
                delete(customer_co_owners).where(customer_co_owners.c.customer_id.in_(chunk))
            )
            self._conn.execute(delete(customer_tags).where(customer_tags.c.customer_id.in_(chunk)))
            self._conn.execute(delete(customers).where(customers.c.id.in_(chunk)))


# -- contacts ------------------------------------------------------------------------------
class SqlContacts:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self._conn = uow.conn

    def _scoped(self, stmt: Any, scope: Scope) -> Any:
        clause = _scope_clause(scope)
        if clause is None:
            return stmt
        visible = select(customers.c.id).where(clause)
        return stmt.where(contacts.c.customer_id.in_(visible))

    def add(self, contact: Contact) -> None:
        self.add_many([contact])

    def add_many(self, batch: Sequence[Contact]) -> None:
        self.insert(batch, refresh=batch)

    def insert(self, batch: Sequence[Contact], *, refresh: Sequence[Contact]) -> None:
        """Insert contacts; the search documents of ``refresh``'s customers are rewritten
        at flush (those of customers inserted with them already hold them)."""
        if not batch:
            return
        try:
            with self._conn.begin_nested():
                insert_many(self._conn, contacts, [rows.contact_row(c) for c in batch])
        except IntegrityError as exc:
            wanted = sorted({c.customer_id for c in batch})
            known = set(
                self._conn.execute(
                    select(customers.c.id).where(customers.c.id.in_(wanted))
                ).scalars()
            )
            for customer_id in wanted:
                if customer_id not in known:
                    raise NotFound("customer", customer_id) from exc
            raise_taken(self._conn, contacts, "contact", [c.id for c in batch], exc)
        for c in refresh:
            self._uow.mark_search_dirty(c.customer_id)

    def get(self, id: str, scope: Scope = EVERYTHING) -> Contact | None:
        row = self._conn.execute(
            self._scoped(select(contacts).where(contacts.c.id == id), scope)
        ).first()
        return rows.contact_from_row(row._mapping) if row else None

    def summaries(self, ids: Sequence[str]) -> builtins.list[Summary]:
        c, parent = contacts.c, customers.c
        out: builtins.list[Summary] = []
        conn = self._conn
        for chunk in id_chunks(conn, list(dict.fromkeys(ids))):
            stmt = (
                select(c.id, c.name, parent.owner_id, parent.co_owner_ids)
                .add_columns(c.created_at, c.deleted_at)
                .select_from(contacts.outerjoin(customers, parent.id == c.customer_id))
                .where(one_of(conn, c.id, chunk))
            )
            out.extend(map(rows.summary_from_row, conn.execute(stmt)))
        return out

    def update(self, contact: Contact, expected_version: int) -> None:
        old = self._conn.execute(
            select(contacts.c.customer_id).where(contacts.c.id == contact.id)
        ).scalar()
        cas_update(self._uow, contacts, "contact", rows.contact_row(contact), expected_version)
        self._uow.mark_search_dirty(contact.customer_id)
        if old is not None and old != contact.customer_id:
            self._uow.mark_search_dirty(old)

    def list(
        self, query: ContactQuery, scope: Scope, *, after: str | None, limit: int
    ) -> Page[Contact]:
        stmt = select(contacts)
        clause = _deleted_clause(contacts.c.deleted_at, query.deleted)
        if clause is not None:
            stmt = stmt.where(clause)
        if query.customer_id is not None:
            stmt = stmt.where(contacts.c.customer_id == query.customer_id)
        if query.surname_letter is not None:
            stmt = stmt.where(contacts.c.surname_letter == query.surname_letter)
        if query.text:
            q = f"%{like_escape(normalize_query(query.text))}%"
            stmt = stmt.where(
                or_(
                    contacts.c.name_key.like(q, escape="\\"),
                    contacts.c.mobile.like(q, escape="\\"),
                    contacts.c.phone.like(q, escape="\\"),
                )
            )
        stmt = self._scoped(stmt, scope)
        return page(self._conn, stmt, contacts.c.seq, after, limit, False, rows.contact_from_row)

    def for_customer(
        self, customer_id: str, *, include_deleted: bool = False
    ) -> builtins.list[Contact]:
        stmt = select(contacts).where(contacts.c.customer_id == customer_id)
        if not include_deleted:
            stmt = stmt.where(contacts.c.deleted_at.is_(None))
        return [
            rows.contact_from_row(r._mapping)
            for r in self._conn.execute(stmt.order_by(contacts.c.seq))
        ]

    def for_customers(self, customer_ids: Sequence[str]) -> dict[str, builtins.list[Contact]]:
        out: dict[str, builtins.list[Contact]] = {}
        conn = self._conn
        for chunk in id_chunks(conn, list(dict.fromkeys(customer_ids))):
            stmt = (
                select(contacts)
                .where(one_of(conn, contacts.c.customer_id, chunk), contacts.c.deleted_at.is_(None))
                .order_by(contacts.c.seq)
            )
            for r in conn.execute(stmt):
                contact = rows.contact_from_row(r._mapping)
                out.setdefault(contact.customer_id, []).append(contact)
        return out

    def surname_index(self, scope: Scope) -> dict[str, int]:
        stmt = self._scoped(
            select(contacts.c.surname_letter, func.count())
            .where(contacts.c.deleted_at.is_(None))
            .group_by(contacts.c.surname_letter),
            scope,
        )
        return dict(sorted((r[0], int(r[1])) for r in self._conn.execute(stmt)))

    def purge(self, ids: Sequence[str]) -> None:
        for chunk in chunks(list(ids)):
            owners = self._conn.execute(
                select(contacts.c.customer_id).where(contacts.c.id.in_(chunk))
            ).scalars()
            for cid in owners:
                self._uow.mark_search_dirty(cid)
            self._conn.execute(delete(contacts).where(contacts.c.id.in_(chunk)))


# -- users ---------------------------------------------------------------------------------
def _login_taken(login: str) -> ValidationError:
    return ValidationError([FieldError("login", "user.login_taken", login)])


class SqlUsers:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self._conn = uow.conn

    def add(self, user: User) -> None:
        # A unique login is checked by the workflow first; the constraint catches a race.
        try:
            with self._conn.begin_nested():
                self._conn.execute(insert(users).values(**rows.user_row(user)))
        except IntegrityError as exc:
            self._explain(user, exc)

    def get(self, id: str) -> User | None:
        row = self._conn.execute(select(users).where(users.c.id == id)).first()
        return rows.user_from_row(row._mapping) if row else None

    def get_by_login(self, login: str) -> User | None:
        row = self._conn.execute(select(users).where(users.c.login == login)).first()
        return rows.user_from_row(row._mapping) if row else None

    def update(self, user: User, expected_version: int) -> None:
        try:
            with self._conn.begin_nested():
                cas_update(self._uow, users, "user", rows.user_row(user), expected_version)
        except IntegrityError as exc:
            self._explain(user, exc)

    def _explain(self, user: User, exc: IntegrityError) -> NoReturn:
        """Translate a constraint violation on users (httpx's ``map_exceptions`` habit)."""
        holder = self._conn.execute(select(users.c.id).where(users.c.login == user.login)).scalar()
        if holder is not None and holder != user.id:
            raise _login_taken(user.login) from exc
        raise_taken(self._conn, users, "user", [user.id], exc)

    def list(self, query: UserQuery, *, after: str | None, limit: int) -> Page[User]:
        stmt = select(users)
        clause = _deleted_clause(users.c.deleted_at, query.deleted)
        if clause is not None:
            stmt = stmt.where(clause)
        if query.role is not None:
            stmt = stmt.where(users.c.role == query.role.value)
        if query.manager_id is not None:
            stmt = stmt.where(users.c.manager_id == query.manager_id)
        if query.active is not None:
            stmt = stmt.where(users.c.active == query.active)
        if query.text:
            q = f"%{like_escape(query.text.casefold())}%"
            stmt = stmt.where(
                or_(
                    func.lower(users.c.name).like(q, escape="\\"),
                    users.c.login.like(q, escape="\\"),
                )
            )
        return page(self._conn, stmt, users.c.seq, after, limit, False, rows.user_from_row)

    def count(self) -> int:
        return int(self._conn.execute(select(func.count()).select_from(users)).scalar_one())

    def logins_starting_with(self, login_prefix: str) -> set[str]:
        return set(
            self._conn.execute(
                select(users.c.login).where(prefix(users.c.login, login_prefix))
            ).scalars()
        )

    def subordinate_ids(self, manager_id: str) -> frozenset[str]:
        tree = select(users.c.id).where(users.c.manager_id == manager_id).cte(recursive=True)
        tree = tree.union(select(users.c.id).where(users.c.manager_id == tree.c.id))
        found = set(self._conn.execute(select(tree.c.id)).scalars())
        found.discard(manager_id)
        return frozenset(found)

    def get_credentials(self, user_id: str) -> Credentials | None:
        row = self._conn.execute(
            select(user_credentials).where(user_credentials.c.user_id == user_id)
        ).first()
        return rows.credentials_from_row(row._mapping) if row else None

    def put_credentials(self, credentials: Credentials) -> None:
        values = rows.credentials_row(credentials)
        done = self._conn.execute(
            update(user_credentials)
            .where(user_credentials.c.user_id == credentials.user_id)
            .values(**values)
        )
        if done.rowcount == 0:
            self._conn.execute(insert(user_credentials).values(**values))


# -- audit ---------------------------------------------------------------------------------
class SqlAudit:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._conn = uow.conn

    def append(self, entry: AuditEntry) -> None:
        self.append_many([entry])

    def append_many(self, entries: Sequence[AuditEntry]) -> None:
        if entries:
            insert_many(self._conn, audit_log, [rows.audit_row(e) for e in entries])

    def history(self, entity_id: str) -> builtins.list[AuditEntry]:
        stmt = select(audit_log).where(audit_log.c.entity_id == entity_id).order_by(audit_log.c.seq)
        return [rows.audit_from_row(r._mapping) for r in self._conn.execute(stmt)]

    def list(self, query: AuditQuery, *, after: str | None, limit: int) -> Page[AuditEntry]:
        a = audit_log.c
        stmt = select(audit_log)
        equals = (
            (a.entity_id, query.entity_id),
            (a.entity_type, query.entity_type),
            (a.actor_id, query.actor_id),
            (a.action, query.action.value if query.action else None),
        )
        stmt = stmt.where(*(col == v for col, v in equals if v is not None))
        if query.since is not None:
            stmt = stmt.where(a.at >= query.since)
        if query.until is not None:
            stmt = stmt.where(a.at < query.until)
        return page(self._conn, stmt, a.seq, after, limit, True, rows.audit_from_row)
