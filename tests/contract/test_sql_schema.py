"""SQL-only guarantees: migrations match the tables, and queries use their indexes."""

from __future__ import annotations

import sqlite3
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from crmkit.domain.customer import Settlement
from crmkit.domain.values import Money
from crmkit.storage.sql import SqlStore
from crmkit.storage.sql.migrate import alembic_config, include_name, include_object_for
from crmkit.storage.sql.tables import metadata
from crmkit.testing.builders import make_customer


def _diff(url: str) -> list[object]:
    store = SqlStore(url)  # migrates an empty database to head
    try:
        with store.engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "include_name": include_name,
                    "include_object": include_object_for(conn.dialect.name),
                    "compare_type": True,
                },
            )
            return list(compare_metadata(context, metadata))
    finally:
        store.close()


def test_an_empty_sqlite_database_migrated_to_head_equals_the_tables(tmp_path: Path):
    assert _diff(f"sqlite:///{tmp_path}/m.db") == []


@pytest.mark.postgres
def test_an_empty_postgres_database_migrated_to_head_equals_the_tables(pg_bare_schema_url: str):
    assert _diff(pg_bare_schema_url) == []


def test_migrating_twice_is_harmless(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/twice.db"
    SqlStore(url).close()
    store = SqlStore(url)
    with store.engine.connect() as conn:
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    store.close()
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()


def _plan(path: Path, sql: str, params: tuple[object, ...]) -> str:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    return " | ".join(r[3] for r in rows)


def test_sqlite_text_search_and_owner_filter_use_indexes(tmp_path: Path):
    path = tmp_path / "plan.db"
    store = SqlStore(f"sqlite:///{path}")
    with store.unit_of_work() as uow:
        uow.customers.add_many([make_customer(owner_id="u-1") for _ in range(20)])
        uow.commit()
    store.close()
    fts = _plan(
        path,
        "SELECT seq FROM customers WHERE seq IN (SELECT rowid FROM customer_fts "
        "WHERE customer_fts MATCH ?) ORDER BY seq DESC LIMIT 51",
        ('"金智电子"',),
    )
    assert "VIRTUAL TABLE INDEX" in fts
    owner = _plan(
        path, "SELECT seq FROM customers WHERE owner_id = ? ORDER BY seq DESC LIMIT 51", ("u-1",)
    )
    assert (
        "USING COVERING INDEX ix_customers_owner_seq" in owner
        or "USING INDEX ix_customers_owner_seq" in owner
    )


def test_money_is_stored_exactly_never_as_a_float(tmp_path: Path):
    path = tmp_path / "money.db"
    store = SqlStore(f"sqlite:///{path}")
    exact = Money(Decimal("0.1") + Decimal("0.2"))
    c = make_customer(settlement=Settlement.CREDIT, credit_limit=exact)
    with store.unit_of_work() as uow:
        uow.customers.add(c)
        uow.commit()
    with store.unit_of_work() as uow:
        got = uow.customers.get(c.id)
    store.close()
    assert got is not None and got.credit_limit == Money(Decimal("0.3"))
    with sqlite3.connect(path) as conn:
        stored, kind = conn.execute(
            "SELECT credit_limit, typeof(credit_limit) FROM customers"
        ).fetchone()
    assert (stored, kind) == ("0.3", "text")


def test_sqlite_timestamps_are_sortable_utc_text(tmp_path: Path):
    path = tmp_path / "ts.db"
    store = SqlStore(f"sqlite:///{path}")
    with store.unit_of_work() as uow:
        uow.customers.add(make_customer())
        uow.commit()
    store.close()
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        text = conn.exec_driver_sql("SELECT created_at FROM customers").scalar()
    engine.dispose()
    assert isinstance(text, str)
    assert text.endswith("+00:00")


def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    from alembic import command

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            (command.downgrade if down else command.upgrade)(config, revision)
    finally:
        engine.dispose()


def _execute(url: str, *statements: str) -> None:
    """Run ``statements`` on the database at ``url`` in one transaction (rows as an older
    revision stored them)."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for sql in statements:
                conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    """The rows ``sql`` reads from the database at ``url`` (as a downgrade left them)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql)]
    finally:
        engine.dispose()


def _old_request_rows(url: str) -> None:
    _execute(
        url,
        "INSERT INTO co_ownership_requests (id, customer_id, requester_id, owner_id, note,"
        " status, created_at, decided_by, decided_at, decision_note, version) VALUES"
        " ('r-1', 'c-1', 'u-2', 'u-1', '想跟进', 'pending',"
        " '2026-11-01T08:00:00.000000+00:00', NULL, NULL, NULL, 1),"
        " ('r-2', 'c-1', 'u-3', 'u-1', NULL, 'granted',"
        " '2026-11-02T08:00:00.000000+00:00', 'u-9', '2026-11-03T09:30:00.000000+00:00',"
        " '同意', 2)",
    )


def test_co_ownership_requests_survive_their_move_onto_the_kernel_and_back(tmp_path: Path):
    _requests_survive(f"sqlite:///{tmp_path}/old.db")


@pytest.mark.postgres
def test_co_ownership_requests_survive_the_move_on_postgres(pg_bare_schema_url: str):
    _requests_survive(pg_bare_schema_url)


def _requests_survive(url: str) -> None:
    from datetime import UTC, datetime

    from crmkit.domain.sharing import RequestStatus
    from crmkit.storage.catalog import CO_OWNERSHIP_REQUESTS
    from crmkit.storage.ports import EVERYTHING, EntityQuery

    _migrate(url, "0007")
    _old_request_rows(url)
    store = SqlStore(url)  # migrates to head: the requests move onto the generic table
    with store.unit_of_work() as uow:
        repo = uow.repo(CO_OWNERSHIP_REQUESTS)
        granted = repo.get("r-2")
        listed = repo.list(EntityQuery(), EVERYTHING, after=None, limit=10)
    store.close()
    assert granted is not None
    assert (granted.status, granted.decided_by, granted.version) == (
        RequestStatus.GRANTED,
        "u-9",
        2,
    )
    assert granted.decided_at == datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
    assert [r.id for r in listed] == ["r-2", "r-1"]  # newest first, as before
    _migrate(url, "0007", down=True)
    rows = _rows(
        url, "SELECT id, status, decided_by, version FROM co_ownership_requests ORDER BY seq"
    )
    assert rows == [("r-1", "pending", None, 1), ("r-2", "granted", "u-9", 2)]


def test_opportunities_stored_before_0018_are_summed_from_their_new_columns(tmp_path: Path):
    _opportunity_sums_survive(f"sqlite:///{tmp_path}/old.db")


@pytest.mark.postgres
def test_opportunities_stored_before_0018_are_summed_on_postgres(pg_bare_schema_url: str):
    _opportunity_sums_survive(pg_bare_schema_url)


def _opportunity_sums_survive(url: str) -> None:
    import json
    from decimal import Decimal

    from crmkit.storage.catalog import OPPORTUNITIES
    from crmkit.storage.ports import EVERYTHING, EntityQuery
    from crmkit.storage.spec import Filter, Group, Measure, Op

    _migrate(url, "0017")
    data = {
        "id": "o-1",
        "customer_id": "c-1",
        "title": "门禁改造",
        "owner_id": "u-1",
        "stage": "won",
        "status": "won",
        "amount": {"amount": "120000.50", "currency": "CNY"},
        "probability": "1",
        "expected_close": "2027-01-31",
        "closed_on": "2027-01-20",
        "competitors": [],
        "custom": {},
        "version": 2,
        "created_at": "2026-12-01T08:00:00.000000+00:00",
        "updated_at": "2026-12-01T09:00:00.000000+00:00",
        "created_by": "u-1",
        "deleted_at": None,
    }
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO opportunities (id, version, created_at, title, owner_id, stage,"
                " status, expected_close, customer_id, data) VALUES ('o-1', 2,"
                " :at, '门禁改造', 'u-1', 'won', 'won', :close, 'c-1', :data)"
            ),
            {
                "at": "2026-12-01T08:00:00.000000+00:00",
                "close": date(2027, 1, 31),
                "data": json.dumps(data, ensure_ascii=False),
            },
        )
    engine.dispose()
    store = SqlStore(url)  # migrates to head: 0018 fills the columns
    with store.unit_of_work() as uow:
        rows = uow.repo(OPPORTUNITIES).aggregate(
            EntityQuery(filters=(Filter("closed_on", Op.GE, date(2027, 1, 1)),)),
            EVERYTHING,
            by=(Group.month("closed_on"), Group.currency("amount")),
            measures=(Measure.sum("amount", times="probability"),),
        )
    store.close()
    assert [(r.key, r.values) for r in rows] == [(("2027-01", "CNY"), (Decimal("120000.50"),))]


def _old_user_rows(url: str) -> None:
    _execute(
        url,
        "INSERT INTO users (id, name, login, role, manager_id, email, mobile, active, locked,"
        " version, created_at, updated_at, created_by, deleted_at) VALUES"
        " ('u-1', '王经理', 'wangjl', 'manager', NULL, 'wang@example.cn', '+8613800138000',"
        " TRUE, FALSE, 3, '2026-11-01T08:00:00.000000+00:00',"
        " '2026-11-02T08:00:00.000000+00:00', 'system', NULL),"
        " ('u-2', '张三', 'zhangsan', 'sales', 'u-1', NULL, NULL, FALSE, TRUE, 2,"
        " '2026-11-03T08:00:00.000000+00:00', '2026-11-04T08:00:00.000000+00:00', 'u-1',"
        " '2026-11-05T09:30:00.000000+00:00')",
        "INSERT INTO user_credentials (user_id, password_hash, failed_count, failed_on,"
        " locked_until) VALUES ('u-1', '$argon2id$h1', 2, '2026-11-02',"
        " '2026-11-02T10:00:00.000000+00:00'), ('u-2', NULL, 0, NULL, NULL)",
    )


def test_users_and_credentials_survive_their_move_onto_the_kernel_and_back(tmp_path: Path):
    _users_survive(f"sqlite:///{tmp_path}/old.db")


@pytest.mark.postgres
def test_users_and_credentials_survive_the_move_on_postgres(pg_bare_schema_url: str):
    _users_survive(pg_bare_schema_url)


def _users_survive(url: str) -> None:
    from datetime import UTC, datetime

    from crmkit.domain.user import Credentials, Role
    from crmkit.domain.values import Email, Phone
    from crmkit.storage.ports import EVERYTHING, Deleted, EntityQuery

    _migrate(url, "0026")
    _old_user_rows(url)
    store = SqlStore(url)  # migrates to head: users move onto the generic table
    with store.unit_of_work() as uow:
        boss, gone = uow.users.get("u-1"), uow.users.get_by_login("zhangsan")
        listed = uow.users.list(
            EntityQuery(deleted=Deleted.INCLUDE), EVERYTHING, after=None, limit=9
        )
        team = uow.users.subordinate_ids("u-1")
        creds = uow.users.get_credentials("u-1")
    store.close()
    assert boss is not None and gone is not None
    assert (boss.name, boss.login, boss.role, boss.version, boss.active) == (
        "王经理",
        "wangjl",
        Role.MANAGER,
        3,
        True,
    )
    assert (boss.email, boss.mobile) == (Email("wang@example.cn"), Phone("+8613800138000"))
    assert boss.updated_at == datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    assert (gone.id, gone.manager_id, gone.active, gone.locked) == ("u-2", "u-1", False, True)
    assert gone.deleted_at == datetime(2026, 11, 5, 9, 30, tzinfo=UTC)
    assert [u.id for u in listed.items] == ["u-1", "u-2"]  # oldest first, as before
    assert team == {"u-2"}
    assert creds == Credentials(
        user_id="u-1",
        password_hash="$argon2id$h1",
        failed_count=2,
        failed_on=date(2026, 11, 2),
        locked_until=datetime(2026, 11, 2, 10, 0, tzinfo=UTC),
    )
    _migrate(url, "0026", down=True)
    users = _rows(
        url, "SELECT id, login, role, manager_id, email, mobile, version FROM users ORDER BY seq"
    )
    kept = _rows(
        url, "SELECT user_id, password_hash, failed_count FROM user_credentials ORDER BY user_id"
    )
    assert users == [
        ("u-1", "wangjl", "manager", None, "wang@example.cn", "+8613800138000", 3),
        ("u-2", "zhangsan", "sales", "u-1", None, None, 2),
    ]
    assert kept == [("u-1", "$argon2id$h1", 2), ("u-2", None, 0)]


def _old_contact_rows(url: str) -> None:
    _execute(
        url,
        "INSERT INTO customers (id, kind, name, name_key, category, channel_type,"
        " related_customer_ids, tags, settlement, owner_id, co_owner_ids, custom,"
        " search_text, version, created_at, updated_at, created_by)"
        " VALUES ('c-1', 'company', '青岛海纳', '青岛海纳', 'potential', 'terminal', '[]',"
        " '[]', 'cash', 'u-1', '[]', '{}', '青岛海纳', 1,"
        " '2026-11-01T08:00:00.000000+00:00', '2026-11-01T08:00:00.000000+00:00', 'u-1')",
        "INSERT INTO contacts (id, customer_id, name, name_key, gender, title, mobile, phone,"
        " phone_ext, email, birthday, is_primary, remarks, surname, surname_letter, initials,"
        " deleted_with, version, created_at, updated_at, created_by, deleted_at, merged_into)"
        " VALUES ('p-1', 'c-1', '王建国', '王建国', 'male', '经理', '+8613800138000',"
        " '+8653288886666', '8001', 'wang@example.cn', '1980-05-04', TRUE, '老客户', '王',"
        " 'W', 'wjg', NULL, 3, '2026-11-01T08:00:00.000000+00:00',"
        " '2026-11-02T08:00:00.000000+00:00', 'u-1', NULL, NULL),"
        " ('p-2', 'c-1', 'John Smith', 'john smith', NULL, NULL, NULL, NULL, NULL, NULL,"
        " NULL, FALSE, NULL, '', '#', 'js', 'c-1', 1, '2026-11-03T08:00:00.000000+00:00',"
        " '2026-11-03T08:00:00.000000+00:00', 'u-1', '2026-11-04T08:00:00.000000+00:00', NULL)",
    )


def test_contacts_survive_their_move_onto_the_kernel_and_back(tmp_path: Path):
    _contacts_survive(f"sqlite:///{tmp_path}/old.db")


@pytest.mark.postgres
def test_contacts_survive_the_move_on_postgres(pg_bare_schema_url: str):
    _contacts_survive(pg_bare_schema_url)


def _contacts_survive(url: str) -> None:
    from datetime import UTC, datetime

    from crmkit.domain.common import Gender
    from crmkit.domain.values import Email, Phone
    from crmkit.storage.ports import EVERYTHING, CustomerQuery, Scope

    _migrate(url, "0027")
    _old_contact_rows(url)
    store = SqlStore(url)  # migrates to head: contacts move onto the generic table
    with store.unit_of_work() as uow:
        wang = uow.contacts.get("p-1", Scope.of("u-1"))
        people = uow.contacts.for_customer("c-1", include_deleted=True)
        by_number = uow.contacts.with_phones(["+8653288886666"])
        by_surname = uow.contacts.surname_index(EVERYTHING)
        found = uow.customers.list(CustomerQuery(text="王"), EVERYTHING, after=None, limit=5)
    store.close()
    assert wang is not None
    assert (wang.name, wang.gender, wang.title, wang.is_primary, wang.version) == (
        "王建国",
        Gender.MALE,
        "经理",
        True,
        3,
    )
    assert (wang.mobile, wang.phone) == (Phone("+8613800138000"), Phone("+8653288886666", "8001"))
    assert (wang.email, wang.birthday) == (Email("wang@example.cn"), date(1980, 5, 4))
    assert (wang.surname, wang.surname_letter, wang.initials) == ("王", "W", "wjg")
    assert wang.updated_at == datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    assert [p.id for p in people] == ["p-1", "p-2"]  # oldest first, as before
    assert people[1].deleted_at == datetime(2026, 11, 4, 8, 0, tzinfo=UTC)
    assert people[1].deleted_with == "c-1"
    assert [p.id for p in by_number] == ["p-1"]
    assert by_surname == {"W": 1}  # live contacts only
    assert [c.id for c in found.items] == ["c-1"]  # found by its contact's name (a prefix)
    _migrate(url, "0027", down=True)
    rows = _rows(
        url,
        "SELECT id, name_key, phone, phone_ext, birthday, is_primary, version"
        " FROM contacts ORDER BY seq",
    )
    assert [
        (r[0], r[1], r[2], r[3], str(r[4]) if r[4] else None, bool(r[5]), r[6]) for r in rows
    ] == [
        ("p-1", "王建国", "+8653288886666", "8001", "1980-05-04", True, 3),
        ("p-2", "john smith", None, None, None, False, 1),
    ]
