"""Contacts in SQL: ``ContactRepository``; a contact is seen through its customer's scope,
and its changes mark that customer's search document for rewriting."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError

from crmkit.domain.contact import Contact
from crmkit.domain.errors import NotFound
from crmkit.storage.ports import EVERYTHING, ContactQuery, Page, Scope, Summary
from crmkit.storage.sql import rows
from crmkit.storage.sql.clauses import customer_scope_clause, deleted_clause
from crmkit.storage.sql.common import (
    cas_update,
    chunks,
    id_chunks,
    insert_many,
    one_of,
    page,
    raise_taken,
)
from crmkit.storage.sql.search import like_escape
from crmkit.storage.sql.tables import contacts, customers
from crmkit.storage.textsearch import normalize_query

if TYPE_CHECKING:
    from crmkit.storage.sql.store import SqlUnitOfWork


class SqlContacts:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self._conn = uow.conn

    def _scoped(self, stmt: Any, scope: Scope) -> Any:
        clause = customer_scope_clause(scope)
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
        clause = deleted_clause(contacts.c.deleted_at, query.deleted)
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

    def with_phones(self, phones: Sequence[str]) -> builtins.list[Contact]:
        found: dict[str, Contact] = {}
        conn = self._conn
        wanted = list(dict.fromkeys(phones))
        for column in (contacts.c.mobile, contacts.c.phone):  # one index range each
            for chunk in id_chunks(conn, wanted):
                stmt = select(contacts).where(
                    one_of(conn, column, chunk), contacts.c.deleted_at.is_(None)
                )
                for r in conn.execute(stmt):
                    found.setdefault(r.id, rows.contact_from_row(r._mapping))
        return sorted(found.values(), key=lambda c: (c.created_at, c.id))

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
