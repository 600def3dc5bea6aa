"""Merge reference handlers belong to one CRM, not to the process."""

from __future__ import annotations

from collections.abc import Sequence

import crmkit
from crmkit.testing import open_test_crm


class RecordingHandler:
    """An application's records that point at customers (here: a list of calls)."""

    name = "app_visits"
    kind = "customer"

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[str, ...], bool]] = []

    def repoint(
        self, s: crmkit.Session, winner_id: str, loser_ids: Sequence[str], *, dry_run: bool
    ) -> list[object]:
        self.calls.append((winner_id, tuple(loser_ids), dry_run))
        return []

    def undo(self, s: crmkit.Session, moved: Sequence[object]) -> None:
        pass


def _merge_two(crm: crmkit.CRM) -> tuple[str, str]:
    admin = crm.bootstrap_admin(name="管理员", password="a-long-secret")
    with crm.session(actor=admin) as s:
        a = s.customers.create(name="青岛金智电子科技有限公司", mobile="138 0013 8000")
        b = s.customers.create(name="上海四通贸易有限公司", mobile="139 0000 1234")
        s.customers.merge(a.id, [b.id])
    return a.id, b.id


def test_a_handler_registered_on_one_crm_runs_in_its_merges_only():
    handler = RecordingHandler()
    mine, other = open_test_crm(), open_test_crm()
    mine.register_reference(handler)
    winner, loser = _merge_two(mine)
    assert (winner, (loser,), False) in handler.calls
    before = len(handler.calls)
    _merge_two(other)
    assert len(handler.calls) == before
    mine.close()
    other.close()
