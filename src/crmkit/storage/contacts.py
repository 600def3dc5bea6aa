"""What only contacts need, on top of the generic repository of ``CONTACTS``.

The reads are written once against the generic repository's own verbs (``list``,
``get_many``, ``aggregate``), so the memory and SQL backends share them; a backend
overrides one only where it has a faster path (SQL reads a scan's summaries in one join).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from crmkit.domain.contact import Contact
from crmkit.storage.ports import EVERYTHING, Deleted, EntityQuery, Scope, Summary
from crmkit.storage.spec import Filter, Group, Measure, Op

if TYPE_CHECKING:
    from crmkit.storage.ports import Repository, UnitOfWork

# Customer ids per IN list: far below any backend's limit on bound values.
_CHUNK = 500


def _every(repo: Repository[Contact], query: EntityQuery) -> Iterator[Contact]:
    after: str | None = None
    while True:
        page = repo.list(query, EVERYTHING, after=after, limit=500)
        yield from page.items
        if page.next_after is None:
            return
        after = page.next_after


class ContactReads:
    """``ContactRepository``'s own reads, for a class that is also ``Repository[Contact]``
    and has its unit of work in ``_uow``."""

    _uow: Any

    def _repo(self) -> Repository[Contact]:
        return self  # type: ignore[return-value]

    def for_customer(
        self, customer_id: str, *, include_deleted: bool = False
    ) -> builtins.list[Contact]:
        """A customer's contacts, oldest first (live ones only, unless asked)."""
        query = EntityQuery(
            filters=(Filter("customer_id", Op.EQ, customer_id),),
            deleted=Deleted.INCLUDE if include_deleted else Deleted.EXCLUDE,
        )
        return list(_every(self._repo(), query))

    def for_customers(self, customer_ids: Sequence[str]) -> dict[str, builtins.list[Contact]]:
        """The live contacts of each of these customers that has any, oldest first."""
        wanted = list(dict.fromkeys(customer_ids))
        out: dict[str, builtins.list[Contact]] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = tuple(wanted[start : start + _CHUNK])
            query = EntityQuery(filters=(Filter("customer_id", Op.IN, chunk),))
            for contact in _every(self._repo(), query):
                out.setdefault(contact.customer_id, []).append(contact)
        return out

    def with_phones(self, phones: Sequence[str]) -> builtins.list[Contact]:
        """Live contacts whose mobile or phone has one of these E.164 numbers, oldest
        first."""
        wanted = tuple(dict.fromkeys(phones))
        found: dict[str, Contact] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            for field in ("mobile", "phone"):  # one index range each
                query = EntityQuery(filters=(Filter(field, Op.IN, chunk),))
                for contact in _every(self._repo(), query):
                    found.setdefault(contact.id, contact)
        return sorted(found.values(), key=lambda c: (c.created_at, c.id))

    def surname_index(self, scope: Scope) -> dict[str, int]:
        """Live contacts per surname letter (A–Z, #) inside ``scope``."""
        rows = self._repo().aggregate(
            EntityQuery(), scope, by=[Group("surname_letter")], measures=[Measure.count()]
        )
        return {row.key[0]: int(row.values[0]) for row in rows if row.key[0] is not None}

    def summaries(self, ids: Sequence[str]) -> builtins.list[Summary]:
        """Summaries of these contacts (deleted ones too), owned as their customers are."""
        contacts = self._repo().get_many(ids)
        uow: UnitOfWork = self._uow
        parents = {c.id: c for c in uow.customers.get_many([c.customer_id for c in contacts])}
        by_id = {c.id: c for c in contacts}
        out: builtins.list[Summary] = []
        for id in dict.fromkeys(ids):
            contact = by_id.get(id)
            if contact is None:
                continue
            parent = parents.get(contact.customer_id)
            owner, co = (parent.owner_id, parent.co_owner_ids) if parent else (None, ())
            out.append(
                Summary(contact.id, contact.name, owner, co, contact.created_at, contact.is_deleted)
            )
        return out
