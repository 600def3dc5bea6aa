"""The audit repository's contract: append-only entries, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crmkit.domain.audit import AuditAction, AuditEntry
from crmkit.storage.ports import AuditQuery, Store
from crmkit.testing.builders import make_audit_entry
from crmkit.testing.contract._common import CHINA
from crmkit.testing.contract._fixture import StoreFixture as _StoreFixture


class AuditRepositoryContract(_StoreFixture):
    """``AuditRepository``: append-only entries, history oldest first, lists newest first."""

    def test_an_audit_entry_round_trips_its_changes(self, store: Store) -> None:
        entry = make_audit_entry(
            "e-1",
            at=datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=CHINA),
            action=AuditAction.UPDATE,
            changes={
                "name": ("旧名称有限公司", "新名称有限公司"),
                "tags": (["a"], ["a", "b"]),
                "owner_id": (None, "u-1"),
                "credit_limit": ("100.50", "200.75"),
            },
            note="合并前",
        )
        with store.unit_of_work() as uow:
            uow.audit.append(entry)
            uow.commit()
        with store.unit_of_work() as uow:
            (got,) = uow.audit.history("e-1")
        assert got.id == entry.id
        assert got.at == entry.at and got.at.tzinfo is not None
        assert (got.actor_id, got.entity_type, got.entity_id, got.action, got.note) == (
            entry.actor_id,
            "customer",
            "e-1",
            AuditAction.UPDATE,
            "合并前",
        )
        assert {k: tuple(v) for k, v in got.changes.items()} == {
            k: tuple(v) for k, v in entry.changes.items()
        }

    def test_history_is_oldest_first_and_lists_are_newest_first(self, store: Store) -> None:
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
            assert uow.audit.history("e-2") == [other]
            assert uow.audit.history("e-3") == []
            newest = uow.audit.list(AuditQuery(), after=None, limit=2)
            assert newest.items == (other, entries[2])
            rest = uow.audit.list(AuditQuery(), after=newest.next_after, limit=5)
            assert rest.items == (entries[1], entries[0])
            assert rest.next_after is None

    def test_audit_lists_filter_by_entity_actor_action_and_time(self, store: Store) -> None:
        entries = [
            make_audit_entry("e-1", action=a)
            for a in (AuditAction.CREATE, AuditAction.UPDATE, AuditAction.DELETE)
        ]
        other = make_audit_entry("e-2", actor_id="someone", entity_type="contact")
        with store.unit_of_work() as uow:
            uow.audit.append_many([*entries, other])
            uow.commit()

        def listed(**kw: Any) -> tuple[AuditEntry, ...]:
            with store.unit_of_work() as uow:
                return uow.audit.list(AuditQuery(**kw), after=None, limit=10).items

        assert listed(entity_id="e-1") == tuple(reversed(entries))
        assert listed(actor_id="someone") == (other,)
        assert listed(entity_type="contact") == (other,)
        assert listed(action=AuditAction.DELETE) == (entries[2],)
        assert listed(since=entries[1].at, until=entries[2].at) == (entries[1],)
        assert listed(since=entries[2].at) == (other, entries[2])  # since: inclusive
        assert listed(until=entries[1].at) == (entries[0],)  # until: exclusive
        assert listed(entity_id="e-1", action=AuditAction.CREATE) == (entries[0],)
        assert listed(entity_ids=("e-2", "e-9")) == (other,)
        assert listed(entity_ids=("e-1", "e-2")) == (other, *reversed(entries))
        assert listed(entity_ids=()) == ()

    def test_audit_pages_cover_every_entry_once(self, store: Store) -> None:
        entries = [make_audit_entry(f"e-{i % 3}") for i in range(13)]
        with store.unit_of_work() as uow:
            uow.audit.append_many(entries)
            uow.commit()
        for size in (1, 2, 4, 12, 13, 14):
            for query, expected in (
                (AuditQuery(), entries),
                (AuditQuery(entity_id="e-1"), [e for e in entries if e.entity_id == "e-1"]),
            ):
                got: list[AuditEntry] = []
                after: str | None = None
                with store.unit_of_work() as uow:
                    while True:
                        page = uow.audit.list(query, after=after, limit=size)
                        assert 0 < len(page.items) <= size
                        got.extend(page.items)
                        if page.next_after is None:
                            break
                        after = page.next_after
                assert got == list(reversed(expected)), (size, query)
