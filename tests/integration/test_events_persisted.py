"""Domain events are stored with the work that raised them and reach subscribers at least
once, even when the process dies between the commit and the publishing."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import attrs
import pytest
from sqlalchemy import event as sa_event

import crmkit
from crmkit import CRM, SYSTEM
from crmkit.adapters.passwords import Argon2Hasher
from crmkit.domain.events import CustomerCreated, DomainEvent, EntityEvent
from crmkit.storage.queues import StoredEvent
from crmkit.storage.sql import SqlStore
from crmkit.testing import ManualClock, open_test_crm, store_of

LEASE = timedelta(seconds=crmkit.Settings().claim_lease_seconds)


class Crash(BaseException):
    """Stands for the process dying: not an ``Exception``, so the event bus lets it
    through, and the session's events stay unpublished."""


@attrs.frozen(kw_only=True)
class QuoteSigned(EntityEvent):
    """An integrator's own event, defined outside crmkit."""

    amounts: tuple[str, ...]
    note: str | None = None


def _events(crm: CRM) -> list[StoredEvent]:
    with store_of(crm).unit_of_work() as uow:
        return list(uow.events.list(after=None, limit=1000))


def _crash_on(crm: CRM, event_type: type[DomainEvent]) -> Callable[[], None]:
    """Make the "process" die at the first ``event_type``; returns the cure."""

    def die(_: DomainEvent) -> None:
        raise Crash

    return crm.subscribe(event_type, die)


@pytest.fixture
def crashing(crm: CRM, admin: crmkit.User) -> CRM:
    """``crm`` whose process "dies" after committing a customer, before its event is out."""
    unsubscribe = _crash_on(crm, CustomerCreated)
    with pytest.raises(Crash), crm.session(actor=admin) as s:
        s.customers.create(name="青岛金智电子科技有限公司", mobile="13800138000")
    unsubscribe()
    return crm


def test_an_event_committed_before_the_process_died_is_delivered_once_on_the_next_open(
    tmp_path: Path,
):
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    script = textwrap.dedent(
        """
        import os, sys
        import crmkit
        from crmkit.adapters.passwords import Argon2Hasher
        from crmkit.domain.events import CustomerCreated

        crm = crmkit.open(sys.argv[1], password_hasher=Argon2Hasher.fast())
        admin = crm.bootstrap_admin(name="管理员", password="admin-pass-1")
        crm.subscribe(CustomerCreated, lambda event: os._exit(3))
        with crm.session(actor=admin) as s:
            s.customers.create(name="青岛金智电子科技有限公司", mobile="13800138000")
        os._exit(0)  # not reached: the subscriber ends the process first
        """
    )
    died = subprocess.run(
        [sys.executable, "-c", script, url], capture_output=True, text=True, timeout=120
    )
    assert died.returncode == 3, died.stderr

    got: list[CustomerCreated] = []
    crm = crmkit.open(
        url, password_hasher=Argon2Hasher.fast(), subscribers={CustomerCreated: got.append}
    )
    with crm.session(actor=SYSTEM) as s:
        (customer,) = s.customers.list()
    crm.close()
    assert [(e.entity_id, e.owner_id) for e in got] == [(customer.id, customer.owner_id)]

    again: list[CustomerCreated] = []
    crmkit.open(
        url, password_hasher=Argon2Hasher.fast(), subscribers={CustomerCreated: again.append}
    ).close()
    assert again == []


def test_events_are_stored_with_the_work_and_marked_once_published(crm, admin, clock):
    got: list[CustomerCreated] = []
    crm.subscribe(CustomerCreated, got.append)
    with crm.session(actor=admin) as s:
        c = s.customers.create(name="青岛金智电子科技有限公司", mobile="13800138000")
    stored = [e for e in _events(crm) if e.type == "CustomerCreated"]
    assert [(e.payload["entity_id"], e.actor_id, e.at) for e in stored] == [
        (c.id, admin.id, c.created_at)
    ]
    assert stored[0].published_at == clock.now()
    assert [e.entity_id for e in got] == [c.id]


def test_a_session_that_rolls_back_stores_and_publishes_no_event(crm, admin):
    got: list[DomainEvent] = []
    crm.subscribe(DomainEvent, got.append)
    before = len(_events(crm))

    def change_then_fail() -> None:
        with crm.session(actor=admin) as s:
            s.customers.create(name="青岛金智电子科技有限公司", mobile="13800138000")
            s.flush()  # written to the events table, then rolled back with the rest
            raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert len(_events(crm)) == before
    assert got == []


def test_dispatch_delivers_leftovers_only_once_their_writers_hold_has_run_out(
    crashing: CRM, clock: ManualClock
):
    got: list[CustomerCreated] = []
    crashing.subscribe(CustomerCreated, got.append)
    assert crashing.dispatch().events == 0, "the writer may still be publishing them"
    assert got == []
    clock.advance(LEASE)
    assert crashing.dispatch().events == 1
    assert crashing.dispatch().events == 0
    assert len(got) == 1
    assert all(e.published_at is not None for e in _events(crashing))


def test_an_event_of_an_unknown_type_is_logged_and_left_unpublished(
    crm: CRM, admin, clock: ManualClock, caplog: pytest.LogCaptureFixture
):
    stray = StoredEvent(
        id="ev-stray", type="NoSuchEventAnywhere", payload={}, actor_id=admin.id, at=clock.now()
    )
    with store_of(crm).unit_of_work() as uow:
        uow.events.append_many([stray])
        uow.commit()
    got: list[DomainEvent] = []
    crm.subscribe(DomainEvent, got.append)
    clock.advance(LEASE)
    with caplog.at_level(logging.ERROR, logger="crmkit.dispatch"):
        report = crm.dispatch()
    assert report.events == 0
    assert got == []
    assert "NoSuchEventAnywhere" in caplog.text
    (left,) = [e for e in _events(crm) if e.id == "ev-stray"]
    assert left.published_at is None


def test_an_integrators_event_class_is_found_again_by_its_name(crm, admin, clock):
    signed = QuoteSigned(
        actor_id=admin.id, at=clock.now(), entity_id="q-1", amounts=("1.00", "2.50")
    )
    recover = _crash_on(crm, QuoteSigned)
    with pytest.raises(Crash), crm.session(actor=admin) as s:
        s.publish(signed)
    recover()
    got: list[QuoteSigned] = []
    crm.subscribe(QuoteSigned, got.append)
    clock.advance(LEASE)
    assert crm.dispatch().events == 1
    assert got == [signed]


def test_an_import_writes_its_events_in_multi_row_inserts(tmp_path: Path):
    """Never an INSERT per event: a group of rows' events go in one statement (groups of
    ``WRITE_ROWS`` rows within each batch, so that what stores them dies young)."""
    crm = open_test_crm(f"sqlite:///{tmp_path / 'bulk.db'}", clock=ManualClock())
    admin = crm.bootstrap_admin(name="管理员", password="admin-pass-1")
    rows = "".join(f"青岛金智{i}号电子科技有限公司,1380013{i:04d}\r\n" for i in range(300))
    sheet = io.BytesIO(("公司名称,手机号码\r\n" + rows).encode())
    inserts: list[int] = []

    def count(_c, _cur, statement: str, params, _ctx, many: bool) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith('INSERT INTO "events"') or statement.startswith(
            "INSERT INTO events"
        ):
            inserts.append(len(params) if many else 1)

    store = store_of(crm)
    assert isinstance(store, SqlStore)
    sa_event.listen(store.engine, "before_cursor_execute", count)
    with crm.session(actor=admin) as s:
        report = s.imports.run(sheet, on_duplicate="create")
    sa_event.remove(store.engine, "before_cursor_execute", count)
    assert report.counts["created"] == 300
    assert sum(inserts) == 300
    assert len(inserts) * 25 <= 300, f"{len(inserts)} INSERTs for 300 events"
    assert len([e for e in _events(crm) if e.published_at is not None]) == len(_events(crm))
    crm.close()
