"""Complaints on the kernel: ``session.complaints`` (投诉处理).

A complaint is raised for a customer, directly or from a complaint ticket
(:meth:`ComplaintService.from_ticket`), investigated (原因分析) and answered by corrective
actions (整改措施), each with an owner and a due day. An action is followed up (跟进) with
notes, completed with its result and verified (核实) by someone other than its owner (an
admin may verify their own); the complaint closes (结案) with a conclusion only once every
action is verified. The status follows :data:`~crmkit.domain.complaint.COMPLAINT_MACHINE`;
a closed complaint may be reopened for more actions.

An action's owner is reminded on its due day (a due job, ``complaint.action_due``, through
the outbox) unless it is done by then; :meth:`ComplaintService.overdue_actions` lists the
open actions past their day.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any, ClassVar, Final
from zoneinfo import ZoneInfo

import attrs

from crmkit.domain.common import is_blank
from crmkit.domain.complaint import (
    ACTION_FIELDS,
    COMPLAINT_FIELDS,
    COMPLAINT_MACHINE,
    ActionStatus,
    Complaint,
    ComplaintStatus,
    CorrectiveAction,
    FollowUp,
    Severity,
)
from crmkit.domain.errors import FieldErrors, NotFound, PermissionDenied, WorkflowError
from crmkit.domain.fields import InputField, parse_input
from crmkit.domain.ticket import TicketType
from crmkit.domain.user import Role
from crmkit.storage.catalog import COMPLAINTS, TICKETS
from crmkit.storage.ports import EVERYTHING, EntityQuery
from crmkit.storage.spec import Filter, Op
from crmkit.workflows.entity import EntityService
from crmkit.workflows.jobs import JobHandler
from crmkit.workflows.session import new_id

_LIVE: Final = (ComplaintStatus.OPEN, ComplaintStatus.INVESTIGATING, ComplaintStatus.ACTING)


@attrs.frozen
class OverdueAction:
    """A corrective action past its due day and not done: the complaint it answers, the
    action, and how many days it is late."""

    complaint: Complaint
    action: CorrectiveAction
    days_overdue: int


class ComplaintService(EntityService[Complaint]):
    """``session.complaints``: complaints (投诉单) and their corrective actions.

    ``create(customer_id=, subject=, severity="major", description=…, owner_id=…)``:
    ``owner_id`` (who handles it) defaults to the actor. Permissions ``complaint.*``:
    service staff, managers and admins write; everyone reads in the customer's scope.
    """

    spec = COMPLAINTS
    fields: ClassVar[tuple[InputField, ...]] = COMPLAINT_FIELDS

    # -- the kernel's hooks ---------------------------------------------------------------
    def check_references(
        self, data: Mapping[str, Any], errors: FieldErrors, current: Complaint | None
    ) -> None:
        if current is None:
            self.check_customer(data.get("customer_id"), errors, "not_found_ref")
            ticket_id = data.get("ticket_id")
            if ticket_id:
                self._check_ticket(ticket_id, data["customer_id"], errors)
        self.check_owner(data, current, errors)

    def _check_ticket(self, ticket_id: str, customer_id: str | None, errors: FieldErrors) -> None:
        s = self._s
        ticket = s._uow.repo(TICKETS).get(ticket_id, s.actor.scope)
        if ticket is None or ticket.deleted_at is not None:
            errors.add("ticket_id", "not_found_ref", ticket_id)
            return
        if ticket.type is not TicketType.COMPLAINT:
            errors.add("ticket_id", "complaint.not_a_complaint_ticket", ticket_id)
        elif ticket.customer_id != customer_id:
            errors.add("ticket_id", "complaint.other_customer", ticket_id)
        taken = EntityQuery(filters=(Filter("ticket_id", Op.EQ, ticket_id),))
        if self.repo.count(taken, EVERYTHING, cap=1):
            errors.add("ticket_id", "complaint.ticket_taken", ticket_id)

    def prepare(
        self,
        raw: Mapping[str, Any],  # noqa: ARG002  (the hook's signature)
        data: dict[str, Any],
        errors: FieldErrors,  # noqa: ARG002
        current: Complaint | None = None,
    ) -> dict[str, Any]:
        out = dict(data)
        if current is None:
            out["owner_id"] = out.get("owner_id") or self._s.actor.id
        if "severity" in out and out["severity"] is None:
            out["severity"] = Severity.MINOR  # cleared: back to the default
        return out

    def update(self, id: str, version: int | None = None, **changes: Any) -> Complaint:
        """Change a complaint's fields (subject, severity, root cause …) until it is closed.

        Raises:
            WorkflowError: it is closed (:meth:`reopen` it first).
            ValidationError / ConcurrencyError / NotFound / PermissionDenied: as for every
                entity.
        """
        self.require("write")
        current = self.get(id)
        if current.status is ComplaintStatus.CLOSED:
            raise _refused(current, "edit", "修改", _CLOSED)
        return super().update(id, version, **changes)

    # -- intake ---------------------------------------------------------------------------
    def from_ticket(self, ticket_id: str, **fields: Any) -> Complaint:
        """A complaint for a complaint ticket (投诉工单): its customer, and its subject and
        description unless ``fields`` give others.

        Raises:
            NotFound: the actor may not see the ticket.
            ValidationError: the ticket is not a complaint, or has a complaint already, or
                a wrong field.
        """
        s = self._s
        self.require("create")
        ticket = s._uow.repo(TICKETS).get(ticket_id, s.actor.scope)
        if ticket is None or ticket.deleted_at is not None:
            raise NotFound("ticket", ticket_id)
        given = {k: v for k, v in fields.items() if k not in {"customer_id", "ticket_id"}}
        given.setdefault("subject", ticket.subject)
        if ticket.description:
            given.setdefault("description", ticket.description)
        return self.insert({**given, "customer_id": ticket.customer_id, "ticket_id": ticket.id})

    # -- moves ----------------------------------------------------------------------------
    def investigate(
        self, id: str, *, root_cause: Any = None, version: int | None = None
    ) -> Complaint:
        """Start investigating (调查中), with the root cause if it is known already.

        Raises:
            WorkflowError: the complaint is not open.
            ValidationError: a root cause too long.
        """
        current = self.writable(id, version)
        status = COMPLAINT_MACHINE.check(
            current.status, ComplaintStatus.INVESTIGATING, move="investigate", move_zh="调查"
        )
        changes: dict[str, Any] = {"status": status}
        if not is_blank(root_cause):
            changes["root_cause"] = self.required_text("root_cause", root_cause, 4000)
        return self.save_changes(current, **changes)

    def set_root_cause(self, id: str, root_cause: Any, *, version: int | None = None) -> Complaint:
        """Record what caused the complaint (原因分析).

        Raises:
            ValidationError: no root cause, or one too long.
            WorkflowError: the complaint is closed.
        """
        current = self.writable(id, version)
        if current.status is ComplaintStatus.CLOSED:
            raise _refused(current, "edit", "修改", _CLOSED)
        return self.save_changes(
            current, root_cause=self.required_text("root_cause", root_cause, 4000)
        )

    def add_action(
        self,
        id: str,
        *,
        description: Any = None,
        owner_id: Any = None,
        due_on: Any = None,
        version: int | None = None,
    ) -> Complaint:
        """Add a corrective action (整改措施) to be done by ``owner_id`` by ``due_on``; the
        complaint is under corrective action (整改中) from then on. Its owner is reminded
        on the due day.

        Raises:
            ValidationError: no description, an unknown or inactive owner, a due day that
                is not one or has passed; every one at once.
            WorkflowError: the complaint is closed (:meth:`reopen` it first).
        """
        current = self.writable(id, version)
        if current.status is ComplaintStatus.CLOSED:
            raise _refused(current, "add an action to", "添加整改措施", _CLOSED)
        errors = FieldErrors()
        raw = {"description": description, "owner_id": owner_id, "due_on": due_on}
        data = parse_input(ACTION_FIELDS, raw, errors, partial=False)
        if data.get("owner_id") is not None:
            self._check_user(data["owner_id"], "owner_id", errors)
        due = data.get("due_on")
        if due is not None and due < self._s.today():
            errors.add("due_on", "complaint.due_passed", due.isoformat())
        errors.raise_if_any(self.spec.name)
        action = CorrectiveAction(
            id=new_id(),
            description=data["description"],
            owner_id=data["owner_id"],
            due_on=data["due_on"],
        )
        status: ComplaintStatus = current.status
        if status is not ComplaintStatus.ACTING:
            status = COMPLAINT_MACHINE.check(status, ComplaintStatus.ACTING)
        updated = self.save_changes(current, status=status, actions=(*current.actions, action))
        self._schedule(updated, action)
        return updated

    def follow_up(
        self, id: str, action_id: str, *, note: Any, version: int | None = None
    ) -> Complaint:
        """Note how a corrective action is going (跟进记录).

        Raises:
            ValidationError: no note, or an action the complaint does not have.
            WorkflowError: the action is verified, or the complaint closed.
        """
        current = self.writable(id, version)
        action = self._action(current, action_id)
        if current.status is ComplaintStatus.CLOSED or action.status is ActionStatus.VERIFIED:
            raise _refused(current, "follow up", "跟进", _SETTLED)
        text = self.required_text("note", note, 2000)
        entry = FollowUp(at=self._s.now(), author_id=self._s.actor.id, note=text)
        changed = attrs.evolve(action, follow_ups=(*action.follow_ups, entry))
        return self.save_changes(current, actions=_replace(current, changed))

    def complete_action(
        self, id: str, action_id: str, *, result: Any, version: int | None = None
    ) -> Complaint:
        """Mark a corrective action done, with what was done (整改结果), for verifying.

        Raises:
            ValidationError: no result, or an action the complaint does not have.
            WorkflowError: the action is done already.
        """
        current = self.writable(id, version)
        action = self._action(current, action_id)
        if action.status is not ActionStatus.OPEN:
            raise _refused(current, "complete", "完成整改", _NOT_OPEN)
        text = self.required_text("result", result, 2000)
        changed = attrs.evolve(action, status=ActionStatus.DONE, done_at=self._s.now(), result=text)
        return self.save_changes(current, actions=_replace(current, changed))

    def verify_action(self, id: str, action_id: str, *, version: int | None = None) -> Complaint:
        """Confirm that a done corrective action worked (核实). Its owner may not verify
        their own action, unless they are an admin.

        Raises:
            PermissionDenied: the actor owns the action and is not an admin.
            WorkflowError: the action is not done (or verified already).
            ValidationError: an action the complaint does not have.
        """
        s = self._s
        current = self.writable(id, version)
        action = self._action(current, action_id)
        if action.status is not ActionStatus.DONE:
            raise _refused(current, "verify", "核实整改", _NOT_DONE)
        if action.owner_id == s.actor.id and s.actor.role is not Role.ADMIN:
            raise PermissionDenied(s.actor.name, "verify one's own action", "核实本人的整改措施")
        changed = attrs.evolve(action, status=ActionStatus.VERIFIED, verified_by=s.actor.id)
        return self.save_changes(current, actions=_replace(current, changed))

    def close(self, id: str, *, conclusion: Any, version: int | None = None) -> Complaint:
        """结案: close the complaint with its conclusion, once every corrective action is
        verified.

        Raises:
            ValidationError: no conclusion.
            WorkflowError: an action is not verified yet, or the complaint is closed.
        """
        current = self.writable(id, version)
        COMPLAINT_MACHINE.check(
            current.status, ComplaintStatus.CLOSED, move="close", move_zh="结案"
        )
        waiting = current.open_actions
        if waiting:
            raise _refused(
                current,
                "close",
                "结案",
                (
                    f"{len(waiting)} corrective action(s) not verified yet",
                    f"尚有 {len(waiting)} 项整改措施未核实",
                ),
            )
        text = self.required_text("conclusion", conclusion, 2000)
        return self.save_changes(
            current, status=ComplaintStatus.CLOSED, closed_at=self._s.now(), conclusion=text
        )

    def reopen(self, id: str, *, version: int | None = None) -> Complaint:
        """Open a closed complaint again for more corrective actions (整改中).

        Raises:
            WorkflowError: it is not closed.
        """
        current = self.writable(id, version)
        status = COMPLAINT_MACHINE.check(
            current.status, ComplaintStatus.ACTING, move="reopen", move_zh="重新打开"
        )
        return self.save_changes(current, status=status, closed_at=None)

    # -- reads ----------------------------------------------------------------------------
    def overdue_actions(self, *, on: date | None = None) -> builtins.list[OverdueAction]:
        """Corrective actions not done by their due day (before ``on``, default today) in
        the complaints the actor may see, the latest first."""
        self.require("read")
        day = on or self._s.today()
        query = EntityQuery(filters=(Filter("status", Op.IN, _LIVE),))
        out = [
            OverdueAction(complaint, action, (day - action.due_on).days)
            for complaint in self.every(query)
            for action in complaint.actions
            if action.status is ActionStatus.OPEN and action.due_on < day
        ]
        return sorted(out, key=lambda o: (-o.days_overdue, o.complaint.number or ""))

    # -- helpers --------------------------------------------------------------------------
    def _action(self, complaint: Complaint, action_id: str) -> CorrectiveAction:
        for action in complaint.actions:
            if action.id == action_id:
                return action
        errors = FieldErrors()
        errors.add("action_id", "not_found_ref", action_id)
        errors.raise_if_any(self.spec.name)
        raise AssertionError  # pragma: no cover  (raise_if_any raised)

    def _check_user(self, user_id: str, field: str, errors: FieldErrors) -> None:
        user = self._s.user(user_id)
        if user is None or user.is_deleted:
            errors.add(field, "not_found_ref", user_id)
        elif not user.active:
            errors.add(field, "customer.owner_inactive", user_id)

    def _schedule(self, complaint: Complaint, action: CorrectiveAction) -> None:
        """Remind the owner at 09:00 (the CRM's time zone) on the due day."""
        s = self._s
        zone = ZoneInfo(s.runtime.settings.timezone)
        at = datetime.combine(action.due_on, time(9, 0), tzinfo=zone)
        key = f"{ACTION_DUE_JOB}:{action.id}:{action.due_on.isoformat()}"
        payload = {"id": complaint.id, "action_id": action.id}
        s.schedule(ACTION_DUE_JOB, max(at, s.now()), payload, key=key)


_CLOSED: Final = ("it is closed; reopen it first", "投诉已结案，请先重新打开")
_SETTLED: Final = ("it is settled", "该整改措施已核实或投诉已结案")
_NOT_OPEN: Final = ("the action is done already", "该整改措施已完成")
_NOT_DONE: Final = ("the action is not done, or verified already", "该整改措施尚未完成或已核实")


def _refused(
    complaint: Complaint, move: str, move_zh: str, reason: tuple[str, str]
) -> WorkflowError:
    return WorkflowError(
        COMPLAINTS.name,
        complaint.status.value,
        move,
        state_zh=COMPLAINT_MACHINE.labels_zh.get(complaint.status),
        move_zh=move_zh,
        reason=reason[0],
        reason_zh=reason[1],
    )


def _replace(complaint: Complaint, changed: CorrectiveAction) -> tuple[CorrectiveAction, ...]:
    return tuple(changed if a.id == changed.id else a for a in complaint.actions)


def remind_action(session: Any, job: Any) -> None:
    """The ``complaint.action_due`` job: tell an action's owner (email and SMS, through
    the outbox) that it is due today, unless it is done, moved, or its complaint closed."""
    complaint: Complaint | None = session._uow.repo(COMPLAINTS).get(job.payload["id"])
    if complaint is None or complaint.deleted_at is not None:
        return
    if complaint.status is ComplaintStatus.CLOSED:
        return
    action = next((a for a in complaint.actions if a.id == job.payload["action_id"]), None)
    if action is None or action.status is not ActionStatus.OPEN:
        return
    if not job.key.endswith(action.due_on.isoformat()):
        return
    body = {
        "template": ACTION_DUE_JOB,
        "complaint_id": complaint.id,
        "complaint": complaint.number,
        "subject": complaint.subject,
        "action": action.description,
        "due_on": action.due_on.isoformat(),
    }
    session.notify_user(action.owner_id, body, key=job.key)


ACTION_DUE_JOB: Final = "complaint.action_due"
JOB_HANDLERS: Final[Mapping[str, JobHandler]] = {ACTION_DUE_JOB: remind_action}
"""The due jobs complaints schedule, registered on every CRM (``crm.on_job`` replaces them)."""
