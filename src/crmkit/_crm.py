"""The composition root: ``crmkit.open()`` picks the adapters and builds a ``CRM``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from importlib.metadata import entry_points
from typing import Any, TypeVar

from crmkit.adapters.calendars import ChinaCalendar, coverage_warning
from crmkit.adapters.clock import SystemClock
from crmkit.adapters.passwords import Argon2Hasher, PasswordHasher
from crmkit.domain.approvals import ApprovalPolicy
from crmkit.domain.clock import Clock
from crmkit.domain.custom_fields import CustomField, CustomFieldSchema
from crmkit.domain.errors import AuthenticationError, NotFound, WorkflowError
from crmkit.domain.events import DomainEvent
from crmkit.domain.freight import FreightRule
from crmkit.domain.opportunity import Pipeline
from crmkit.domain.user import Role, User
from crmkit.domain.workdays import WorkCalendar
from crmkit.storage.memory import MemoryStore
from crmkit.storage.ports import EVERYTHING, Deleted, EntityQuery, Store
from crmkit.workflows.activities import JOB_HANDLERS as TASK_JOBS
from crmkit.workflows.complaints import JOB_HANDLERS as COMPLAINT_JOBS
from crmkit.workflows.context import SCOPED_ROLES, SYSTEM, Actor, Permissions
from crmkit.workflows.dedup import DedupConfig
from crmkit.workflows.dispatch import DispatchReport, dispatch, publish_leftovers
from crmkit.workflows.entity import custom_field_entities
from crmkit.workflows.events import EventBus
from crmkit.workflows.jobs import BatchJobHandler, JobHandler, RunReport, run_due
from crmkit.workflows.merge import ReferenceHandler
from crmkit.workflows.notify import Notifier, Notifiers
from crmkit.workflows.orders import JOB_HANDLERS as ORDER_JOBS
from crmkit.workflows.receivables import JOB_HANDLERS as RECEIVABLE_JOBS
from crmkit.workflows.runtime import Runtime, Settings
from crmkit.workflows.session import Session
from crmkit.workflows.settings import load_settings, reload_if_stale
from crmkit.workflows.sfa import JOB_HANDLERS as SFA_JOBS
from crmkit.workflows.tickets import JOB_HANDLERS as TICKET_JOBS
from crmkit.workflows.users import authenticate, needs_captcha

E = TypeVar("E", bound=DomainEvent)
log = logging.getLogger("crmkit")


def _scheme(url: str) -> str:
    return url.split(":", 1)[0].split("+", 1)[0].lower()


def open_store(url: str | Store | None, **options: Any) -> Store:
    """Find the storage backend for ``url`` by its scheme (entry point group
    ``crmkit.storage``) and open it. ``None`` and ``memory://`` give the in-memory store; a
    ``Store`` object (an integrator's backend, a test double) is used as it is."""
    if url is not None and not isinstance(url, str):
        return url
    if url is None or _scheme(url) == "memory":
        return MemoryStore()
    scheme = _scheme(url)
    for ep in entry_points(group="crmkit.storage"):
        if ep.name == scheme:
            factory = ep.load()
            store: Store = factory(url, **options)
            return store
    if scheme in {"sqlite", "postgresql"}:  # running from a source tree without metadata
        from crmkit.storage.sql import open_sql_store

        return open_sql_store(url, **options)
    raise ValueError(
        f"no crmkit storage backend for {scheme!r} URLs (entry point group 'crmkit.storage')"
    )


class CRM:
    """An open CRM: a store plus the policies every session shares. Thread-safe; open one
    per process and share it (sessions are cheap, stores are not)."""

    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime
        for kind, handler in {
            **ORDER_JOBS,
            **RECEIVABLE_JOBS,
            **TASK_JOBS,
            **COMPLAINT_JOBS,
            **TICKET_JOBS,
        }.items():  # crmkit's own jobs
            runtime.job_handlers.setdefault(kind, handler)
        for kind, batch in SFA_JOBS.items():
            if kind not in runtime.job_handlers:
                runtime.batch_job_handlers.setdefault(kind, batch)

    # -- properties --------------------------------------------------------------------
    @property
    def backend(self) -> str:
        """Which storage backend this CRM runs on: its class name (``SqlStore``,
        ``MemoryStore`` or an integrator's). The store itself is not public: every
        change goes through a session's services."""
        return type(self._rt.store).__name__

    @property
    def url(self) -> str:
        return self._rt.store.url

    @property
    def calendar(self) -> WorkCalendar:
        """Which days are worked (``crmkit.open(calendar=...)``)."""
        return self._rt.calendar

    @property
    def settings(self) -> Settings:
        return self._rt.settings

    @property
    def clock(self) -> Clock:
        return self._rt.clock

    @property
    def region(self) -> str:
        return self._rt.region

    @property
    def customer_fields(self) -> CustomFieldSchema:
        """The custom fields customers accept (see :meth:`define_field`)."""
        return self._rt.customer_fields

    @property
    def permissions(self) -> Permissions:
        """This CRM's permissions and which role holds which (``grant``, ``revoke``,
        ``define``); sessions started afterwards see the change."""
        return self._rt.permissions

    # -- setup -------------------------------------------------------------------------
    def define_field(self, entity_type: str, field: CustomField) -> None:
        """Add (or replace) a custom field on ``entity_type`` (``"customer"``,
        ``"product"`` …); values are validated on every write.

        Raises:
            ValueError: ``entity_type`` takes no custom fields.
        """
        known = custom_field_entities()
        if entity_type not in known:
            raise ValueError(
                f"{entity_type!r} takes no custom fields; these do: {', '.join(sorted(known))}"
            )
        schemas = self._rt.custom_fields
        schemas[entity_type] = (schemas.get(entity_type) or CustomFieldSchema()).with_field(field)

    def fields(self, entity_type: str) -> CustomFieldSchema:
        """The custom fields ``entity_type`` accepts."""
        return self._rt.custom_fields.get(entity_type) or CustomFieldSchema()

    def register_reference(self, handler: ReferenceHandler) -> None:
        """Make this CRM's merges of ``handler.kind`` records re-point ``handler``'s
        references too (records of an application's own that point at customers or
        contacts). Registering the same name again replaces the earlier handler."""
        self._rt.references.register(handler)

    @property
    def approval_policy(self) -> ApprovalPolicy:
        """Which documents need which approval chain (``crmkit.open(approvals=...)``)."""
        return self._rt.approval_policy

    def define_approvals(self, policy: ApprovalPolicy) -> None:
        """Replace the approval policy: documents submitted afterwards follow it; approvals
        under way keep the chain they started with."""
        if not isinstance(policy, ApprovalPolicy):
            raise TypeError("define_approvals takes a crmkit.ApprovalPolicy")
        self._rt.approval_policy = policy

    @property
    def freight(self) -> FreightRule | None:
        """How deliveries are charged freight (``crmkit.open(freight=...)``)."""
        return self._rt.freight

    def define_freight(self, rule: FreightRule | None) -> None:
        """Replace the freight rule (None: no freight); deliveries recorded afterwards are
        charged by it, earlier ones keep their freight."""
        if rule is not None and not isinstance(rule, FreightRule):
            raise TypeError("define_freight takes a crmkit.FreightRule or None")
        self._rt.freight = rule

    @property
    def pipeline(self) -> Pipeline:
        """The sales pipeline this CRM's opportunities move through."""
        return self._rt.pipeline

    def define_pipeline(self, pipeline: Pipeline) -> None:
        """Replace the sales pipeline (sessions started afterwards use it). Opportunities
        keep the stage they are in; a stage the new pipeline lacks is refused only when an
        opportunity is moved to it."""
        if not isinstance(pipeline, Pipeline):
            raise TypeError("define_pipeline takes a crmkit.Pipeline")
        self._rt.pipeline = pipeline

    def define_customer_field(self, field: CustomField) -> None:
        """``define_field("customer", field)``."""
        self.define_field("customer", field)

    def bootstrap_admin(self, name: str, password: str, *, login: str | None = None) -> User:
        """Create the first user, an admin, in an empty store.

        Raises:
            WorkflowError: the store already has users.
            ValidationError: a bad name or too short a password.
        """
        with self.session(actor=SYSTEM) as s:
            if s._uow.users.count(EntityQuery(deleted=Deleted.INCLUDE), EVERYTHING, cap=1):
                raise WorkflowError(
                    "store",
                    "initialised",
                    "bootstrap an admin",
                    state_zh="已初始化",
                    move_zh="再次创建初始管理员",
                )
            fields: dict[str, Any] = {"name": name, "role": Role.ADMIN}
            if login:
                fields["login"] = login
            if not password:
                s.users.create(password="", **fields)  # reports "password required"
            return s.users.create(password=password, **fields)

    # -- work --------------------------------------------------------------------------
    @contextlib.contextmanager
    def session(self, actor: User | Actor | str) -> Iterator[Session]:
        """One unit of work as ``actor`` (a ``User``, a user id, or ``crmkit.SYSTEM``).

        Commits when the block ends, rolls back if it raises; events are stored with the
        work and reach subscribers only after the commit (at least once: a process killed
        in between delivers them later, see :meth:`dispatch`).

        Raises:
            NotFound: the actor is not a known user.
            AuthenticationError: the actor's account is disabled or locked.
        """
        with self._rt.store.unit_of_work() as uow:
            reload_if_stale(self._rt, uow)  # another process's settings change
            resolved = self._resolve(actor, uow)
            session = Session(self._rt, uow, resolved)
            yield session
            session.flush()
            uow.commit()
        # Outside the unit of work: subscribers may open sessions of their own.
        session.publish_committed()
        session.run_after_commit()

    def _resolve(self, actor: User | Actor | str, uow: Any) -> Actor:
        if isinstance(actor, Actor):
            if actor.is_system:
                return actor
            actor = actor.id
        user_id = actor.id if isinstance(actor, User) else actor
        # Re-read the user: a stale User object must not carry an old role or scope.
        user: User | None = uow.users.get(user_id)
        if user is None or user.is_deleted:
            raise NotFound("user", user_id)
        if not user.active:
            raise AuthenticationError("inactive")
        if user.locked:
            raise AuthenticationError("locked")
        # Only a scoped role's team widens its scope: the others need not walk the tree.
        team = uow.users.subordinate_ids(user.id) if user.role in SCOPED_ROLES else frozenset()
        return Actor.for_user(user, team, self._rt.permissions)

    def authenticate(self, login: str, password: str, *, client: str | None = None) -> User:
        """The user with this login and password.

        A wrong password gets the same error whether the login exists or the account is
        locked; only the right password learns that the account is locked or disabled.
        ``Settings.lockout_threshold`` failures in a day lock the account until an admin
        unlocks it (``s.users.unlock`` or ``crmkit user unlock``); the last active admin
        is locked for ``Settings.admin_lock_minutes`` instead.

        Args:
            login: the login name as typed.
            password: the password as typed.
            client: who sent the attempt (an IP address): failures are counted for it too,
                for :meth:`login_needs_captcha`.

        Raises:
            AuthenticationError: wrong login or password (``reason="failed"``), the account is
                locked (``"locked"``; ``until`` says when a timed lock ends), or disabled
                (``"inactive"``).
        """
        return authenticate(self._rt, login, password, client=client)

    def login_needs_captcha(self, login: str, *, client: str | None = None) -> bool:
        """Whether the next login attempt for ``login`` from ``client`` must pass a CAPTCHA.

        True from ``Settings.captcha_after`` failures today for that login name (existing
        or not, so the answer reveals no login) or from that client. The application shows
        the challenge and checks the answer before it calls :meth:`authenticate`.

        Args:
            login: the login name as typed (empty: ask about the client only).
            client: who is asking (an IP address), or ``None``.
        """
        return needs_captcha(self._rt, login, client=client)

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> Callable[[], None]:
        """Call ``handler`` after commit for each event of ``event_type``; returns an
        unsubscribe function."""
        return self._rt.bus.subscribe(event_type, handler)

    # -- work after the commit: the outbox and due jobs --------------------------------
    def dispatch(self, limit: int = 500, worker: str | None = None) -> DispatchReport:
        """Send the due notifications of the outbox through the notifiers, each once.

        Also publishes committed events whose process stopped before publishing them, and
        reconciles messages whose send timed out (asking the notifier, never resending
        blindly). Safe to call from many threads, processes and machines at once; call it
        from a timer or a worker loop. The protocol is in ``crmkit.workflows.dispatch``.

        Args:
            limit: at most this many messages sent (and as many reconciled) per call.
            worker: this worker's name in the claims (default: host and process id).
        """
        return dispatch(self._rt, limit=limit, worker=worker)

    def on_job(self, kind: str, handler: JobHandler) -> None:
        """Run ``handler(session, job)`` for due jobs of ``kind`` (replacing any handler of
        that kind on this CRM). The session is the system actor's; the job is marked done
        in its transaction, so the handler's work happens once. It must not commit.

        Raises:
            ValueError: an empty kind.
        """
        if not kind:
            raise ValueError("a job kind is required")
        self._rt.batch_job_handlers.pop(kind, None)
        self._rt.job_handlers[kind] = handler

    def on_job_batch(self, kind: str, handler: BatchJobHandler) -> None:
        """Run ``handler(session, jobs)`` for due jobs of ``kind``, up to
        ``Settings.job_batch_size`` of them in one session: their work and their ``done``
        marks commit together. If a batch raises, its jobs run again one by one (each
        ``handler(session, [job])``), so the handler must give each job the same effect
        alone as in a batch. Replaces any handler of that kind (batch or not).

        Raises:
            ValueError: an empty kind.
        """
        if not kind:
            raise ValueError("a job kind is required")
        self._rt.job_handlers.pop(kind, None)
        self._rt.batch_job_handlers[kind] = handler

    def run_due(
        self, now: datetime | None = None, limit: int = 100, worker: str | None = None
    ) -> RunReport:
        """Run the scheduled jobs due at ``now`` (default: the clock's time) whose kind has a
        handler here (:meth:`on_job`), each once even with many workers. Idempotent: jobs
        done are not run again. See ``crmkit.workflows.jobs``.

        Args:
            now: the time to run jobs for.
            limit: at most this many jobs per call.
            worker: this worker's name in the claims (default: host and process id).
        """
        return run_due(self._rt, lambda: self.session(SYSTEM), now=now, limit=limit, worker=worker)

    def close(self) -> None:
        """Release the store's connections."""
        self._rt.store.close()

    def __enter__(self) -> CRM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<CRM {self.url}>"


def load_notifier(name: str) -> Notifier:
    """The notifier an installed ``crmkit.notifiers`` entry point named ``name`` builds.

    Raises:
        ValueError: no such entry point.
    """
    for ep in entry_points(group="crmkit.notifiers"):
        if ep.name == name:
            notifier: Notifier = ep.load()()
            return notifier
    if name == "console":  # running from a source tree without installed metadata
        from crmkit.adapters.notifiers import ConsoleNotifier

        return ConsoleNotifier()
    raise ValueError(f"no crmkit notifier named {name!r} (entry point group 'crmkit.notifiers')")


def _load_notifiers(
    given: Notifier | str | Iterable[Notifier | str] | None,
) -> Notifier | list[Notifier] | None:
    if given is None:
        return None
    if isinstance(given, str):
        return load_notifier(given)
    if isinstance(given, Iterable) and not hasattr(given, "send"):
        return [load_notifier(n) if isinstance(n, str) else n for n in given]
    return given  # type: ignore[return-value]


def open(
    url: str | Store | None = None,
    *,
    region: str = "CN",
    clock: Clock | None = None,
    notifier: Notifier | str | Iterable[Notifier | str] | None = None,
    settings: Settings | None = None,
    password_hasher: PasswordHasher | None = None,
    custom_fields: CustomFieldSchema | None = None,
    dedup: DedupConfig | None = None,
    pipeline: Pipeline | None = None,
    approvals: ApprovalPolicy | None = None,
    freight: FreightRule | None = None,
    calendar: WorkCalendar | None = None,
    subscribers: Mapping[type[DomainEvent], Callable[[Any], None] | Iterable[Callable[[Any], None]]]
    | None = None,
    **store_options: Any,
) -> CRM:
    """Open a CRM.

    Args:
        url: ``None`` or ``"memory://"`` for an in-memory store; ``"sqlite:///crm.db"`` for
            a SQLite file (created and migrated); ``"postgresql+psycopg://…"`` for
            PostgreSQL; any scheme an installed ``crmkit.storage`` entry point provides; or
            a ``Store`` object itself.
        region: default phone region for numbers written without a country code.
        clock: where time comes from (default: the system clock, UTC).
        notifier: the notification adapter (a ``crmkit.Notifier``), or several: each
            serves the channels it names in ``channels``, one naming ``"*"`` the rest.
            ``crm.dispatch()`` sends through them; without one it sends nothing (the
            messages wait). A name (``"console"``) is looked up among the installed
            ``crmkit.notifiers`` entry points and built without arguments.
        settings: policy settings (recycle-bin retention, lockout threshold, …).
        password_hasher: argon2id by default.
        custom_fields: the custom fields customers accept.
        dedup: duplicate matching and rules (``crmkit.DedupConfig``); the tuned defaults
            block a customer another salesperson works and warn about one's own.
        pipeline: the sales pipeline opportunities move through (``crmkit.Pipeline``;
            default ``Pipeline.default()``: 初步接洽 … 谈判审批, 赢单, 输单).
        approvals: which documents need which approval chain (``crmkit.ApprovalPolicy``;
            default ``ApprovalPolicy.default()``: orders up to ¥50,000 the submitter's
            manager, above that the manager then finance).
        freight: how deliveries are charged freight (``crmkit.FreightRule.by_weight``,
            ``by_region`` or ``by_amount``); default none.
        calendar: which days are worked (a ``crmkit.WorkCalendar``); default China's
            official calendar with its make-up working days
            (``crmkit.adapters.calendars.ChinaCalendar``). ``open`` logs a warning when
            it has no table for this year, or in December for the next.
        subscribers: event handlers by event type (as ``crm.subscribe``), registered
            before anything else. Given them, ``open`` publishes to them the events a
            previous process committed but was killed before publishing; without them
            such events wait for ``crm.dispatch()`` (publishing them to nobody would mark
            them published for nothing).
        **store_options: passed to the storage backend.

    Raises:
        ValueError: two notifiers serve the same channel; an unknown URL scheme or
            notifier name.
    """
    # Before the store opens: a bad mix fails first.
    notifiers = Notifiers(_load_notifiers(notifier))
    store = open_store(url, **store_options)
    runtime = Runtime(
        store=store,
        clock=clock or SystemClock(),
        settings=settings or Settings(),
        base_settings=settings or Settings(),
        hasher=password_hasher or Argon2Hasher(),
        bus=EventBus(),
        region=region,
        custom_fields={"customer": custom_fields} if custom_fields else {},
        notifiers=notifiers,
        dedup=dedup or DedupConfig(),
        pipeline=pipeline or Pipeline.default(),
        approval_policy=approvals or ApprovalPolicy.default(),
        freight=freight,
        calendar=calendar or ChinaCalendar(),
    )
    if isinstance(runtime.calendar, ChinaCalendar):
        # checked at start-up: a year without its table counts Monday to Friday
        warning = coverage_warning(runtime.calendar, runtime.clock.now().date())
        if warning:
            log.warning("%s", warning)
    load_settings(runtime)  # what an admin changed (session.settings) wins
    crm = CRM(runtime)
    if subscribers:
        for event_type, handlers in subscribers.items():
            for handler in [handlers] if callable(handlers) else handlers:
                crm.subscribe(event_type, handler)
        # This process takes over what an earlier one committed but never published.
        publish_leftovers(runtime, take_held=True)
    return crm
