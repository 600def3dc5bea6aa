"""Storage ports for work that outlives its transaction: events, the outbox and due jobs.

Three tables a unit of work writes *in the business transaction* and workers drain after it:

- **events**: the domain events of committed work, so that a process killed between its
  commit and the publishing of its events does not lose them (``EventRepository``).
- **outbox**: notifications to send (SMS, mail, WeCom ...), one row per message and
  recipient under a unique idempotency key (``OutboxRepository``).
- **jobs**: work due at a time: reminders, SLA timers, SFA steps (``JobRepository``).

Workers *claim* rows: a claim is a conditional update (from a claimable status to a claimed
one, stamped with the claimer's token and a lease) committed on its own, so that two workers
never hold the same row, and a worker that dies leaves rows whose lease runs out. Every later
write about a claimed row (``settle``) is a compare-and-set on the claimer's token: a worker
whose claim was taken over finds out instead of overwriting the new claimer's outcome.

How each backend claims: PostgreSQL selects ``FOR UPDATE SKIP LOCKED`` (concurrent claimers
skip each other's rows instead of waiting) and updates the rows it locked; SQLite holds the
database's write lock for the claim's one ``UPDATE … WHERE status = 'pending' …``, so claims
run one after another; the memory store locks rows per unit of work and skips locked ones,
as PostgreSQL does. The contract suite (``crmkit.testing.contract.queues``) holds all three
to the same behaviour.

Rows that can be claimed are found through indexes on their due time restricted to the
claimable status (partial indexes on SQL), so a claim reads the due rows, not the table.
"""

from __future__ import annotations

import builtins
import enum
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import attrs

from crmkit.storage.ports import Page


# -- events ------------------------------------------------------------------------------------
@attrs.frozen(kw_only=True)
class StoredEvent:
    """A domain event as stored: its class name and its other fields as JSON.

    Attributes:
        id: the event's id (a UUIDv7).
        type: the event class's ``__name__`` (found again among ``DomainEvent``'s
            subclasses when it is read back).
        payload: the event's fields other than ``actor_id`` and ``at``, as crmkit's
            converter unstructures them (JSON-ready).
        actor_id: who did it.
        at: when it happened.
        published_at: when it reached the in-process subscribers; None until then.
        lease_until: until when the process that wrote it (or a recovery claim) holds it:
            another ``crm.dispatch()`` publishes it only after this.
        seq: the store's order of events, assigned on insert (0 before).
    """

    id: str
    type: str
    payload: Mapping[str, Any]
    actor_id: str
    at: datetime
    published_at: datetime | None = None
    lease_until: datetime | None = None
    seq: int = 0


class EventRepository(Protocol):
    """The events table. Units of work append; publishers claim and mark."""

    def append_many(self, events: Sequence[StoredEvent]) -> None:
        """Insert new events, in order (one multi-row insert on SQL: an import writes
        thousands)."""

    def claim_unpublished(
        self,
        *,
        now: datetime,
        lease_until: datetime,
        limit: int,
        after_seq: int = 0,
        take_held: bool = False,
    ) -> builtins.list[StoredEvent]:
        """Hold unpublished events until ``lease_until`` and return them, oldest first.

        Only events after ``after_seq`` are taken, at most ``limit``; with ``take_held``
        False only those whose ``lease_until`` has passed at ``now`` (or that have none).
        Events another open unit of work claimed are skipped (or, on SQLite, waited for).
        """

    def mark_published(self, ids: Sequence[str], at: datetime) -> None:
        """Record that these events reached their subscribers (events already marked keep
        their first time)."""

    def list(
        self, *, unpublished: bool = False, after: str | None, limit: int
    ) -> Page[StoredEvent]:
        """A keyset page of events, oldest first (only unpublished ones if asked)."""


# -- outbox ------------------------------------------------------------------------------------
class OutboxStatus(enum.StrEnum):
    """Where a message is in its life.

    ``pending`` (waits for its ``due_at``) → ``sending`` (claimed by a worker) → ``sent``;
    a failed send goes back to ``pending`` with a later ``due_at`` until its attempts run
    out (``dead``). A send whose outcome is unknown (a timeout, or a claim that expired
    while the worker may have been sending) becomes ``unknown``: it is never resent before
    the notifier has been asked whether it went out; when the notifier cannot tell, the
    message waits in ``review`` for a person to decide.
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    UNKNOWN = "unknown"
    REVIEW = "review"
    DEAD = "dead"


@attrs.frozen(kw_only=True)
class OutboxMessage:
    """One notification to one recipient.

    Attributes:
        id: the row's id.
        key: the idempotency key of this delivery, unique in the store: enqueueing a
            message whose key is stored already stores nothing. Notifiers receive it and
            answer ``status(key)`` about it.
        channel: which notifier sends it (``"sms"``, ``"email"``, ``"wecom"`` ...).
        recipient: an address on that channel (an E.164 number, an email address ...).
        payload: what to send (template and variables, subject and body ...), JSON-ready.
        created_at: when it was enqueued.
        due_at: when it may be claimed next (sending, or asking about an unknown outcome);
            None when nothing is left to do automatically.
        status: see :class:`OutboxStatus`.
        attempts: claims to send it so far.
        checks: times the notifier was asked about an unknown outcome without an answer.
        claimed_by: the claim's token while ``sending``.
        lease_until: the claim's end while ``sending``.
        sent_at: when it was sent (or found to have been).
        reference: the provider's reference for the sent message.
        last_error: why the last attempt failed or is in doubt.
    """

    id: str
    key: str
    channel: str
    recipient: str
    payload: Mapping[str, Any]
    created_at: datetime
    due_at: datetime | None
    status: OutboxStatus = OutboxStatus.PENDING
    attempts: int = 0
    checks: int = 0
    claimed_by: str | None = None
    lease_until: datetime | None = None
    sent_at: datetime | None = None
    reference: str | None = None
    last_error: str | None = None


class OutboxRepository(Protocol):
    """The outbox table."""

    def add_many(self, messages: Sequence[OutboxMessage]) -> None:
        """Insert messages; one whose ``key`` is stored already (or repeated in
        ``messages``, or inserted meanwhile by another unit of work) is dropped, not an
        error."""

    def get(self, id: str) -> OutboxMessage | None: ...

    def get_by_key(self, key: str) -> OutboxMessage | None: ...

    def expire_claims(self, *, now: datetime, note: str) -> int:
        """Turn ``sending`` messages whose lease ended before ``now`` into ``unknown``
        (due ``now``, ``last_error`` = ``note``): the worker that claimed them stopped and
        may have sent them. Returns how many."""

    def claim(
        self,
        status: OutboxStatus,
        *,
        channels: Collection[str] | None,
        now: datetime,
        limit: int,
        claimed_by: str,
        lease_until: datetime,
    ) -> builtins.list[OutboxMessage]:
        """Claim up to ``limit`` messages in ``status`` (``pending``: to send, counting an
        attempt; ``unknown``: to ask about) whose ``due_at`` has come, earliest due first,
        on ``channels`` (None: any): they become ``sending`` under ``claimed_by`` until
        ``lease_until``. Rows claimed by another open unit of work are skipped."""

    def settle(self, messages: Sequence[OutboxMessage], *, claimed_by: str) -> builtins.list[str]:
        """Store each message's new state where the stored one is still ``sending`` under
        ``claimed_by``; returns the ids stored (the others' claims were lost)."""

    def decide(self, message: OutboxMessage, *, expected: OutboxStatus) -> bool:
        """Store the message's new state if its stored status is still ``expected`` (a
        person's decision about a message in doubt)."""

    def list(
        self, *, status: OutboxStatus | None = None, after: str | None, limit: int
    ) -> Page[OutboxMessage]:
        """A keyset page, in the order messages were enqueued."""

    def count(self, status: OutboxStatus | None = None) -> int: ...


# -- due jobs ----------------------------------------------------------------------------------
class JobStatus(enum.StrEnum):
    """``pending`` → ``running`` (claimed) → ``done``; a run that raised leaves the job
    ``failed`` (due again after a backoff) until its attempts run out (``dead``)."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    DEAD = "dead"


CLAIMABLE_JOBS = (JobStatus.PENDING, JobStatus.FAILED)


@attrs.frozen(kw_only=True)
class Job:
    """Work due at a time, run once by a handler registered with ``crm.on_job(kind, ...)``.

    Attributes:
        id: the row's id.
        kind: which handler runs it (``"task.remind"``, ``"ticket.sla"``, ``"sfa.step"`` ...).
        key: unique in the store: scheduling a job under a key already scheduled keeps the
            first one (idempotent scheduling); ``Session.cancel_job(key)`` cancels it.
        due_at: when it should run.
        payload: the handler's input, JSON-ready.
        created_at: when it was scheduled.
        status: see :class:`JobStatus`.
        attempts: runs started so far.
        claimed_by: the claim's token while ``running``.
        lease_until: the claim's end while ``running``.
        last_error: the last failed run's error.
        done_at: when its run committed.
    """

    id: str
    kind: str
    key: str
    due_at: datetime
    payload: Mapping[str, Any]
    created_at: datetime
    status: JobStatus = JobStatus.PENDING
    attempts: int = 0
    claimed_by: str | None = None
    lease_until: datetime | None = None
    last_error: str | None = None
    done_at: datetime | None = None


class JobRepository(Protocol):
    """The jobs table."""

    def add_many(self, jobs: Sequence[Job]) -> None:
        """Insert jobs; one whose ``key`` is taken (stored, repeated, or inserted meanwhile
        by another unit of work) is dropped, not an error."""

    def get(self, id: str) -> Job | None: ...

    def get_by_key(self, key: str) -> Job | None: ...

    def cancel(self, key: str) -> bool:
        """Delete the job under ``key`` unless it is ``done`` or ``dead``; True if one was
        deleted. A ``running`` job's run then fails to settle, so its work rolls back."""

    def expire_claims(self, *, now: datetime, max_attempts: int, note: str) -> int:
        """``running`` jobs whose lease ended before ``now`` become ``failed`` (due
        ``now``), or ``dead`` once they have had ``max_attempts``; returns how many. Their
        runs' work was never committed (a run commits with its job marked ``done``), so
        running them again is safe."""

    def claim(
        self,
        *,
        kinds: Collection[str],
        now: datetime,
        limit: int,
        claimed_by: str,
        lease_until: datetime,
    ) -> builtins.list[Job]:
        """Claim up to ``limit`` ``pending`` or ``failed`` jobs of ``kinds`` due at ``now``,
        earliest due first: they become ``running`` under ``claimed_by`` until
        ``lease_until`` and count an attempt. Rows claimed by another open unit of work
        are skipped."""

    def settle(self, job: Job, *, claimed_by: str) -> bool:
        """Store the job's new state if the stored job is still ``running`` under
        ``claimed_by``; False if the claim was lost (expired and taken over, or the job
        was cancelled)."""

    def settle_many(self, jobs: Sequence[Job], *, claimed_by: str) -> builtins.list[str]:
        """``settle`` of each job (one statement where the backend can); returns the ids
        stored, the others' claims were lost."""

    def list(self, *, status: JobStatus | None = None, after: str | None, limit: int) -> Page[Job]:
        """A keyset page, in the order jobs were scheduled."""

    def count(self, status: JobStatus | None = None) -> int: ...
