"""What every session of one CRM shares: store, clock, settings, hasher, schema, bus."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from crmkit.adapters.passwords import PasswordHasher
from crmkit.domain.approvals import ApprovalPolicy
from crmkit.domain.clock import Clock
from crmkit.domain.custom_fields import CustomFieldSchema
from crmkit.domain.freight import FreightRule
from crmkit.domain.opportunity import Pipeline
from crmkit.domain.workdays import WeekdayCalendar, WorkCalendar
from crmkit.storage.ports import Store
from crmkit.workflows.context import Permissions
from crmkit.workflows.dedup import DedupConfig
from crmkit.workflows.events import EventBus
from crmkit.workflows.login_failures import LoginFailures
from crmkit.workflows.notify import Notifiers

if TYPE_CHECKING:
    from crmkit.workflows.jobs import BatchJobHandler, JobHandler
    from crmkit.workflows.merge import MergeReferences


@attrs.frozen
class Settings:
    """Tunable policies. Pass ``settings=Settings(...)`` to ``crmkit.open``."""

    recycle_retention_days: int = 30
    # Login safety: ``lockout_threshold`` failures in a business day lock an account until
    # an admin unlocks it; the last active admin is locked for ``admin_lock_minutes`` instead,
    # so nobody can lock the only admin out for good. From ``captcha_after`` failures today
    # for a login, or from one client, ``crm.login_needs_captcha`` asks for a CAPTCHA.
    lockout_threshold: int = 10
    admin_lock_minutes: int = 15
    captcha_after: int = 3
    password_min_length: int = 8
    timezone: str = "Asia/Shanghai"
    max_page_size: int = 500
    # Seed 002's rule: a name is written in one script, so a Chinese company or person name
    # holds no Latin letter (中英文字符混用 is refused). Off by default: registered names
    # such as TCL科技集团股份有限公司 or 北京ABB电气传动系统有限公司 carry Latin brands.
    strict_name_script: bool = False
    # Worker processes that prepare a large import's rows (parse, check, match records)
    # while the session writes them: 0 (default) prepares in the session's process. Workers
    # start by importing the program's main module (multiprocessing's forkserver or spawn),
    # so a program that sets this needs the ``if __name__ == "__main__":`` guard.
    import_workers: int = 0
    # Let imports and scans retune the process's garbage collector while they run (a
    # fifth of a 1M scan's time goes to full collections). Off by default: a library must
    # not change what the host process's other threads see.
    bulk_gc_tuning: bool = False
    # The outbox and due jobs (``crm.dispatch``, ``crm.run_due``): claims a message or a job
    # gets before it is dead; the first retry's wait, doubling on each retry up to the cap
    # (deterministic, no jitter); how long a worker's claim (and a writer's hold on its
    # events) lasts before another worker may take the row over; how many times a notifier
    # is asked about a message in doubt before it is left for a person.
    outbox_max_attempts: int = 5
    job_max_attempts: int = 5
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    claim_lease_seconds: float = 300.0
    status_checks: int = 3
    # Jobs of a kind with a batch handler (SFA steps) run this many to a transaction.
    job_batch_size: int = 500
    # Orders (seed 004): a credit-terms customer whose open orders would pass their credit
    # limit needs finance's approval (``"approve"``) or is refused (``"refuse"``); reminders
    # of deliveries, sign-offs, renewals and warranty ends go out this many days before.
    credit_over_limit: str = "approve"
    reminder_days_before: int = 3
    # Receivables (seed 004): a 抹零 may close a remainder up to ``write_off_limit`` yuan
    # ("0": none) and, unless 0, up to ``write_off_percent`` % of the receivable; an
    # overdue receivable's salesperson is reminded every ``overdue_reminder_days``.
    write_off_limit: str = "10.00"
    write_off_percent: int = 0
    overdue_reminder_days: int = 7
    # Messages (seed 004's SMS centre): the signature every SMS starts with (【公司】; the
    # operators require one); the most segments one SMS may take (billed per segment);
    # marketing messages wait out the quiet hours ("21:00-08:00", local; "" for none).
    sms_signature: str = "【crmkit】"
    sms_max_segments: int = 3
    quiet_hours: str = "21:00-08:00"
    # Service (seeds 002, 004): SLA targets count the service hours of working days (local,
    # "09:00-12:00,13:30-18:00" for a lunch break); a resolved ticket may be reopened for
    # ``ticket_reopen_days`` days and then closes; with ``satisfaction_survey`` the customer
    # is texted a survey when their ticket is resolved.
    service_hours: str = "09:00-18:00"
    ticket_reopen_days: int = 7
    satisfaction_survey: bool = True


@attrs.define
class Runtime:
    store: Store
    clock: Clock
    settings: Settings
    hasher: PasswordHasher
    bus: EventBus
    region: str = "CN"
    # The settings the application opened crmkit with; ``settings`` is them with what an
    # admin changed (``session.settings``), read at ``settings_read_at`` (the clock's time).
    base_settings: Settings | None = None
    settings_read_at: datetime | None = None
    # Custom fields by entity type ("customer", "product" …): ``crm.define_field``.
    custom_fields: dict[str, CustomFieldSchema] = attrs.Factory(dict)
    permissions: Permissions = attrs.Factory(Permissions.default)
    references: MergeReferences = attrs.Factory(lambda: _default_references())
    # The notifiers by channel (``crmkit.open(notifier=...)``) and the job handlers by kind
    # (``crm.on_job``): each CRM has its own, nothing is registered globally.
    notifiers: Notifiers = attrs.Factory(Notifiers)
    dedup: DedupConfig = attrs.Factory(DedupConfig)
    job_handlers: dict[str, JobHandler] = attrs.Factory(dict)
    batch_job_handlers: dict[str, BatchJobHandler] = attrs.Factory(dict)
    # Failed logins today per login name and per client, for the CAPTCHA rule.
    login_failures: LoginFailures = attrs.Factory(LoginFailures)
    # The sales pipeline opportunities move through (``crmkit.open(pipeline=...)``,
    # ``crm.define_pipeline``): each CRM its own.
    pipeline: Pipeline = attrs.Factory(Pipeline.default)
    # Which documents need an approval (a ``lead_conversion`` rule makes lead conversions
    # need one); crmkit's default needs none for leads.
    approval_policy: ApprovalPolicy = attrs.Factory(ApprovalPolicy.default)
    # How deliveries are charged freight (``crmkit.open(freight=...)``); None: no freight.
    freight: FreightRule | None = None
    # Which days are worked (``crmkit.open(calendar=...)``): SFA offsets, SLAs.
    calendar: WorkCalendar = attrs.Factory(WeekdayCalendar)
    # Kinds whose duplicate index was found built by an earlier crmkit and said so in the
    # log (once per CRM, not once per session).
    stale_index_warned: set[str] = attrs.Factory(set)
    # Kinds whose index the store was read to hold in the current format: not asked again.
    index_current: set[str] = attrs.Factory(set)

    @property
    def customer_fields(self) -> CustomFieldSchema:
        """The custom fields customers accept."""
        return self.custom_fields.get("customer") or CustomFieldSchema()


def _default_references() -> MergeReferences:
    from crmkit.workflows.merge import default_references  # merge imports the session

    return default_references()
