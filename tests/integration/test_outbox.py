"""The outbox: notifications leave after the commit, each once, through the notifiers; a
send whose outcome is unknown is never repeated before the notifier has been asked."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import attrs
import pytest

import crmkit
from crmkit import CRM, SYSTEM
from crmkit.storage.queues import OutboxMessage, OutboxStatus
from crmkit.testing import ManualClock, open_test_crm, store_of
from crmkit.testing.notifiers import RecordingNotifier, ScriptedNotifier
from crmkit.workflows.dispatch import resolve_message
from crmkit.workflows.runtime import Settings

MOBILE = "+8613800138000"
SETTINGS = Settings(outbox_max_attempts=3, status_checks=2)
LEASE = timedelta(seconds=SETTINGS.claim_lease_seconds)


@pytest.fixture
def notifier() -> ScriptedNotifier:
    return ScriptedNotifier()


@pytest.fixture
def outbox_crm(
    backend_url: str | None, clock: ManualClock, notifier: ScriptedNotifier
) -> Iterator[CRM]:
    crm = open_test_crm(backend_url, clock=clock, notifier=notifier, settings=SETTINGS)
    yield crm
    crm.close()


def _queue(crm: CRM, *messages: tuple[str, str], channel: str = "sms") -> None:
    """Queue (key, recipient) messages in one session."""
    with crm.session(actor=SYSTEM) as s:
        for key, recipient in messages:
            s.queue_notification(channel, recipient, {"template": "hello"}, key=key)


def _message(crm: CRM, key: str = "hello", recipient: str = MOBILE) -> OutboxMessage:
    with store_of(crm).unit_of_work() as uow:
        found = uow.outbox.get_by_key(f"{key}:{recipient}")
    assert found is not None
    return found


def test_a_notification_queued_in_a_session_is_sent_once_after_the_commit(
    outbox_crm: CRM, notifier: ScriptedNotifier, clock: ManualClock
):
    _queue(outbox_crm, ("hello", MOBILE))
    assert notifier.sent == [], "nothing leaves inside the business transaction"
    report = outbox_crm.dispatch()
    assert (report.claimed, report.sent) == (1, 1)
    assert [(m.channel, m.recipient, m.key) for m in notifier.sent] == [
        ("sms", MOBILE, f"hello:{MOBILE}")
    ]
    assert outbox_crm.dispatch().claimed == 0
    sent = _message(outbox_crm)
    assert (sent.status, sent.sent_at, sent.reference, sent.attempts) == (
        OutboxStatus.SENT,
        clock.now(),
        "rec-1",
        1,
    )


def test_a_session_that_rolls_back_sends_nothing(outbox_crm: CRM, notifier: ScriptedNotifier):
    def queue_then_fail() -> None:
        with outbox_crm.session(actor=SYSTEM) as s:
            s.queue_notification("sms", MOBILE, {"template": "hello"}, key="hello")
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        queue_then_fail()
    assert outbox_crm.dispatch().claimed == 0
    assert notifier.sent == []


def test_one_message_key_reaches_each_recipient_once_however_often_it_is_queued(
    outbox_crm: CRM, notifier: ScriptedNotifier
):
    other = "+8613900001234"
    _queue(outbox_crm, ("birthday:2027", MOBILE), ("birthday:2027", other))
    _queue(outbox_crm, ("birthday:2027", MOBILE), ("birthday:2027", MOBILE))
    outbox_crm.dispatch()
    _queue(outbox_crm, ("birthday:2027", other))
    outbox_crm.dispatch()
    assert sorted(m.recipient for m in notifier.sent) == sorted([MOBILE, other])
    assert notifier.keys().most_common(1)[0][1] == 1


def test_a_failed_send_is_retried_on_a_doubling_schedule_then_given_up(
    outbox_crm: CRM, notifier: ScriptedNotifier, clock: ManualClock
):
    notifier.fail(3)
    _queue(outbox_crm, ("hello", MOBILE))
    start = clock.now()
    assert outbox_crm.dispatch().retrying == 1
    first = _message(outbox_crm)
    assert (first.status, first.attempts, first.due_at) == (
        OutboxStatus.PENDING,
        1,
        start + timedelta(seconds=30),
    )
    assert "scripted failure" in (first.last_error or "")
    clock.advance(seconds=29)
    assert outbox_crm.dispatch().claimed == 0, "not before its retry is due"
    clock.advance(seconds=1)
    assert outbox_crm.dispatch().retrying == 1
    assert _message(outbox_crm).due_at == clock.now() + timedelta(seconds=60)
    clock.advance(seconds=60)
    assert outbox_crm.dispatch().dead == 1
    dead = _message(outbox_crm)
    assert (dead.status, dead.attempts, dead.due_at) == (OutboxStatus.DEAD, 3, None)
    clock.advance(days=1)
    assert outbox_crm.dispatch().claimed == 0
    assert notifier.sent == []


def test_a_message_the_provider_refuses_for_good_is_dead_at_once(
    outbox_crm: CRM, notifier: ScriptedNotifier
):
    notifier.refuse()
    _queue(outbox_crm, ("hello", MOBILE))
    assert outbox_crm.dispatch().dead == 1
    assert _message(outbox_crm).status is OutboxStatus.DEAD


def test_a_timed_out_send_is_unknown_and_never_resent_before_the_notifier_is_asked(
    outbox_crm: CRM, notifier: ScriptedNotifier, clock: ManualClock
):
    notifier.time_out(delivered=True)
    _queue(outbox_crm, ("hello", MOBILE))
    report = outbox_crm.dispatch()
    assert (report.unknown, report.sent, report.retrying) == (1, 0, 0)
    assert _message(outbox_crm).status is OutboxStatus.UNKNOWN
    clock.advance(days=1)
    report = outbox_crm.dispatch()
    assert (report.reconciled, report.sent, report.claimed) == (1, 1, 0)
    assert notifier.status_calls == [f"hello:{MOBILE}"]
    assert len(notifier.attempts) == 1, "the message was never handed over again"
    assert len(notifier.sent) == 1
    assert _message(outbox_crm).status is OutboxStatus.SENT


def test_a_timed_out_send_that_did_not_go_out_is_retried_once_the_notifier_says_so(
    outbox_crm: CRM, notifier: ScriptedNotifier, clock: ManualClock
):
    notifier.time_out(delivered=False)
    _queue(outbox_crm, ("hello", MOBILE))
    outbox_crm.dispatch()
    reconciled = outbox_crm.dispatch()
    assert (reconciled.reconciled, reconciled.retrying) == (1, 1)
    assert _message(outbox_crm).status is OutboxStatus.PENDING
    clock.advance(seconds=30)
    assert outbox_crm.dispatch().sent == 1
    assert len(notifier.sent) == 1


def test_a_message_the_notifier_cannot_tell_about_waits_for_a_person(
    outbox_crm: CRM, notifier: ScriptedNotifier, clock: ManualClock
):
    notifier.time_out(delivered=False)
    notifier.knows_status = False
    _queue(outbox_crm, ("hello", MOBILE))
    outbox_crm.dispatch()
    assert outbox_crm.dispatch().review == 0, "asked again later first"
    assert _message(outbox_crm).checks == 1
    clock.advance(seconds=30)
    assert outbox_crm.dispatch().review == 1
    doubtful = _message(outbox_crm)
    assert (doubtful.status, doubtful.due_at) == (OutboxStatus.REVIEW, None)
    clock.advance(days=7)
    assert outbox_crm.dispatch().claimed == 0
    assert notifier.sent == [], "never resent on its own"
    resolve_message(outbox_crm._rt, doubtful.id, sent=False)  # a person: it did not arrive
    assert outbox_crm.dispatch().sent == 1
    with pytest.raises(crmkit.WorkflowError):
        resolve_message(outbox_crm._rt, doubtful.id, sent=True)


def test_a_claim_left_by_a_dead_worker_is_reconciled_not_resent_blindly(
    outbox_crm: CRM, notifier: ScriptedNotifier, clock: ManualClock
):
    _queue(outbox_crm, ("hello", MOBILE))
    with store_of(outbox_crm).unit_of_work() as uow:  # a worker claims, then dies
        (claimed,) = uow.outbox.claim(
            OutboxStatus.PENDING,
            channels=None,
            now=clock.now(),
            limit=10,
            claimed_by="dead-worker/1",
            lease_until=clock.now() + LEASE,
        )
        uow.commit()
    assert outbox_crm.dispatch().claimed == 0, "its lease holds"
    clock.advance(LEASE)
    report = outbox_crm.dispatch()
    assert (report.expired, report.reconciled, report.retrying, report.claimed) == (1, 1, 1, 0)
    assert notifier.status_calls == [claimed.key]
    clock.advance(seconds=30)
    assert outbox_crm.dispatch().sent == 1
    assert len(notifier.sent) == 1


def test_a_worker_hands_back_what_it_cannot_send_in_the_first_half_of_its_lease(
    backend_url: str | None, clock: ManualClock
):
    class Slow(RecordingNotifier):
        def send(self, message):  # type: ignore[no-untyped-def]
            clock.advance(LEASE / 4)
            return super().send(message)

    slow = Slow()
    crm = open_test_crm(backend_url, clock=clock, notifier=slow, settings=SETTINGS)
    try:
        _queue(crm, *[(f"m{i}", MOBILE) for i in range(5)])
        report = crm.dispatch()
        assert (report.claimed, report.sent, report.released) == (5, 2, 3)
        with store_of(crm).unit_of_work() as uow:
            back = list(uow.outbox.list(status=OutboxStatus.PENDING, after=None, limit=10))
        assert [m.attempts for m in back] == [0, 0, 0]
        assert crm.dispatch().sent == 2
    finally:
        crm.close()


def test_messages_for_a_channel_without_a_notifier_wait(backend_url: str | None, clock):
    sms = RecordingNotifier(channels={"sms"})
    crm = open_test_crm(backend_url, clock=clock, notifier=[sms])
    try:
        _queue(crm, ("hello", "zhang@example.com"), channel="email")
        _queue(crm, ("hello", MOBILE))
        assert crm.dispatch().sent == 1
        assert [m.channel for m in sms.sent] == ["sms"]
        assert _message(crm, recipient="zhang@example.com").status is OutboxStatus.PENDING
    finally:
        crm.close()


def test_two_notifiers_for_one_channel_are_refused_at_open():
    with pytest.raises(ValueError, match="sms"):
        crmkit.open(notifier=[RecordingNotifier({"sms"}), RecordingNotifier({"sms", "email"})])


def test_several_notifiers_each_send_their_channels(clock):
    sms, rest = RecordingNotifier({"sms"}), RecordingNotifier()
    crm = open_test_crm(None, clock=clock, notifier=[sms, rest])
    _queue(crm, ("a", MOBILE))
    _queue(crm, ("a", "zhang@example.com"), channel="email")
    crm.dispatch()
    assert [m.channel for m in sms.sent] == ["sms"]
    assert [m.channel for m in rest.sent] == ["email"]


# -- many workers --------------------------------------------------------------------------
def _bulk_queue(crm: CRM, n: int) -> None:
    with crm.session(actor=SYSTEM) as s:  # one multi-row insert at the commit
        for i in range(n):
            s.queue_notification("sms", f"+86138{i:08d}", {"n": i}, key="campaign-7")


def _workers(crms: list[CRM], limit: int) -> list[BaseException]:
    errors: list[BaseException] = []

    def loop(crm: CRM, name: str) -> None:
        try:
            while crm.dispatch(limit=limit, worker=name).claimed:
                pass
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=loop, args=(crm, f"worker-{i}")) for i, crm in enumerate(crms)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return errors


def _each_once(crms: list[CRM], notifier: RecordingNotifier, n: int) -> None:
    counts = notifier.keys()
    assert len(counts) == n, f"{n - len(counts)} messages never sent"
    assert max(counts.values()) == 1, f"sent twice: {[k for k, c in counts.items() if c > 1][:5]}"
    with store_of(crms[0]).unit_of_work() as uow:
        assert uow.outbox.count(OutboxStatus.SENT) == n


@pytest.mark.postgres
def test_four_workers_on_one_postgres_schema_send_10000_messages_each_once(
    pg_schema_url: str,
):
    notifier = RecordingNotifier()
    crms = [crmkit.open(pg_schema_url, notifier=notifier) for _ in range(4)]
    try:
        _bulk_queue(crms[0], 10_000)
        errors = _workers(crms, limit=500)
        assert not errors, errors
        _each_once(crms, notifier, 10_000)
    finally:
        for crm in crms:
            crm.close()


def test_two_workers_on_one_sqlite_file_send_10000_messages_each_once(tmp_path: Path):
    notifier = RecordingNotifier()
    url = f"sqlite:///{tmp_path / 'outbox.db'}"
    crms = [crmkit.open(url, notifier=notifier) for _ in range(2)]
    try:
        _bulk_queue(crms[0], 10_000)
        errors = _workers(crms, limit=500)
        assert not errors, errors
        _each_once(crms, notifier, 10_000)
    finally:
        for crm in crms:
            crm.close()


def test_four_threads_dispatching_from_one_memory_crm_send_each_message_once():
    notifier = RecordingNotifier()
    crm = crmkit.open(notifier=notifier)
    _bulk_queue(crm, 2_000)
    errors = _workers([crm] * 4, limit=100)
    assert not errors, errors
    _each_once([crm], notifier, 2_000)


def test_a_report_counts_add_up(outbox_crm: CRM, notifier: ScriptedNotifier):
    notifier.fail(1).refuse(1).time_out(1)
    _queue(outbox_crm, *[(f"m{i}", MOBILE) for i in range(4)])
    report = outbox_crm.dispatch()
    assert attrs.asdict(report) | {"events": 0} == attrs.asdict(
        crmkit.DispatchReport(claimed=4, sent=1, retrying=1, dead=1, unknown=1)
    )


def test_a_notifier_named_by_its_entry_point_sends(capsys: pytest.CaptureFixture[str]):
    crm = open_test_crm(notifier="console")
    _queue(crm, ("hello", MOBILE))
    assert crm.dispatch().sent == 1
    assert MOBILE in capsys.readouterr().out
    crm.close()


def test_an_unknown_notifier_name_fails_before_anything_opens():
    with pytest.raises(ValueError, match="no crmkit notifier named 'pager'"):
        open_test_crm(notifier=["console", "pager"])
