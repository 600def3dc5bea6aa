"""The user repository's contract: users, logins and credentials."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import attrs
import pytest

from crmkit.domain.errors import ConcurrencyError, NotFound, ValidationError
from crmkit.domain.user import Credentials, Role
from crmkit.domain.values import Email, Phone
from crmkit.storage.ports import EVERYTHING, Deleted, EntityQuery, Store
from crmkit.storage.spec import Filter, Op
from crmkit.testing.builders import BASE_TIME, make_user, next_version
from crmkit.testing.contract._common import CHINA
from crmkit.testing.contract._fixture import StoreFixture as _StoreFixture


class UserRepositoryContract(_StoreFixture):
    """``UserRepository``: logins, hierarchy, credentials, lists (the generic contract
    covers the rest, as for every spec)."""

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
            assert uow.users.count(EntityQuery(deleted=Deleted.INCLUDE), EVERYTHING) == 1
            assert uow.users.get_by_login("zhangsan") == first

    def test_a_deleted_users_login_may_be_given_again(self, store: Store) -> None:
        gone = make_user(login="zhangsan", deleted_at=BASE_TIME)
        self._add_users(store, gone)
        again = make_user(login="zhangsan")
        self._add_users(store, again)  # unique among live users only
        with store.unit_of_work() as uow:
            assert uow.users.get_by_login("zhangsan") == again  # the live holder first
            assert uow.users.logins_starting_with("zhang") == {"zhangsan"}
            with pytest.raises(ValidationError) as caught:  # two live holders: never
                uow.users.update(next_version(gone, deleted_at=None), expected_version=1)
                uow.commit()
        assert caught.value.fields == ("login",)

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
                attrs.evolve(
                    creds,
                    failed_count=3,
                    failed_on=date(2026, 1, 1),
                    locked_until=datetime(2026, 1, 1, 2, 15, tzinfo=UTC),
                )
            )
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.users.get_credentials(u.id) == Credentials(
                user_id=u.id,
                password_hash="$argon2id$h1",
                failed_count=3,
                failed_on=date(2026, 1, 1),
                locked_until=datetime(2026, 1, 1, 2, 15, tzinfo=UTC),
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

        def ids(
            deleted: Deleted = Deleted.EXCLUDE, text: str | None = None, **eq: Any
        ) -> list[str]:
            filters = tuple(Filter(name, Op.EQ, value) for name, value in eq.items())
            query = EntityQuery(filters=filters, deleted=deleted, text=text)
            with store.unit_of_work() as uow:
                return [u.id for u in uow.users.list(query, EVERYTHING, after=None, limit=10).items]

        assert ids() == [boss.id, lead.id, zs.id, idle.id]
        assert ids(role=Role.MANAGER) == [boss.id, lead.id]
        assert ids(active=False) == [idle.id]
        assert ids(active=True) == [boss.id, lead.id, zs.id]
        assert ids(manager_id=boss.id) == [lead.id, zs.id]
        assert ids(Deleted.INCLUDE, manager_id=boss.id) == [lead.id, zs.id, gone.id]
        assert ids(Deleted.ONLY) == [gone.id]
        assert ids(text="张三") == [zs.id, idle.id]
        assert ids(text="zhangsanf") == [idle.id]
        got: list[str] = []
        after: str | None = None
        with store.unit_of_work() as uow:
            while True:
                page = uow.users.list(
                    EntityQuery(deleted=Deleted.INCLUDE), EVERYTHING, after=after, limit=2
                )
                got.extend(u.id for u in page.items)
                if page.next_after is None:
                    break
                after = page.next_after
            assert got == [boss.id, lead.id, zs.id, idle.id, gone.id]
            everyone = EntityQuery(deleted=Deleted.INCLUDE)
            assert uow.users.count(everyone, EVERYTHING) == 5
