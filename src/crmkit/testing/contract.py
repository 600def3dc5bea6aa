"""The storage contract: what every backend must do, as a pytest suite.

Subclass a contract in a test module, name the subclass ``Test…`` and implement
``make_store``; pytest then runs every inherited test against your backend::

    import pytest
    from crmkit.testing.contract import StoreContract

    class TestMyStore(StoreContract):
        def make_store(self):
            return MyStore("my://test")   # a fresh, empty store for every test

:class:`StoreContract` is everything. Its parts can be used alone, for a backend that is
built repository by repository: :class:`CustomerRepositoryContract`,
:class:`CustomerListContract`, :class:`CustomerSearchContract`,
:class:`ContactRepositoryContract`, :class:`UserRepositoryContract`,
:class:`AuditRepositoryContract`, :class:`DedupRepositoryContract` (the duplicate index and
its key locks), :class:`CoOwnershipRepositoryContract`, :class:`ImportRepositoryContract` and
:class:`CustomerStateMachineContract` (the hypothesis state machine of
:mod:`crmkit.testing.statemachine`).

Semantics the ports leave implicit, stated here and tested below:

- Customer and audit lists are *newest first*: in the reverse of the order rows were added.
  Tests always add rows in ``created_at`` order, so ordering by ``created_at`` (with a
  unique tie-breaker) satisfies the contract too.
- A page never holds more than ``limit`` items; ``next_after`` is ``None`` exactly on the
  last page, and a page is empty only when nothing matches. Rows added while a caller pages
  are not shown twice, and rows that matched before paging began are not skipped.
- ``created_from`` is inclusive and ``created_to`` exclusive (the half-open interval
  ``[created_from, created_to)``); audit ``since``/``until`` likewise. ``deleted_before``
  selects records deleted strictly before it (live records never match it).
- ``region`` is a GB/T 2260 code; a province code (``370000``) matches every customer in
  that province, a city code (``370200``) every customer in that city, a district code that
  district only.
- Text search follows :mod:`crmkit.storage.textsearch`.
- A duplicate login raises ``ValidationError`` naming ``login`` from ``add`` or at the
  latest from ``commit``.

Class attributes tune the cost per backend: ``state_machine_examples`` and
``state_machine_steps`` (the state machine), ``property_examples`` (other property tests).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmkit.domain.audit import AuditAction, AuditEntry
from crmkit.domain.common import Gender
from crmkit.domain.customer import (
    Category,
    ChannelType,
    CreditRating,
    Customer,
    CustomerKind,
    Settlement,
)
from crmkit.domain.errors import ConcurrencyError, NotFound, ValidationError
from crmkit.domain.regions import Region
from crmkit.domain.user import Credentials, Role
from crmkit.domain.values import USCC, Email, Money, Phone
from crmkit.storage.ports import (
    EVERYTHING,
    AuditQuery,
    ContactQuery,
    CustomerQuery,
    Deleted,
    Scope,
    Store,
    Summary,
    UserQuery,
)
from crmkit.testing._fixture import StoreFixture as _StoreFixture
from crmkit.testing._intake_contract import (
    CoOwnershipRepositoryContract,
    DedupRepositoryContract,
    ImportRepositoryContract,
)
from crmkit.testing.builders import (
    BASE_TIME,
    make_audit_entry,
    make_contact,
    make_customer,
    make_user,
    next_version,
)
from crmkit.testing.statemachine import run_store_state_machine
from crmkit.testing.strategies import customers as valid_customers

CHINA = timezone(timedelta(hours=8))


# -- helpers -------------------------------------------------------------------------------
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


# -- customers: round trip, versions, transactions ----------------------------------------
class CustomerRepositoryContract(_StoreFixture):
    """``CustomerRepository`` add/get/update/purge and the unit of work around them."""

    def test_a_customer_round_trips_every_field(self, store: Store) -> None:
        parent = make_customer()
        created = datetime(2026, 3, 4, 9, 30, 15, 123456, tzinfo=CHINA)
        full = make_customer(
            kind=CustomerKind.COMPANY,
            name="青岛金智电子科技有限公司",
            category=Category.FORMAL,
            channel_type=ChannelType.CHANNEL,
            related_customer_ids=(parent.id, "other-id"),
            source="展会",
            industry="制造业",
            region=Region.parse("山东省/青岛市/市南区"),
            address="香港中路10号",
            tags=("VIP", "重点"),
            credit_rating=CreditRating.A,
            settlement=Settlement.CREDIT,
            credit_limit=Money(Decimal("12345.6789"), "CNY"),
            owner_id="u-1",
            co_owner_ids=("u-2", "u-3"),
            parent_id=parent.id,
            uscc=USCC.parse("91350100M000100Y43"),
            gender=Gender.UNKNOWN,
            birthday=date(1990, 5, 4),
            mobile=Phone.parse("+86 138-0013-8000"),
            phone=Phone.parse("0532-88888888转8001", region="CN"),
            email=Email.parse("Zhang@Example.COM"),
            remarks="第一行\n第二行",
            custom={
                "staff": Decimal("120.55"),
                "founded": date(2001, 1, 2),
                "listed": True,
                "delisted": False,
                "scale": "中型",
            },
            version=3,
            created_at=created,
            updated_at=created + timedelta(hours=1, microseconds=1),
            created_by="u-9",
            deleted_at=datetime(2026, 5, 6, 7, 8, 9, 999, tzinfo=UTC),
        )
        add_customers(store, parent, full)
        got = get_customer(store, full.id)
        assert got == full
        assert got is not None
        assert got.created_at == created and got.created_at.tzinfo is not None
        assert got.updated_at.tzinfo is not None and got.deleted_at is not None
        assert got.deleted_at.tzinfo is not None
        assert got.credit_limit is not None and isinstance(got.credit_limit.amount, Decimal)
        assert got.credit_limit == Money(Decimal("12345.6789"), "CNY")
        assert type(got.custom["staff"]) is Decimal and got.custom["staff"] == Decimal("120.55")
        assert type(got.custom["founded"]) is date
        assert got.custom["listed"] is True and got.custom["delisted"] is False
        assert got.tags == ("VIP", "重点")
        assert got.mobile is not None and got.mobile.e164 == "+8613800138000"
        assert got.phone is not None and got.phone.extension == "8001"

    def test_a_minimal_customer_round_trips_with_its_defaults(self, store: Store) -> None:
        c = make_customer(kind=CustomerKind.INDIVIDUAL, name="王五")
        add_customers(store, c)
        assert get_customer(store, c.id) == c

    def test_any_valid_customer_round_trips(self, store: Store) -> None:
        @self._settings()
        @given(customer=valid_customers())
        def check(customer: Customer) -> None:
            add_customers(store, customer)
            assert get_customer(store, customer.id) == customer

        check()

    def test_get_of_an_unknown_id_is_none(self, store: Store) -> None:
        add_customers(store, make_customer())
        with store.unit_of_work() as uow:
            assert uow.customers.get("no-such-id") is None
            assert uow.customers.get_many(["no-such-id"]) == []

    def test_get_outside_the_scope_is_none(self, store: Store) -> None:
        c = make_customer(owner_id="u-1", co_owner_ids=("u-2",))
        d = make_customer(owner_id="u-3")
        add_customers(store, c, d)
        with store.unit_of_work() as uow:
            assert uow.customers.get(c.id, Scope.of("u-9")) is None
            assert uow.customers.get(c.id, Scope.of("u-2")) == c
            assert uow.customers.get(c.id, Scope.of("u-1")) == c
            assert uow.customers.get(c.id, Scope(frozenset())) is None
            assert uow.customers.get_many([c.id, d.id, "nope"], Scope.of("u-1")) == [c]
            assert uow.customers.get_many([c.id, d.id], Scope.of("u-9")) == []
            assert sorted(uow.customers.get_many([d.id, c.id]), key=lambda x: x.id) == sorted(
                [c, d], key=lambda x: x.id
            )

    def test_summaries_name_owner_and_state_in_any_scope(self, store: Store) -> None:
        c = make_customer(owner_id="u-1", co_owner_ids=("u-2",))
        d = make_customer(owner_id="u-3", deleted_at=BASE_TIME)
        add_customers(store, c, d)
        person = make_contact(c.id, name="欧阳娜娜")
        with store.unit_of_work() as uow:
            uow.contacts.add(person)
            uow.commit()
        with store.unit_of_work() as uow:
            got = sorted(uow.customers.summaries([d.id, c.id, "nope", c.id]), key=lambda x: x.id)
            assert got == sorted(
                [
                    Summary(c.id, c.name, "u-1", ("u-2",), c.created_at, False),
                    Summary(d.id, d.name, "u-3", (), d.created_at, True),
                ],
                key=lambda x: x.id,
            )
            assert uow.contacts.summaries([person.id, "nope"]) == [
                Summary(person.id, "欧阳娜娜", "u-1", ("u-2",), person.created_at, False)
            ]
            assert uow.customers.summaries([]) == []

    def test_contacts_of_many_customers_come_in_one_read(self, store: Store) -> None:
        c, d, e = make_customer(), make_customer(), make_customer()
        add_customers(store, c, d, e)
        first = make_contact(c.id, name="欧阳娜娜")
        second = make_contact(c.id, name="司马光")
        gone = make_contact(d.id, name="李四", deleted_at=BASE_TIME)
        with store.unit_of_work() as uow:
            for contact in (first, second, gone):
                uow.contacts.add(contact)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.contacts.for_customers([c.id, d.id, e.id, "nope"]) == {c.id: [first, second]}
            assert uow.contacts.for_customers([]) == {}

    def test_a_unit_of_work_reads_its_own_uncommitted_writes(self, store: Store) -> None:
        c = make_customer()
        with store.unit_of_work() as uow:
            uow.customers.add(c)
            assert uow.customers.get(c.id) == c
            changed = next_version(c, name="改名有限公司")
            uow.customers.update(changed, expected_version=1)
            assert uow.customers.get(c.id) == changed
            uow.commit()
        assert get_customer(store, c.id) == changed

    def test_an_update_from_the_current_version_is_stored(self, store: Store) -> None:
        c = make_customer(tags=("a",), co_owner_ids=("u-2",), owner_id="u-1")
        add_customers(store, c)
        changed = next_version(
            c,
            name="新名称有限公司",
            tags=("b", "c"),
            co_owner_ids=("u-3",),
            region=Region.from_code("370202"),
            credit_limit=None,
            custom={"scale": "大型"},
            updated_at=BASE_TIME + timedelta(days=3),
        )
        save_customer(store, changed)
        assert get_customer(store, c.id) == changed
        assert get_customer(store, c.id, Scope.of("u-2")) is None
        assert get_customer(store, c.id, Scope.of("u-3")) == changed
        again = save_customer(store, next_version(changed, tags=(), co_owner_ids=()))
        assert get_customer(store, c.id) == again
        assert again.version == 3

    def test_a_stale_update_raises_concurrency_error_and_changes_nothing(
        self, store: Store
    ) -> None:
        c = make_customer()
        add_customers(store, c)
        first = save_customer(store, next_version(c, remarks="first"))
        with store.unit_of_work() as uow, pytest.raises(ConcurrencyError) as caught:
            uow.customers.update(next_version(c, remarks="second"), expected_version=1)
        assert (caught.value.expected, caught.value.actual) == (1, 2)
        assert caught.value.id == c.id
        assert get_customer(store, c.id) == first

    def test_updating_a_missing_customer_raises_not_found(self, store: Store) -> None:
        ghost = make_customer()
        with store.unit_of_work() as uow, pytest.raises(NotFound):
            uow.customers.update(next_version(ghost), expected_version=1)
        assert get_customer(store, ghost.id) is None

    def test_leaving_a_unit_of_work_without_commit_keeps_nothing(self, store: Store) -> None:
        kept = make_customer()
        add_customers(store, kept)
        c = make_customer()
        with store.unit_of_work() as uow:
            uow.customers.add(c)
            uow.customers.update(next_version(kept, remarks="lost"), expected_version=1)
            uow.contacts.add(make_contact(kept.id, name="李四"))
            uow.audit.append(make_audit_entry(c.id))
        with store.unit_of_work() as uow:
            assert uow.customers.get(c.id) is None
            assert uow.customers.get(kept.id) == kept
            assert uow.contacts.for_customer(kept.id) == []
            assert uow.audit.history(c.id) == []
            assert uow.customers.count(CustomerQuery(), EVERYTHING) == 1

    def test_an_exception_inside_a_unit_of_work_rolls_it_back(self, store: Store) -> None:
        c = make_customer()
        with pytest.raises(RuntimeError, match="boom"), store.unit_of_work() as uow:
            uow.customers.add(c)
            uow.users.add(make_user(login="boom"))
            raise RuntimeError("boom")
        with store.unit_of_work() as uow:
            assert uow.customers.get(c.id) is None
            assert uow.users.get_by_login("boom") is None

    def test_an_explicit_rollback_discards_the_writes(self, store: Store) -> None:
        c = make_customer()
        with store.unit_of_work() as uow:
            uow.customers.add(c)
            uow.rollback()
        assert get_customer(store, c.id) is None

    def test_of_two_units_of_work_from_one_version_the_second_writer_loses(
        self, store: Store
    ) -> None:
        c = make_customer()
        add_customers(store, c)
        first = next_version(c, remarks="first")
        with store.unit_of_work() as one, store.unit_of_work() as two:
            assert one.customers.get(c.id) == c
            assert two.customers.get(c.id) == c
            one.customers.update(first, expected_version=1)
            one.commit()
            with pytest.raises(ConcurrencyError):
                two.customers.update(next_version(c, remarks="second"), expected_version=1)
                two.commit()  # an optimistic backend may only notice here
        assert get_customer(store, c.id) == first

    def test_soft_deleted_customers_leave_lists_but_not_get(self, store: Store) -> None:
        live, gone = make_customer(), make_customer()
        add_customers(store, live, gone)
        deleted = save_customer(store, next_version(gone, deleted_at=BASE_TIME))
        assert all_pages(store, CustomerQuery(), EVERYTHING, 10) == [live.id]
        assert all_pages(store, CustomerQuery(deleted=Deleted.ONLY), EVERYTHING, 10) == [gone.id]
        both = all_pages(store, CustomerQuery(deleted=Deleted.INCLUDE), EVERYTHING, 10)
        assert both == [gone.id, live.id]
        assert get_customer(store, gone.id) == deleted
        with store.unit_of_work() as uow:
            assert uow.customers.count(CustomerQuery(), EVERYTHING) == 1
            assert uow.customers.count(CustomerQuery(deleted=Deleted.ONLY), EVERYTHING) == 1

    def test_a_restored_customer_is_listed_again(self, store: Store) -> None:
        c = make_customer()
        add_customers(store, c)
        deleted = save_customer(store, next_version(c, deleted_at=BASE_TIME))
        restored = save_customer(store, next_version(deleted, deleted_at=None))
        assert all_pages(store, CustomerQuery(), EVERYTHING, 10) == [c.id]
        assert all_pages(store, CustomerQuery(deleted=Deleted.ONLY), EVERYTHING, 10) == []
        assert get_customer(store, c.id) == restored

    def test_purge_removes_the_customer_its_contacts_and_its_search_entry(
        self, store: Store
    ) -> None:
        c = make_customer(name="青岛金智电子科技有限公司", tags=("VIP",), owner_id="u-1")
        c = attrs.evolve(c, co_owner_ids=("u-2",))
        other = make_customer(name="北京华夏建材有限公司")
        add_customers(store, c, other)
        contact = make_contact(c.id, name="欧阳娜娜")
        gone_contact = make_contact(c.id, name="司马光", deleted_at=BASE_TIME)
        kept_contact = make_contact(other.id, name="李四")
        with store.unit_of_work() as uow:
            uow.contacts.add_many([contact, gone_contact, kept_contact])
            uow.commit()
        with store.unit_of_work() as uow:
            uow.customers.purge([c.id, "no-such-id"])
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.get(c.id) is None
            assert uow.contacts.get(contact.id) is None
            assert uow.contacts.get(gone_contact.id) is None
            assert uow.contacts.for_customer(c.id, include_deleted=True) == []
            assert uow.contacts.get(kept_contact.id) == kept_contact
            assert uow.contacts.surname_index(EVERYTHING) == {"L": 1}
            for deleted in Deleted:
                for text in ("金智电子", "欧阳娜娜", "青岛"):
                    query = CustomerQuery(text=text, deleted=deleted)
                    assert uow.customers.count(query, EVERYTHING) == 0, (text, deleted)
                assert (
                    uow.customers.count(CustomerQuery(tag="VIP", deleted=deleted), EVERYTHING) == 0
                )
            assert uow.customers.count(CustomerQuery(), Scope.of("u-2")) == 0
            assert uow.customers.count(CustomerQuery(), EVERYTHING) == 1
        # The id is free again: purge is forever, not a tombstone.
        add_customers(store, c)
        assert get_customer(store, c.id) == c

    def test_a_purge_left_uncommitted_purges_nothing(self, store: Store) -> None:
        c = make_customer()
        add_customers(store, c)
        with store.unit_of_work() as uow:
            uow.customers.purge([c.id])
            assert uow.customers.get(c.id) is None
        assert get_customer(store, c.id) == c

    def test_find_by_keys_matches_names_and_phones_across_scopes(self, store: Store) -> None:
        jz = make_customer(
            name="青岛金智电子科技有限公司", owner_id="u-1", mobile=Phone.parse("13800138000")
        )
        hx = make_customer(name="Acme Trading", owner_id="u-2", phone=Phone.parse("010-12345678"))
        gone = make_customer(name="已删除有限公司", deleted_at=BASE_TIME)
        add_customers(store, jz, hx, gone)
        with store.unit_of_work() as uow:
            found = uow.customers.find_by_keys(
                name_keys=["acme trading"], phones=["+8613800138000"]
            )
            assert {c.id for c in found} == {jz.id, hx.id}
            assert uow.customers.find_by_keys(phones=["+861012345678"]) == [hx]
            assert uow.customers.find_by_keys(name_keys=["已删除有限公司"]) == []
            assert uow.customers.find_by_keys() == []


# -- customers: lists, filters, scope, counts -----------------------------------------------
class CustomerListContract(_StoreFixture):
    """``CustomerRepository.list`` and ``count``: keyset pages, filters, scope."""

    def test_keyset_pages_newest_first_cover_every_match_exactly_once(self, store: Store) -> None:
        owners = ("u-1", "u-2", "u-3")
        rows: list[Customer] = []
        for i in range(23):
            rows.append(
                make_customer(
                    owner_id=owners[i % 3],
                    co_owner_ids=(owners[(i + 1) % 3],) if i % 4 == 0 else (),
                    category=list(Category)[i % 4],
                    tags=("VIP",) if i % 5 < 2 else (),
                    deleted_at=BASE_TIME if i % 6 == 0 else None,
                )
            )
        add_customers(store, *rows)
        newest_first = list(reversed(rows))

        @self._settings(examples=self.property_examples * 2)
        @given(
            size=st.integers(1, 30),
            owner=st.none() | st.sampled_from(owners),
            category=st.none() | st.sampled_from(list(Category)),
            tag=st.none() | st.just("VIP"),
            deleted=st.sampled_from(list(Deleted)),
            scoped=st.none() | st.sampled_from(owners),
        )
        def check(
            size: int,
            owner: str | None,
            category: Category | None,
            tag: str | None,
            deleted: Deleted,
            scoped: str | None,
        ) -> None:
            query = CustomerQuery(owner_id=owner, category=category, tag=tag, deleted=deleted)
            scope = Scope.of(scoped) if scoped else EVERYTHING

            def wanted(c: Customer) -> bool:
                if (deleted is Deleted.EXCLUDE and c.is_deleted) or (
                    deleted is Deleted.ONLY and not c.is_deleted
                ):
                    return False
                return (
                    (owner is None or c.owner_id == owner)
                    and (category is None or c.category == category)
                    and (tag is None or tag in c.tags)
                    and scope.allows(c.owner_id, c.co_owner_ids)
                )

            got = all_pages(store, query, scope, size)
            assert len(got) == len(set(got)), "a row appeared on two pages"
            assert got == [c.id for c in newest_first if wanted(c)]

        check()

    def test_rows_added_while_paging_neither_repeat_nor_push_others_out(self, store: Store) -> None:
        old = [make_customer() for _ in range(6)]
        add_customers(store, *old)
        with store.unit_of_work() as uow:
            first = uow.customers.list(CustomerQuery(), EVERYTHING, after=None, limit=3)
        add_customers(store, *[make_customer() for _ in range(4)])
        with store.unit_of_work() as uow:
            rest = uow.customers.list(CustomerQuery(), EVERYTHING, after=first.next_after, limit=10)
        seen = [c.id for c in (*first.items, *rest.items)]
        assert seen == [c.id for c in reversed(old)]

    def test_an_empty_store_lists_one_empty_last_page(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            page = uow.customers.list(CustomerQuery(), EVERYTHING, after=None, limit=10)
            assert (page.items, page.next_after) == ((), None)
            assert uow.customers.count(CustomerQuery(), EVERYTHING) == 0

    def test_each_filter_restricts_the_list(self, store: Store) -> None:
        qd = make_customer(
            owner_id="u-1",
            category=Category.FORMAL,
            kind=CustomerKind.COMPANY,
            region=Region.from_code("370202"),
            tags=("VIP", "老客户"),
            source="展会",
            industry="制造业",
            created_at=BASE_TIME,
        )
        bj = make_customer(
            owner_id="u-2",
            category=Category.SIGNED,
            kind=CustomerKind.INDIVIDUAL,
            name="王五",
            channel_type=ChannelType.CHANNEL,
            region=Region.from_code("110105"),
            tags=("重点",),
            source="网络",
            industry="餐饮",
            created_at=BASE_TIME + timedelta(days=2),
        )
        jn = make_customer(
            owner_id="u-1",
            region=Region.from_code("370102"),
            tags=("老客户",),
            created_at=BASE_TIME + timedelta(days=4),
        )
        qd_city = make_customer(
            region=Region.from_code("370200"), created_at=BASE_TIME + timedelta(days=5)
        )
        nowhere = make_customer(created_at=BASE_TIME + timedelta(days=6))
        add_customers(store, qd, bj, jn, qd_city, nowhere)

        def ids(**kw: Any) -> set[str]:
            return set(all_pages(store, CustomerQuery(**kw), EVERYTHING, 50))

        assert ids() == {qd.id, bj.id, jn.id, qd_city.id, nowhere.id}
        assert ids(owner_id="u-1") == {qd.id, jn.id}
        assert ids(owner_id="u-9") == set()
        assert ids(category=Category.FORMAL) == {qd.id}
        assert ids(category=Category.POTENTIAL) == {jn.id, qd_city.id, nowhere.id}
        assert ids(kind=CustomerKind.INDIVIDUAL) == {bj.id}
        assert ids(channel_type=ChannelType.CHANNEL) == {bj.id}
        assert ids(region="370000") == {qd.id, jn.id, qd_city.id}  # province: all inside
        assert ids(region="370200") == {qd.id, qd_city.id}  # city: its districts and itself
        assert ids(region="370202") == {qd.id}  # district
        assert ids(region="370100") == {jn.id}
        assert ids(region="110000") == {bj.id}  # municipality
        assert ids(region="440000") == set()
        assert ids(tag="VIP") == {qd.id}
        assert ids(tag="老客户") == {qd.id, jn.id}
        assert ids(tag="VI") == set()  # tags match whole
        assert ids(source="网络") == {bj.id}
        assert ids(industry="制造业") == {qd.id}
        day2 = BASE_TIME + timedelta(days=2)
        assert ids(created_from=day2) == {bj.id, jn.id, qd_city.id, nowhere.id}  # inclusive
        assert ids(created_to=day2) == {qd.id}  # exclusive
        assert ids(created_from=day2, created_to=day2 + timedelta(days=3)) == {bj.id, jn.id}
        assert ids(created_from=day2.astimezone(CHINA)) == ids(created_from=day2)
        assert ids(owner_id="u-1", region="370200", tag="VIP") == {qd.id}
        assert ids(owner_id="u-1", category=Category.SIGNED) == set()

    def test_deleted_before_selects_what_has_been_in_the_bin_long_enough(
        self, store: Store
    ) -> None:
        old, new, edge, live = make_customer(), make_customer(), make_customer(), make_customer()
        add_customers(store, old, new, edge, live)
        cutoff = BASE_TIME + timedelta(days=1)
        with store.unit_of_work() as uow:
            uow.customers.update(next_version(old, deleted_at=BASE_TIME), expected_version=1)
            uow.customers.update(
                next_version(new, deleted_at=cutoff + timedelta(days=30)), expected_version=1
            )
            uow.customers.update(next_version(edge, deleted_at=cutoff), expected_version=1)
            uow.commit()
        query = CustomerQuery(deleted=Deleted.ONLY, deleted_before=cutoff)
        assert all_pages(store, query, EVERYTHING, 10) == [old.id]
        query = CustomerQuery(deleted=Deleted.INCLUDE, deleted_before=cutoff)
        assert all_pages(store, query, EVERYTHING, 10) == [old.id]
        with store.unit_of_work() as uow:
            assert uow.customers.count(query, EVERYTHING) == 1

    def test_scope_shows_owned_and_co_owned_customers_only(self, store: Store) -> None:
        mine = make_customer(owner_id="u-1")
        shared = make_customer(owner_id="u-2", co_owner_ids=("u-1",))
        other = make_customer(owner_id="u-3")
        orphan = make_customer(owner_id=None)
        add_customers(store, mine, shared, other, orphan)

        def visible(scope: Scope) -> list[str]:
            return all_pages(store, CustomerQuery(), scope, 2)

        assert visible(Scope.of("u-1")) == [shared.id, mine.id]
        assert visible(Scope.of("u-2", "u-3")) == [other.id, shared.id]
        assert visible(Scope.everything()) == [orphan.id, other.id, shared.id, mine.id]
        assert visible(Scope(frozenset())) == []
        one = all_pages(store, CustomerQuery(owner_id="u-2"), Scope.of("u-1"), 5)
        assert one == [shared.id]

    def test_count_respects_filters_scope_and_cap(self, store: Store) -> None:
        add_customers(
            store,
            *[make_customer(owner_id="u-1") for _ in range(5)],
            *[make_customer(owner_id="u-2", tags=("VIP",)) for _ in range(3)],
            make_customer(owner_id="u-2", deleted_at=BASE_TIME),
        )
        with store.unit_of_work() as uow:
            count = uow.customers.count
            assert count(CustomerQuery(), EVERYTHING) == 8
            assert count(CustomerQuery(deleted=Deleted.INCLUDE), EVERYTHING) == 9
            assert count(CustomerQuery(), Scope.of("u-2")) == 3
            assert count(CustomerQuery(owner_id="u-1"), EVERYTHING) == 5
            assert count(CustomerQuery(tag="VIP"), EVERYTHING) == 3
            assert count(CustomerQuery(), EVERYTHING, cap=4) == 4
            assert count(CustomerQuery(), EVERYTHING, cap=100) == 8
            assert count(CustomerQuery(), Scope.of("u-2"), cap=2) == 2
            assert count(CustomerQuery(), Scope.of("u-2"), cap=5) == 3
            assert count(CustomerQuery(owner_id="u-1"), Scope.of("u-2"), cap=3) == 0


# -- customers: text search ---------------------------------------------------------------
class CustomerSearchContract(_StoreFixture):
    """``CustomerQuery.text``, with the semantics of :mod:`crmkit.storage.textsearch`."""

    def _search(self, store: Store, text: str, **kw: Any) -> set[str]:
        return set(all_pages(store, CustomerQuery(text=text, **kw), EVERYTHING, 50))

    def test_text_search_finds_names_contacts_and_phones(self, store: Store) -> None:
        jz = make_customer(name="青岛金智电子科技有限公司", mobile=Phone.parse("13800138000"))
        hx = make_customer(name="北京华夏建材有限公司", phone=Phone.parse("010-12345678"))
        en = make_customer(name="Acme Trading Co., Ltd.")
        add_customers(store, jz, hx, en)
        with store.unit_of_work() as uow:
            uow.contacts.add(
                make_contact(hx.id, name="欧阳娜娜", mobile=Phone.parse("13912345678"))
            )
            uow.commit()
        assert self._search(store, "金智电子") == {jz.id}  # a substring of the name
        assert self._search(store, "电子科技有限") == {jz.id}
        assert self._search(store, "有限公司") == {jz.id, hx.id}
        assert self._search(store, "欧阳娜娜") == {hx.id}  # a contact's name
        assert self._search(store, "13800138000") == {jz.id}  # phone digits
        assert self._search(store, "0013800") == {jz.id}  # part of them
        assert self._search(store, "138 0013 8000") == {jz.id}
        assert self._search(store, "+86 139 1234 5678") == {hx.id}  # a contact's phone
        assert self._search(store, "12345678") == {hx.id}
        assert self._search(store, "acme trading") == {en.id}  # case-insensitive
        assert self._search(store, "ＡＣＭＥ") == {en.id}  # full-width input
        assert self._search(store, "青岛") == {jz.id}  # 2 characters: the start of a name
        assert self._search(store, "欧阳") == {hx.id}  # ... or of a contact's name
        assert self._search(store, "没有这家公司") == set()

    def test_text_search_combines_with_filters_and_scope(self, store: Store) -> None:
        a = make_customer(name="青岛金智电子科技有限公司", owner_id="u-1")
        b = make_customer(name="济南金智电子有限公司", owner_id="u-2", tags=("VIP",))
        add_customers(store, a, b)
        assert self._search(store, "金智电子") == {a.id, b.id}
        assert self._search(store, "金智电子", tag="VIP") == {b.id}
        query = CustomerQuery(text="金智电子")
        assert all_pages(store, query, Scope.of("u-1"), 5) == [a.id]
        with store.unit_of_work() as uow:
            assert uow.customers.count(query, EVERYTHING) == 2
            assert uow.customers.count(query, Scope.of("u-2")) == 1

    def test_text_search_skips_the_recycle_bin_unless_asked(self, store: Store) -> None:
        c = make_customer(name="青岛金智电子科技有限公司")
        add_customers(store, c)
        save_customer(store, next_version(c, deleted_at=BASE_TIME))
        assert self._search(store, "金智电子") == set()
        assert self._search(store, "青岛") == set()
        assert self._search(store, "金智电子", deleted=Deleted.ONLY) == {c.id}
        assert self._search(store, "金智电子", deleted=Deleted.INCLUDE) == {c.id}

    def test_text_search_follows_renames_deletions_and_contact_changes(self, store: Store) -> None:
        c = make_customer(name="青岛金智电子科技有限公司")
        add_customers(store, c)
        contact = make_contact(c.id, name="司马光明")
        renamed_contact = make_contact(c.id, name="诸葛亮亮")
        with store.unit_of_work() as uow:
            uow.contacts.add_many([contact, renamed_contact])
            uow.commit()
        assert self._search(store, "诸葛亮亮") == {c.id}
        renamed = next_version(c, name="青岛恒信贸易有限公司")
        with store.unit_of_work() as uow:
            uow.customers.update(renamed, expected_version=1)
            uow.contacts.update(next_version(contact, deleted_at=BASE_TIME), expected_version=1)
            uow.contacts.update(next_version(renamed_contact, name="东方不败"), expected_version=1)
            uow.commit()
        assert self._search(store, "金智电子") == set()
        assert self._search(store, "恒信贸易") == {c.id}
        assert self._search(store, "司马光明") == set()
        assert self._search(store, "诸葛亮亮") == set()
        assert self._search(store, "东方不败") == {c.id}
        save_customer(store, next_version(renamed, deleted_at=BASE_TIME))
        assert self._search(store, "恒信贸易") == set()
        assert self._search(store, "恒信贸易", deleted=Deleted.ONLY) == {c.id}

    def test_customers_added_with_their_contacts_are_found_by_them(self, store: Store) -> None:
        jz = make_customer(name="青岛金智电子科技有限公司")
        hx = make_customer(name="北京华夏建材有限公司")
        old = make_customer(name="上海恒信贸易有限公司")
        add_customers(store, old)
        people = [
            make_contact(jz.id, name="欧阳修", mobile=Phone.parse("13912345678")),
            make_contact(hx.id, name="司马光"),
            make_contact(old.id, name="诸葛亮"),  # a stored customer's contact, given along
        ]
        with store.unit_of_work() as uow:
            uow.customers.add_many([jz, hx], contacts=people)
            uow.commit()
        assert self._search(store, "欧阳修") == {jz.id}
        assert self._search(store, "13912345678") == {jz.id}
        assert self._search(store, "司马光") == {hx.id}
        assert self._search(store, "诸葛亮") == {old.id}
        with store.unit_of_work() as uow:
            assert [c.name for c in uow.contacts.for_customer(jz.id)] == ["欧阳修"]
            assert [c.name for c in uow.contacts.for_customer(old.id)] == ["诸葛亮"]

    def test_text_search_sees_a_contact_added_later_and_forgets_a_purged_one(
        self, store: Store
    ) -> None:
        c = make_customer(name="北京华夏建材有限公司")
        add_customers(store, c)
        late = make_contact(c.id, name="上官婉儿", mobile=Phone.parse("13700001111"))
        with store.unit_of_work() as uow:
            uow.contacts.add(late)
            uow.commit()
        assert self._search(store, "上官婉儿") == {c.id}
        assert self._search(store, "13700001111") == {c.id}
        with store.unit_of_work() as uow:
            uow.contacts.purge([late.id])
            uow.commit()
        assert self._search(store, "上官婉儿") == set()
        assert self._search(store, "13700001111") == set()


# -- contacts ------------------------------------------------------------------------------
class ContactRepositoryContract(_StoreFixture):
    """``ContactRepository``: round trip, scope through the customer, lists, the index."""

    def _add_contacts(self, store: Store, *contacts: Any) -> None:
        with store.unit_of_work() as uow:
            uow.contacts.add_many(list(contacts))
            uow.commit()

    def test_a_contact_round_trips_and_follows_its_customers_scope(self, store: Store) -> None:
        c = make_customer(owner_id="u-1", co_owner_ids=("u-3",))
        add_customers(store, c)
        contact = make_contact(
            c.id,
            name="曾小贤",
            mobile=Phone.parse("13800138000"),
            phone=Phone.parse("0532-88888888 分机 12"),
            email=Email.parse("Zeng@Example.com"),
            is_primary=True,
            gender=Gender.MALE,
            title="经理",
            birthday=date(1980, 2, 3),
            remarks="备注\n第二行",
            version=2,
            created_at=datetime(2026, 2, 1, 10, 0, 0, 500, tzinfo=CHINA),
            deleted_with=None,
        )
        self._add_contacts(store, contact)
        with store.unit_of_work() as uow:
            assert uow.contacts.get(contact.id) == contact
            assert uow.contacts.get(contact.id, Scope.of("u-1")) == contact
            assert uow.contacts.get(contact.id, Scope.of("u-3")) == contact
            assert uow.contacts.get(contact.id, Scope.of("u-2")) is None
            assert uow.contacts.get("no-such-id") is None
            assert (
                uow.contacts.list(ContactQuery(), Scope.of("u-2"), after=None, limit=10).items == ()
            )
            page = uow.contacts.list(ContactQuery(), Scope.of("u-3"), after=None, limit=10)
            assert page.items == (contact,)
        assert (contact.surname, contact.surname_letter) == ("曾", "Z")

    def test_a_deleted_contact_round_trips_with_its_deleted_with_mark(self, store: Store) -> None:
        c = make_customer()
        add_customers(store, c)
        contact = make_contact(c.id, deleted_at=BASE_TIME, deleted_with=c.id)
        self._add_contacts(store, contact)
        with store.unit_of_work() as uow:
            assert uow.contacts.get(contact.id) == contact

    def test_contacts_of_a_customer_are_listed_oldest_first(self, store: Store) -> None:
        a, b = make_customer(), make_customer()
        add_customers(store, a, b)
        first, second = make_contact(a.id, name="张三"), make_contact(a.id, name="李四")
        gone = make_contact(a.id, name="赵六", deleted_at=BASE_TIME)
        elsewhere = make_contact(b.id, name="王五")
        self._add_contacts(store, first, second, gone, elsewhere)
        with store.unit_of_work() as uow:
            assert uow.contacts.for_customer(a.id) == [first, second]
            assert uow.contacts.for_customer(a.id, include_deleted=True) == [first, second, gone]
            assert uow.contacts.for_customer("no-such-id") == []
            by_a = uow.contacts.list(
                ContactQuery(customer_id=a.id), EVERYTHING, after=None, limit=10
            )
            assert by_a.items == (first, second)
            bin_a = uow.contacts.list(
                ContactQuery(customer_id=a.id, deleted=Deleted.ONLY),
                EVERYTHING,
                after=None,
                limit=10,
            )
            assert bin_a.items == (gone,)
            every = uow.contacts.list(
                ContactQuery(deleted=Deleted.INCLUDE), EVERYTHING, after=None, limit=10
            )
            assert every.items == (first, second, gone, elsewhere)

    def test_contacts_list_filters_pages_and_indexes_by_surname(self, store: Store) -> None:
        a, b = make_customer(owner_id="u-1"), make_customer(owner_id="u-2")
        add_customers(store, a, b)
        people = [
            make_contact(a.id, name="张三"),
            make_contact(a.id, name="李四"),
            make_contact(b.id, name="张伟"),
            make_contact(b.id, name="单雄信", mobile=Phone.parse("13912345678")),
            make_contact(a.id, name="Smith"),
        ]
        gone = make_contact(a.id, name="赵六", deleted_at=BASE_TIME)
        self._add_contacts(store, *people, gone)
        with store.unit_of_work() as uow:
            zs = uow.contacts.list(
                ContactQuery(surname_letter="Z"), EVERYTHING, after=None, limit=1
            )
            assert zs.items == (people[0],)
            assert zs.next_after is not None
            rest = uow.contacts.list(
                ContactQuery(surname_letter="Z"), EVERYTHING, after=zs.next_after, limit=5
            )
            assert rest.items == (people[2],)
            assert rest.next_after is None
            scoped = uow.contacts.list(
                ContactQuery(surname_letter="Z"), Scope.of("u-2"), after=None, limit=5
            )
            assert scoped.items == (people[2],)
            assert uow.contacts.surname_index(EVERYTHING) == {"L": 1, "S": 2, "Z": 2}
            assert uow.contacts.surname_index(Scope.of("u-1")) == {"L": 1, "S": 1, "Z": 1}
            assert uow.contacts.surname_index(Scope.of("u-9")) == {}
            found = uow.contacts.list(ContactQuery(text="雄信"), EVERYTHING, after=None, limit=5)
            assert found.items == (people[3],)
            by_phone = uow.contacts.list(
                ContactQuery(text="13912345678"), EVERYTHING, after=None, limit=5
            )
            assert by_phone.items == (people[3],)
            latin = uow.contacts.list(ContactQuery(text="smith"), EVERYTHING, after=None, limit=5)
            assert latin.items == (people[4],)

    def test_contact_pages_cover_every_contact_once(self, store: Store) -> None:
        c = make_customer()
        add_customers(store, c)
        people = [make_contact(c.id) for _ in range(11)]
        self._add_contacts(store, *people)
        for size in (1, 2, 3, 5, 10, 11, 12):
            got: list[str] = []
            after: str | None = None
            with store.unit_of_work() as uow:
                while True:
                    page = uow.contacts.list(ContactQuery(), EVERYTHING, after=after, limit=size)
                    assert 0 < len(page.items) <= size
                    got.extend(p.id for p in page.items)
                    if page.next_after is None:
                        break
                    after = page.next_after
            assert got == [p.id for p in people], size

    def test_a_contact_update_is_versioned(self, store: Store) -> None:
        c = make_customer()
        add_customers(store, c)
        contact = make_contact(c.id)
        self._add_contacts(store, contact)
        changed = next_version(contact, title="总监", name="李雷", surname="李", surname_letter="L")
        with store.unit_of_work() as uow:
            uow.contacts.update(changed, expected_version=1)
            uow.commit()
        with store.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            uow.contacts.update(next_version(contact, title="B"), expected_version=1)
        with store.unit_of_work() as uow, pytest.raises(NotFound):
            uow.contacts.update(next_version(make_contact(c.id)), expected_version=1)
        with store.unit_of_work() as uow:
            assert uow.contacts.get(contact.id) == changed
            assert uow.contacts.surname_index(EVERYTHING) == {"L": 1}

    def test_purging_contacts_removes_only_them(self, store: Store) -> None:
        c = make_customer()
        add_customers(store, c)
        keep, drop = make_contact(c.id), make_contact(c.id)
        self._add_contacts(store, keep, drop)
        with store.unit_of_work() as uow:
            uow.contacts.purge([drop.id])
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.contacts.get(drop.id) is None
            assert uow.contacts.for_customer(c.id) == [keep]
            assert uow.customers.get(c.id) == c


# -- users ---------------------------------------------------------------------------------
class UserRepositoryContract(_StoreFixture):
    """``UserRepository``: logins, hierarchy, credentials, lists."""

    def _add_users(self, store: Store, *users: Any) -> None:
        with store.unit_of_work() as uow:
            for u in users:
                uow.users.add(u)
            uow.commit()

    def test_a_user_round_trips_and_is_found_by_login(self, store: Store) -> None:
        boss = make_user(role=Role.ADMIN)
        u = make_user(
            name="张三",
            login="zhangsan",
            role=Role.MANAGER,
            manager_id=boss.id,
            email=Email.parse("zs@example.com"),
            mobile=Phone.parse("13800138000"),
            active=False,
            locked=True,
            version=4,
            created_at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=CHINA),
            deleted_at=BASE_TIME,
        )
        self._add_users(store, boss, u)
        with store.unit_of_work() as uow:
            assert uow.users.get(u.id) == u
            assert uow.users.get_by_login("zhangsan") == u
            assert uow.users.get_by_login("nobody") is None
            assert uow.users.get("no-such-id") is None

    def test_a_duplicate_login_raises_a_validation_error_naming_login(self, store: Store) -> None:
        first = make_user(login="zhangsan")
        self._add_users(store, first)
        with pytest.raises(ValidationError) as caught, store.unit_of_work() as uow:
            uow.users.add(make_user(login="zhangsan"))
            uow.commit()
        assert caught.value.fields == ("login",)
        with store.unit_of_work() as uow:
            assert uow.users.count() == 1
            assert uow.users.get_by_login("zhangsan") == first

    def test_renaming_a_login_onto_a_taken_one_raises_a_validation_error(
        self, store: Store
    ) -> None:
        a, b = make_user(login="lisi"), make_user(login="wangwu")
        self._add_users(store, a, b)
        with pytest.raises(ValidationError) as caught, store.unit_of_work() as uow:
            uow.users.update(next_version(b, login="lisi"), expected_version=1)
            uow.commit()
        assert caught.value.fields == ("login",)
        with store.unit_of_work() as uow:
            assert uow.users.get(b.id) == b

    def test_a_user_update_is_versioned(self, store: Store) -> None:
        u = make_user(login="zhaoliu")
        self._add_users(store, u)
        changed = next_version(u, name="赵六六", login="zhaoliuliu", role=Role.FINANCE)
        with store.unit_of_work() as uow:
            uow.users.update(changed, expected_version=1)
            uow.commit()
        with store.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            uow.users.update(next_version(u, name="旧"), expected_version=1)
        with store.unit_of_work() as uow, pytest.raises(NotFound):
            uow.users.update(next_version(make_user()), expected_version=1)
        with store.unit_of_work() as uow:
            assert uow.users.get(u.id) == changed
            assert uow.users.get_by_login("zhaoliuliu") == changed
            assert uow.users.get_by_login("zhaoliu") is None

    def test_logins_starting_with_a_prefix(self, store: Store) -> None:
        self._add_users(
            store,
            make_user(login="zhangsan"),
            make_user(login="zhangsan1"),
            make_user(login="zhangsan_2"),
            make_user(login="zhangsi"),
            make_user(login="lisi"),
        )
        with store.unit_of_work() as uow:
            assert uow.users.logins_starting_with("zhangsan") == {
                "zhangsan",
                "zhangsan1",
                "zhangsan_2",
            }
            assert uow.users.logins_starting_with("zhangsan_") == {"zhangsan_2"}
            assert uow.users.logins_starting_with("zhangs%") == set()  # no wildcards
            assert uow.users.logins_starting_with("wang") == set()

    def test_subordinates_are_found_recursively(self, store: Store) -> None:
        boss = make_user(role=Role.MANAGER)
        lead = make_user(role=Role.MANAGER, manager_id=boss.id)
        zs = make_user(manager_id=boss.id)
        junior = make_user(manager_id=lead.id)
        intern = make_user(manager_id=junior.id)
        loner = make_user()
        self._add_users(store, boss, lead, zs, junior, intern, loner)
        with store.unit_of_work() as uow:
            assert uow.users.subordinate_ids(boss.id) == {lead.id, zs.id, junior.id, intern.id}
            assert uow.users.subordinate_ids(lead.id) == {junior.id, intern.id}
            assert uow.users.subordinate_ids(zs.id) == frozenset()
            assert uow.users.subordinate_ids(loner.id) == frozenset()
            assert uow.users.subordinate_ids("no-such-id") == frozenset()

    def test_credentials_round_trip_and_are_replaced_by_put(self, store: Store) -> None:
        u, v = make_user(), make_user()
        self._add_users(store, u, v)
        with store.unit_of_work() as uow:
            uow.users.put_credentials(Credentials(user_id=u.id, password_hash="$argon2id$h1"))
            uow.commit()
        with store.unit_of_work() as uow:
            creds = uow.users.get_credentials(u.id)
            assert creds == Credentials(user_id=u.id, password_hash="$argon2id$h1")
            assert uow.users.get_credentials(v.id) is None
            uow.users.put_credentials(
                attrs.evolve(creds, failed_count=3, failed_on=date(2026, 1, 1))
            )
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.users.get_credentials(u.id) == Credentials(
                user_id=u.id,
                password_hash="$argon2id$h1",
                failed_count=3,
                failed_on=date(2026, 1, 1),
            )
            uow.users.put_credentials(Credentials(user_id=u.id, password_hash=None))
        with store.unit_of_work() as uow:  # that last put was never committed
            creds = uow.users.get_credentials(u.id)
            assert creds is not None and creds.password_hash == "$argon2id$h1"

    def test_users_list_filters_and_pages_oldest_first(self, store: Store) -> None:
        boss = make_user(name="王经理", login="wangjl", role=Role.MANAGER)
        lead = make_user(name="赵组长", login="zhaozz", role=Role.MANAGER, manager_id=boss.id)
        zs = make_user(name="张三", login="zhangsan", manager_id=boss.id)
        idle = make_user(name="张三丰", login="zhangsanfeng", manager_id=lead.id, active=False)
        gone = make_user(name="李四", login="lisi", manager_id=boss.id, deleted_at=BASE_TIME)
        self._add_users(store, boss, lead, zs, idle, gone)

        def ids(query: UserQuery, limit: int = 10) -> list[str]:
            with store.unit_of_work() as uow:
                return [u.id for u in uow.users.list(query, after=None, limit=limit).items]

        assert ids(UserQuery()) == [boss.id, lead.id, zs.id, idle.id]
        assert ids(UserQuery(role=Role.MANAGER)) == [boss.id, lead.id]
        assert ids(UserQuery(active=False)) == [idle.id]
        assert ids(UserQuery(active=True)) == [boss.id, lead.id, zs.id]
        assert ids(UserQuery(manager_id=boss.id)) == [lead.id, zs.id]
        assert ids(UserQuery(manager_id=boss.id, deleted=Deleted.INCLUDE)) == [
            lead.id,
            zs.id,
            gone.id,
        ]
        assert ids(UserQuery(deleted=Deleted.ONLY)) == [gone.id]
        assert ids(UserQuery(text="张三")) == [zs.id, idle.id]
        assert ids(UserQuery(text="zhangsanf")) == [idle.id]
        got: list[str] = []
        after: str | None = None
        with store.unit_of_work() as uow:
            while True:
                page = uow.users.list(UserQuery(deleted=Deleted.INCLUDE), after=after, limit=2)
                got.extend(u.id for u in page.items)
                if page.next_after is None:
                    break
                after = page.next_after
            assert got == [boss.id, lead.id, zs.id, idle.id, gone.id]
            assert uow.users.count() == 5  # deleted ones included


# -- audit ---------------------------------------------------------------------------------
class AuditRepositoryContract(_StoreFixture):
    """``AuditRepository``: append-only entries, history oldest first, lists newest first."""

    def test_an_audit_entry_round_trips_its_changes(self, store: Store) -> None:
        entry = make_audit_entry(
            "e-1",
            at=datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=CHINA),
            action=AuditAction.UPDATE,
            changes={
                "name": ("旧名称有限公司", "新名称有限公司"),
                "tags": (["a"], ["a", "b"]),
                "owner_id": (None, "u-1"),
                "credit_limit": ("100.50", "200.75"),
            },
            note="合并前",
        )
        with store.unit_of_work() as uow:
            uow.audit.append(entry)
            uow.commit()
        with store.unit_of_work() as uow:
            (got,) = uow.audit.history("e-1")
        assert got.id == entry.id
        assert got.at == entry.at and got.at.tzinfo is not None
        assert (got.actor_id, got.entity_type, got.entity_id, got.action, got.note) == (
            entry.actor_id,
            "customer",
            "e-1",
            AuditAction.UPDATE,
            "合并前",
        )
        assert {k: tuple(v) for k, v in got.changes.items()} == {
            k: tuple(v) for k, v in entry.changes.items()
        }

    def test_history_is_oldest_first_and_lists_are_newest_first(self, store: Store) -> None:
        entries = [
            make_audit_entry("e-1", action=a)
            for a in (AuditAction.CREATE, AuditAction.UPDATE, AuditAction.DELETE)
        ]
        other = make_audit_entry("e-2", actor_id="someone", entity_type="contact")
        with store.unit_of_work() as uow:
            uow.audit.append(entries[0])
            uow.audit.append_many([*entries[1:], other])
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.audit.history("e-1") == entries
            assert uow.audit.history("e-2") == [other]
            assert uow.audit.history("e-3") == []
            newest = uow.audit.list(AuditQuery(), after=None, limit=2)
            assert newest.items == (other, entries[2])
            rest = uow.audit.list(AuditQuery(), after=newest.next_after, limit=5)
            assert rest.items == (entries[1], entries[0])
            assert rest.next_after is None

    def test_audit_lists_filter_by_entity_actor_action_and_time(self, store: Store) -> None:
        entries = [
            make_audit_entry("e-1", action=a)
            for a in (AuditAction.CREATE, AuditAction.UPDATE, AuditAction.DELETE)
        ]
        other = make_audit_entry("e-2", actor_id="someone", entity_type="contact")
        with store.unit_of_work() as uow:
            uow.audit.append_many([*entries, other])
            uow.commit()

        def listed(**kw: Any) -> tuple[AuditEntry, ...]:
            with store.unit_of_work() as uow:
                return uow.audit.list(AuditQuery(**kw), after=None, limit=10).items

        assert listed(entity_id="e-1") == tuple(reversed(entries))
        assert listed(actor_id="someone") == (other,)
        assert listed(entity_type="contact") == (other,)
        assert listed(action=AuditAction.DELETE) == (entries[2],)
        assert listed(since=entries[1].at, until=entries[2].at) == (entries[1],)
        assert listed(since=entries[2].at) == (other, entries[2])  # since: inclusive
        assert listed(until=entries[1].at) == (entries[0],)  # until: exclusive
        assert listed(entity_id="e-1", action=AuditAction.CREATE) == (entries[0],)

    def test_audit_pages_cover_every_entry_once(self, store: Store) -> None:
        entries = [make_audit_entry(f"e-{i % 3}") for i in range(13)]
        with store.unit_of_work() as uow:
            uow.audit.append_many(entries)
            uow.commit()
        for size in (1, 2, 4, 12, 13, 14):
            for query, expected in (
                (AuditQuery(), entries),
                (AuditQuery(entity_id="e-1"), [e for e in entries if e.entity_id == "e-1"]),
            ):
                got: list[AuditEntry] = []
                after: str | None = None
                with store.unit_of_work() as uow:
                    while True:
                        page = uow.audit.list(query, after=after, limit=size)
                        assert 0 < len(page.items) <= size
                        got.extend(page.items)
                        if page.next_after is None:
                            break
                        after = page.next_after
                assert got == list(reversed(expected)), (size, query)


# -- the state machine ---------------------------------------------------------------------
class CustomerStateMachineContract(_StoreFixture):
    """The customer repository agrees with a dict through random sequences of operations."""

    def test_the_customer_repository_agrees_with_a_model_through_random_steps(self) -> None:
        run_store_state_machine(
            self.make_store,
            max_examples=self.state_machine_examples,
            step_count=self.state_machine_steps,
        )


class StoreContract(
    CustomerRepositoryContract,
    CustomerListContract,
    CustomerSearchContract,
    ContactRepositoryContract,
    UserRepositoryContract,
    AuditRepositoryContract,
    DedupRepositoryContract,
    CoOwnershipRepositoryContract,
    ImportRepositoryContract,
    CustomerStateMachineContract,
):
    """The whole storage contract: every test of every repository contract above."""


__all__ = [
    "AuditRepositoryContract",
    "CoOwnershipRepositoryContract",
    "ContactRepositoryContract",
    "CustomerListContract",
    "CustomerRepositoryContract",
    "CustomerSearchContract",
    "CustomerStateMachineContract",
    "DedupRepositoryContract",
    "ImportRepositoryContract",
    "StoreContract",
    "UserRepositoryContract",
    "add_customers",
    "all_pages",
]
