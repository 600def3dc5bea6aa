"""SQL-only guarantees: migrations match the tables, and queries use their indexes."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

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
def test_an_empty_postgres_database_migrated_to_head_equals_the_tables(pg_schema_url: str):
    assert _diff(pg_schema_url) == []


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
