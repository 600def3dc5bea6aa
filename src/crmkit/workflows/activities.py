"""Follow-up on the kernel: ``session.activities`` (联系记录) and ``session.tasks`` (待办).

An activity is recorded by whoever works the customer (the data scope is the customer's);
recording one closes the customer's earlier follow-ups that were waiting
(:meth:`ActivityService.due` lists those whose day has come: today's and overdue).
:meth:`ActivityService.statistics` counts contacts per salesperson, customer, kind or month
in the store.

A task is for oneself or for someone else; whoever assigned it keeps seeing it. Its
reminder ``remind_days`` ahead is a due job: the admin shows the tasks whose reminder has
come (:meth:`TaskService.reminding`) and, with ``remind_sms``, the job texts the assignee
through the outbox. :meth:`TaskService.calendar` lays the tasks out by day (日程安排).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar, Final
from zoneinfo import ZoneInfo

import attrs

from crmkit.domain.activity import (
    ACTIVITY_FIELDS,
    TASK_ALIASES,
    TASK_FIELDS,
    Activity,
    Task,
    TaskStatus,
)
from crmkit.domain.common import is_blank, parse_period
from crmkit.domain.errors import FieldErrors
from crmkit.domain.fields import InputField
from crmkit.storage.catalog import ACTIVITIES, OPPORTUNITIES, TASKS
from crmkit.storage.ports import EVERYTHING, EntityQuery
from crmkit.storage.spec import Filter, Group, Measure, Op
from crmkit.workflows.entity import EntityService
from crmkit.workflows.jobs import JobHandler


@attrs.frozen
class ActivityCount:
    """How many activities one group holds: its key (a salesperson's, a customer's id, a
    kind or a month ``"2027-01"``) and the count."""

    key: str | None
    count: int


_BY: Final = {"owner": "owner_id", "customer": "customer_id", "kind": "kind"}


def _zone(session: Any) -> ZoneInfo:
    return ZoneInfo(session.runtime.settings.timezone)


def _aware(value: datetime | None, zone: ZoneInfo) -> datetime | None:
    """A naive time typed by a person is in the CRM's zone."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=zone)


class ActivityService(EntityService[Activity]):
    """``session.activities``: contacts made with customers.

    ``create(customer_id=, kind="call", content=, at=…, next_follow_up=…)``: ``at``
    defaults to now, ``owner_id`` to the actor. Permissions ``activity.*``: sales, service
    staff, managers and admins write; everyone reads in the customer's scope.
    """

    spec = ACTIVITIES
    fields: ClassVar[tuple[InputField, ...]] = ACTIVITY_FIELDS

    def log(self, **fields: Any) -> Activity:
        """Record a contact (DESIGN.md's name for :meth:`create`)."""
        return self.create(**fields)

    def check_references(
        self, data: Mapping[str, Any], errors: FieldErrors, current: Activity | None
    ) -> None:
        s = self._s
        if current is None:
            self.check_customer(data.get("customer_id"), errors, "not_found_ref")
        customer_id = data.get("customer_id") or (current.customer_id if current else None)
        contact_id = data.get("contact_id")
        if contact_id:
            contact = s._uow.contacts.get(contact_id)
            if contact is None or contact.is_deleted:
                errors.add("contact_id", "not_found_ref", contact_id)
            elif contact.customer_id != customer_id:
                errors.add("contact_id", "activity.other_customer", contact_id)
        opportunity_id = data.get("opportunity_id")
        if opportunity_id:
            deal = s._uow.repo(OPPORTUNITIES).get(opportunity_id)
            if deal is None or deal.deleted_at is not None:
                errors.add("opportunity_id", "not_found_ref", opportunity_id)
            elif deal.customer_id != customer_id:
                errors.add("opportunity_id", "activity.other_customer", opportunity_id)
        self.check_owner(data, current, errors)

    def prepare(
        self,
        raw: Mapping[str, Any],  # noqa: ARG002  (the hook's signature)
        data: dict[str, Any],
        errors: FieldErrors,  # noqa: ARG002
        current: Activity | None = None,
    ) -> dict[str, Any]:
        s = self._s
        out = dict(data)
        if "at" in out:
            out["at"] = _aware(out["at"], _zone(s))
        if current is None:
            out["at"] = out.get("at") or s.now()
            out["owner_id"] = out.get("owner_id") or s.actor.id
        elif out.get("at") is None:
            out.pop("at", None)
        return out

    def check(self, entity: Activity, current: Activity | None, errors: FieldErrors) -> None:
        if (current is None or entity.at != current.at) and entity.at > self._s.now() + timedelta(
            minutes=5
        ):
            errors.add("at", "activity.future", entity.at.isoformat())

    def on_created(self, entity: Activity) -> None:
        """The customer's follow-ups that were waiting are done: someone followed up."""
        query = EntityQuery(
            filters=(
                Filter("customer_id", Op.EQ, entity.customer_id),
                Filter("followed_up", Op.EQ, False),
                Filter("next_follow_up", Op.NULL, False),
            )
        )
        now = self._s.now()
        for waiting in self.every(query, EVERYTHING):
            if waiting.id != entity.id and waiting.at <= entity.at:
                self.save_change(waiting, self._stamped(waiting, now, followed_up=True))

    def due(
        self, *, on: date | None = None, owner_id: str | None = None
    ) -> builtins.list[Activity]:
        """Follow-ups whose day has come (today's and overdue) and that nobody has
        followed up, the actor may see (of one salesperson, with ``owner_id``), oldest
        first."""
        self.require("read")
        day = on or self._s.today()
        filters = [
            Filter("followed_up", Op.EQ, False),
            Filter("next_follow_up", Op.LE, day),
        ]
        if owner_id is not None:
            filters.append(Filter("owner_id", Op.EQ, owner_id))
        found = self.every(EntityQuery(filters=tuple(filters)))
        return sorted(found, key=lambda a: (a.next_follow_up or day, a.at))

    def for_customer(self, customer_id: str, *, limit: int = 50) -> builtins.list[Activity]:
        """A customer's timeline: their latest activities, newest first."""
        self.require("read")
        query = EntityQuery(filters=(Filter("customer_id", Op.EQ, customer_id),))
        page = self.repo.list(query, self._s.actor.scope, after=None, limit=limit)
        return sorted(page.items, key=lambda a: a.at, reverse=True)

    def statistics(
        self, by: str, *, start: Any = None, end: Any = None
    ) -> builtins.list[ActivityCount]:
        """Activities the actor may see from ``start`` to ``end`` (days, inclusive), per
        ``"owner"`` (follow-ups per salesperson), ``"customer"`` (customers ranked by
        contacts made), ``"kind"`` or ``"month"``, the most first (months in order).

        Raises:
            ValidationError: a day that is not one, or ``end`` before ``start``.
        """
        self.require("read")
        start, end = parse_period(start, end, required=False)
        zone = _zone(self._s)
        filters = []
        if start is not None:
            filters.append(Filter("at", Op.GE, datetime.combine(start, time(0), tzinfo=zone)))
        if end is not None:
            after = datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone)
            filters.append(Filter("at", Op.LT, after))
        group = Group.month("at") if by == "month" else Group(_BY[by])
        rows = self.repo.aggregate(
            EntityQuery(filters=tuple(filters)),
            self._s.actor.scope,
            by=(group,),
            measures=(Measure.count(),),
        )
        out = [ActivityCount(row.key[0], row.values[0]) for row in rows]
        if by == "month":
            return out
        return sorted(out, key=lambda r: (-r.count, r.key or ""))


class TaskService(EntityService[Task]):
    """``session.tasks``: to-dos for oneself or others.

    ``create(title=, due_at="2027-01-05 14:30", owner_id=…, remind_days=1,
    remind_sms=True)``: ``owner_id`` defaults to the actor; a time without a zone is in
    the CRM's. Permissions ``task.*``: everyone; the scope is the assignee's (and their
    managers') plus whoever assigned it.
    """

    spec = TASKS
    fields: ClassVar[tuple[InputField, ...]] = TASK_FIELDS

    def create(self, **fields: Any) -> Task:
        """A new task (DESIGN.md's ``assignee_id``, ``due`` and ``remind_days_before``
        are ``owner_id``, ``due_at`` and ``remind_days``)."""
        return super().create(**_canonical(fields))

    def update(self, id: str, version: int | None = None, **changes: Any) -> Task:
        """Change a task's fields (the same keywords as :meth:`create`)."""
        return super().update(id, version, **_canonical(changes))

    def check_references(
        self, data: Mapping[str, Any], errors: FieldErrors, current: Task | None
    ) -> None:
        self.check_owner(data, current, errors)
        customer_id = data.get("customer_id")
        if customer_id and (current is None or customer_id != current.customer_id):
            self.check_customer(customer_id, errors, "not_found_ref")
        days = data.get("remind_days")
        if days is not None and not 0 <= days <= 365:
            errors.add("remind_days", "task.remind_days", days)

    def prepare(
        self,
        raw: Mapping[str, Any],  # noqa: ARG002  (the hook's signature)
        data: dict[str, Any],
        errors: FieldErrors,  # noqa: ARG002
        current: Task | None = None,
    ) -> dict[str, Any]:
        s = self._s
        out = dict(data)
        if "due_at" in out:
            out["due_at"] = _aware(out["due_at"], _zone(s))
            if out["due_at"] is None:
                out.pop("due_at")
        if current is None:
            owner = out.get("owner_id") or s.actor.id
            out["owner_id"] = owner
            out["watchers"] = (s.actor.id,) if owner != s.actor.id else ()
        due = out.get("due_at") or (current.due_at if current else None)
        days = out.get("remind_days", current.remind_days if current else None)
        if due is not None:
            out["remind_at"] = None if days is None else due - timedelta(days=days)
        return out

    def on_created(self, entity: Task) -> None:
        self._schedule(entity)

    def on_updated(self, before: Task, after: Task) -> None:
        if after.remind_at != before.remind_at or after.status is not before.status:
            self._schedule(after)

    def _schedule(self, task: Task) -> None:
        if task.remind_at is None or task.status is not TaskStatus.OPEN or not task.remind_sms:
            return
        s = self._s
        key = f"{REMINDER_JOB}:{task.id}:{task.remind_at.isoformat()}"
        s.schedule(REMINDER_JOB, max(task.remind_at, s.now()), {"id": task.id}, key=key)

    def done(self, id: str, version: int | None = None) -> Task:
        """Mark a task done."""
        return self._close(id, version, TaskStatus.DONE, None)

    def cancel(self, id: str, *, reason: str, version: int | None = None) -> Task:
        """Cancel a task, for ``reason``.

        Raises:
            ValidationError: no reason.
        """
        if is_blank(reason):
            errors = FieldErrors()
            errors.add("cancel_reason", "required", None)
            errors.raise_if_any(self.spec.name)
        return self._close(id, version, TaskStatus.CANCELLED, reason.strip())

    def reopen(self, id: str, version: int | None = None) -> Task:
        """Open a done or cancelled task again."""
        self.require("write")
        task = self.get(id)
        self._check_version(task, version)
        if task.status is TaskStatus.OPEN:
            return task
        now = self._s.now()
        updated: Task = self._stamped(
            task, now, status=TaskStatus.OPEN, done_at=None, cancel_reason=None
        )
        self.save_change(task, updated)
        return updated

    def _close(self, id: str, version: int | None, status: TaskStatus, reason: str | None) -> Task:
        self.require("write")
        task = self.get(id)
        self._check_version(task, version)
        if task.status is not TaskStatus.OPEN:
            raise self.refusal(
                status.value,
                "完成" if status is TaskStatus.DONE else "取消",
                ("it is not open", "该待办已完成或已取消"),
            )
        now = self._s.now()
        updated: Task = self._stamped(
            task,
            now,
            status=status,
            done_at=now if status is TaskStatus.DONE else None,
            cancel_reason=reason,
        )
        self.save_change(task, updated)
        return updated

    def reminding(self, *, at: datetime | None = None) -> builtins.list[Task]:
        """Open tasks the actor may see whose reminder has come (or that are due), the
        soonest due first: what the admin shows as reminders."""
        self.require("read")
        now = at or self._s.now()
        found: dict[str, Task] = {}
        for field in ("remind_at", "due_at"):  # each an indexed range, not every open task
            query = EntityQuery(
                filters=(Filter("status", Op.EQ, TaskStatus.OPEN), Filter(field, Op.LE, now))
            )
            found.update((t.id, t) for t in self.every(query))
        return sorted(found.values(), key=lambda t: t.due_at)

    def calendar(self, start: Any, end: Any) -> dict[date, builtins.list[Task]]:
        """日程安排: the tasks the actor may see due from ``start`` to ``end`` (inclusive,
        days in the CRM's zone), by day.

        Raises:
            ValidationError: a day that is not one, or ``end`` before ``start``.
        """
        self.require("read")
        start, end = parse_period(start, end, required=True)
        assert start is not None
        assert end is not None
        zone = _zone(self._s)
        query = EntityQuery(
            filters=(
                Filter("due_at", Op.GE, datetime.combine(start, time(0), tzinfo=zone)),
                Filter("due_at", Op.LT, datetime.combine(end + timedelta(1), time(0), tzinfo=zone)),
            ),
            order_by="due_at",
        )
        out: dict[date, builtins.list[Task]] = {}
        for task in self.every(query):
            out.setdefault(task.due_at.astimezone(zone).date(), []).append(task)
        return out


def _canonical(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {TASK_ALIASES.get(k, k): v for k, v in fields.items()}


def remind(session: Any, job: Any) -> None:
    """The ``task.reminder`` job: text the assignee (through the outbox) that a task is
    coming due, unless it is closed or its reminder moved."""
    task: Task | None = session._uow.repo(TASKS).get(job.payload["id"])
    if task is None or task.deleted_at is not None or task.status is not TaskStatus.OPEN:
        return
    if task.remind_at is None or not job.key.endswith(task.remind_at.isoformat()):
        return
    if not task.remind_sms:
        return
    zone = _zone(session)
    body = {
        "template": REMINDER_JOB,
        "task_id": task.id,
        "title": task.title,
        "due_at": task.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
    }
    session.notify_user(task.owner_id, body, key=job.key, channels=("sms",))


REMINDER_JOB: Final = "task.reminder"
JOB_HANDLERS: Final[Mapping[str, JobHandler]] = {REMINDER_JOB: remind}
"""The due jobs tasks schedule, registered on every CRM (``crm.on_job`` replaces them)."""
