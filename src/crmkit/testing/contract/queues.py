"""The contract of the events, outbox and jobs repositories (``crmkit.storage.queues``).

Subclass :class:`QueueContract` with ``make_store`` as for ``crmkit.testing.contract``::

    class TestMyStoreQueues(QueueContract):
        def make_store(self):
            return MyStore("my://test")

What the ports leave implicit, stated here and tested below:

- Nothing written in a unit of work is visible to others before its commit, and nothing of
  it survives a rollback (claims included: a claim rolled back leaves the rows claimable).
- A key (outbox, jobs) is stored once: a second row under a stored key is dropped silently,
  whether it comes in the same call, a later unit of work, or a concurrent one.
- A claim takes due rows earliest due first, never a row another open unit of work
  holds (it skips it, or on SQLite waits for the other to end), so two units
  of work claiming at once get disjoint rows. A ``pending`` message's claim counts an
  attempt; an ``unknown`` one's does not.
- ``settle`` stores a row only while it is still claimed by the token given; ``decide`` only
  while its status is the one expected: each is a compare-and-set.
- Events are listed in the order they were appended (``seq`` increases); a published
  event keeps the time it was first marked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import attrs

from crmkit.storage.ports import Store
from crmkit.storage.queues import (
    Job,
    JobStatus,
    OutboxMessage,
    OutboxStatus,
    StoredEvent,
)
from crmkit.testing.builders import BASE_TIME
from crmkit.testing.contract._fixture import StoreFixture

T0 = BASE_TIME
LEASE = T0 + timedelta(minutes=5)


def event(n: int, **changes: Any) -> StoredEvent:
    """A stored event numbered ``n`` (its id ``ev-<n>``)."""
    fields: dict[str, Any] = {
        "id": f"ev-{n:04d}",
        "type": "CustomerCreated",
        "payload": {"entity_id": f"c-{n}", "owner_id": None, "tags": ["a", "b"]},
        "actor_id": "u-1",
        "at": T0 + timedelta(seconds=n),
    }
    return StoredEvent(**{**fields, **changes})


def message(n: int, **changes: Any) -> OutboxMessage:
    """An outbox message numbered ``n``, due at ``T0 + n`` seconds."""
    fields: dict[str, Any] = {
        "id": f"m-{n:04d}",
        "key": f"msg-{n}:+86138{n:08d}",
        "channel": "sms",
        "recipient": f"+86138{n:08d}",
        "payload": {"template": "birthday", "variables": {"name": "张三", "n": n}},
        "created_at": T0,
        "due_at": T0 + timedelta(seconds=n),
    }
    return OutboxMessage(**{**fields, **changes})


def job(n: int, **changes: Any) -> Job:
    """A job numbered ``n`` of kind ``remind``, due at ``T0 + n`` seconds."""
    fields: dict[str, Any] = {
        "id": f"j-{n:04d}",
        "kind": "remind",
        "key": f"task-{n}",
        "due_at": T0 + timedelta(seconds=n),
        "payload": {"task_id": f"t-{n}"},
        "created_at": T0,
    }
    return Job(**{**fields, **changes})


def _in(store: Store, work: Callable[[Any], Any], *, commit: bool = True) -> Any:
    with store.unit_of_work() as uow:
        result = work(uow)
        if commit:
            uow.commit()
        return result


def _all(store: Store, table: str, size: int = 2) -> list[Any]:
    """Every row of ``table`` (events, outbox, jobs), page by page, checking the pages."""
    out: list[Any] = []
    after: str | None = None
    with store.unit_of_work() as uow:
        repo = getattr(uow, table)
        for _ in range(10_000):
            page = repo.list(after=after, limit=size)
            assert len(page.items) <= size
            out.extend(page.items)
            if page.next_after is None:
                return out
            after = page.next_after
    raise AssertionError("keyset pages never ended")


def _concurrently(
    store: Store, claim: Callable[[Any], list[Any]]
) -> tuple[list[Any], list[Any], list[BaseException]]:
    """Two units of work claim at once: the first holds its claim uncommitted while the
    second claims, then commits. Returns both claims and any errors."""
    held = threading.Event()
    release = threading.Event()
    first: list[Any] = []
    second: list[Any] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            with store.unit_of_work() as uow:
                first.extend(claim(uow))
                held.set()
                release.wait(10)
                uow.commit()
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
            held.set()

    def two() -> None:
        try:
            with store.unit_of_work() as uow:
                second.extend(claim(uow))
                uow.commit()
        except BaseException as exc:
            errors.append(exc)

    a = threading.Thread(target=one)
    a.start()
    assert held.wait(10), "the first claim never returned"
    b = threading.Thread(target=two)
    b.start()
    b.join(0.3)  # PostgreSQL and memory skip the held rows at once; SQLite waits
    release.set()
    a.join(20)
    b.join(20)
    return first, second, errors


class EventRepositoryContract(StoreFixture):
    """``EventRepository``: order, round trip, claims of leftovers, marks."""

    def test_events_come_back_in_order_with_every_field(self, store: Store) -> None:
        written = [event(3), event(1), event(2, payload={})]
        _in(store, lambda uow: uow.events.append_many(written))
        got = _all(store, "events")
        assert [e.id for e in got] == ["ev-0003", "ev-0001", "ev-0002"]
        assert [attrs.evolve(e, seq=0) for e in got] == written
        assert got[0].seq < got[1].seq < got[2].seq

    def test_events_of_a_unit_of_work_left_uncommitted_are_not_stored(self, store: Store) -> None:
        _in(store, lambda uow: uow.events.append_many([event(1)]), commit=False)
        assert _all(store, "events") == []

    def test_a_claim_takes_unpublished_events_whose_hold_ran_out(self, store: Store) -> None:
        now = T0 + timedelta(hours=1)
        _in(
            store,
            lambda uow: uow.events.append_many(
                [
                    event(1, lease_until=now - timedelta(seconds=1)),
                    event(2, lease_until=now + timedelta(minutes=1)),
                    event(3),
                    event(4, published_at=T0),
                ]
            ),
        )
        taken = _in(
            store,
            lambda uow: uow.events.claim_unpublished(
                now=now, lease_until=now + timedelta(minutes=5), limit=10
            ),
        )
        assert [e.id for e in taken] == ["ev-0001", "ev-0003"]
        assert all(e.lease_until == now + timedelta(minutes=5) for e in taken)
        again = _in(
            store,
            lambda uow: uow.events.claim_unpublished(now=now, lease_until=now, limit=10),
        )
        assert again == [], "events held by a claim must not be claimed again"
        everything = _in(
            store,
            lambda uow: uow.events.claim_unpublished(
                now=now, lease_until=now, limit=10, take_held=True
            ),
        )
        assert [e.id for e in everything] == ["ev-0001", "ev-0002", "ev-0003"]

    def test_a_claim_starts_after_a_seq_and_stops_at_its_limit(self, store: Store) -> None:
        _in(store, lambda uow: uow.events.append_many([event(n) for n in range(1, 6)]))

        def claim(after: int) -> list[StoredEvent]:
            return _in(  # type: ignore[no-any-return]
                store,
                lambda uow: uow.events.claim_unpublished(
                    now=T0, lease_until=T0, limit=2, after_seq=after, take_held=True
                ),
            )

        first = claim(0)
        second = claim(first[-1].seq)
        third = claim(second[-1].seq)
        assert [e.id for e in first + second + third] == [f"ev-{n:04d}" for n in range(1, 6)]

    def test_published_events_are_not_claimed_and_keep_their_first_mark(self, store: Store) -> None:
        _in(store, lambda uow: uow.events.append_many([event(1), event(2)]))
        _in(store, lambda uow: uow.events.mark_published(["ev-0001"], T0))
        _in(store, lambda uow: uow.events.mark_published(["ev-0001", "ev-0002"], LEASE))
        got = {e.id: e for e in _all(store, "events")}
        assert got["ev-0001"].published_at == T0
        assert got["ev-0002"].published_at == LEASE
        claimed = _in(
            store,
            lambda uow: uow.events.claim_unpublished(
                now=LEASE, lease_until=LEASE, limit=10, take_held=True
            ),
        )
        assert claimed == []
        with store.unit_of_work() as uow:
            assert list(uow.events.list(unpublished=True, after=None, limit=10)) == []

    def test_two_claims_at_once_never_take_the_same_event(self, store: Store) -> None:
        _in(store, lambda uow: uow.events.append_many([event(n) for n in range(1, 11)]))
        first, second, errors = _concurrently(
            store,
            lambda uow: uow.events.claim_unpublished(now=T0, lease_until=LEASE, limit=6),
        )
        assert not errors, errors
        assert len(first) == 6
        assert {e.id for e in first}.isdisjoint(e.id for e in second)
        assert len(first) + len(second) == 10


class OutboxRepositoryContract(StoreFixture):
    """``OutboxRepository``: idempotent keys, claims, settles, expiry and decisions."""

    def _claim_messages(
        self,
        store: Store,
        *,
        now: Any = None,
        limit: int = 10,
        token: str = "w1",
        status: OutboxStatus = OutboxStatus.PENDING,
        channels: Any = None,
        commit: bool = True,
    ) -> list[OutboxMessage]:
        return _in(  # type: ignore[no-any-return]
            store,
            lambda uow: uow.outbox.claim(
                status,
                channels=channels,
                now=now or T0 + timedelta(hours=1),
                limit=limit,
                claimed_by=token,
                lease_until=LEASE,
            ),
            commit=commit,
        )

    def test_a_message_round_trips_every_field(self, store: Store) -> None:
        full = message(
            1,
            status=OutboxStatus.UNKNOWN,
            attempts=2,
            checks=1,
            claimed_by="w9/abc",
            lease_until=LEASE,
            sent_at=T0,
            reference="ref-1",
            last_error="timeout",
        )
        _in(store, lambda uow: uow.outbox.add_many([full, message(2, due_at=None)]))
        with store.unit_of_work() as uow:
            assert uow.outbox.get("m-0001") == full
            assert uow.outbox.get_by_key(full.key) == full
            assert uow.outbox.get("m-0002") == message(2, due_at=None)
            assert uow.outbox.get("nope") is None
            assert uow.outbox.count() == 2
            assert uow.outbox.count(OutboxStatus.UNKNOWN) == 1

    def test_a_key_is_stored_once_however_often_it_is_added(self, store: Store) -> None:
        twin = message(1, id="m-twin", payload={"other": True})
        _in(store, lambda uow: uow.outbox.add_many([message(1), twin]))
        _in(store, lambda uow: uow.outbox.add_many([attrs.evolve(twin, id="m-later")]))
        rows = _all(store, "outbox")
        assert [m.id for m in rows] == ["m-0001"]

    def test_two_units_of_work_adding_one_key_store_it_once(self, store: Store) -> None:
        added = threading.Event()
        errors: list[BaseException] = []

        def first() -> None:
            try:
                with store.unit_of_work() as uow:
                    uow.outbox.add_many([message(1, id="m-a")])
                    added.set()
                    uow.commit()
            except BaseException as exc:
                errors.append(exc)
                added.set()

        thread = threading.Thread(target=first)
        thread.start()
        added.wait(10)
        try:
            _in(store, lambda uow: uow.outbox.add_many([message(1, id="m-b")]))
        finally:
            thread.join(20)
        assert not errors, errors
        assert len(_all(store, "outbox")) == 1

    def test_a_claim_takes_due_messages_earliest_first_and_counts_an_attempt(
        self, store: Store
    ) -> None:
        rows = [message(3), message(1), message(2), message(9, due_at=T0 + timedelta(days=1))]
        rows.append(message(4, channel="email"))
        rows.append(message(5, status=OutboxStatus.SENT, due_at=None))
        _in(store, lambda uow: uow.outbox.add_many(rows))
        taken = self._claim_messages(store, limit=3, channels={"sms"})
        assert [m.id for m in taken] == ["m-0001", "m-0002", "m-0003"]
        assert all(m.status is OutboxStatus.SENDING for m in taken)
        assert all(m.claimed_by == "w1" and m.lease_until == LEASE for m in taken)
        assert all(m.attempts == 1 for m in taken)
        assert self._claim_messages(store, channels={"sms"}) == [], "not due, or claimed already"
        assert [m.id for m in self._claim_messages(store)] == ["m-0004"]

    def test_a_claim_rolled_back_leaves_the_messages_claimable(self, store: Store) -> None:
        _in(store, lambda uow: uow.outbox.add_many([message(1), message(2)]))
        assert len(self._claim_messages(store, commit=False)) == 2
        again = self._claim_messages(store)
        assert [m.attempts for m in again] == [1, 1]

    def test_two_claims_at_once_get_disjoint_messages(self, store: Store) -> None:
        _in(store, lambda uow: uow.outbox.add_many([message(n) for n in range(1, 11)]))

        def claim(uow: Any) -> list[OutboxMessage]:
            return uow.outbox.claim(  # type: ignore[no-any-return]
                OutboxStatus.PENDING,
                channels=None,
                now=LEASE,
                limit=6,
                claimed_by=f"w-{threading.get_ident()}",
                lease_until=LEASE,
            )

        first, second, errors = _concurrently(store, claim)
        assert not errors, errors
        assert len(first) == 6
        assert {m.id for m in first}.isdisjoint(m.id for m in second)
        assert len(first) + len(second) == 10

    def test_a_settle_is_stored_only_under_its_claim(self, store: Store) -> None:
        _in(store, lambda uow: uow.outbox.add_many([message(1), message(2)]))
        claimed = self._claim_messages(store)
        sent = [attrs.evolve(m, status=OutboxStatus.SENT, reference="r") for m in claimed]
        assert _in(store, lambda uow: uow.outbox.settle(sent, claimed_by="someone else")) == []
        assert _in(store, lambda uow: uow.outbox.settle(sent[:1], claimed_by="w1")) == ["m-0001"]
        assert _in(store, lambda uow: uow.outbox.settle(sent[:1], claimed_by="w1")) == [], (
            "a settled message is no longer under the claim"
        )
        with store.unit_of_work() as uow:
            assert uow.outbox.get("m-0001") == sent[0]
            assert uow.outbox.get("m-0002") == claimed[1]

    def test_expired_claims_become_unknown_and_are_asked_about_without_an_attempt(
        self, store: Store
    ) -> None:
        _in(store, lambda uow: uow.outbox.add_many([message(1), message(2)]))
        self._claim_messages(store, limit=1)
        later = LEASE + timedelta(seconds=1)
        assert _in(store, lambda uow: uow.outbox.expire_claims(now=LEASE, note="x")) == 1, (
            "a lease ending at now has ended"
        )
        assert _in(store, lambda uow: uow.outbox.expire_claims(now=later, note="x")) == 0
        with store.unit_of_work() as uow:
            gone = uow.outbox.get("m-0001")
        assert gone is not None
        assert (gone.status, gone.due_at, gone.claimed_by, gone.last_error) == (
            OutboxStatus.UNKNOWN,
            LEASE,
            None,
            "x",
        )
        taken = self._claim_messages(store, now=later, status=OutboxStatus.UNKNOWN, token="w2")
        assert [(m.id, m.attempts, m.status) for m in taken] == [
            ("m-0001", 1, OutboxStatus.SENDING)
        ]

    def test_a_decision_is_stored_only_from_the_status_expected(self, store: Store) -> None:
        doubt = message(1, status=OutboxStatus.REVIEW, due_at=None)
        _in(store, lambda uow: uow.outbox.add_many([doubt]))
        sent = attrs.evolve(doubt, status=OutboxStatus.SENT, sent_at=LEASE)
        assert not _in(store, lambda uow: uow.outbox.decide(sent, expected=OutboxStatus.UNKNOWN))
        assert _in(store, lambda uow: uow.outbox.decide(sent, expected=OutboxStatus.REVIEW))
        with store.unit_of_work() as uow:
            assert uow.outbox.get("m-0001") == sent

    def test_lists_filter_by_status_in_enqueue_order(self, store: Store) -> None:
        rows = [
            message(n, status=OutboxStatus.SENT if n % 2 else OutboxStatus.PENDING)
            for n in range(1, 6)
        ]
        _in(store, lambda uow: uow.outbox.add_many(rows))
        with store.unit_of_work() as uow:
            page = uow.outbox.list(status=OutboxStatus.SENT, after=None, limit=2)
            rest = uow.outbox.list(status=OutboxStatus.SENT, after=page.next_after, limit=2)
        assert [m.id for m in [*page, *rest]] == ["m-0001", "m-0003", "m-0005"]


class JobRepositoryContract(StoreFixture):
    """``JobRepository``: idempotent keys, claims by kind, settles, cancels, expiry."""

    def _claim_jobs(
        self,
        store: Store,
        *,
        kinds: Any = ("remind",),
        now: Any = None,
        limit: int = 10,
        token: str = "w1",
    ) -> list[Job]:
        return _in(  # type: ignore[no-any-return]
            store,
            lambda uow: uow.jobs.claim(
                kinds=kinds,
                now=now or T0 + timedelta(hours=1),
                limit=limit,
                claimed_by=token,
                lease_until=LEASE,
            ),
        )

    def test_a_job_round_trips_every_field(self, store: Store) -> None:
        full = job(
            1,
            status=JobStatus.FAILED,
            attempts=2,
            claimed_by="w1/x",
            lease_until=LEASE,
            last_error="ValueError: boom",
            done_at=LEASE,
        )
        _in(store, lambda uow: uow.jobs.add_many([full]))
        with store.unit_of_work() as uow:
            assert uow.jobs.get("j-0001") == full
            assert uow.jobs.get_by_key("task-1") == full
            assert uow.jobs.get_by_key("nope") is None
            assert uow.jobs.count(JobStatus.FAILED) == 1

    def test_a_key_is_scheduled_once(self, store: Store) -> None:
        _in(store, lambda uow: uow.jobs.add_many([job(1), job(1, id="j-twin")]))
        _in(store, lambda uow: uow.jobs.add_many([job(1, id="j-later"), job(2)]))
        assert [j.id for j in _all(store, "jobs")] == ["j-0001", "j-0002"]

    def test_a_claim_takes_due_jobs_of_its_kinds_earliest_first(self, store: Store) -> None:
        rows = [job(3), job(1), job(2, kind="sla"), job(4, due_at=T0 + timedelta(days=2))]
        rows += [job(5, status=JobStatus.FAILED), job(6, status=JobStatus.DONE)]
        rows += [job(7, status=JobStatus.DEAD), job(8, status=JobStatus.RUNNING)]
        _in(store, lambda uow: uow.jobs.add_many(rows))
        taken = self._claim_jobs(store, limit=2)
        assert [j.id for j in taken] == ["j-0001", "j-0003"]
        assert all(
            (j.status, j.attempts, j.claimed_by, j.lease_until)
            == (JobStatus.RUNNING, 1, "w1", LEASE)
            for j in taken
        )
        assert [j.id for j in self._claim_jobs(store)] == ["j-0005"]
        assert [j.id for j in self._claim_jobs(store, kinds={"sla", "other"})] == ["j-0002"]
        assert self._claim_jobs(store, kinds=()) == []

    def test_two_claims_at_once_get_disjoint_jobs(self, store: Store) -> None:
        _in(store, lambda uow: uow.jobs.add_many([job(n) for n in range(1, 11)]))

        def claim(uow: Any) -> list[Job]:
            return uow.jobs.claim(  # type: ignore[no-any-return]
                kinds={"remind"},
                now=LEASE,
                limit=6,
                claimed_by=f"w-{threading.get_ident()}",
                lease_until=LEASE,
            )

        first, second, errors = _concurrently(store, claim)
        assert not errors, errors
        assert len(first) == 6
        assert {j.id for j in first}.isdisjoint(j.id for j in second)
        assert len(first) + len(second) == 10

    def test_a_settle_is_stored_only_under_its_claim(self, store: Store) -> None:
        _in(store, lambda uow: uow.jobs.add_many([job(1)]))
        (claimed,) = self._claim_jobs(store)
        done = attrs.evolve(claimed, status=JobStatus.DONE, done_at=LEASE, claimed_by=None)
        assert not _in(store, lambda uow: uow.jobs.settle(done, claimed_by="w2"))
        assert _in(store, lambda uow: uow.jobs.settle(done, claimed_by="w1"))
        assert not _in(store, lambda uow: uow.jobs.settle(done, claimed_by="w1"))
        with store.unit_of_work() as uow:
            assert uow.jobs.get("j-0001") == done

    def test_settle_many_stores_those_still_held_and_names_them(self, store: Store) -> None:
        _in(store, lambda uow: uow.jobs.add_many([job(n) for n in range(1, 4)]))
        claimed = self._claim_jobs(store, limit=3)
        assert len(claimed) == 3
        _in(store, lambda uow: uow.jobs.cancel("task-2"))  # its claim is lost
        done = [
            attrs.evolve(j, status=JobStatus.DONE, done_at=LEASE, claimed_by=None) for j in claimed
        ]
        stored = _in(store, lambda uow: uow.jobs.settle_many(done, claimed_by="w1"))
        assert stored == ["j-0001", "j-0003"]
        assert _in(store, lambda uow: uow.jobs.settle_many(done, claimed_by="w1")) == []
        with store.unit_of_work() as uow:
            assert uow.jobs.get("j-0001") == done[0]
            assert uow.jobs.get("j-0002") is None

    def test_a_settle_rolled_back_with_its_work_leaves_the_claim(self, store: Store) -> None:
        _in(store, lambda uow: uow.jobs.add_many([job(1)]))
        (claimed,) = self._claim_jobs(store)
        done = attrs.evolve(claimed, status=JobStatus.DONE)
        assert _in(store, lambda uow: uow.jobs.settle(done, claimed_by="w1"), commit=False)
        with store.unit_of_work() as uow:
            assert uow.jobs.get("j-0001") == claimed

    def test_cancel_removes_a_waiting_or_running_job_but_not_a_finished_one(
        self, store: Store
    ) -> None:
        rows = [job(1), job(2, status=JobStatus.DONE), job(3, status=JobStatus.DEAD), job(4)]
        _in(store, lambda uow: uow.jobs.add_many(rows))
        (running,) = self._claim_jobs(store, limit=1)
        assert running.id == "j-0001"
        assert _in(store, lambda uow: uow.jobs.cancel("task-1"))
        assert _in(store, lambda uow: uow.jobs.cancel("task-4"))
        assert not _in(store, lambda uow: uow.jobs.cancel("task-2"))
        assert not _in(store, lambda uow: uow.jobs.cancel("task-3"))
        assert not _in(store, lambda uow: uow.jobs.cancel("task-unknown"))
        done = attrs.evolve(running, status=JobStatus.DONE)
        assert not _in(store, lambda uow: uow.jobs.settle(done, claimed_by="w1")), (
            "the run of a cancelled job must not settle"
        )
        assert [j.id for j in _all(store, "jobs")] == ["j-0002", "j-0003"]
        _in(store, lambda uow: uow.jobs.add_many([job(1, id="j-again")]))
        assert [j.id for j in _all(store, "jobs")] == ["j-0002", "j-0003", "j-again"], (
            "a cancelled key can be scheduled again"
        )

    def test_expired_claims_fail_for_a_retry_or_die_with_their_last_attempt(
        self, store: Store
    ) -> None:
        _in(store, lambda uow: uow.jobs.add_many([job(1), job(2, attempts=2)]))
        self._claim_jobs(store)
        expired = _in(
            store, lambda uow: uow.jobs.expire_claims(now=LEASE, max_attempts=3, note="gone")
        )
        assert expired == 2
        with store.unit_of_work() as uow:
            one, two = uow.jobs.get("j-0001"), uow.jobs.get("j-0002")
        assert one is not None and two is not None
        assert (one.status, one.attempts, one.due_at, one.claimed_by, one.last_error) == (
            JobStatus.FAILED,
            1,
            LEASE,
            None,
            "gone",
        )
        assert (two.status, two.attempts) == (JobStatus.DEAD, 3)
        assert [j.id for j in self._claim_jobs(store, now=LEASE)] == ["j-0001"]


class QueueContract(EventRepositoryContract, OutboxRepositoryContract, JobRepositoryContract):
    """Every contract of ``crmkit.storage.queues``."""
