"""Approvals on the kernel: ``session.approvals`` (审批).

An approval is written when a document revision is submitted (``session.orders.submit``);
this service lists what awaits the actor (:meth:`ApprovalService.inbox`) and decides steps
(:meth:`~ApprovalService.approve`, :meth:`~ApprovalService.reject`) by their step id
(``<approval id>.<step number>``), as :mod:`crmkit.domain.approvals` rules: never one's own
submission, a manager step by someone above the submitter, a role step by a holder of the
role.

Two people deciding one step at once: the approval is written with a compare-and-set on its
version, so exactly one decision is stored; the other gets a ``WorkflowError`` saying the
step was decided already. A decision on a revision that changed since it was submitted (a
stale revision) is refused the same way. The decided document is told through its service
(``approval_decided``), in the same transaction.
"""

from __future__ import annotations

import builtins
from typing import Any, ClassVar, Final, Protocol

from crmkit.domain import events as ev
from crmkit.domain.approvals import (
    DOCUMENT_STATES,
    Approval,
    ApprovalStatus,
    Approver,
    Decision,
    Step,
    decide,
    inbox_tokens,
    may_decide,
    parse_step_id,
    submit,
    withdraw,
)
from crmkit.domain.audit import AuditAction, diff, snapshot
from crmkit.domain.common import parse_text
from crmkit.domain.display import step_label
from crmkit.domain.errors import (
    ConcurrencyError,
    FieldErrors,
    NotFound,
    PermissionDenied,
    WorkflowError,
)
from crmkit.domain.user import Role
from crmkit.domain.values import Money
from crmkit.storage.catalog import APPROVALS
from crmkit.storage.ports import EVERYTHING, EntityQuery, Page
from crmkit.storage.spec import Filter, Op
from crmkit.workflows._common import page_limit
from crmkit.workflows.entity import EntityService

_STALE_EN: Final = "the document changed after it was submitted; submit it again"
_STALE_ZH: Final = "单据提交后已被修改，请重新提交审批"


class Approvable(Protocol):
    """What a document's service offers its approvals (``session.orders`` does)."""

    def approval_state(self, id: str) -> tuple[int, str | None]:
        """The document's version and the approval it awaits."""

    def approval_decided(self, approval: Approval) -> Any:
        """Apply an approval that was approved or rejected to its document."""


class ApprovalService(EntityService[Approval]):
    """``session.approvals``: the approval inbox and decisions.

    Approvals are written by the documents' own ``submit``, never created or edited here;
    ``get`` and ``list`` show those the actor submitted (or that people they manage
    submitted); :meth:`inbox` those they may decide.
    """

    spec = APPROVALS
    #: document type -> the session attribute of its service
    documents: ClassVar[dict[str, str]] = {"order": "orders", "lead_conversion": "leads"}

    def create(self, **fields: Any) -> Approval:  # noqa: ARG002
        """Approvals are written by a document's ``submit`` (``session.orders.submit``)."""
        raise self.refusal("create", "新建", _BY_SUBMIT)

    def update(self, id: str, version: int | None = None, **changes: Any) -> Approval:  # noqa: ARG002
        """Approvals change only by decisions (:meth:`approve`, :meth:`reject`)."""
        raise self.refusal("edit", "修改", _BY_DECISION)

    def delete(self, id: str, version: int | None = None) -> None:  # noqa: ARG002
        """Approvals are kept for good (the audit trail of a document)."""
        raise self.refusal("delete", "删除", _KEPT)

    def start(
        self,
        document_type: str,
        document: Any,
        *,
        amount: Money,
        status: ApprovalStatus,
        extra_steps: tuple[Step, ...] = (),
    ) -> Approval:
        """Write the approval of ``document`` (a record with ``id``, ``version``, and
        ``revision`` / ``number`` / ``customer_id`` where it has them) as the actor submits
        it: the chain the CRM's policy picks for ``document_type`` and ``amount``, plus
        ``extra_steps``. The document's service then stores the approval's id and status on
        the document (its version + 1 is the version the approval guards).

        Raises:
            WorkflowError: the document is pending or approved already (``status``).
        """
        s = self._s
        submitter = s.user(s.actor.id)
        now = s.now()
        approval = submit(
            s.runtime.approval_policy,
            document_type=document_type,
            document_id=document.id,
            revision=getattr(document, "revision", 1),
            submitter_id=s.actor.id,
            amount=amount,
            status=status,
            at=now,
            extra_steps=extra_steps,
            document_version=document.version + 1,
            document_number=getattr(document, "number", None),
            customer_id=getattr(document, "customer_id", None),
            manager_id=submitter.manager_id if submitter is not None else None,
        )
        self.repo.add(approval)
        s.record(self.spec.name, approval.id, AuditAction.CREATE, snapshot(approval), at=now)
        s.publish(
            ev.ApprovalSubmitted(
                actor_id=s.actor.id,
                at=now,
                entity_id=approval.id,
                document_type=document_type,
                document_id=document.id,
                decider=approval.decider,
            )
        )
        return approval

    def withdraw(self, approval_id: str) -> Approval:
        """The submitter takes a pending approval back (the document's own ``withdraw``
        calls this and makes the document editable again).

        Raises:
            PermissionDenied: the actor did not submit it.
            WorkflowError: it is no longer pending.
        """
        s = self._s
        stored = self.repo.get(approval_id)
        if stored is None:
            raise NotFound(self.spec.name, approval_id)
        back = withdraw(stored, s.actor.id, at=s.now())
        try:
            self.repo.update(back, expected_version=stored.version)
        except ConcurrencyError:
            raise self._decided_meanwhile(stored, "withdraw", "撤回") from None
        s.record(self.spec.name, back.id, AuditAction.UPDATE, diff(stored, back), at=s.now())
        return back

    def get(self, id: str, *, include_deleted: bool = False) -> Approval:  # noqa: ARG002
        """An approval the actor submitted, manages the submitter of, or may decide now.

        Raises:
            NotFound: none such.
        """
        self.require("read")
        found = self.repo.get(id)
        if found is None or not self._visible(found):
            raise NotFound(self.spec.name, id)
        return found

    def for_document(self, document_id: str) -> builtins.list[Approval]:
        """Every approval of a document (each submission of each of its revisions), oldest
        first, as the actor may see them."""
        self.require("read")
        query = EntityQuery(filters=(Filter("document_id", Op.EQ, document_id),))
        found = self.every(query, EVERYTHING)
        return [a for a in found if self._visible(a)]

    def pending(self, document_id: str) -> Approval | None:
        """The document's approval awaiting a decision, if the actor may see it."""
        found = [a for a in self.for_document(document_id) if a.status is ApprovalStatus.PENDING]
        return found[-1] if found else None

    def may_decide(self, approval: Approval) -> bool:
        """Whether the actor may decide ``approval``'s pending step now (what
        :meth:`approve` and :meth:`reject` check; a screen shows their buttons by it)."""
        s = self._s
        step = approval.current
        if step is None or s.actor.role is None or approval.submitter_id == s.actor.id:
            return False
        return may_decide(
            step,
            self._approver(approval),
            approval.submitter_id,
            submitter_has_manager=approval.manager_id is not None,
        )

    def inbox(self, *, after: str | None = None, limit: int = 50) -> Page[Approval]:
        """The pending approvals whose current step the actor may decide, oldest first
        (a keyset page): their role's steps and the manager steps of people they manage.
        Each one's :attr:`~crmkit.domain.approvals.Approval.step_id` is what
        :meth:`approve` and :meth:`reject` take."""
        self.require("read")
        s = self._s
        role = s.actor.role
        if role is None:  # the system decides nothing
            return Page((), None)
        managed = s._uow.users.subordinate_ids(s.actor.id)
        tokens = inbox_tokens(s.actor.id, role, managed)
        query = EntityQuery(
            filters=(
                Filter("decider", Op.IN, tuple(sorted(tokens))),
                Filter("submitter_id", Op.NE, s.actor.id),
            )
        )
        size = page_limit(limit, s.runtime.settings.max_page_size)
        return self.repo.list(query, EVERYTHING, after=after, limit=size)

    def inbox_count(self) -> int:
        """How many steps await the actor (at most 1000 counted)."""
        s = self._s
        if s.actor.role is None:
            return 0
        tokens = inbox_tokens(s.actor.id, s.actor.role, s._uow.users.subordinate_ids(s.actor.id))
        query = EntityQuery(
            filters=(
                Filter("decider", Op.IN, tuple(sorted(tokens))),
                Filter("submitter_id", Op.NE, s.actor.id),
            )
        )
        return self.repo.count(query, EVERYTHING, cap=1000)

    def approve(self, step_id: str, *, comment: Any = None) -> Approval:
        """Approve the step ``step_id``; the last approval approves the document.

        Raises:
            ValidationError: ``step_id`` is not a step id.
            NotFound: no such approval.
            PermissionDenied: the actor may not decide this step.
            WorkflowError: the step was decided already (by someone else, perhaps at the
                same moment), or the document changed since it was submitted.
        """
        return self._decide(step_id, Decision.APPROVE, comment, field="comment")

    def reject(self, step_id: str, *, reason: Any) -> Approval:
        """Reject the step ``step_id`` with a reason: the document goes back to its author
        for revision and resubmission.

        Raises:
            ValidationError: no reason, or not a step id.
            NotFound / PermissionDenied / WorkflowError: as :meth:`approve`.
        """
        return self._decide(step_id, Decision.REJECT, reason, field="reason")

    # -- helpers --------------------------------------------------------------------------
    def _decide(self, step_id: str, decision: Decision, text: Any, *, field: str) -> Approval:
        s = self._s
        self.require("read")
        s.require("approval.decide")
        errors = FieldErrors()
        parsed = parse_step_id(step_id)
        if parsed is None:
            errors.add("step_id", "approval.step_unknown", step_id)
        note = parse_text(text, errors, field, 500)
        if decision is Decision.REJECT and note is None and not errors.errors:
            errors.add("reason", "approval.reason_required", None)
        errors.raise_if_any(self.spec.name)
        assert parsed is not None
        approval_id, index = parsed
        current = self.repo.get(approval_id)
        if current is None:
            raise NotFound(self.spec.name, approval_id)
        documents = self._documents(current.document_type)
        version, awaited = documents.approval_state(current.document_id)
        if current.status is ApprovalStatus.PENDING and (
            awaited != current.id or version != current.document_version
        ):
            raise self._stale(current)
        try:
            decided = decide(
                current, self._approver(current), decision, step=index, at=s.now(), comment=note
            )
        except PermissionDenied:
            step = current.steps[index] if index < len(current.steps) else None
            label = step_label(step, "zh") if step is not None else ""
            raise PermissionDenied(
                s.actor.name,
                f"decide the step “{step_label(step, 'en') if step else ''}”",
                f"审批“{label}”",
            ) from None
        try:
            self.repo.update(decided, expected_version=current.version)
        except ConcurrencyError:
            # Someone decided this step (or withdrew it) between our read and our write.
            raise self._decided_meanwhile(
                current, f"decide step {index + 1} of", f"审批第 {index + 1} 步"
            ) from None
        s.record(self.spec.name, decided.id, AuditAction.UPDATE, diff(current, decided), at=s.now())
        s.publish(
            ev.ApprovalDecided(
                actor_id=s.actor.id,
                at=s.now(),
                entity_id=decided.id,
                document_type=decided.document_type,
                document_id=decided.document_id,
                decision=decision.value,
                status=decided.status.value,
                decider=decided.decider,
            )
        )
        if decided.status is not ApprovalStatus.PENDING:
            documents.approval_decided(decided)
        return decided

    def _approver(self, approval: Approval) -> Approver:
        s = self._s
        manages = approval.submitter_id in s._uow.users.subordinate_ids(s.actor.id)
        return Approver(s.actor.id, s.actor.role or Role.ADMIN, manages_submitter=manages)

    def _documents(self, document_type: str) -> Approvable:
        attribute = self.documents.get(document_type)
        if attribute is None:
            raise WorkflowError(
                self.spec.name,
                document_type,
                "decide",
                move_zh="审批",
                reason="no service approves this document type",
                reason_zh="没有处理该类单据审批的服务",
            )
        service: Approvable = getattr(self._s, attribute)
        return service

    def _visible(self, approval: Approval) -> bool:
        s = self._s
        if s.actor.scope.is_everything or s.actor.scope.allows(approval.submitter_id):
            return True
        if approval.decider is None or s.actor.role is None:
            return False
        managed = s._uow.users.subordinate_ids(s.actor.id)
        return approval.decider in inbox_tokens(s.actor.id, s.actor.role, managed)

    def _decided_meanwhile(self, approval: Approval, move: str, move_zh: str) -> WorkflowError:
        return WorkflowError(
            self.spec.name,
            approval.status.value,
            move,
            state_zh=DOCUMENT_STATES.labels_zh.get(approval.status),
            move_zh=move_zh,
            reason="someone else decided it at the same time",
            reason_zh="该审批已被他人同时处理",
        )

    def _stale(self, approval: Approval) -> WorkflowError:
        return WorkflowError(
            self.spec.name,
            approval.status.value,
            "decide",
            state_zh=DOCUMENT_STATES.labels_zh.get(approval.status),
            move_zh="审批",
            reason=_STALE_EN,
            reason_zh=_STALE_ZH,
        )


_BY_SUBMIT: Final = ("approvals are started by submitting a document", "审批由提交单据发起")
_BY_DECISION: Final = (
    "approvals change only by approving or rejecting a step",
    "审批只能通过同意或驳回改变",
)
_KEPT: Final = ("approvals are kept as the document's trail", "审批记录作为单据的轨迹永久保留")
