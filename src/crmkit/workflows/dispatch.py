"""Work that leaves after the commit: domain events to subscribers, the outbox to notifiers.

**Events.** A session writes its events to the ``events`` table in the business transaction
(one multi-row insert per flush), publishes them to the in-process subscribers after the
commit, then marks them published. A process killed in between leaves them unpublished;
``crmkit.open(..., subscribers=...)`` publishes such leftovers to the subscribers it is
given (all of them: the opening process takes over), and ``crm.dispatch()`` publishes those
whose writer's hold (``claim_lease_seconds``) has run out, so that workers dispatching in a
live deployment do not race the sessions publishing their own events. Delivery is
therefore **at least once**: a subscriber may see an event again (the process died after
some subscribers ran; a process was opened while another was between its commit and its
publishing; a subscriber ran longer than the hold) and must tolerate it, but it never misses
a committed one. An event whose class cannot be found by name (a class renamed, or defined
in a module not imported yet) is logged and left unpublished.

**Outbox.** ``crm.dispatch()`` drains due messages in three steps, each claim committed on its
own before anything leaves the process:

1. claims that expired (a worker died holding them) become ``unknown``: the worker may have
   sent some of them, so they are treated like a timeout;
2. ``unknown`` messages are *reconciled*: the notifier is asked ``status(key)``. Sent: the
   message is ``sent``. Not sent: it is retried like a failure. Cannot tell: asked again
   later (``Settings.status_checks`` times), then left in ``review`` for a person
   (:func:`resolve_message`). An unknown message is never resent before this;
3. due ``pending`` messages are claimed (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: the
   write lock; memory: row locks) with a lease, sent outside any transaction (one by one,
   or, to a notifier with ``send_batch``, those sharing a channel and a payload in one
   request each, read back per recipient), and their outcomes written back in small
   batches, each a compare-and-set on the claim.

A worker sends only during the first half of its lease and hands back what it did not reach:
the second half is room for a slow send to return and its outcome to be written before
another worker may take the claim over. Retries back off deterministically (no jitter):
``retry_base_seconds`` × 2^(attempt − 1), at most ``retry_max_seconds``; after
``outbox_max_attempts`` claims a message is ``dead``. All times come from the CRM's clock.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import attrs

from crmkit.domain.converter import converter, to_plain
from crmkit.domain.errors import NotFound, WorkflowError
from crmkit.domain.events import DomainEvent
from crmkit.domain.intake import new_id
from crmkit.storage.ports import UnitOfWork
from crmkit.storage.queues import OutboxMessage, OutboxStatus, StoredEvent
from crmkit.workflows.notify import (
    BatchNotifier,
    DeliveryStatus,
    Notification,
    Notifier,
    NotifierError,
    NotifierTimeout,
    SendResult,
)

if TYPE_CHECKING:
    from crmkit.workflows.runtime import Runtime, Settings

log = logging.getLogger("crmkit.dispatch")

# Outcomes are written back after this many sends (and at the end of a batch): a crash loses
# at most these outcomes, and their messages then go through the unknown path, never resent
# blindly; one transaction per message would cost a commit each (a claim of 500 is written
# back in two transactions).
SETTLE_EVERY = 250
# Events taken over per claim when publishing leftovers.
EVENT_BATCH = 1000
_ERROR_LENGTH = 2000


# -- shared ------------------------------------------------------------------------------------
def backoff(attempt: int, settings: Settings) -> timedelta:
    """The wait before retry number ``attempt`` (1 for the first retry): doubling from
    ``retry_base_seconds``, capped at ``retry_max_seconds``; deterministic, no jitter."""
    seconds = settings.retry_base_seconds * 2 ** max(attempt - 1, 0)
    return timedelta(seconds=min(seconds, settings.retry_max_seconds))


def worker_name() -> str:
    """A default worker name: host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_token(worker: str | None) -> str:
    """A token unique to one claim, so that two loops of one worker (threads, or a claim
    taken over after its lease) never settle each other's rows."""
    return f"{(worker or worker_name())[:60]}/{uuid.uuid4().hex[:12]}"


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:_ERROR_LENGTH]


# -- events ------------------------------------------------------------------------------------
def stored_event(event: DomainEvent, lease_until: datetime | None) -> StoredEvent:
    """``event`` as the events table keeps it (its class name and other fields as JSON)."""
    payload = to_plain(event)  # a new dict: the columns' fields are taken out of it
    del payload["actor_id"], payload["at"]
    return StoredEvent(
        id=new_id(),
        type=type(event).__name__,
        payload=payload,
        actor_id=event.actor_id,
        at=event.at,
        lease_until=lease_until,
    )


def _event_classes(name: str) -> list[type[DomainEvent]]:
    # Walked at each use, not registered at import: an integrator's events count as soon as
    # their module is imported, and importing crmkit registers nothing.
    found: list[type[DomainEvent]] = []
    seen: set[type[DomainEvent]] = set()
    todo: list[type[DomainEvent]] = [DomainEvent]
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        if cls.__name__ == name:
            found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def load_event(stored: StoredEvent) -> DomainEvent | None:
    """The event ``stored`` holds, or None (logged) when its class cannot be found by name,
    is ambiguous, or no longer fits the stored fields."""
    classes = _event_classes(stored.type)
    if len(classes) != 1:
        log.error(
            "event %s of type %r left unpublished: %s",
            stored.id,
            stored.type,
            "no such DomainEvent subclass is loaded" if not classes else "several classes",
        )
        return None
    fields = {**stored.payload, "actor_id": stored.actor_id, "at": stored.at.isoformat()}
    try:
        event: DomainEvent = converter().structure(fields, classes[0])
    except Exception:
        log.exception("event %s of type %r left unpublished: its fields", stored.id, stored.type)
        return None
    return event


def deliver(
    runtime: Runtime,
    written: Sequence[tuple[str, DomainEvent]],
    uow: UnitOfWork | None = None,
) -> None:
    """Publish committed events to the subscribers, then mark them published.

    Args:
        runtime: the CRM's runtime.
        written: (stored id, event) pairs, committed, in order.
        uow: a unit of work to mark them in (it commits); a new one when None.
    """
    if not written:
        return
    runtime.bus.publish([event for _, event in written])
    _mark_published(runtime, [id for id, _ in written], uow)


def _mark_published(runtime: Runtime, ids: list[str], uow: UnitOfWork | None) -> None:
    try:
        if uow is None:
            with runtime.store.unit_of_work() as fresh:
                fresh.events.mark_published(ids, runtime.clock.now())
                fresh.commit()
        else:
            try:
                uow.events.mark_published(ids, runtime.clock.now())
                uow.commit()
            except Exception:
                uow.rollback()  # the session's unit of work goes on after this
                raise
    except Exception:
        # The business change is committed and its subscribers have run: failing here
        # would report a success as an error. The events stay unpublished and reach the
        # subscribers again later (at least once).
        log.exception("%d published events could not be marked; they will be redelivered", len(ids))


def publish_leftovers(runtime: Runtime, *, take_held: bool) -> int:
    """Publish committed events nobody published (their process stopped first).

    Args:
        runtime: the CRM's runtime.
        take_held: also take events whose writer's hold has not run out (on open: the
            process that opens the store takes over what was left).

    Returns:
        How many events reached the subscribers.
    """
    lease = timedelta(seconds=runtime.settings.claim_lease_seconds)
    published, after = 0, 0
    while True:
        now = runtime.clock.now()
        with runtime.store.unit_of_work() as uow:
            rows = uow.events.claim_unpublished(
                now=now,
                lease_until=now + lease,
                limit=EVENT_BATCH,
                after_seq=after,
                take_held=take_held,
            )
            uow.commit()
        if not rows:
            return published
        after = rows[-1].seq
        loaded = [(r.id, load_event(r)) for r in rows]
        ready = [(id, event) for id, event in loaded if event is not None]
        deliver(runtime, ready)
        published += len(ready)
        if len(rows) < EVENT_BATCH:
            return published


# -- outbox ------------------------------------------------------------------------------------
@attrs.frozen
class DispatchReport:
    """What one ``crm.dispatch()`` did.

    Attributes:
        claimed: messages claimed to send.
        sent: messages the notifiers accepted.
        retrying: messages that failed and wait for a retry.
        dead: messages given up (attempts used up, or refused for good).
        unknown: messages whose send timed out (outcome unknown; asked about next time).
        expired: claims of stopped workers turned into ``unknown``.
        reconciled: unknown messages the notifiers could say something about.
        review: unknown messages left for a person (the notifier cannot tell).
        released: claimed messages handed back unsent (the lease's sending half ran out).
        lost: outcomes not written because the claim had been taken over meanwhile.
        events: leftover events published to subscribers.
    """

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    unknown: int = 0
    expired: int = 0
    reconciled: int = 0
    review: int = 0
    released: int = 0
    lost: int = 0
    events: int = 0


def outbox_message(
    *,
    channel: str,
    recipient: str,
    payload: dict[str, Any],
    key: str,
    now: datetime,
    due_at: datetime | None = None,
) -> OutboxMessage:
    """A new outbox row. Its stored key is ``<key>:<recipient>``: one message key covers a
    message to many recipients, each delivered once.

    Raises:
        ValueError: an empty channel, recipient or key, or a key too long to store.
    """
    if not channel or not recipient or not key:
        raise ValueError("a notification needs a channel, a recipient and a key")
    full = f"{key}:{recipient}"
    if len(full) > 255:
        raise ValueError(f"notification key too long ({len(full)} > 255): {full[:40]}…")
    return OutboxMessage(
        id=new_id(),
        key=full,
        channel=channel,
        recipient=recipient,
        payload=payload,
        created_at=now,
        due_at=due_at or now,
    )


def _failed(
    m: OutboxMessage, now: datetime, settings: Settings, error: str, retry: bool
) -> OutboxMessage:
    """The state of ``m`` after an attempt that did not send it."""
    done = not retry or m.attempts >= settings.outbox_max_attempts
    return attrs.evolve(
        m,
        status=OutboxStatus.DEAD if done else OutboxStatus.PENDING,
        due_at=None if done else now + backoff(m.attempts, settings),
        claimed_by=None,
        lease_until=None,
        last_error=error,
    )


def _sent(m: OutboxMessage, now: datetime, reference: str | None) -> OutboxMessage:
    return attrs.evolve(
        m,
        status=OutboxStatus.SENT,
        due_at=None,
        claimed_by=None,
        lease_until=None,
        sent_at=now,
        reference=reference,
    )


def _unknown(m: OutboxMessage, now: datetime, error: str) -> OutboxMessage:
    # Asked about at the next dispatch: a status query is a read at the provider, harmless.
    return attrs.evolve(
        m,
        status=OutboxStatus.UNKNOWN,
        due_at=now,
        claimed_by=None,
        lease_until=None,
        last_error=error,
    )


class _Settler:
    """Writes outcomes back in batches, each one transaction of compare-and-sets."""

    def __init__(self, runtime: Runtime, token: str) -> None:
        self.runtime = runtime
        self.token = token
        self.pending: list[OutboxMessage] = []
        self.lost = 0

    def add(self, message: OutboxMessage) -> None:
        self.pending.append(message)
        if len(self.pending) >= SETTLE_EVERY:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        with self.runtime.store.unit_of_work() as uow:
            stored = set(uow.outbox.settle(batch, claimed_by=self.token))
            uow.commit()
        for m in batch:
            if m.id not in stored:
                self.lost += 1
                log.warning(
                    "outbox %s (%s): claim taken over before its outcome %s was written",
                    m.id,
                    m.key,
                    m.status,
                )


def _claim(
    runtime: Runtime, status: OutboxStatus, channels: frozenset[str] | None, limit: int, token: str
) -> tuple[list[OutboxMessage], datetime, int]:
    settings = runtime.settings
    now = runtime.clock.now()
    lease = timedelta(seconds=settings.claim_lease_seconds)
    expired = 0
    with runtime.store.unit_of_work() as uow:
        if status is OutboxStatus.UNKNOWN:
            expired = uow.outbox.expire_claims(
                now=now, note="claim expired: the worker stopped; the message may have been sent"
            )
        claimed = uow.outbox.claim(
            status,
            channels=channels,
            now=now,
            limit=limit,
            claimed_by=token,
            lease_until=now + lease,
        )
        uow.commit()
    return claimed, now + lease / 2, expired


def _reconcile(runtime: Runtime, limit: int, worker: str | None) -> dict[str, int]:
    settings = runtime.settings
    token = claim_token(worker)
    claimed, _, expired = _claim(
        runtime, OutboxStatus.UNKNOWN, runtime.notifiers.channels(), limit, token
    )
    counts = {"expired": expired, "reconciled": 0, "review": 0, "sent": 0, "retrying": 0, "dead": 0}
    settler = _Settler(runtime, token)
    for m in claimed:
        now = runtime.clock.now()
        notifier = runtime.notifiers.for_channel(m.channel)
        answer: DeliveryStatus | None = None
        if notifier is not None:
            try:
                answer = notifier.status(m.key)
            except Exception as exc:  # an adapter's failure to answer is "cannot tell"
                log.warning("outbox %s: status(%r) failed: %s", m.id, m.key, _error_text(exc))
        if answer is DeliveryStatus.SENT:
            settler.add(_sent(m, now, m.reference))
            counts["reconciled"] += 1
            counts["sent"] += 1
        elif answer is DeliveryStatus.NOT_SENT:
            after = _failed(m, now, settings, m.last_error or "not sent (reconciled)", retry=True)
            settler.add(after)
            counts["reconciled"] += 1
            counts["dead" if after.status is OutboxStatus.DEAD else "retrying"] += 1
        elif m.checks + 1 >= settings.status_checks:
            settler.add(
                attrs.evolve(
                    m,
                    status=OutboxStatus.REVIEW,
                    checks=m.checks + 1,
                    due_at=None,
                    claimed_by=None,
                    lease_until=None,
                )
            )
            counts["review"] += 1
        else:
            settler.add(
                attrs.evolve(
                    m,
                    status=OutboxStatus.UNKNOWN,
                    checks=m.checks + 1,
                    due_at=now + backoff(m.checks + 1, settings),
                    claimed_by=None,
                    lease_until=None,
                )
            )
    settler.flush()
    counts["lost"] = settler.lost
    return counts


def _send(notifier: Notifier, m: OutboxMessage) -> tuple[str, str | None]:
    """Send one message: ("sent", reference), ("failed" | "refused" | "unknown", error)."""
    try:
        result = notifier.send(
            Notification(key=m.key, channel=m.channel, recipient=m.recipient, payload=m.payload)
        )
    except NotifierTimeout as exc:
        return "unknown", _error_text(exc)
    except NotifierError as exc:
        return ("failed" if exc.retryable else "refused"), _error_text(exc)
    except Exception as exc:
        # Not a NotifierError: the adapter broke somewhere we cannot see, perhaps after the
        # provider took the message. Treated as a timeout, never as "not sent".
        log.exception("outbox %s: notifier %r raised unexpectedly", m.id, notifier)
        return "unknown", _error_text(exc)
    return "sent", result.reference


def _units(
    runtime: Runtime, claimed: Sequence[OutboxMessage]
) -> list[tuple[Notifier | None, list[OutboxMessage]]]:
    """What to send, in claim order: one message at a time, or, for a notifier that sends
    batches, the messages sharing a channel and a payload in chunks of its ``max_batch``."""
    units: list[tuple[Notifier | None, list[OutboxMessage]]] = []
    groups: dict[tuple[int, str, str], list[OutboxMessage]] = {}
    by_channel: dict[str, tuple[Notifier | None, bool]] = {}
    for m in claimed:
        found = by_channel.get(m.channel)
        if found is None:
            # a Protocol's isinstance inspects every member: once per channel, not per message
            notifier = runtime.notifiers.for_channel(m.channel)
            batches = isinstance(notifier, BatchNotifier) and notifier.max_batch > 1
            found = by_channel[m.channel] = (notifier, batches)
        notifier, batches = found
        if not batches:
            units.append((notifier, [m]))
            continue
        batcher = cast(BatchNotifier, notifier)
        same = json.dumps(dict(m.payload), sort_keys=True, ensure_ascii=False, default=str)
        key = (id(notifier), m.channel, same)
        group = groups.get(key)
        if group is None or len(group) >= batcher.max_batch:
            group = groups[key] = []
            units.append((notifier, group))
        group.append(m)
    return units


def _send_batch(notifier: Notifier, chunk: Sequence[OutboxMessage]) -> list[tuple[str, str | None]]:
    """Send a chunk in one ``send_batch``; one (outcome, detail) per message, as :func:`_send`."""
    assert isinstance(notifier, BatchNotifier)
    messages = [
        Notification(key=m.key, channel=m.channel, recipient=m.recipient, payload=m.payload)
        for m in chunk
    ]
    try:
        results = list(notifier.send_batch(messages))
    except NotifierTimeout as exc:
        return [("unknown", _error_text(exc))] * len(chunk)
    except NotifierError as exc:
        return [("failed" if exc.retryable else "refused", _error_text(exc))] * len(chunk)
    except Exception as exc:
        log.exception("outbox batch of %d: notifier %r raised unexpectedly", len(chunk), notifier)
        return [("unknown", _error_text(exc))] * len(chunk)
    if len(results) != len(chunk):
        # which result belongs to which message cannot be told: every one is in doubt
        log.error(
            "notifier %r answered %d results for %d messages", notifier, len(results), len(chunk)
        )
        return [("unknown", "the notifier's results did not match its batch")] * len(chunk)
    out: list[tuple[str, str | None]] = []
    for result in results:
        if isinstance(result, SendResult):
            out.append(("sent", result.reference))
        elif isinstance(result, NotifierTimeout):
            out.append(("unknown", _error_text(result)))
        elif isinstance(result, NotifierError):
            out.append(("failed" if result.retryable else "refused", _error_text(result)))
        else:
            out.append(("unknown", f"unexpected result {result!r}"))
    return out


def dispatch(runtime: Runtime, *, limit: int = 500, worker: str | None = None) -> DispatchReport:
    """Publish leftover events, reconcile messages in doubt, then send due messages.

    See the module docstring for the protocol. Safe to run from many threads and processes
    at once: each message is claimed by one of them.

    Args:
        runtime: the CRM's runtime.
        limit: at most this many messages claimed to send (and as many to reconcile).
        worker: a name for this worker in the claims (default: host and process id).
    """
    events = publish_leftovers(runtime, take_held=False)
    if not runtime.notifiers:
        return DispatchReport(events=events)
    settings = runtime.settings
    counts = _reconcile(runtime, limit, worker)
    token = claim_token(worker)
    claimed, stop_at, _ = _claim(
        runtime, OutboxStatus.PENDING, runtime.notifiers.channels(), limit, token
    )
    settler = _Settler(runtime, token)
    sent = retrying = dead = unknown = released = 0
    for notifier, chunk in _units(runtime, claimed):
        now = runtime.clock.now()
        if notifier is None or now >= stop_at:
            # Not sent, so handing them back cannot cause a duplicate; the attempt is undone.
            for m in chunk:
                settler.add(
                    attrs.evolve(
                        m,
                        status=OutboxStatus.PENDING,
                        attempts=m.attempts - 1,
                        claimed_by=None,
                        lease_until=None,
                    )
                )
            released += len(chunk)
            continue
        results = _send_batch(notifier, chunk) if len(chunk) > 1 else [_send(notifier, chunk[0])]
        now = runtime.clock.now()
        for m, (outcome, detail) in zip(chunk, results, strict=True):
            if outcome == "sent":
                settler.add(_sent(m, now, detail))
                sent += 1
            elif outcome == "unknown":
                settler.add(_unknown(m, now, detail or "timeout"))
                unknown += 1
                log.warning("outbox %s (%s): outcome unknown: %s", m.id, m.key, detail)
            else:
                after = _failed(m, now, settings, detail or "failed", retry=outcome == "failed")
                settler.add(after)
                if after.status is OutboxStatus.DEAD:
                    dead += 1
                else:
                    retrying += 1
    settler.flush()
    return DispatchReport(
        claimed=len(claimed),
        sent=sent + counts["sent"],
        retrying=retrying + counts["retrying"],
        dead=dead + counts["dead"],
        unknown=unknown,
        expired=counts["expired"],
        reconciled=counts["reconciled"],
        review=counts["review"],
        released=released,
        lost=settler.lost + counts["lost"],
        events=events,
    )


def resolve_message(runtime: Runtime, message_id: str, *, sent: bool) -> OutboxMessage:
    """A person's decision about a message in doubt (``unknown`` or ``review``): it went
    out (``sent=True``: never sent again) or it did not (``sent=False``: due again now).

    Internal for now: the messages service will carry the permission and audit.

    Raises:
        NotFound: no such message.
        WorkflowError: the message is not in doubt (or changed meanwhile).
    """
    now = runtime.clock.now()
    with runtime.store.unit_of_work() as uow:
        current = uow.outbox.get(message_id)
        if current is None:
            raise NotFound("outbox", message_id)
        if current.status not in (OutboxStatus.UNKNOWN, OutboxStatus.REVIEW):
            raise WorkflowError(
                "outbox",
                current.status.value,
                "resolve",
                move_zh="确认发送结果",
                reason="only a message whose outcome is in doubt is resolved by hand",
                reason_zh="只有发送结果不明的消息才需人工确认",
            )
        if sent:
            after = _sent(current, now, current.reference)
        else:
            after = attrs.evolve(current, status=OutboxStatus.PENDING, due_at=now)
        if not uow.outbox.decide(after, expected=current.status):
            raise WorkflowError(
                "outbox", "changed", "resolve", state_zh="已被改动", move_zh="确认发送结果"
            )
        uow.commit()
    return after
