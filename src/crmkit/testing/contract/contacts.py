"""The contact repository's contract."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from crmkit.domain.common import Gender
from crmkit.domain.errors import ConcurrencyError, NotFound
from crmkit.domain.values import Email, Phone
from crmkit.storage.ports import EVERYTHING, Deleted, EntityQuery, Scope, Store
from crmkit.storage.spec import Filter, Op
from crmkit.testing.builders import BASE_TIME, make_contact, make_customer, next_version
from crmkit.testing.contract._common import CHINA, add_customers
from crmkit.testing.contract._fixture import StoreFixture as _StoreFixture


def _query(
    *, deleted: Deleted = Deleted.EXCLUDE, text: str | None = None, **eq: Any
) -> EntityQuery:
    """Contacts whose ``customer_id`` / ``surname_letter`` … equal these (the generic
    repository's query)."""
    filters = tuple(Filter(name, Op.EQ, value) for name, value in eq.items())
    return EntityQuery(filters=filters, deleted=deleted, text=text)


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
            assert uow.contacts.list(_query(), Scope.of("u-2"), after=None, limit=10).items == ()
            page = uow.contacts.list(_query(), Scope.of("u-3"), after=None, limit=10)
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
            by_a = uow.contacts.list(_query(customer_id=a.id), EVERYTHING, after=None, limit=10)
            assert by_a.items == (first, second)
            bin_a = uow.contacts.list(
                _query(customer_id=a.id, deleted=Deleted.ONLY),
                EVERYTHING,
                after=None,
                limit=10,
            )
            assert bin_a.items == (gone,)
            every = uow.contacts.list(
                _query(deleted=Deleted.INCLUDE), EVERYTHING, after=None, limit=10
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
            zs = uow.contacts.list(_query(surname_letter="Z"), EVERYTHING, after=None, limit=1)
            assert zs.items == (people[0],)
            assert zs.next_after is not None
            rest = uow.contacts.list(
                _query(surname_letter="Z"), EVERYTHING, after=zs.next_after, limit=5
            )
            assert rest.items == (people[2],)
            assert rest.next_after is None
            scoped = uow.contacts.list(
                _query(surname_letter="Z"), Scope.of("u-2"), after=None, limit=5
            )
            assert scoped.items == (people[2],)
            assert uow.contacts.surname_index(EVERYTHING) == {"L": 1, "S": 2, "Z": 2}
            assert uow.contacts.surname_index(Scope.of("u-1")) == {"L": 1, "S": 1, "Z": 1}
            assert uow.contacts.surname_index(Scope.of("u-9")) == {}
            found = uow.contacts.list(_query(text="雄信"), EVERYTHING, after=None, limit=5)
            assert found.items == (people[3],)
            by_phone = uow.contacts.list(
                _query(text="13912345678"), EVERYTHING, after=None, limit=5
            )
            assert by_phone.items == (people[3],)
            latin = uow.contacts.list(_query(text="smith"), EVERYTHING, after=None, limit=5)
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
                    page = uow.contacts.list(_query(), EVERYTHING, after=after, limit=size)
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

    def test_contacts_are_found_by_any_of_their_numbers(self, store: Store) -> None:
        c = make_customer()
        add_customers(store, c)
        by_mobile = make_contact(c.id, mobile=Phone.parse("13800138000"))
        by_phone = make_contact(c.id, phone=Phone.parse("0532-88888888 分机 12"))
        both = make_contact(
            c.id, mobile=Phone.parse("13900139000"), phone=Phone.parse("0532-88888888")
        )
        gone = make_contact(
            c.id,
            mobile=Phone.parse("13800138000"),
            deleted_at=datetime(2026, 2, 1, tzinfo=CHINA),
        )
        self._add_contacts(store, by_mobile, by_phone, both, gone)
        with store.unit_of_work() as uow:
            found = uow.contacts.with_phones(["+8613800138000", "+8653288888888"])
            assert {x.id for x in found} == {by_mobile.id, by_phone.id, both.id}
            assert uow.contacts.with_phones(["+8613900139000"]) == [both]
            assert uow.contacts.with_phones(["+8613700137000"]) == []
            assert uow.contacts.with_phones([]) == []
