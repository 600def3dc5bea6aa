"""SFA plans on the kernel: ``session.sfa`` (SFA方案, enrolments, runs) and the ``sfa.step``
due jobs that execute them.

**How a step runs once.** An active enrolment has exactly one pending due job, keyed by its
next occurrence (``sfa:<enrolment>:<round>:<step>``). ``crm.run_due()`` claims due jobs (one
worker per job) and runs them in batches (``crm.on_job_batch``); for each, in the batch's
transaction:

1. the enrolment is read; a job that is not its cursor any more (paused, skipped, stopped
   meanwhile) does nothing;
2. the step's effect is written: the message (log row and outbox row, keyed by the run key,
   so the outbox sends it once) or the manual task;
3. the run is recorded under the run key, unique in the store;
4. the enrolment's cursor moves on by compare-and-set on its version, and the next
   occurrence's job is scheduled.

All of it commits with the job's ``done`` mark, or none of it does (a worker killed
mid-batch leaves nothing behind; its claims expire and the jobs run again). Two runs of one
occurrence cannot both commit: the second's cursor update or run key is refused and its
batch rolls back. Nothing is executed before its due time: the job is not due before it.

**Pause and resume.** Pausing cancels the pending job. Resuming with ``missed="skip"`` (the
default) records every occurrence that fell due while paused as ``missed`` and continues with
the first one due after now; ``missed="send"`` executes them now, once each, in order, then
continues. Occurrences due while a plan is disabled (now, or between its last disabling and
enabling) are recorded ``missed`` when their job runs; the enrolments go on with the
following ones. A job that runs late (no worker ran for a while) still executes its step,
once, late: the next one's job is then already due and runs at the next ``run_due``.

**Mid-way starts** (中途启用). An enrolment anchored before today (``anchor=``) or from a later
step (``start_step=``) begins at its first occurrence due from now (or at that step): what
came before is not for this customer and is never executed.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, ClassVar, Final
from zoneinfo import ZoneInfo

import attrs

from crmkit.domain.activity import Task
from crmkit.domain.audit import AuditAction
from crmkit.domain.customer import Customer
from crmkit.domain.errors import FieldErrors, NotFound, ValidationError, WorkflowError
from crmkit.domain.fields import InputField
from crmkit.domain.intake import new_id
from crmkit.domain.messaging import Channel, Message, MessageSource, TemplateRecord
from crmkit.domain.sfa import (
    PLAN_FIELDS,
    EnrolmentStatus,
    Occurrence,
    OffsetUnit,
    RunOutcome,
    Schedule,
    SfaEnrolment,
    SfaPlan,
    SfaRun,
    StepAction,
    check_plan,
    numbered_steps,
    parse_steps,
    run_key,
)
from crmkit.storage.catalog import SFA_ENROLMENTS, SFA_PLANS, SFA_RUNS, TASKS
from crmkit.storage.ports import CustomerQuery, EntityQuery, Page
from crmkit.storage.queues import Job
from crmkit.storage.spec import Filter, Op
from crmkit.workflows.entity import EntityService
from crmkit.workflows.jobs import BatchJobHandler
from crmkit.workflows.messages import region_code

STEP_JOB: Final = "sfa.step"
MISSED_POLICIES: Final = ("skip", "send")
_ENROL_CHUNK: Final = 500


@attrs.frozen
class EnrolReport:
    """What an enrolment request did: customers ``enrolled``, those ``already`` in the plan
    (active or paused), and those not found or not in the actor's scope (``missing``)."""

    enrolled: int
    already: int
    missing: int
    enrolment_ids: tuple[str, ...] = ()


class SfaService(EntityService[SfaPlan]):
    """``session.sfa``: plans, enrolments and their runs (see the module docstring).

    ``create_plan(name="新客户关怀", kind="periodic", steps=[{"action": "sms", "offset": 0,
    "template": "welcome"}, {"action": "task", "unit": "workdays", "offset": 3, "title":
    "回访"}])``. Permissions: ``sfa_plan.*`` (admins and managers keep plans, everyone
    reads them), ``sfa_enrolment.create`` / ``.write`` (whoever works customers enrols and
    pauses them, in the customer's scope).
    """

    spec = SFA_PLANS
    fields: ClassVar[tuple[InputField, ...]] = PLAN_FIELDS

    # -- plans --------------------------------------------------------------------------
    def create_plan(self, **fields: Any) -> SfaPlan:
        """A new plan (``name``, ``kind``, ``steps``, ``cycle_days``, ``rounds``,
        ``marketing``, ``description``).

        Raises:
            ValidationError: every wrong field: no steps (``sfa.no_steps``), an offset that
                is not a number, a template that does not exist or is for another channel, a
                cyclic plan without its cycle, a timed plan with undated steps.
        """
        return self.create(**fields)

    def update_plan(self, id: str, version: int | None = None, **changes: Any) -> SfaPlan:
        """Change a plan; enrolments follow its new steps from their next occurrence on."""
        return self.update(id, version, **changes)

    def enable(self, id: str) -> SfaPlan:
        """Let a plan's steps run again (those that fell due meanwhile stay missed)."""
        return self._set_enabled(id, True)

    def disable(self, id: str) -> SfaPlan:
        """Stop a plan's steps from running: those that fall due are recorded missed."""
        return self._set_enabled(id, False)

    def _set_enabled(self, id: str, enabled: bool) -> SfaPlan:
        self.require("write")
        plan = self.get(id)
        if plan.enabled is enabled:
            return plan
        now = self._s.now()
        moment = {"enabled_at": now} if enabled else {"disabled_at": now, "enabled_at": None}
        updated: SfaPlan = self._stamped(plan, now, enabled=enabled, **moment)
        self.save_change(plan, updated)
        return updated

    def _extra_keys(self) -> frozenset[str]:
        return frozenset({"steps"})

    def parse_extra(
        self,
        raw: Mapping[str, Any],
        data: Mapping[str, Any],
        errors: FieldErrors,
        current: SfaPlan | None,
    ) -> dict[str, Any]:
        if current is not None and "steps" not in raw:
            steps = current.steps
            out: dict[str, Any] = {}
        else:
            steps = parse_steps(raw.get("steps"), errors)
            out = {"steps": steps}
        kind = data.get("kind") or (current.kind if current else None)
        cycle = data.get("cycle_days", current.cycle_days if current else None)
        if kind is not None:
            check_plan(kind, steps, cycle, errors)
        rounds = data.get("rounds")
        if rounds is not None and rounds < 1:
            errors.add("rounds", "number.range", rounds, min=1, max=10000)
        templates = self._s.messages.templates
        numbered = numbered_steps(raw["steps"]) if "steps" in raw else enumerate(steps, start=1)
        for n, step in numbered:
            if step.action is StepAction.TASK or step.template is None:
                continue
            record = templates.by_code(step.template)
            wanted = Channel.SMS if step.action is StepAction.SMS else Channel.EMAIL
            if record is None:
                errors.add(f"steps.{n}.template", "message.unknown_template", step.template)
            elif record.channel is not wanted:
                errors.add(f"steps.{n}.template", "message.wrong_channel", step.template)
        return out

    # -- enrolling ----------------------------------------------------------------------
    def enrol(
        self,
        plan_id: str,
        customer_ids: Sequence[str] | None = None,
        *,
        region: str | None = None,
        tag: str | None = None,
        owner_id: str | None = None,
        anchor: date | str | None = None,
        start_step: int | None = None,
    ) -> EnrolReport:
        """Enrol customers in a plan: those in ``customer_ids``, or every customer the
        actor sees that matches the filter (``region``, ``tag``, ``owner_id``: a batch,
        客户批量启用).

        Args:
            anchor: day 0 of the plan for them (default today); an earlier day starts them
                mid-way: only occurrences due from now on are executed.
            start_step: start at this step (1 = the first) of the first round instead.

        Raises:
            ValidationError: neither customers nor a filter; a bad anchor or step number.
            NotFound: no such plan.
        """
        s = self._s
        s.require("sfa_enrolment.create")
        plan = self.get(plan_id)
        errors = FieldErrors()
        if not customer_ids and not any((region, tag, owner_id)):
            errors.add("customer_ids", "sfa.no_customers", None)
        region = region_code(region, errors)
        day = _day(anchor, errors) if anchor is not None else None
        if start_step is not None and not 1 <= start_step <= len(plan.steps):
            errors.add("start_step", "number.range", start_step, min=1, max=len(plan.steps))
        errors.raise_if_any("sfa_enrolment")
        if customer_ids:
            wanted = list(dict.fromkeys(customer_ids))
            found = [
                c for c in s._uow.customers.get_many(wanted, s.actor.scope) if not c.is_deleted
            ]
            missing = len(wanted) - len(found)
            chunks = [found[i : i + _ENROL_CHUNK] for i in range(0, len(found), _ENROL_CHUNK)]
        else:
            missing = 0
            chunks = _customer_pages(s, CustomerQuery(region=region, tag=tag, owner_id=owner_id))
        enrolled: list[str] = []
        already = 0
        for chunk in chunks:
            made, taken = self._enrol_chunk(plan, chunk, day, start_step)
            enrolled += made
            already += taken
        if enrolled:
            s.record(
                "sfa_plan",
                plan.id,
                AuditAction.UPDATE,
                {"enrolled": (None, len(enrolled))},
                at=s.now(),
            )
        return EnrolReport(len(enrolled), already, missing, tuple(enrolled))

    def _enrol_chunk(
        self,
        plan: SfaPlan,
        customers: Sequence[Customer],
        anchor: date | None,
        start_step: int | None,
    ) -> tuple[list[str], int]:
        s = self._s
        repo = s._uow.repo(SFA_ENROLMENTS)
        ids = [c.id for c in customers]
        current = repo.list(
            EntityQuery(
                filters=(
                    Filter("plan_id", Op.EQ, plan.id),
                    Filter("customer_id", Op.IN, tuple(ids)),
                    Filter(
                        "status",
                        Op.IN,
                        (EnrolmentStatus.ACTIVE.value, EnrolmentStatus.PAUSED.value),
                    ),
                )
            ),
            s.actor.scope,
            after=None,
            limit=len(ids),
        )
        taken = {e.customer_id for e in current.items}
        now = s.now()
        today = now.astimezone(_zone(s)).date()
        birthdays = _birthdays(s, plan, [c for c in customers if c.id not in taken])
        made: list[SfaEnrolment] = []
        for customer in customers:
            if customer.id in taken:
                continue
            day0 = anchor or today
            schedule = self.schedule_for(plan, day0, birthdays.get(customer.id))
            first = _first(schedule, now, mid_way=day0 < today, start_step=start_step)
            enrolment = SfaEnrolment(
                id=new_id(),
                plan_id=plan.id,
                customer_id=customer.id,
                anchor=day0,
                starts_at=now,
                next_round=first.round if first else None,
                next_step=first.step if first else None,
                next_due_at=first.due_at if first else None,
                status=EnrolmentStatus.ACTIVE if first else EnrolmentStatus.FINISHED,
                finished_at=None if first else now,
                created_at=now,
                updated_at=now,
                created_by=s.actor.id,
            )
            made.append(enrolment)
            taken.add(customer.id)
        repo.add_many(made)
        for enrolment in made:
            _schedule_next(s, enrolment)
        return [e.id for e in made], len(customers) - len(made)

    def schedule_for(self, plan: SfaPlan, anchor: date, birthday: date | None) -> Schedule:
        """The plan's timetable for a customer enrolled on ``anchor``."""
        calendar = self._s.runtime.calendar
        return Schedule(
            plan,
            anchor,
            birthday,
            calendar,
            _zone(self._s),
            getattr(calendar, "holiday", None),
        )

    # -- one enrolment --------------------------------------------------------------------
    def enrolment(self, id: str) -> SfaEnrolment:
        """An enrolment the actor may see.

        Raises:
            NotFound: no such enrolment in the actor's scope.
        """
        s = self._s
        s.require("sfa_enrolment.read")
        found = s._uow.repo(SFA_ENROLMENTS).get(id, s.actor.scope)
        if found is None:
            raise NotFound("sfa_enrolment", id)
        return found

    def enrolments(
        self,
        *,
        plan_id: str | None = None,
        customer_id: str | None = None,
        status: EnrolmentStatus | str | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> Page[SfaEnrolment]:
        """A page of enrolments the actor may see (SFA执行序列), by plan, customer or
        status."""
        s = self._s
        s.require("sfa_enrolment.read")
        filters = []
        if plan_id:
            filters.append(Filter("plan_id", Op.EQ, plan_id))
        if customer_id:
            filters.append(Filter("customer_id", Op.EQ, customer_id))
        if status:
            filters.append(Filter("status", Op.EQ, EnrolmentStatus(status).value))
        return s._uow.repo(SFA_ENROLMENTS).list(
            EntityQuery(filters=tuple(filters)), s.actor.scope, after=after, limit=limit
        )

    def runs(self, enrolment_id: str, *, limit: int = 200) -> builtins.list[SfaRun]:
        """What became of an enrolment's occurrences so far, in time order."""
        self.enrolment(enrolment_id)
        s = self._s
        page = s._uow.repo(SFA_RUNS).list(
            EntityQuery(filters=(Filter("enrolment_id", Op.EQ, enrolment_id),)),
            s.actor.scope,
            after=None,
            limit=limit,
        )
        return sorted(page.items, key=lambda r: (r.due_at, r.created_at))

    def pause(self, enrolment_id: str) -> SfaEnrolment:
        """Pause an enrolment: nothing runs until :meth:`resume`.

        Raises:
            WorkflowError: it is not active.
        """
        current = self._writable(enrolment_id)
        if current.status is not EnrolmentStatus.ACTIVE:
            raise self._refused(current, "pause", "暂停")
        cursor = current.cursor
        if cursor is not None:
            self._s.cancel_job(run_key(current.id, cursor.round, cursor.step))
        now = self._s.now()
        return self._save(current, status=EnrolmentStatus.PAUSED, paused_at=now)

    def resume(self, enrolment_id: str, *, missed: str = "skip") -> SfaEnrolment:
        """Continue a paused enrolment (可继续发送).

        Args:
            missed: what happens to the occurrences that fell due while it was paused:
                ``"skip"`` records them missed and goes on with the next one due;
                ``"send"`` executes them now, once each, in order.

        Raises:
            WorkflowError: it is not paused.
            ValidationError: an unknown ``missed`` policy.
        """
        if missed not in MISSED_POLICIES:
            errors = FieldErrors()
            errors.add("missed", "invalid_choice", missed, choices="skip, send")
            errors.raise_if_any("sfa_enrolment")
        current = self._writable(enrolment_id)
        if current.status is not EnrolmentStatus.PAUSED:
            raise self._refused(current, "resume", "继续")
        s = self._s
        now = s.now()
        cursor = current.cursor
        skipped = 0
        if cursor is not None and missed == "skip" and cursor.due_at < now:
            schedule = self._schedule_of(current)
            passed = [cursor, *schedule.between(cursor, now)]
            for occurrence in passed:
                self._record(current, occurrence, RunOutcome.MISSED, None)
            skipped = len(passed)
            cursor = schedule.following(passed[-1], not_before=now)
        resumed = self._save(
            current,
            status=EnrolmentStatus.ACTIVE if cursor else EnrolmentStatus.FINISHED,
            paused_at=None,
            skipped=current.skipped + skipped,
            finished_at=None if cursor else now,
            **_cursor_fields(cursor),
        )
        _schedule_next(s, resumed)
        return resumed

    def skip(self, enrolment_id: str, count: int = 1) -> SfaEnrolment:
        """Skip the next ``count`` occurrences (跳越时间执行): they are recorded skipped and
        never executed; the enrolment waits for the one after them.

        Raises:
            WorkflowError: it is finished or stopped.
        """
        current = self._writable(enrolment_id)
        if current.status not in (EnrolmentStatus.ACTIVE, EnrolmentStatus.PAUSED):
            raise self._refused(current, "skip", "跳过")
        if count < 1:
            errors = FieldErrors()
            errors.add("count", "number.range", count, min=1, max=1000)
            errors.raise_if_any("sfa_enrolment")
        s = self._s
        cursor = current.cursor
        if cursor is not None:
            s.cancel_job(run_key(current.id, cursor.round, cursor.step))
        schedule = self._schedule_of(current)
        done = 0
        while cursor is not None and done < count:
            self._record(current, cursor, RunOutcome.SKIPPED, None)
            done += 1
            cursor = schedule.following(cursor)
        finished = cursor is None
        updated = self._save(
            current,
            skipped=current.skipped + done,
            status=EnrolmentStatus.FINISHED if finished else current.status,
            finished_at=s.now() if finished else None,
            **_cursor_fields(cursor),
        )
        if updated.status is EnrolmentStatus.ACTIVE:
            _schedule_next(s, updated)
        return updated

    def stop(self, enrolment_id: str) -> SfaEnrolment:
        """Take a customer out of the plan for good."""
        current = self._writable(enrolment_id)
        if current.status in (EnrolmentStatus.FINISHED, EnrolmentStatus.STOPPED):
            return current
        cursor = current.cursor
        if cursor is not None:
            self._s.cancel_job(run_key(current.id, cursor.round, cursor.step))
        return self._save(current, status=EnrolmentStatus.STOPPED, finished_at=self._s.now())

    def rerun(self, enrolment_id: str, step: int, *, round: int = 0) -> SfaRun:
        """Execute a step again by hand (SFA方案手动重新执行), now, whatever happened to it
        before; the enrolment's own course is unchanged.

        Args:
            step: the step (1 = the first).
            round: the round it belongs to (for a cyclic or timed plan).

        Raises:
            ValidationError: no such step.
        """
        current = self._writable(enrolment_id)
        s = self._s
        plan = s._uow.repo(SFA_PLANS).get(current.plan_id)
        if plan is None or plan.is_deleted:
            raise NotFound("sfa_plan", current.plan_id)
        if not 1 <= step <= len(plan.steps):
            errors = FieldErrors()
            errors.add("step", "number.range", step, min=1, max=len(plan.steps))
            errors.raise_if_any("sfa_enrolment")
        customer = s._uow.customers.get(current.customer_id)
        if customer is None or customer.is_deleted:
            raise NotFound("customer", current.customer_id)
        earlier = s._uow.repo(SFA_RUNS).count(
            EntityQuery(filters=(Filter("enrolment_id", Op.EQ, current.id),)), s.actor.scope
        )
        occurrence = Occurrence(round, step - 1, s.now())
        key = run_key(current.id, round, step - 1, rerun=earlier + 1)
        effects = execute(s, current, plan, customer, occurrence, {}, key=key)
        effects.store(s)
        return effects.run

    def pending_tasks(self, *, limit: int = 50) -> builtins.list[Task]:
        """Open manual SFA tasks (待SFA手动事务) the actor does or manages, the soonest due
        first: the workbench's list."""
        s = self._s
        s.require("task.read")
        query = EntityQuery(
            filters=(Filter("source", Op.EQ, "sfa"), Filter("status", Op.EQ, "open")),
            order_by="due_at",
        )
        return list(s._uow.repo(TASKS).list(query, s.actor.scope, after=None, limit=limit).items)

    # -- helpers ------------------------------------------------------------------------
    def _writable(self, enrolment_id: str) -> SfaEnrolment:
        self._s.require("sfa_enrolment.write")
        return self.enrolment(enrolment_id)

    def _refused(self, current: SfaEnrolment, move: str, move_zh: str) -> WorkflowError:
        return WorkflowError(
            "sfa_enrolment",
            current.status.value,
            move,
            move_zh=move_zh,
            state_zh=_STATUS_ZH[current.status],
        )

    def _save(self, current: SfaEnrolment, **changes: Any) -> SfaEnrolment:
        s = self._s
        now = s.now()
        updated = attrs.evolve(current, version=current.version + 1, updated_at=now, **changes)
        s._uow.repo(SFA_ENROLMENTS).update(updated, expected_version=current.version)
        before = attrs.asdict(current, recurse=False)
        after = attrs.asdict(updated, recurse=False)
        diff = {
            k: (before[k], after[k])
            for k in ("status", "next_due_at", "skipped", "paused_at")
            if before[k] != after[k]
        }
        s.record("sfa_enrolment", current.id, AuditAction.UPDATE, diff, at=now)
        return updated

    def _schedule_of(self, enrolment: SfaEnrolment) -> Schedule:
        s = self._s
        plan = s._uow.repo(SFA_PLANS).get(enrolment.plan_id)
        if plan is None:
            raise NotFound("sfa_plan", enrolment.plan_id)
        customer = s._uow.customers.get(enrolment.customer_id)
        birthdays = _birthdays(s, plan, [customer] if customer else [])
        return self.schedule_for(plan, enrolment.anchor, birthdays.get(enrolment.customer_id))

    def _record(
        self,
        enrolment: SfaEnrolment,
        occurrence: Occurrence,
        outcome: RunOutcome,
        detail: str | None,
    ) -> None:
        _add_run(self._s, enrolment, occurrence, outcome, detail=detail)


_STATUS_ZH: Final = {
    EnrolmentStatus.ACTIVE: "执行中",
    EnrolmentStatus.PAUSED: "已暂停",
    EnrolmentStatus.FINISHED: "已完成",
    EnrolmentStatus.STOPPED: "已停止",
}


# -- executing occurrences ------------------------------------------------------------------------
@attrs.frozen
class Effects:
    """What one occurrence writes: its run, and the message log row or the task it made
    (the outbox row is queued in the session already)."""

    run: SfaRun
    message: Message | None = None
    task: Task | None = None

    def store(self, s: Any) -> None:
        """Write them one by one (a batch writes many at once instead)."""
        if self.message is not None:
            s.messages.repo.add(self.message)
        if self.task is not None:
            s._uow.repo(TASKS).add(self.task)
        s._uow.repo(SFA_RUNS).add(self.run)  # the key is unique: a second run is refused


def execute(
    s: Any,
    enrolment: SfaEnrolment,
    plan: SfaPlan,
    customer: Customer,
    occurrence: Occurrence,
    templates: dict[str, TemplateRecord | None],
    *,
    key: str | None = None,
) -> Effects:
    """One occurrence's effect and its run, not yet stored (the caller stores them and
    moves the cursor)."""
    step = plan.steps[occurrence.step]
    key = key or run_key(enrolment.id, occurrence.round, occurrence.step)
    message = task = detail = None
    if plan.was_disabled_at(occurrence.due_at) and key == run_key(
        enrolment.id, occurrence.round, occurrence.step
    ):
        outcome = RunOutcome.MISSED
        detail = "sfa.plan_disabled"
    elif step.action is StepAction.TASK:
        task = _task(s, customer, plan, step.title or plan.name, occurrence, key)
        outcome = RunOutcome.TASK
    else:
        channel = Channel.SMS if step.action is StepAction.SMS else Channel.EMAIL
        try:
            composed = s.messages.compose(
                channel,
                None,
                customer,
                template=step.template,
                marketing=plan.marketing,
                source=MessageSource.SFA,
                key=key,
                records=templates,
                store=False,
            )
        except ValidationError as exc:  # the template was deleted or no longer fits
            # an error code of the catalogue, shown in the reader's language
            outcome, detail = RunOutcome.FAILED, exc.errors[0].code
        else:
            outcome = {
                "sent": RunOutcome.SENT,
                "no_address": RunOutcome.NO_ADDRESS,
            }.get(composed.outcome, RunOutcome.UNSUBSCRIBED)
            message = composed.message
    run = _run(
        s,
        enrolment,
        occurrence,
        outcome,
        message_key=message.outbox_key if message else None,
        task_id=task.id if task else None,
        detail=detail,
        key=key,
    )
    return Effects(run, message, task)


def _run(
    s: Any,
    enrolment: SfaEnrolment,
    occurrence: Occurrence,
    outcome: RunOutcome,
    *,
    message_key: str | None = None,
    task_id: str | None = None,
    detail: str | None = None,
    key: str | None = None,
) -> SfaRun:
    now = s.now()
    return SfaRun(
        id=new_id(),
        key=key or run_key(enrolment.id, occurrence.round, occurrence.step),
        enrolment_id=enrolment.id,
        plan_id=enrolment.plan_id,
        customer_id=enrolment.customer_id,
        round=occurrence.round,
        step=occurrence.step,
        due_at=occurrence.due_at,
        outcome=outcome,
        message_key=message_key,
        task_id=task_id,
        detail=detail,
        created_at=now,
        updated_at=now,
        created_by=s.actor.id,
    )


def _add_run(
    s: Any, enrolment: SfaEnrolment, occurrence: Occurrence, outcome: RunOutcome, **more: Any
) -> SfaRun:
    run = _run(s, enrolment, occurrence, outcome, **more)
    s._uow.repo(SFA_RUNS).add(run)  # the key is unique: a second run of it is refused
    return run


def _task(
    s: Any,
    customer: Customer,
    plan: SfaPlan,
    title: str,
    occurrence: Occurrence,
    key: str,
) -> Task:
    now = s.now()
    return Task(
        id=new_id(),
        title=title,
        description=f"{plan.name} · {customer.name}",
        owner_id=customer.owner_id or plan.created_by,
        customer_id=customer.id,
        due_at=max(occurrence.due_at, now),
        source="sfa",
        source_ref=key,
        created_at=now,
        updated_at=now,
        created_by=s.actor.id,
    )


def run_steps(session: Any, jobs: Sequence[Job]) -> None:
    """The ``sfa.step`` batch job handler (see the module docstring): the effects of the
    whole batch are written with one insert per table and one update of the cursors."""
    s = session
    uow = s._uow
    repo = uow.repo(SFA_ENROLMENTS)
    wanted = {j.payload["enrolment"]: j for j in jobs}
    enrolments = {e.id: e for e in repo.get_many(list(wanted))}
    plan_ids = list({e.plan_id for e in enrolments.values()})
    plans = {p.id: p for p in uow.repo(SFA_PLANS).get_many(plan_ids)}
    customer_ids = list({e.customer_id for e in enrolments.values()})
    customers = {c.id: c for c in uow.customers.get_many(customer_ids)}
    # every message fills the primary contact's name: one read for the batch, not one a step
    s.messages.prefetch(list(customers.values()))
    birthdays: dict[str, date | None] = {}
    for plan in plans.values():
        if _needs_birthday(plan):
            mine = [
                customers[e.customer_id]
                for e in enrolments.values()
                if e.plan_id == plan.id and e.customer_id in customers
            ]
            birthdays.update(_birthdays(s, plan, mine))
    templates: dict[str, TemplateRecord | None] = {}
    schedules: dict[tuple[str, date, date | None], Schedule] = {}
    service: SfaService = s.sfa
    now = s.now()
    effects: list[Effects] = []
    moved: list[SfaEnrolment] = []
    versions: list[int] = []
    for enrolment_id, job in wanted.items():
        enrolment = enrolments.get(enrolment_id)
        if enrolment is None or enrolment.status is not EnrolmentStatus.ACTIVE:
            continue
        cursor = enrolment.cursor
        if cursor is None or (cursor.round, cursor.step) != (
            job.payload["round"],
            job.payload["step"],
        ):
            continue  # a job the enrolment has moved past (skipped, resumed elsewhere)
        plan = plans.get(enrolment.plan_id)
        customer = customers.get(enrolment.customer_id)
        changes: dict[str, Any]
        if plan is None or plan.is_deleted or customer is None or customer.is_deleted:
            changes = {"status": EnrolmentStatus.STOPPED, "finished_at": now}
        elif cursor.step >= len(plan.steps):  # the plan lost steps since
            changes = {
                "status": EnrolmentStatus.FINISHED,
                "finished_at": now,
                **_cursor_fields(None),
            }
        else:
            done = execute(s, enrolment, plan, customer, cursor, templates)
            effects.append(done)
            birthday = birthdays.get(customer.id)
            schedule = schedules.get((plan.id, enrolment.anchor, birthday))
            if schedule is None:
                schedule = service.schedule_for(plan, enrolment.anchor, birthday)
                schedules[(plan.id, enrolment.anchor, birthday)] = schedule
            nxt = schedule.following(cursor)
            missed = done.run.outcome is RunOutcome.MISSED
            changes = {
                "executed": enrolment.executed + (not missed),
                "skipped": enrolment.skipped + missed,
                "status": EnrolmentStatus.ACTIVE if nxt else EnrolmentStatus.FINISHED,
                "finished_at": None if nxt else now,
                **_cursor_fields(nxt),
            }
        moved.append(
            attrs.evolve(enrolment, version=enrolment.version + 1, updated_at=now, **changes)
        )
        versions.append(enrolment.version)
    s.messages.repo.add_many([e.message for e in effects if e.message is not None])
    uow.repo(TASKS).add_many([e.task for e in effects if e.task is not None])
    uow.repo(SFA_RUNS).add_many([e.run for e in effects])  # unique keys: a rerun is refused
    repo.update_many(moved, versions)  # a cursor moved meanwhile: the batch rolls back
    for enrolment in moved:
        _schedule_next(s, enrolment)


def _schedule_next(s: Any, enrolment: SfaEnrolment) -> None:
    cursor = enrolment.cursor
    if cursor is None or enrolment.status is not EnrolmentStatus.ACTIVE:
        return
    s.schedule(
        STEP_JOB,
        cursor.due_at,
        {"enrolment": enrolment.id, "round": cursor.round, "step": cursor.step},
        key=run_key(enrolment.id, cursor.round, cursor.step),
    )


def _cursor_fields(cursor: Occurrence | None) -> dict[str, Any]:
    return {
        "next_round": cursor.round if cursor else None,
        "next_step": cursor.step if cursor else None,
        "next_due_at": cursor.due_at if cursor else None,
    }


def _first(
    schedule: Schedule, now: datetime, *, mid_way: bool, start_step: int | None
) -> Occurrence | None:
    if start_step is not None:
        for occurrence in schedule.occurrences(0):
            if occurrence.step == start_step - 1:
                return occurrence
        return schedule.first(not_before=now)
    return schedule.first(not_before=now if mid_way else None)


def _needs_birthday(plan: SfaPlan) -> bool:
    return any(step.unit is OffsetUnit.BIRTHDAY for step in plan.steps)


def _birthdays(s: Any, plan: SfaPlan, customers: Sequence[Customer]) -> dict[str, date | None]:
    """Each customer's birthday, or their primary contact's (a company's), when the plan
    has birthday steps."""
    if not _needs_birthday(plan):
        return {}
    out: dict[str, date | None] = {c.id: c.birthday for c in customers}
    lacking = [c.id for c in customers if c.birthday is None]
    if lacking:
        for customer_id, contacts in s._uow.contacts.for_customers(lacking).items():
            primary = [c for c in contacts if c.is_primary] or contacts
            out[customer_id] = next((c.birthday for c in primary if c.birthday), None)
    return out


def _customer_pages(s: Any, query: CustomerQuery) -> Any:
    after: str | None = None
    while True:
        page = s._uow.customers.list(query, s.actor.scope, after=after, limit=_ENROL_CHUNK)
        live = [c for c in page.items if not c.is_deleted]
        if live:
            yield live
        if page.next_after is None:
            return
        after = page.next_after


def _zone(s: Any) -> ZoneInfo:
    return ZoneInfo(s.runtime.settings.timezone)


def _day(value: date | str, errors: FieldErrors) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        errors.add("anchor", "date.invalid", value)
        return None


JOB_HANDLERS: Final[Mapping[str, BatchJobHandler]] = {STEP_JOB: run_steps}
"""The batch due jobs SFA plans schedule, registered on every CRM."""
