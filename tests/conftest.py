"""Fixtures shared by the whole suite: backends and CRMs on each of them."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from crmkit import CRM, User
from crmkit.testing import ManualClock, open_test_crm

# No per-example deadline: the suite runs on busy machines (CI, parallel workers), where a
# slow example says nothing about the code, and speed is measured in bench/, not here.
settings.register_profile("crmkit", deadline=None)
settings.load_profile("crmkit")

PG_URL = os.environ.get("CRMKIT_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("CRMKIT_REQUIRE_PG") == "1"

_pg_checked: dict[str, str | None] = {}


def pg_unavailable_reason() -> str | None:
    """None if PostgreSQL answers at PG_URL, else why not."""
    if "reason" not in _pg_checked:
        try:
            import psycopg

            dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(dsn, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            _pg_checked["reason"] = None
        except Exception as exc:  # any failure means "not usable here"
            _pg_checked["reason"] = f"PostgreSQL not reachable at {PG_URL}: {exc}"
    return _pg_checked["reason"]


def require_pg() -> None:
    reason = pg_unavailable_reason()
    if reason is not None:
        if REQUIRE_PG:
            pytest.fail(f"CRMKIT_REQUIRE_PG=1 but {reason}")
        pytest.skip(reason)


@pytest.fixture
def pg_url_factory() -> Iterator[Callable[[], str]]:
    """Makes PostgreSQL URLs whose search_path is an empty schema each (one per hypothesis
    example, say), all handed back afterwards (``tests.schemas``: emptied for reuse)."""
    require_pg()
    from tests import schemas

    made: list[str] = []

    def fresh() -> str:
        made.append(schemas.acquire())
        return schemas.schema_url(made[-1])

    yield fresh
    for schema in made:
        schemas.release(schema)


@pytest.fixture
def pg_schema_url(pg_url_factory: Callable[[], str]) -> str:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    return pg_url_factory()


@pytest.fixture
def pg_bare_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a new schema without even the migrations'
    tables: for tests of the migrations themselves."""
    require_pg()
    from tests import schemas

    schema = schemas.acquire(bare=True)
    yield schemas.schema_url(schema)
    schemas.release(schema)


BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest, tmp_path: object) -> str | None:
    """The URL of a fresh, empty store on each backend."""
    kind = request.param
    if kind == "memory":
        return None
    if kind == "sqlite":
        from tests.schemas import sqlite_copy

        return sqlite_copy(Path(str(tmp_path)) / "crm.db")
    url: str = request.getfixturevalue("pg_schema_url")
    return url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def crm(backend_url: str | None, clock: ManualClock) -> Iterator[CRM]:
    """An empty CRM on each backend, with a manual clock and cheap password hashing."""
    crm = open_test_crm(backend_url, clock=clock)
    yield crm
    crm.close()


@pytest.fixture
def admin(crm: CRM) -> User:
    return crm.bootstrap_admin(name="管理员", password="admin-pass-1")


@pytest.fixture
def team(crm: CRM, admin: User) -> dict[str, User]:
    """A manager with two salespeople, a salesperson under one of them (two levels), and an
    unrelated salesperson."""
    with crm.session(actor=admin) as s:
        boss = s.users.create(name="王经理", role="manager", password="manager-pass")
        zhang = s.users.create(name="张三", role="sales", manager_id=boss.id, password="sales-pass")
        li = s.users.create(name="李小明", role="sales", manager_id=boss.id, password="sales-pass")
        lead = s.users.create(
            name="赵组长", role="manager", manager_id=boss.id, password="lead-pass1"
        )
        junior = s.users.create(
            name="钱多多", role="sales", manager_id=lead.id, password="sales-pass"
        )
        other = s.users.create(name="孙悟空", role="sales", password="sales-pass")
    return {
        "admin": admin,
        "boss": boss,
        "zhang": zhang,
        "li": li,
        "lead": lead,
        "junior": junior,
        "other": other,
    }
