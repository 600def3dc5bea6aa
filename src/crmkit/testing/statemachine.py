"""A hypothesis state machine that drives a store's customer repository against a model.

Rules add, update (with the right or a stale version), soft-delete, restore and purge
customers, and list them with filters in keyset pages of random size; after every step
the store must agree with a plain dict. When it does not, hypothesis prints the shortest
sequence of steps that shows the disagreement.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import attrs
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)

from crmkit.domain.customer import Category, Customer
from crmkit.domain.errors import ConcurrencyError, NotFound
from crmkit.storage.ports import EVERYTHING, CustomerQuery, Deleted, Scope, Store
from crmkit.testing.builders import BASE_TIME, make_customer, next_version

OWNERS = ("u-1", "u-2", "u-3")


def customer_state_machine(make_store: Callable[[], Store]) -> type[RuleBasedStateMachine]:
    """A ``RuleBasedStateMachine`` class for the stores ``make_store`` returns."""

    class CustomerRepositoryMachine(RuleBasedStateMachine):
        ids = Bundle("ids")

        def __init__(self) -> None:
            super().__init__()
            self.store = make_store()
            self.model: dict[str, Customer] = {}
            self.order: list[str] = []  # insertion order = keyset order
            self.tick = 0

        def _now(self) -> Any:
            self.tick += 1
            return BASE_TIME + timedelta(minutes=self.tick)

        @rule(
            target=ids,
            owner=st.sampled_from(OWNERS),
            category=st.sampled_from(list(Category)),
            shared=st.lists(st.sampled_from(OWNERS), max_size=2, unique=True),
        )
        def add(self, owner: str, category: Category, shared: list[str]) -> str:
            at = self._now()
            c = make_customer(
                owner_id=owner,
                category=category,
                co_owner_ids=tuple(u for u in shared if u != owner),
                created_at=at,
            )
            with self.store.unit_of_work() as uow:
                uow.customers.add(c)
                uow.commit()
            self.model[c.id] = c
            self.order.append(c.id)
            return c.id

        @rule(id=ids, owner=st.sampled_from(OWNERS), category=st.sampled_from(list(Category)))
        def update(self, id: str, owner: str, category: Category) -> None:
            current = self.model.get(id)
            stale = current or make_customer(id=id)
            new = next_version(
                stale,
                owner_id=owner,
                category=category,
                co_owner_ids=tuple(u for u in stale.co_owner_ids if u != owner),
            )
            with self.store.unit_of_work() as uow:
                if current is None:
                    try:
                        uow.customers.update(new, expected_version=stale.version)
                    except NotFound:
                        return
                    raise AssertionError("updating a purged customer must raise NotFound")
                uow.customers.update(new, expected_version=current.version)
                uow.commit()
            self.model[id] = new

        @rule(id=ids)
        def stale_update(self, id: str) -> None:
            current = self.model.get(id)
            if current is None or current.version == 1:
                return
            old = attrs.evolve(current, version=current.version - 1)
            with self.store.unit_of_work() as uow:
                try:
                    uow.customers.update(
                        next_version(old, remarks="stale"), expected_version=old.version
                    )
                except ConcurrencyError as exc:
                    assert exc.actual == current.version
                    return
            raise AssertionError("a stale update must raise ConcurrencyError")

        @rule(id=ids, delete=st.booleans())
        def toggle_deleted(self, id: str, delete: bool) -> None:
            current = self.model.get(id)
            if current is None:
                return
            new = next_version(current, deleted_at=self._now() if delete else None)
            with self.store.unit_of_work() as uow:
                uow.customers.update(new, expected_version=current.version)
                uow.commit()
            self.model[id] = new

        @rule(id=consumes(ids))
        def purge(self, id: str) -> None:
            with self.store.unit_of_work() as uow:
                uow.customers.purge([id])
                uow.commit()
            self.model.pop(id, None)
            if id in self.order:
                self.order.remove(id)

        @rule(
            size=st.integers(1, 7),
            owner=st.none() | st.sampled_from(OWNERS),
            category=st.none() | st.sampled_from(list(Category)),
            deleted=st.sampled_from([Deleted.EXCLUDE, Deleted.ONLY, Deleted.INCLUDE]),
            scoped=st.none() | st.sampled_from(OWNERS),
        )
        def list_pages(
            self,
            size: int,
            owner: str | None,
            category: Category | None,
            deleted: Deleted,
            scoped: str | None,
        ) -> None:
            query = CustomerQuery(owner_id=owner, category=category, deleted=deleted)
            scope = Scope.of(scoped) if scoped else EVERYTHING
            got: list[str] = []
            after = None
            with self.store.unit_of_work() as uow:
                while True:
                    page = uow.customers.list(query, scope, after=after, limit=size)
                    got.extend(c.id for c in page.items)
                    if page.next_after is None:
                        break
                    after = page.next_after
                count = uow.customers.count(query, scope)

            def wanted(c: Customer) -> bool:
                if deleted == Deleted.EXCLUDE and c.deleted_at is not None:
                    return False
                if deleted == Deleted.ONLY and c.deleted_at is None:
                    return False
                return (
                    (owner is None or c.owner_id == owner)
                    and (category is None or c.category == category)
                    and scope.allows(c.owner_id, c.co_owner_ids)
                )

            expected = [i for i in reversed(self.order) if wanted(self.model[i])]
            assert got == expected
            assert count == len(expected)

        @invariant()
        def every_modelled_customer_reads_back_equal(self) -> None:
            with self.store.unit_of_work() as uow:
                for id, c in list(self.model.items())[-5:]:
                    assert uow.customers.get(id) == c

        def teardown(self) -> None:
            self.store.close()

    return CustomerRepositoryMachine


def run_customer_state_machine(make_store: Callable[[], Store], *, max_examples: int = 20) -> None:
    """Run the state machine against ``make_store``'s stores (for use inside a test)."""
    machine = customer_state_machine(make_store)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=max_examples,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
