"""The customer repository's contract: round trip, versions and transactions; lists,
filters, scope and counts; text search.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmkit.domain.common import Gender
from crmkit.domain.customer import (
    Category,
    ChannelType,
    CreditRating,
    Customer,
    CustomerKind,
    Settlement,
)
from crmkit.domain.errors import ConcurrencyError, NotFound
from crmkit.domain.regions import Region
from crmkit.domain.values import USCC, Email, IdNumber, Money, Phone
from crmkit.storage.ports import EVERYTHING, CustomerQuery, Deleted, Scope, Store, Summary
from crmkit.testing.builders import (
    BASE_TIME,
    make_audit_entry,
    make_contact,
    make_customer,
    make_user,
    next_version,
)
from crmkit.testing.contract._common import (
    CHINA,
    add_customers,
    all_pages,
    get_customer,
    save_customer,
)
from crmkit.testing.contract._fixture import StoreFixture as _StoreFixture
from crmkit.testing.strategies import customers as valid_customers


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
            id_number=IdNumber.parse("11010519491231002x"),
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
        assert got.id_number is not None and got.id_number.value == "11010519491231002X"

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
