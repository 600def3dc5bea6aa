"""Customers in SQL: ``CustomerRepository``, with its search documents, data scope and
keyset pages, and the column lists its hot paths read untyped."""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    bindparam,
    column,
    delete,
    func,
    literal,
    literal_column,
    select,
    text,
    union,
)
from sqlalchemy.exc import IntegrityError

from crmkit.domain.contact import Contact
from crmkit.domain.customer import Customer
from crmkit.storage.ports import EVERYTHING, CustomerQuery, Page, Scope, Summary
from crmkit.storage.sql import rows
from crmkit.storage.sql.clauses import customer_scope_clause, deleted_clause
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
from crmkit.storage.sql.search import customer_text_clause
from crmkit.storage.sql.tables import (
    SQLITE_FTS_TABLE,
    customer_co_owners,
    customer_tags,
    customers,
)
from crmkit.storage.textsearch import search_document

if TYPE_CHECKING:
    from crmkit.storage.sql.store import SqlUnitOfWork

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


def _code_range(code: str) -> ColumnElement[bool]:
    """A region code and everything inside it, as an indexed equality."""
    if code.endswith("0000"):
        return customers.c.province_code == code[:2]
    if code.endswith("00"):
        return customers.c.city_code == code[:4]
    return customers.c.region_code == code


class SqlCustomers:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self._conn = uow.conn

    def _live_contacts(self, customer_id: str) -> builtins.list[Contact]:
        return self._uow.sql_contacts.for_customer(customer_id)

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
        clause = customer_scope_clause(scope)
        if clause is not None:
            stmt = stmt.where(clause)
        row = self._conn.execute(stmt).first()
        return rows.customer_from_row(row._mapping) if row else None

    def get_many(self, ids: Sequence[str], scope: Scope = EVERYTHING) -> builtins.list[Customer]:
        out: builtins.list[Customer] = []
        clause = customer_scope_clause(scope)
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
        for clause in (deleted_clause(c.deleted_at, query.deleted), customer_scope_clause(scope)):
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
            people = self._uow.sql_contacts.table  # no cascade: the kernel's tables have no keys
            self._conn.execute(delete(people).where(people.c.customer_id.in_(chunk)))
            self._conn.execute(
                delete(customer_co_owners).where(customer_co_owners.c.customer_id.in_(chunk))
            )
            self._conn.execute(delete(customer_tags).where(customer_tags.c.customer_id.in_(chunk)))
            self._conn.execute(delete(customers).where(customers.c.id.in_(chunk)))
