"""A hypothesis state machine that drives a store's customer repository against a model.

Rules add customers, update them with the right or a stale version, soft-delete and restore
them, purge them, abandon a unit of work without committing, read them back and list them
with filters and scopes in keyset pages of random size. The model is a plain dict; after
every step the store must agree with it. When it does not, hypothesis prints the shortest
sequence of steps that shows the disagreement.

Use it from a test::

    from crmkit.testing.statemachine import run_store_state_machine

    def test_my_store_agrees_with_the_model():
        run_store_state_machine(lambda: MyStore("my://test"))

or get the class and run it your own way (``TestMyStore = make_store_state_machine(...).TestCase``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import attrs
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from crmkit.domain.customer import Category, Customer
from crmkit.domain.errors import ConcurrencyError, NotFound
from crmkit.storage.ports import EVERYTHING, CustomerQuery, Deleted, Scope, Store
from crmkit.testing.builders import BASE_TIME, make_customer, next_version

OWNERS = ("u-1", "u-2", "u-3")
TAGS = ("VIP", "重点")


def _in_model_query(c: Customer, query: CustomerQuery, scope: Scope) -> bool:
    """The model's answer to ``query``: the filters the machine draws, stated plainly."""
    if query.deleted is Deleted.EXCLUDE and c.deleted_at is not None:
        return False
    if query.deleted is Deleted.ONLY and c.deleted_at is None:
        return False
    return (
        (query.owner_id is None or c.owner_id == query.owner_id)
        and (query.category is None or c.category == query.category)
        and (query.tag is None or query.tag in c.tags)
        and scope.allows(c.owner_id, c.co_owner_ids)
    )


def make_store_state_machine(make_store: Callable[[], Store]) -> type[RuleBasedStateMachine]:
    """A ``RuleBasedStateMachine`` class that checks the stores ``make_store`` returns.

    Args:
        make_store: returns a fresh, empty store; called once per generated example. The
            machine closes the store at the end of the example.
    """

    class CustomerRepositoryMachine(RuleBasedStateMachine):
        ids = Bundle("ids")

        def __init__(self) -> None:
            super().__init__()
            self.store = make_store()
            self.model: dict[str, Customer] = {}
            self.order: list[str] = []  # insertion order: lists show it reversed
            self.purged: set[str] = set()
            self.tick = 0

        def _now(self) -> datetime:
            self.tick += 1
            return BASE_TIME + timedelta(minutes=self.tick)

        @rule(
            target=ids,
            owner=st.sampled_from(OWNERS),
            category=st.sampled_from(list(Category)),
            shared=st.lists(st.sampled_from(OWNERS), max_size=2, unique=True),
            tags=st.lists(st.sampled_from(TAGS), max_size=2, unique=True),
        )
        def add(self, owner: str, category: Category, shared: list[str], tags: list[str]) -> str:
            at = self._now()
            c = make_customer(
                owner_id=owner,
                category=category,
                co_owner_ids=tuple(u for u in shared if u != owner),
                tags=tuple(tags),
                created_at=at,
            )
            with self.store.unit_of_work() as uow:
                uow.customers.add(c)
                uow.commit()
            self.model[c.id] = c
            self.order.append(c.id)
            return c.id

        @rule(
            id=ids,
            owner=st.sampled_from(OWNERS),
            category=st.sampled_from(list(Category)),
            tags=st.lists(st.sampled_from(TAGS), max_size=2, unique=True),
        )
        def update(self, id: str, owner: str, category: Category, tags: list[str]) -> None:
            current = self.model.get(id)
            if current is None:  # purged: the store must say NotFound
                ghost = make_customer(id=id)
                with self.store.unit_of_work() as uow:
                    try:
                        uow.customers.update(next_version(ghost), expected_version=1)
                    except NotFound:
                        return
                raise AssertionError("updating a purged customer must raise NotFound")
            new = next_version(
                current,
                owner_id=owner,
                category=category,
                tags=tuple(tags),
                co_owner_ids=tuple(u for u in current.co_owner_ids if u != owner),
                updated_at=self._now(),
            )
            with self.store.unit_of_work() as uow:
                uow.customers.update(new, expected_version=current.version)
                uow.commit()
            self.model[id] = new

        @rule(id=ids, behind=st.integers(1, 3))
        def stale_update(self, id: str, behind: int) -> None:
            current = self.model.get(id)
            if current is None or current.version <= behind:
                return
            old = attrs.evolve(current, version=current.version - behind)
            with self.store.unit_of_work() as uow:
                try:
                    uow.customers.update(
                        next_version(old, remarks="stale"), expected_version=old.version
                    )
                except ConcurrencyError:
                    return
            raise AssertionError(
                f"an update from version {old.version} of a customer at version "
                f"{current.version} must raise ConcurrencyError"
            )

        @rule(id=ids, delete=st.booleans())
        def delete_or_restore(self, id: str, delete: bool) -> None:
            current = self.model.get(id)
            if current is None:
                return
            new = next_version(current, deleted_at=self._now() if delete else None)
            with self.store.unit_of_work() as uow:
                uow.customers.update(new, expected_version=current.version)
                uow.commit()
            self.model[id] = new

        @rule(id=ids)
        def abandoned_unit_of_work(self, id: str) -> None:
            """Writes in a unit of work left without commit must leave no trace."""
            current = self.model.get(id)
            with self.store.unit_of_work() as uow:
                uow.customers.add(make_customer(created_at=self._now()))
                if current is not None:
                    uow.customers.update(
                        next_version(current, name="未提交有限公司"),
                        expected_version=current.version,
                    )

        @rule(id=ids)
        def purge(self, id: str) -> None:
            with self.store.unit_of_work() as uow:
                uow.customers.purge([id])
                uow.commit()
            if id in self.model:
                del self.model[id]
                self.order.remove(id)
                self.purged.add(id)

        @rule(id=ids, scoped=st.none() | st.sampled_from(OWNERS))
        def get(self, id: str, scoped: str | None) -> None:
            scope = Scope.of(scoped) if scoped else EVERYTHING
            expected = self.model.get(id)
            if expected is not None and not scope.allows(expected.owner_id, expected.co_owner_ids):
                expected = None
            with self.store.unit_of_work() as uow:
                assert uow.customers.get(id, scope) == expected

        @rule(
            size=st.integers(1, 7),
            owner=st.none() | st.sampled_from(OWNERS),
            category=st.none() | st.sampled_from(list(Category)),
            tag=st.none() | st.sampled_from(TAGS),
            deleted=st.sampled_from(list(Deleted)),
            scoped=st.none() | st.sampled_from(OWNERS),
        )
        def list_pages(
            self,
            size: int,
            owner: str | None,
            category: Category | None,
            tag: str | None,
            deleted: Deleted,
            scoped: str | None,
        ) -> None:
            query = CustomerQuery(owner_id=owner, category=category, tag=tag, deleted=deleted)
            scope = Scope.of(scoped) if scoped else EVERYTHING
            got: list[str] = []
            after: str | None = None
            with self.store.unit_of_work() as uow:
                for _ in range(len(self.model) + 2):
                    page = uow.customers.list(query, scope, after=after, limit=size)
                    assert len(page.items) <= size
                    got.extend(c.id for c in page.items)
                    if page.next_after is None:
                        break
                    after = page.next_after
                else:
                    raise AssertionError("keyset pages never ended")
                count = uow.customers.count(query, scope)
            expected = [
                i for i in reversed(self.order) if _in_model_query(self.model[i], query, scope)
            ]
            assert got == expected
            assert count == len(expected)

        @invariant()
        def the_store_holds_what_the_model_holds(self) -> None:
            with self.store.unit_of_work() as uow:
                for id, c in self.model.items():
                    assert uow.customers.get(id) == c
                for id in self.purged:
                    assert uow.customers.get(id) is None
                every = CustomerQuery(deleted=Deleted.INCLUDE)
                assert uow.customers.count(every, EVERYTHING) == len(self.model)

        def teardown(self) -> None:
            self.store.close()

    return CustomerRepositoryMachine


def run_store_state_machine(
    make_store: Callable[[], Store], *, max_examples: int = 25, step_count: int = 20
) -> None:
    """Run :func:`make_store_state_machine` against ``make_store`` (call it inside a test).

    Args:
        make_store: returns a fresh, empty store.
        max_examples: how many step sequences hypothesis tries.
        step_count: the most steps in one sequence.

    Raises:
        AssertionError: the store disagreed with the model (hypothesis shows the steps).
    """
    run_state_machine_as_test(
        make_store_state_machine(make_store),
        settings=settings(
            max_examples=max_examples,
            stateful_step_count=step_count,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


__all__ = ["make_store_state_machine", "run_store_state_machine"]
