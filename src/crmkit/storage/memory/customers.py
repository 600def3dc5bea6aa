"""Customers in memory: ``CustomerRepository``."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from crmkit.domain.contact import Contact
from crmkit.domain.customer import Customer
from crmkit.storage.memory.tables import _MISSING, _deleted_ok, _insert, _page, _versioned_update
from crmkit.storage.ports import EVERYTHING, CustomerQuery, Page, Scope, Summary
from crmkit.storage.textsearch import customer_matches_text, normalize_query

if TYPE_CHECKING:
    from crmkit.storage.memory.store import MemoryUnitOfWork


class _MemoryCustomers:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._rows = uow._customers

    def add(self, customer: Customer) -> None:
        _insert(self._uow, self._rows, "customer", customer)

    def add_many(self, customers: Sequence[Customer], *, contacts: Sequence[Contact] = ()) -> None:
        for customer in customers:
            self.add(customer)
        self._uow.contacts.add_many(contacts)

    def get(self, id: str, scope: Scope = EVERYTHING) -> Customer | None:
        c: Customer | None = self._rows.current(id)
        if c is None or not scope.allows(c.owner_id, c.co_owner_ids):
            return None
        return c

    def get_many(self, ids: Sequence[str], scope: Scope = EVERYTHING) -> builtins.list[Customer]:
        return [c for c in (self.get(i, scope) for i in dict.fromkeys(ids)) if c is not None]

    def summaries(self, ids: Sequence[str]) -> builtins.list[Summary]:
        return [
            Summary(c.id, c.name, c.owner_id, c.co_owner_ids, c.created_at, c.is_deleted)
            for c in self.get_many(ids)
        ]

    def update(self, customer: Customer, expected_version: int) -> None:
        _versioned_update(self._rows, "customer", customer, expected_version)

    def _matcher(self, query: CustomerQuery, scope: Scope) -> Callable[[Customer], bool]:
        contacts = self._uow.contacts
        region = query.region.rstrip("0") if query.region else None
        if region is not None and len(region) % 2:
            region += "0"  # keep whole 2-digit levels: "3702" not "3702" minus a zero

        def ok(c: Customer) -> bool:
            if not _deleted_ok(c.deleted_at, query.deleted):
                return False
            if not scope.allows(c.owner_id, c.co_owner_ids):
                return False
            checks: tuple[tuple[Any, Any], ...] = (
                (query.owner_id, c.owner_id),
                (query.category, c.category),
                (query.kind, c.kind),
                (query.channel_type, c.channel_type),
                (query.source, c.source),
                (query.industry, c.industry),
                (query.parent_id, c.parent_id),
            )
            if any(want is not None and want != have for want, have in checks):
                return False
            if query.tag is not None and query.tag not in c.tags:
                return False
            if query.related_to is not None and query.related_to not in c.related_customer_ids:
                return False
            if region is not None and (c.region is None or not c.region.code.startswith(region)):
                return False
            if query.created_from is not None and c.created_at < query.created_from:
                return False
            if query.created_to is not None and c.created_at >= query.created_to:
                return False
            if query.deleted_before is not None and (
                c.deleted_at is None or c.deleted_at >= query.deleted_before
            ):
                return False
            if query.text:
                people = contacts.for_customer(c.id)
                if not customer_matches_text(c, people, query.text):
                    return False
            return True

        return ok

    def list(
        self, query: CustomerQuery, scope: Scope, *, after: str | None, limit: int
    ) -> Page[Customer]:
        ok = self._matcher(query, scope)
        return _page([r for r in self._rows.rows() if ok(r[1])], after, limit, descending=True)

    def count(self, query: CustomerQuery, scope: Scope, *, cap: int | None = None) -> int:
        ok = self._matcher(query, scope)
        n = 0
        for _, c in self._rows.rows():
            if ok(c):
                n += 1
                if cap is not None and n >= cap:
                    break
        return n

    def find_by_keys(
        self, *, name_keys: Sequence[str] = (), phones: Sequence[str] = ()
    ) -> builtins.list[Customer]:
        names, numbers = set(name_keys), set(phones)
        found = []
        for _, c in sorted(self._rows.rows(), key=lambda r: r[0]):
            if c.deleted_at is not None:
                continue
            own = {p.e164 for p in (c.mobile, c.phone) if p is not None}
            if normalize_query(c.name) in names or own & numbers:
                found.append(c)
        return found

    def purge(self, ids: Sequence[str]) -> None:
        for id in ids:
            if self._rows.current(id) is None:
                continue
            for contact in self._uow.contacts.for_customer(id, include_deleted=True):
                self._uow.contacts.purge([contact.id])
            self._rows.remember_base(id)
            self._rows.written[id] = _MISSING
