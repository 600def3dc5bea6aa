"""The garbage collector belongs to the host process: an import or a scan leaves its settings
alone unless the application opts in (``Settings.bulk_gc_tuning``), and when it does, the
process's own settings come back whatever happens inside."""

from __future__ import annotations

import gc
import io
from collections.abc import Iterator
from typing import Any

import pytest

import crmkit
from crmkit.storage.memory import MemoryStore, MemoryUnitOfWork
from crmkit.testing import open_test_crm
from crmkit.workflows._common import paused_gc, young_collections_only

GcState = tuple[bool, tuple[int, int, int]]
HOST_THRESHOLD = (701, 11, 12)  # not CPython's default, so a reset would show too
SHEET = (
    "公司名称,手机号码\r\n青岛金智电子科技有限公司,13800138000\r\n"
    "上海华东建材有限公司,13700001111\r\n"
)


def gc_state() -> GcState:
    return gc.isenabled(), gc.get_threshold()


class _WatchedDedup:
    """A unit of work's duplicate index that notes the collector's state each time the
    stored pairs are read, which is how a scan begins; everything else goes through."""

    def __init__(self, inner: Any, seen: list[GcState]) -> None:
        self._inner = inner
        self._seen = seen

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def pairs(self, kind: str, *, after: str | None, limit: int) -> Any:
        self._seen.append(gc_state())
        return self._inner.pairs(kind, after=after, limit=limit)


class GcWatchingStore(MemoryStore):
    """The in-memory store, with the collector's state noted during every scan."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[GcState] = []

    def unit_of_work(self) -> MemoryUnitOfWork:
        uow = super().unit_of_work()
        uow.dedup = _WatchedDedup(uow.dedup, self.seen)
        return uow


@pytest.fixture(params=["enabled", "disabled"])
def host_gc(request: pytest.FixtureRequest) -> Iterator[GcState]:
    """The host's own collector settings (odd thresholds; on or off), restored after."""
    before = gc_state()
    gc.set_threshold(*HOST_THRESHOLD)
    if request.param == "disabled":
        gc.disable()
    try:
        yield gc_state()
    finally:
        gc.set_threshold(*before[1])
        if before[0]:
            gc.enable()
        else:
            gc.disable()


def _import_and_scan(settings: Any = None) -> tuple[list[GcState], list[GcState]]:
    """The collector's state seen during an import (at each batch) and during a scan of
    the customers it created and a duplicate of one of them."""
    store = GcWatchingStore()
    crm = open_test_crm(store, settings=settings)
    admin = crm.bootstrap_admin(name="管理员", password="correct horse")
    during_import: list[GcState] = []
    with crm.session(actor=admin) as s:
        report = s.imports.run(
            io.BytesIO(SHEET.encode()),
            progress=lambda done, total: during_import.append(gc_state()),
        )
        assert report.counts["created"] == 2
        s.customers.create(name="金智电子科技(青岛)有限公司", mobile="+86 138-0013-8000")
    store.seen.clear()
    with crm.session(actor=admin) as s:
        assert s.dedup.scan()
    return during_import, list(store.seen)


def test_an_import_and_a_scan_leave_the_hosts_collector_alone_by_default(host_gc: GcState):
    during_import, during_scan = _import_and_scan()
    assert during_import
    assert during_scan
    assert set(during_import) == set(during_scan) == {host_gc}
    assert gc_state() == host_gc


def test_an_application_that_opts_in_gets_the_bulk_settings_and_its_own_back_after():
    before = gc_state()
    assert before[0], "the suite runs with the collector on"
    during_import, during_scan = _import_and_scan(crmkit.Settings(bulk_gc_tuning=True))
    assert during_import
    assert all(t[:2] == before[1][:2] and t[2] > before[1][2] for _, t in during_import)
    assert during_scan
    assert not any(enabled for enabled, _ in during_scan)
    assert gc_state() == before


def test_full_collections_are_held_off_inside_and_the_thresholds_restored_after():
    before = gc.get_threshold()
    with young_collections_only(True):
        inside = gc.get_threshold()
        assert inside[:2] == before[:2]
        assert inside[2] > before[2]
        with young_collections_only(True):  # a nested import shares the setting
            assert gc.get_threshold() == inside
        assert gc.get_threshold() == inside  # the outer block still runs
    assert gc.get_threshold() == before


def test_the_thresholds_come_back_when_the_block_fails():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), young_collections_only(True):
        raise RuntimeError("the import failed")
    assert gc.get_threshold() == before


def test_a_paused_collector_runs_again_when_the_block_fails():
    assert gc.isenabled()
    inside: list[bool] = []

    def scan() -> None:
        inside.append(gc.isenabled())
        raise RuntimeError("the scan failed")

    with pytest.raises(RuntimeError), paused_gc(True):
        scan()
    assert inside == [False]
    assert gc.isenabled()


def test_neither_block_touches_the_collector_unless_allowed(host_gc: GcState):
    with young_collections_only(False), paused_gc(False):
        assert gc_state() == host_gc
    assert gc_state() == host_gc
