"""The storage contract: what every backend must do, as a pytest suite.

Subclass :class:`StoreContract` in a test module, name the subclass ``Test…`` and implement
``make_store``; pytest then runs every test below against your backend::

    from crmkit.testing.contract import StoreContract

    class TestMyStore(StoreContract):
        def make_store(self):
            return MyStore("my://test")

crmkit runs this suite against its in-memory, SQLite and PostgreSQL stores. The hypothesis
state machine in :mod:`crmkit.testing.statemachine` runs with it (``test_state_machine``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import attrs
import pytest

from crmkit.domain.audit import AuditAction
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
    UserQuery,
)
from crmkit.testing.builders import (
    BASE_TIME,
    make_audit_entry,
    make_contact,
    make_customer,
    make_user,
    next_version,
)
from crmkit.testing.statemachine import run_customer_state_machine


def _all_pages(store: Store, query: CustomerQuery, scope: Scope, size: int) -> list[str]:
    ids: list[str] = []
    after: str | None = None
    with store.unit_of_work() as uow:
        while True:
            page = uow.customers.list(query, scope, after=after, limit=size)
            assert len(page.items) <= size
            ids.extend(c.id for c in page.items)
            if page.next_after is None:
                return ids
            after = page.next_after


def _add(store: Store, *customers: Customer) -> None:
    with store.unit_of_work() as uow:
        uow.customers.add_many(list(customers))
        uow.commit()


class StoreContract:
    """Every storage backend passes these tests."""

    state_machine_examples = 20

    def make_store(self) -> Store:
        raise NotImplementedError("subclasses return a fresh, empty store")

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        store = self.make_store()
        yield store
        store.close()

    # -- customers: round trip and versions ---------------------------------------------
    def test_a_customer_round_trips_every_field(self, store: Store) -> None:
        parent = make_customer()
        full = make_customer(
            kind=CustomerKind.COMPANY,
            name="青岛金智电子科技有限公司",
            category=Category.FORMAL,
            channel_type=ChannelType.CHANNEL,
            related_customer_ids=(parent.id,),
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
            phone=Phone.parse("0532-88888888"),
            email=Email.parse("Zhang@Example.COM"),
            remarks="第一行\n第二行",
            custom={
                "staff": Decimal("120.5"),
                "founded": date(2001, 1, 2),
                "listed": True,
                "scale": "中型",
            },
            deleted_at=BASE_TIME + timedelta(days=1),
        )
        _add(store, parent, full)
        with store.unit_of_work() as uow:
            got = uow.customers.get(full.id)
        assert got == full
        assert got is not None
        assert got.created_at.tzinfo is not None
        assert got.credit_limit == Money(Decimal("12345.6789"), "CNY")

    def test_get_of_an_unknown_id_is_none(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            assert uow.customers.get("no-such-id") is None

    def test_get_outside_the_scope_is_none(self, store: Store) -> None:
        c = make_customer(owner_id="u-1", co_owner_ids=("u-2",))
        _add(store, c)
        with store.unit_of_work() as uow:
            assert uow.customers.get(c.id, Scope.of("u-9")) is None
            assert uow.customers.get(c.id, Scope.of("u-2")) == c
            assert uow.customers.get(c.id, Scope.of("u-1")) == c
            assert uow.customers.get_many([c.id, "nope"], Scope.of("u-1")) == [c]
            assert uow.customers.get_many([c.id], Scope.of("u-9")) == []

    def test_an_update_from_the_current_version_is_stored(self, store: Store) -> None:
        c = make_customer(tags=("a",), co_owner_ids=("u-2",))
        _add(store, c)
        changed = next_version(c, name="新名称有限公司", tags=("b",), co_owner_ids=("u-3",))
        with store.unit_of_work() as uow:
            uow.customers.update(changed, expected_version=1)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.get(c.id) == changed
            assert uow.customers.get(c.id, Scope.of("u-2")) is None
            assert uow.customers.get(c.id, Scope.of("u-3")) == changed

    def test_a_stale_update_raises_and_changes_nothing(self, store: Store) -> None:
        c = make_customer()
        _add(store, c)
        with store.unit_of_work() as uow:
            uow.customers.update(next_version(c, remarks="first"), expected_version=1)
            uow.commit()
        with store.unit_of_work() as uow, pytest.raises(ConcurrencyError) as caught:
            uow.customers.update(next_version(c, remarks="second"), expected_version=1)
        assert (caught.value.expected, caught.value.actual) == (1, 2)
        with store.unit_of_work() as uow:
            got = uow.customers.get(c.id)
        assert got is not None
        assert got.remarks == "first"

    def test_updating_a_missing_customer_raises_not_found(self, store: Store) -> None:
        with store.unit_of_work() as uow, pytest.raises(NotFound):
            uow.customers.update(next_version(make_customer()), expected_version=1)

    def test_leaving_a_unit_of_work_without_commit_keeps_nothing(self, store: Store) -> None:
        c = make_customer()
        with store.unit_of_work() as uow:
            uow.customers.add(c)
            uow.audit.append(make_audit_entry(c.id))
        with pytest.raises(RuntimeError), store.unit_of_work() as uow:
            uow.customers.add(make_customer())
            raise RuntimeError("boom")
        with store.unit_of_work() as uow:
            assert uow.customers.get(c.id) is None
            assert uow.audit.history(c.id) == []
            assert uow.customers.count(CustomerQuery(), EVERYTHING) == 0

    def test_of_two_units_of_work_from_one_version_the_second_writer_loses(
        self, store: Store
    ) -> None:
        c = make_customer()
        _add(store, c)
        with store.unit_of_work() as first:
            first.customers.update(next_version(c, remarks="first"), expected_version=1)
            first.commit()
        with store.unit_of_work() as second, pytest.raises(ConcurrencyError):
            second.customers.update(next_version(c, remarks="second"), expected_version=1)

    def test_soft_deleted_customers_leave_lists_but_not_get(self, store: Store) -> None:
        live, gone = make_customer(), make_customer()
        _add(store, live, gone)
        with store.unit_of_work() as uow:
            uow.customers.update(next_version(gone, deleted_at=BASE_TIME), expected_version=1)
            uow.commit()
        assert _all_pages(store, CustomerQuery(), EVERYTHING, 10) == [live.id]
        assert _all_pages(store, CustomerQuery(deleted=Deleted.ONLY), EVERYTHING, 10) == [gone.id]
        assert set(_all_pages(store, CustomerQuery(deleted=Deleted.INCLUDE), EVERYTHING, 10)) == {
            live.id,
            gone.id,
        }
        with store.unit_of_work() as uow:
            assert uow.customers.get(gone.id) is not None

    def test_purge_removes_the_customer_its_contacts_and_its_search_entry(
        self, store: Store
    ) -> None:
        c = make_customer(name="青岛金智电子科技有限公司")
        _add(store, c)
        with store.unit_of_work() as uow:
            contact = make_contact(c.id, name="李四")
            uow.contacts.add(contact)
            uow.commit()
        with store.unit_of_work() as uow:
            uow.customers.purge([c.id])
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.customers.get(c.id) is None
            assert uow.contacts.get(contact.id) is None
            for deleted in (Deleted.EXCLUDE, Deleted.INCLUDE):
                query = CustomerQuery(text="金智电子", deleted=deleted)
                assert uow.customers.count(query, EVERYTHING) == 0

    def test_find_by_keys_matches_names_and_phones_across_scopes(self, store: Store) -> None:
        jz = make_customer(
            name="青岛金智电子科技有限公司", owner_id="u-1", mobile=Phone.parse("13800138000")
        )
        hx = make_customer(name="Acme Trading", owner_id="u-2", phone=Phone.parse("010-12345678"))
        gone = make_customer(name="已删除有限公司", deleted_at=BASE_TIME)
        _add(store, jz, hx, gone)
        with store.unit_of_work() as uow:
            found = uow.customers.find_by_keys(
                name_keys=["acme trading"], phones=["+8613800138000"]
            )
            assert {c.id for c in found} == {jz.id, hx.id}
            assert uow.customers.find_by_keys(phones=["+861012345678"]) == [hx]
            assert uow.customers.find_by_keys(name_keys=["已删除有限公司"]) == []
            assert uow.customers.find_by_keys() == []

    # -- lists --------------------------------------------------------------------------
    def test_keyset_pages_return_every_row_once_newest_first(self, store: Store) -> None:
        _add(store, *[make_customer() for _ in range(17)])
        with store.unit_of_work() as uow:
            newest_first = uow.customers.list(CustomerQuery(), EVERYTHING, after=None, limit=100)
        expected = [c.id for c in newest_first.items]
        created = [c.created_at for c in newest_first.items]
        assert created == sorted(created, reverse=True)
        assert len(set(expected)) == 17
        for size in (*range(1, 10), 16, 17, 18):  # every small size, and the edges
            assert _all_pages(store, CustomerQuery(), EVERYTHING, size) == expected

    def test_each_filter_restricts_the_list(self, store: Store) -> None:
        qd = make_customer(
            owner_id="u-1",
            category=Category.FORMAL,
            kind=CustomerKind.COMPANY,
            region=Region.from_code("370202"),
            tags=("VIP",),
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
            created_at=BASE_TIME + timedelta(days=4),
        )
        _add(store, qd, bj, jn)

        def ids(**kw: object) -> set[str]:
            return set(_all_pages(store, CustomerQuery(**kw), EVERYTHING, 50))  # type: ignore[arg-type]

        assert ids(owner_id="u-1") == {qd.id, jn.id}
        assert ids(category=Category.FORMAL) == {qd.id}
        assert ids(kind=CustomerKind.INDIVIDUAL) == {bj.id}
        assert ids(channel_type=ChannelType.CHANNEL) == {bj.id}
        assert ids(region="370000") == {qd.id, jn.id}
        assert ids(region="370200") == {qd.id}
        assert ids(region="370202") == {qd.id}
        assert ids(region="110000") == {bj.id}
        assert ids(tag="VIP") == {qd.id}
        assert ids(source="网络") == {bj.id}
        assert ids(industry="制造业") == {qd.id}
        assert ids(created_from=BASE_TIME + timedelta(days=2)) == {bj.id, jn.id}
        assert ids(created_to=BASE_TIME + timedelta(days=2)) == {qd.id}
        assert ids(owner_id="u-1", region="370200", tag="VIP") == {qd.id}

    def test_deleted_before_selects_what_has_been_in_the_bin_long_enough(
        self, store: Store
    ) -> None:
        old, new = make_customer(), make_customer()
        _add(store, old, new)
        with store.unit_of_work() as uow:
            uow.customers.update(next_version(old, deleted_at=BASE_TIME), expected_version=1)
            uow.customers.update(
                next_version(new, deleted_at=BASE_TIME + timedelta(days=30)), expected_version=1
            )
            uow.commit()
        query = CustomerQuery(deleted=Deleted.ONLY, deleted_before=BASE_TIME + timedelta(days=1))
        assert _all_pages(store, query, EVERYTHING, 10) == [old.id]

    def test_scope_shows_owned_and_co_owned_customers_only(self, store: Store) -> None:
        mine = make_customer(owner_id="u-1")
        shared = make_customer(owner_id="u-2", co_owner_ids=("u-1",))
        other = make_customer(owner_id="u-3")
        _add(store, mine, shared, other)
        assert set(_all_pages(store, CustomerQuery(), Scope.of("u-1"), 2)) == {mine.id, shared.id}
        assert set(_all_pages(store, CustomerQuery(), Scope.of("u-2", "u-3"), 2)) == {
            shared.id,
            other.id,
        }
        assert len(_all_pages(store, CustomerQuery(), EVERYTHING, 2)) == 3
        assert _all_pages(store, CustomerQuery(), Scope(frozenset()), 2) == []

    def test_count_respects_filters_scope_and_cap(self, store: Store) -> None:
        _add(
            store,
            *[make_customer(owner_id="u-1") for _ in range(5)],
            *[make_customer(owner_id="u-2") for _ in range(3)],
        )
        with store.unit_of_work() as uow:
            assert uow.customers.count(CustomerQuery(), EVERYTHING) == 8
            assert uow.customers.count(CustomerQuery(), Scope.of("u-2")) == 3
            assert uow.customers.count(CustomerQuery(owner_id="u-1"), EVERYTHING) == 5
            assert uow.customers.count(CustomerQuery(), EVERYTHING, cap=4) == 4

    # -- text search --------------------------------------------------------------------
    def _search(self, store: Store, text: str, **kw: object) -> set[str]:
        return set(_all_pages(store, CustomerQuery(text=text, **kw), EVERYTHING, 50))  # type: ignore[arg-type]

    def test_text_search_finds_names_contacts_and_phones(self, store: Store) -> None:
        jz = make_customer(name="青岛金智电子科技有限公司", mobile=Phone.parse("13800138000"))
        hx = make_customer(name="北京华夏建材有限公司", phone=Phone.parse("010-12345678"))
        en = make_customer(name="Acme Trading Co., Ltd.")
        _add(store, jz, hx, en)
        with store.unit_of_work() as uow:
            uow.contacts.add(
                make_contact(hx.id, name="欧阳娜娜", mobile=Phone.parse("13912345678"))
            )
            uow.commit()
        assert self._search(store, "金智电子") == {jz.id}
        assert self._search(store, "欧阳娜娜") == {hx.id}
        assert self._search(store, "13800138000") == {jz.id}
        assert self._search(store, "0013800") == {jz.id}
        assert self._search(store, "+86 139 1234 5678") == {hx.id}
        assert self._search(store, "12345678") == {hx.id}
        assert self._search(store, "acme trading") == {en.id}
        assert self._search(store, "ＡＣＭＥ") == {en.id}  # full-width input
        assert self._search(store, "青岛") == {jz.id}  # short: start of a name
        assert self._search(store, "欧阳") == {hx.id}  # short: start of a contact's name
        assert self._search(store, "没有这家公司") == set()

    def test_text_search_follows_renames_deletions_and_contact_changes(self, store: Store) -> None:
        c = make_customer(name="青岛金智电子科技有限公司")
        _add(store, c)
        contact = make_contact(c.id, name="司马光明")
        with store.unit_of_work() as uow:
            uow.contacts.add(contact)
            uow.commit()
        renamed = next_version(c, name="青岛恒信贸易有限公司")
        with store.unit_of_work() as uow:
            uow.customers.update(renamed, expected_version=1)
            uow.contacts.update(next_version(contact, deleted_at=BASE_TIME), expected_version=1)
            uow.commit()
        assert self._search(store, "金智电子") == set()
        assert self._search(store, "恒信贸易") == {c.id}
        assert self._search(store, "司马光明") == set()
        with store.unit_of_work() as uow:
            uow.customers.update(next_version(renamed, deleted_at=BASE_TIME), expected_version=2)
            uow.commit()
        assert self._search(store, "恒信贸易") == set()
        assert self._search(store, "恒信贸易", deleted=Deleted.ONLY) == {c.id}

    # -- contacts -----------------------------------------------------------------------
    def test_contacts_round_trip_and_follow_their_customers_scope(self, store: Store) -> None:
        c = make_customer(owner_id="u-1")
        _add(store, c)
        contact = make_contact(
            c.id,
            name="曾小贤",
            mobile=Phone.parse("13800138000"),
            email=Email.parse("zeng@example.com"),
            is_primary=True,
            gender=Gender.MALE,
            title="经理",
            birthday=date(1980, 2, 3),
        )
        with store.unit_of_work() as uow:
            uow.contacts.add(contact)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.contacts.get(contact.id) == contact
            assert uow.contacts.get(contact.id, Scope.of("u-1")) == contact
            assert uow.contacts.get(contact.id, Scope.of("u-2")) is None
            page = uow.contacts.list(ContactQuery(), Scope.of("u-2"), after=None, limit=10)
            assert page.items == ()
        assert contact.surname_letter == "Z"

    def test_contacts_list_filter_and_index_by_surname(self, store: Store) -> None:
        a, b = make_customer(owner_id="u-1"), make_customer(owner_id="u-2")
        _add(store, a, b)
        people = [
            make_contact(a.id, name="张三"),
            make_contact(a.id, name="李四"),
            make_contact(b.id, name="张伟"),
            make_contact(b.id, name="单雄信"),
        ]
        gone = make_contact(a.id, name="赵六", deleted_at=BASE_TIME)
        with store.unit_of_work() as uow:
            uow.contacts.add_many([*people, gone])
            uow.commit()
        with store.unit_of_work() as uow:
            by_a = uow.contacts.list(
                ContactQuery(customer_id=a.id), EVERYTHING, after=None, limit=10
            )
            assert [p.name for p in by_a.items] == ["张三", "李四"]
            zs = uow.contacts.list(
                ContactQuery(surname_letter="Z"), EVERYTHING, after=None, limit=1
            )
            assert len(zs.items) == 1
            assert zs.next_after is not None
            rest = uow.contacts.list(
                ContactQuery(surname_letter="Z"), EVERYTHING, after=zs.next_after, limit=5
            )
            assert {p.name for p in (*zs.items, *rest.items)} == {"张三", "张伟"}
            assert uow.contacts.surname_index(EVERYTHING) == {"L": 1, "S": 1, "Z": 2}
            assert uow.contacts.surname_index(Scope.of("u-1")) == {"L": 1, "Z": 1}
            assert [p.name for p in uow.contacts.for_customer(a.id)] == ["张三", "李四"]
            assert len(uow.contacts.for_customer(a.id, include_deleted=True)) == 3
            found = uow.contacts.list(ContactQuery(text="雄信"), EVERYTHING, after=None, limit=5)
            assert [p.name for p in found.items] == ["单雄信"]

    def test_a_stale_contact_update_raises(self, store: Store) -> None:
        c = make_customer()
        _add(store, c)
        contact = make_contact(c.id)
        with store.unit_of_work() as uow:
            uow.contacts.add(contact)
            uow.commit()
        with store.unit_of_work() as uow:
            uow.contacts.update(next_version(contact, title="A"), expected_version=1)
            uow.commit()
        with store.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            uow.contacts.update(next_version(contact, title="B"), expected_version=1)

    # -- users --------------------------------------------------------------------------
    def test_users_round_trip_and_logins_are_unique(self, store: Store) -> None:
        u = make_user(
            name="张三",
            login="zhangsan",
            role=Role.MANAGER,
            email=Email.parse("zs@example.com"),
            mobile=Phone.parse("13800138000"),
        )
        with store.unit_of_work() as uow:
            uow.users.add(u)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.users.get(u.id) == u
            assert uow.users.get_by_login("zhangsan") == u
            assert uow.users.get_by_login("nobody") is None
        with pytest.raises(ValidationError) as caught, store.unit_of_work() as uow:
            uow.users.add(make_user(login="zhangsan"))
            uow.commit()
        assert caught.value.fields == ("login",)

    def test_users_logins_prefix_subordinates_and_credentials(self, store: Store) -> None:
        boss = make_user(login="wangjl", role=Role.MANAGER)
        lead = make_user(login="zhaozz", role=Role.MANAGER, manager_id=boss.id)
        zs = make_user(login="zhangsan", manager_id=boss.id)
        zs1 = make_user(login="zhangsan1", manager_id=lead.id, active=False)
        with store.unit_of_work() as uow:
            for u in (boss, lead, zs, zs1):
                uow.users.add(u)
            uow.users.put_credentials(Credentials(user_id=zs.id, password_hash="h1"))
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.users.logins_starting_with("zhangsan") == {"zhangsan", "zhangsan1"}
            assert uow.users.subordinate_ids(boss.id) == {lead.id, zs.id, zs1.id}
            assert uow.users.subordinate_ids(lead.id) == {zs1.id}
            assert uow.users.subordinate_ids(zs.id) == frozenset()
            assert uow.users.count() == 4
            creds = uow.users.get_credentials(zs.id)
            assert creds == Credentials(user_id=zs.id, password_hash="h1")
            uow.users.put_credentials(
                attrs.evolve(creds, failed_count=3, failed_on=date(2026, 1, 1))
            )
            uow.commit()
        with store.unit_of_work() as uow:
            creds = uow.users.get_credentials(zs.id)
            assert creds is not None
            assert creds.failed_count == 3
            assert uow.users.get_credentials(boss.id) is None
            managers = uow.users.list(UserQuery(role=Role.MANAGER), after=None, limit=10)
            assert [u.id for u in managers.items] == [boss.id, lead.id]
            inactive = uow.users.list(UserQuery(active=False), after=None, limit=10)
            assert [u.id for u in inactive.items] == [zs1.id]
            under = uow.users.list(UserQuery(manager_id=boss.id), after=None, limit=1)
            assert under.next_after is not None

    # -- audit --------------------------------------------------------------------------
    def test_audit_history_is_oldest_first_and_lists_newest_first(self, store: Store) -> None:
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
            newest = uow.audit.list(AuditQuery(), after=None, limit=2)
            assert list(newest.items) == [other, entries[2]]
            rest = uow.audit.list(AuditQuery(), after=newest.next_after, limit=5)
            assert list(rest.items) == [entries[1], entries[0]]
            assert uow.audit.list(AuditQuery(actor_id="someone"), after=None, limit=5).items == (
                other,
            )
            assert uow.audit.list(AuditQuery(entity_type="contact"), after=None, limit=5).items == (
                other,
            )
            deletes = uow.audit.list(AuditQuery(action=AuditAction.DELETE), after=None, limit=5)
            assert deletes.items == (entries[2],)
            since = uow.audit.list(
                AuditQuery(since=entries[1].at, until=entries[2].at), after=None, limit=5
            )
            assert since.items == (entries[1],)

    # -- the state machine --------------------------------------------------------------
    def test_state_machine(self) -> None:
        run_customer_state_machine(self.make_store, max_examples=self.state_machine_examples)
