"""Contacts in SQL: the generic repository of ``CONTACTS``, whose writes also mark their
customers' search documents for rewriting (a customer is found by its contacts' names and
numbers), and a scan's summaries read in one join."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select

from crmkit.domain.contact import Contact
from crmkit.storage.catalog import CONTACTS
from crmkit.storage.contacts import ContactReads
from crmkit.storage.ports import Summary
from crmkit.storage.sql import rows
from crmkit.storage.sql.common import id_chunks, one_of
from crmkit.storage.sql.entities import SqlRepository
from crmkit.storage.sql.tables import customers

if TYPE_CHECKING:
    from crmkit.storage.sql.store import SqlUnitOfWork


class SqlContacts(ContactReads, SqlRepository[Contact]):
    """``ContactRepository`` on SQL."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        super().__init__(uow, CONTACTS)

    def add_many(self, objs: Sequence[Contact]) -> None:
        self.insert(objs, refresh=objs)

    def insert(self, batch: Sequence[Contact], *, refresh: Sequence[Contact]) -> None:
        """Insert contacts; the search documents of ``refresh``'s customers are rewritten
        at flush (those of customers inserted with them already hold them)."""
        super().add_many(batch)
        for contact in refresh:
            self._uow.mark_search_dirty(contact.customer_id)

    def update(self, obj: Contact, expected_version: int) -> None:
        t = self.table
        old = self._conn.execute(select(t.c.customer_id).where(t.c.id == obj.id)).scalar()
        super().update(obj, expected_version)
        self._uow.mark_search_dirty(obj.customer_id)
        if old is not None and old != obj.customer_id:  # moved (a merge): both documents
            self._uow.mark_search_dirty(old)

    def update_many(self, objs: Sequence[Contact], expected_versions: Sequence[int]) -> None:
        # One at a time, through update(): the generic executemany path would skip the
        # search-document marks.
        for obj, expected in zip(objs, expected_versions, strict=True):
            self.update(obj, expected)

    def purge(self, ids: Sequence[str]) -> None:
        t, conn = self.table, self._conn
        for chunk in id_chunks(conn, list(ids)):
            owners = conn.execute(select(t.c.customer_id).where(one_of(conn, t.c.id, chunk)))
            for customer_id in owners.scalars():
                self._uow.mark_search_dirty(customer_id)
        super().purge(ids)

    def summaries(self, ids: Sequence[str]) -> builtins.list[Summary]:
        """From the contact's and its customer's columns, without building either (a scan
        reads hundreds of thousands)."""
        c, parent = self.table.c, customers.c
        out: builtins.list[Summary] = []
        conn = self._conn
        for chunk in id_chunks(conn, list(dict.fromkeys(ids))):
            stmt = (
                select(c.id, c.name, parent.owner_id, parent.co_owner_ids)
                .add_columns(c.created_at, c.deleted_at)
                .select_from(self.table.outerjoin(customers, parent.id == c.customer_id))
                .where(one_of(conn, c.id, chunk))
            )
            out.extend(map(rows.summary_from_row, conn.execute(stmt)))
        return out
