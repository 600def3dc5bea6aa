"""Contacts in memory: ``ContactRepository``, seen through their customer's scope."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING

from crmkit.domain.contact import Contact
from crmkit.storage.memory.tables import _MISSING, _deleted_ok, _insert, _page, _versioned_update
from crmkit.storage.ports import EVERYTHING, ContactQuery, Page, Scope, Summary

if TYPE_CHECKING:
    from crmkit.storage.memory.store import MemoryUnitOfWork


class _MemoryContacts:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._rows = uow._contacts

    def _visible(self, contact: Contact, scope: Scope) -> bool:
        if scope.is_everything:
            return True
        return self._uow.customers.get(contact.customer_id, scope) is not None

    def add(self, contact: Contact) -> None:
        _insert(self._uow, self._rows, "contact", contact)

    def add_many(self, contacts: Sequence[Contact]) -> None:
        for contact in contacts:
            self.add(contact)

    def get(self, id: str, scope: Scope = EVERYTHING) -> Contact | None:
        c: Contact | None = self._rows.current(id)
        if c is None or not self._visible(c, scope):
            return None
        return c

    def summaries(self, ids: Sequence[str]) -> builtins.list[Summary]:
        out: builtins.list[Summary] = []
        for c in (self.get(i) for i in dict.fromkeys(ids)):
            if c is None:
                continue
            parent = self._uow.customers.get(c.customer_id)
            owner, co = (parent.owner_id, parent.co_owner_ids) if parent else (None, ())
            out.append(Summary(c.id, c.name, owner, co, c.created_at, c.is_deleted))
        return out

    def update(self, contact: Contact, expected_version: int) -> None:
        _versioned_update(self._rows, "contact", contact, expected_version)

    def list(
        self, query: ContactQuery, scope: Scope, *, after: str | None, limit: int
    ) -> Page[Contact]:
        text = query.text.casefold() if query.text else None

        def ok(c: Contact) -> bool:
            if not _deleted_ok(c.deleted_at, query.deleted):
                return False
            if query.customer_id is not None and c.customer_id != query.customer_id:
                return False
            if query.surname_letter is not None and c.surname_letter != query.surname_letter:
                return False
            if text is not None:
                hay = " ".join([c.name, *(p.e164 for p in (c.mobile, c.phone) if p)]).casefold()
                if text not in hay:
                    return False
            return self._visible(c, scope)

        return _page([r for r in self._rows.rows() if ok(r[1])], after, limit, descending=False)

    def for_customer(
        self, customer_id: str, *, include_deleted: bool = False
    ) -> builtins.list[Contact]:
        rows = [
            r
            for r in self._rows.rows()
            if r[1].customer_id == customer_id and (include_deleted or r[1].deleted_at is None)
        ]
        rows.sort(key=lambda r: r[0])
        return [r[1] for r in rows]

    def for_customers(self, customer_ids: Sequence[str]) -> dict[str, builtins.list[Contact]]:
        wanted = set(customer_ids)
        out: dict[str, builtins.list[Contact]] = {}
        for _, c in sorted(self._rows.rows(), key=lambda r: r[0]):
            if c.customer_id in wanted and c.deleted_at is None:
                out.setdefault(c.customer_id, []).append(c)
        return out

    def with_phones(self, phones: Sequence[str]) -> builtins.list[Contact]:
        wanted = set(phones)
        return [
            c
            for _, c in sorted(self._rows.rows(), key=lambda r: r[0])
            if c.deleted_at is None
            and any(p is not None and p.e164 in wanted for p in (c.mobile, c.phone))
        ]

    def surname_index(self, scope: Scope) -> dict[str, int]:
        out: dict[str, int] = {}
        for _, c in self._rows.rows():
            if c.deleted_at is None and self._visible(c, scope):
                out[c.surname_letter] = out.get(c.surname_letter, 0) + 1
        return dict(sorted(out.items()))

    def purge(self, ids: Sequence[str]) -> None:
        for id in ids:
            if self._rows.current(id) is not None:
                self._rows.remember_base(id)
                self._rows.written[id] = _MISSING
