"""A session: one unit of work on behalf of one actor, with the services on it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import attrs

from crmkit.domain.audit import AuditAction, AuditEntry
from crmkit.domain.dictionary import Vocabulary
from crmkit.domain.errors import DuplicateMatch, PermissionDenied
from crmkit.domain.events import DomainEvent
from crmkit.domain.intake import new_id as new_id  # re-exported: workflows import it from here
from crmkit.domain.user import User
from crmkit.storage.ports import UnitOfWork
from crmkit.storage.queues import Job, OutboxMessage
from crmkit.workflows.context import Actor, Permission
from crmkit.workflows.dispatch import deliver, outbox_message, stored_event
from crmkit.workflows.jobs import new_job

if TYPE_CHECKING:
    from crmkit.workflows.activities import ActivityService, TaskService
    from crmkit.workflows.approvals import ApprovalService
    from crmkit.workflows.audit import AuditService
    from crmkit.workflows.complaints import ComplaintService
    from crmkit.workflows.contacts import ContactService
    from crmkit.workflows.customers import CustomerService
    from crmkit.workflows.dedup import DedupIndex, DedupService
    from crmkit.workflows.dictionary import DictionaryService
    from crmkit.workflows.imports import ImportService
    from crmkit.workflows.kb import KbService, QaRecordService
    from crmkit.workflows.leads import LeadService
    from crmkit.workflows.messages import MessageService
    from crmkit.workflows.opportunities import OpportunityService
    from crmkit.workflows.orders import OrderService
    from crmkit.workflows.payments import PaymentService
    from crmkit.workflows.products import (
        ProductCategoryService,
        ProductGroupService,
        ProductService,
    )
    from crmkit.workflows.quotes import QuoteService
    from crmkit.workflows.receivables import ReceivableService
    from crmkit.workflows.repairs import RepairService
    from crmkit.workflows.runtime import Runtime
    from crmkit.workflows.settings import SettingsService
    from crmkit.workflows.sfa import SfaService
    from crmkit.workflows.targets import TargetService
    from crmkit.workflows.tickets import SlaPolicyService, TicketService
    from crmkit.workflows.users import UserService


@attrs.frozen
class DuplicateWarning:
    """A write that went ahead although similar records exist (a *warn* duplicate rule).

    Attributes:
        entity: ``"customer"`` or ``"contact"``.
        entity_id: the record written.
        matches: the similar records, best first, disclosed as ``DuplicateError`` does.
    """

    entity: str
    entity_id: str
    matches: tuple[DuplicateMatch, ...]


class Session:
    """What ``crm.session(actor=...)`` yields. Every change made through its services is
    validated, permission-checked, audited and committed together when the ``with`` block
    ends (or rolled back if it raises)."""

    customers: CustomerService
    contacts: ContactService
    users: UserService
    audit: AuditService
    imports: ImportService
    dedup: DedupService
    dedup_index: DedupIndex
    products: ProductService
    product_categories: ProductCategoryService
    product_groups: ProductGroupService
    dictionary: DictionaryService
    settings: SettingsService
    opportunities: OpportunityService
    quotes: QuoteService
    orders: OrderService
    approvals: ApprovalService
    targets: TargetService
    receivables: ReceivableService
    payments: PaymentService
    activities: ActivityService
    tasks: TaskService
    messages: MessageService
    sfa: SfaService
    kb: KbService
    questions: QaRecordService
    tickets: TicketService
    sla_policies: SlaPolicyService
    leads: LeadService
    complaints: ComplaintService
    repairs: RepairService

    def __init__(self, runtime: Runtime, uow: UnitOfWork, actor: Actor) -> None:
        from crmkit.workflows.activities import ActivityService, TaskService
        from crmkit.workflows.approvals import ApprovalService
        from crmkit.workflows.audit import AuditService
        from crmkit.workflows.complaints import ComplaintService
        from crmkit.workflows.contacts import ContactService
        from crmkit.workflows.customers import CustomerService
        from crmkit.workflows.dedup import DedupIndex, DedupService
        from crmkit.workflows.dictionary import DictionaryService
        from crmkit.workflows.imports import ImportService
        from crmkit.workflows.kb import KbService, QaRecordService
        from crmkit.workflows.leads import LeadService
        from crmkit.workflows.messages import MessageService
        from crmkit.workflows.opportunities import OpportunityService
        from crmkit.workflows.orders import OrderService
        from crmkit.workflows.payments import PaymentService
        from crmkit.workflows.products import (
            ProductCategoryService,
            ProductGroupService,
            ProductService,
        )
        from crmkit.workflows.quotes import QuoteService
        from crmkit.workflows.receivables import ReceivableService
        from crmkit.workflows.repairs import RepairService
        from crmkit.workflows.settings import SettingsService
        from crmkit.workflows.sfa import SfaService
        from crmkit.workflows.targets import TargetService
        from crmkit.workflows.tickets import SlaPolicyService, TicketService
        from crmkit.workflows.users import UserService

        self.runtime = runtime
        self._uow = uow
        self.actor = actor
        self.events: list[DomainEvent] = []
        self.warnings: list[DuplicateWarning] = []
        # Audit entries wait here and are written together (one multi-row INSERT) before
        # any audit read and at commit: a bulk import writes thousands.
        self._audit: list[AuditEntry] = []
        # So do notifications and jobs (by key: the first of a key wins), and events;
        # events written but not yet committed wait in ``_written`` for their publishing.
        self._outbox: dict[str, OutboxMessage] = {}
        self._jobs: dict[str, Job] = {}
        self._written: list[tuple[str, DomainEvent]] = []
        self._users: dict[str, User | None] = {}
        self._now: datetime | None = None
        self._vocabulary: Vocabulary | None = None
        self._after_commit: list[Callable[[], None]] = []
        self.customers = CustomerService(self)
        self.contacts = ContactService(self)
        self.users = UserService(self)
        self.audit = AuditService(self)
        self.imports = ImportService(self)
        self.dedup = DedupService(self)
        self.dedup_index = DedupIndex(self)
        self.products = ProductService(self)
        self.product_categories = ProductCategoryService(self)
        self.product_groups = ProductGroupService(self)
        self.dictionary = DictionaryService(self)
        self.settings = SettingsService(self)
        self.opportunities = OpportunityService(self)
        self.quotes = QuoteService(self)
        self.orders = OrderService(self)
        self.approvals = ApprovalService(self)
        self.targets = TargetService(self)
        self.receivables = ReceivableService(self)
        self.payments = PaymentService(self)
        self.activities = ActivityService(self)
        self.tasks = TaskService(self)
        self.messages = MessageService(self)
        self.sfa = SfaService(self)
        self.kb = KbService(self)
        self.questions = QaRecordService(self)
        self.tickets = TicketService(self)
        self.sla_policies = SlaPolicyService(self)
        self.leads = LeadService(self)
        self.complaints = ComplaintService(self)
        self.repairs = RepairService(self)

    def vocabulary(self) -> Vocabulary:
        """The data dictionary's closed lists, read once per session (dictionary writes in
        this session read them again)."""
        if self._vocabulary is None:
            self._vocabulary = self.dictionary.vocabulary()
        return self._vocabulary

    def commit(self) -> None:
        """Make everything done so far durable now and go on in a new transaction.

        Events of the committed work reach subscribers at once (they were stored with the
        work, so a crash before they are published does not lose them: see
        ``crmkit.workflows.dispatch``). Long bulk jobs (imports) commit batch by batch this
        way, so that an interruption keeps what was done and other writers are not held up
        for the whole job.
        """
        self.flush()
        self._uow.commit()
        self.publish_committed(self._uow)
        self.run_after_commit()

    def on_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once the work done so far is committed (not if it rolls back)."""
        self._after_commit.append(action)

    def run_after_commit(self) -> None:
        """After a commit: the actions :meth:`on_commit` queued."""
        actions, self._after_commit = self._after_commit, []
        for action in actions:
            action()

    def flush(self) -> None:
        """Finish deferred work before commit: re-index records whose contacts changed,
        write the pending audit entries, events, notifications and jobs."""
        self.dedup_index.flush()
        self.flush_audit()
        self.flush_queues()

    def flush_queues(self) -> None:
        """Write the events, notifications and jobs recorded so far, each kind in one
        multi-row insert (an import publishes an event per row)."""
        if self.events:
            lease = self.now() + timedelta(seconds=self.runtime.settings.claim_lease_seconds)
            events, self.events = self.events, []
            rows = [stored_event(e, lease) for e in events]
            self._uow.events.append_many(rows)
            self._written.extend((row.id, e) for row, e in zip(rows, events, strict=True))
        if self._outbox:
            messages, self._outbox = list(self._outbox.values()), {}
            self._uow.outbox.add_many(messages)
        if self._jobs:
            jobs, self._jobs = list(self._jobs.values()), {}
            self._uow.jobs.add_many(jobs)

    def publish_committed(self, uow: UnitOfWork | None = None) -> None:
        """After a commit: publish the committed events to the subscribers and mark them
        published (in ``uow``, or a unit of work of its own when None)."""
        written, self._written = self._written, []
        deliver(self.runtime, written, uow)

    def flush_audit(self) -> None:
        """Write the audit entries recorded so far (before reading the audit log)."""
        if self._audit:
            entries, self._audit = self._audit, []
            self._uow.audit.append_many(entries)

    # -- users, read once per session -------------------------------------------------
    def user(self, id: str) -> User | None:
        """The user ``id`` (cached for the session: owners are looked up per row in bulk
        paths). User writes through ``session.users`` clear the cache."""
        if id not in self._users:
            self._users[id] = self._uow.users.get(id)
        return self._users[id]

    def forget_users(self) -> None:
        self._users.clear()

    # -- time ---------------------------------------------------------------------------
    def now(self) -> datetime:
        """The clock's time, read once per call (timestamps in one write agree)."""
        return self.runtime.clock.now()

    def today(self) -> date:
        """Today's date in the CRM's business timezone."""
        return self.now().astimezone(ZoneInfo(self.runtime.settings.timezone)).date()

    # -- permissions --------------------------------------------------------------------
    def require(self, permission: Permission | str) -> None:
        """Raise ``PermissionDenied`` unless the actor holds ``permission``."""
        if not self.actor.can(permission):
            code = str(permission)
            raise PermissionDenied(
                self.actor.name, code, self.runtime.permissions.get(code).label_zh
            )

    # -- audit and events ---------------------------------------------------------------
    def record(
        self,
        entity_type: str,
        entity_id: str,
        action: AuditAction,
        changes: Mapping[str, tuple[Any, Any]] | None = None,
        *,
        at: datetime,
        note: str | None = None,
    ) -> None:
        self._audit.append(
            AuditEntry(
                id=new_id(),
                at=at,
                actor_id=self.actor.id,
                entity_type=entity_type,
                entity_id=entity_id,
                action=action,
                changes=dict(changes or {}),
                note=note,
            )
        )

    def publish(self, event: DomainEvent) -> None:
        """Queue an event; it is stored with the session's work and reaches subscribers
        only if the session commits (at least once: see ``crmkit.workflows.dispatch``)."""
        self.events.append(event)

    # -- notifications and jobs (internal entries for the services) ----------------------
    def queue_notification(
        self,
        channel: str,
        recipient: str,
        payload: Mapping[str, Any],
        *,
        key: str,
        due_at: datetime | None = None,
    ) -> OutboxMessage:
        """Queue a message for ``crm.dispatch()`` to send after this session commits (the
        transactional outbox: nothing leaves if the session rolls back).

        Args:
            channel: the notifier channel (``"sms"``, ``"email"``, ``"wecom"`` ...).
            recipient: the address on that channel.
            payload: what to send, JSON-ready (template and variables ...).
            key: names the message (``"birthday:2027:<customer id>"``); the stored
                idempotency key is ``<key>:<recipient>``, so queueing the same message to
                the same recipient again, in this session or any later one, stores
                nothing new.
            due_at: not before this time (default: as soon as the session commits).

        Returns:
            The message queued: the first one under its key in this session. If the
            store holds the key already, that message stays and this one is dropped.

        Raises:
            ValueError: an empty channel, recipient or key, or a key too long.
        """
        message = outbox_message(
            channel=channel,
            recipient=recipient,
            payload=dict(payload),
            key=key,
            now=self.now(),
            due_at=due_at,
        )
        return self._outbox.setdefault(message.key, message)

    def notify_user(
        self,
        user_id: str,
        payload: Mapping[str, Any],
        *,
        key: str,
        channels: tuple[str, ...] = ("email", "sms"),
    ) -> None:
        """Queue ``payload`` to a user on each of ``channels`` they have an address for
        (their email, their mobile): the reminders' one way to reach a salesperson. A user
        gone, or without any of those addresses, is reached on none."""
        user = self.user(user_id)
        if user is None:
            return
        addresses = {
            "email": str(user.email) if user.email is not None else None,
            "sms": user.mobile.e164 if user.mobile is not None else None,
        }
        for channel in channels:
            address = addresses.get(channel)
            if address is not None:
                self.queue_notification(channel, address, payload, key=key)

    def schedule(
        self, kind: str, due_at: datetime, payload: Mapping[str, Any], *, key: str | None = None
    ) -> Job:
        """Schedule a job for ``crm.run_due()`` (committed with this session's work).

        Args:
            kind: which handler (``crm.on_job(kind, ...)``) runs it.
            due_at: when (timezone-aware).
            payload: the handler's input, JSON-ready.
            key: makes scheduling idempotent: a job under a key already scheduled (in any
                state, done included) is kept and this one dropped. None: always a new job.

        Returns:
            The job queued: the first one under its key in this session.

        Raises:
            ValueError: an empty kind, a naive ``due_at`` or a key too long.
        """
        job = new_job(kind=kind, due_at=due_at, payload=dict(payload), key=key, now=self.now())
        return self._jobs.setdefault(job.key, job)

    def cancel_job(self, key: str) -> bool:
        """Cancel the job scheduled under ``key`` unless it is done (or dead).

        Returns:
            True if a job was cancelled. A run of it under way then rolls back.
        """
        if self._jobs.pop(key, None) is not None:
            self.flush_queues()  # an earlier job under the key may be stored already
            self._uow.jobs.cancel(key)
            return True
        self.flush_queues()
        return self._uow.jobs.cancel(key)
