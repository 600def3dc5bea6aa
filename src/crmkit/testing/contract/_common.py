"""Helpers the storage contracts share: committed writes and keyset walks."""

from __future__ import annotations

from datetime import timedelta, timezone

from crmkit.domain.customer import Customer
from crmkit.storage.ports import EVERYTHING, CustomerQuery, Scope, Store

CHINA = timezone(timedelta(hours=8))


def all_pages(store: Store, query: CustomerQuery, scope: Scope, size: int) -> list[str]:
    """Every customer id of ``query`` in ``scope``, page by page, checking page rules."""
    ids: list[str] = []
    after: str | None = None
    with store.unit_of_work() as uow:
        for _ in range(10_000):
            page = uow.customers.list(query, scope, after=after, limit=size)
            assert len(page.items) <= size, f"a page of limit {size} held {len(page.items)}"
            if not page.items:
                assert not ids, "an empty page after a page that promised more"
                assert page.next_after is None, "an empty page must be the last one"
            ids.extend(c.id for c in page.items)
            if page.next_after is None:
                return ids
            after = page.next_after
    raise AssertionError("keyset pages never ended")


def add_customers(store: Store, *customers: Customer) -> None:
    """Add ``customers`` in one committed unit of work, in the given order."""
    with store.unit_of_work() as uow:
        uow.customers.add_many(list(customers))
        uow.commit()


def save_customer(store: Store, new: Customer) -> Customer:
    """Commit ``new`` (whose version is the stored one + 1) and return it."""
    with store.unit_of_work() as uow:
        uow.customers.update(new, expected_version=new.version - 1)
        uow.commit()
    return new


def get_customer(store: Store, id: str, scope: Scope = EVERYTHING) -> Customer | None:
    with store.unit_of_work() as uow:
        return uow.customers.get(id, scope)
