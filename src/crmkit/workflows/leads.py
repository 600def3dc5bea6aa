"""Sales leads on the kernel: ``session.leads`` (线索).

Everything but the lead's own rules comes from :class:`EntityService`: permissions
(``lead.*``), scope (a lead is seen by its owner and those above), validation, versions,
audit, events, the recycle bin. This module adds the names held to the customers' rules,
the closed ``source`` list, the duplicate warning against customers and other leads,
:meth:`LeadService.assign`, :meth:`LeadService.disqualify` and
:meth:`LeadService.convert`, which creates the customer, its contact and an opportunity
through their own services.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from crmkit.domain.approvals import Approval, ApprovalStatus
from crmkit.domain.common import parse_reachability, parse_text
from crmkit.domain.customer import CustomerKind
from crmkit.domain.errors import (
    DuplicateMatch,
    FieldErrors,
    ValidationError,
    WorkflowError,
)
from crmkit.domain.fields import InputField, parse_input
from crmkit.domain.lead import LEAD_CONVERSION, LEAD_FIELDS, LEAD_STATES, Lead, LeadStatus
from crmkit.domain.opportunity import OPPORTUNITY_FIELDS
from crmkit.domain.values import Money, Phone, normalize_company_name, normalize_person_name
from crmkit.storage.catalog import LEADS
from crmkit.storage.ports import EVERYTHING, EntityQuery
from crmkit.storage.spec import Filter, Op
from crmkit.workflows.entity import EntityService
from crmkit.workflows.session import DuplicateWarning

if TYPE_CHECKING:
    pass

# How many leads sharing a name or a number a duplicate look-up reads at most.
_LEAD_MATCH_LIMIT = 20


@attrs.frozen
class SimilarRecord:
    """A customer or a lead like the one asked about (``session.leads.find_similar``).

    Attributes:
        entity: ``"customer"`` or ``"lead"``.
        match: the record as the actor may see it (name, owner, score, reasons; the record
            itself only when the actor may read it).
    """

    entity: str
    match: DuplicateMatch


class LeadService(EntityService[Lead]):
    """``session.leads``: people and companies that may become customers.

    ``create(name=, kind=, contact_name=, mobile=, phone=, email=, source=, region=,
    remarks=, owner_id=)``: the owner defaults to the actor; a lead whose name or numbers
    repeat a customer or another live lead is stored all the same, with a
    :class:`~crmkit.workflows.session.DuplicateWarning` on ``session.warnings`` naming
    them and their owners.

    ``list`` filters: ``owner_id``, ``status``, ``source``, ``name``, ``mobile_e164``,
    ``phone_e164``; ``q``: text in the name.
    """

    spec = LEADS
    fields: ClassVar[tuple[InputField, ...]] = LEAD_FIELDS

    # -- the kernel's hooks ---------------------------------------------------------------
    def check_references(
        self, data: Mapping[str, Any], errors: FieldErrors, current: Lead | None
    ) -> None:
        """The owner is an active user; giving a lead to someone else (on create or by an
        edit) is an assignment: :meth:`assign`'s rules hold."""
        if not self.check_owner(data, current, errors):
            return
        owner = data["owner_id"]
        if owner != self._s.actor.id or current is not None:
            self._check_assignment(owner, errors)

    def prepare(
        self,
        raw: Mapping[str, Any],
        data: dict[str, Any],
        errors: FieldErrors,
        current: Lead | None = None,
    ) -> dict[str, Any]:
        s = self._s
        if current is not None and not current.is_open:
            raise self._refused(current.status, "edit", "修改")
        out = dict(data)
        strict = s.runtime.settings.strict_name_script
        kind = out.get("kind") or (current.kind if current is not None else CustomerKind.COMPANY)
        name = out.get("name") if "name" in out else None
        if name is None and current is not None and "kind" in out:
            name = current.name  # a new kind re-reads the name by its rules
        if name is not None:
            normalize = (
                normalize_company_name if kind is CustomerKind.COMPANY else normalize_person_name
            )
            try:
                out["name"] = normalize(name, field="name", strict=strict)
            except ValidationError as exc:
                errors.extend(exc.errors)
        if out.get("contact_name") is not None:
            try:
                out["contact_name"] = normalize_person_name(
                    out["contact_name"], field="contact_name", strict=strict
                )
            except ValidationError as exc:
                errors.extend(exc.errors)
        reach = {k: raw[k] for k in ("mobile", "phone", "email") if k in raw}
        parse_reachability(reach, errors, out, phone_region=s.runtime.region)
        for key in ("mobile", "phone"):
            if key in out:
                number = out[key]
                out[f"{key}_e164"] = number.e164 if isinstance(number, Phone) else None
        if out.get("source") is not None:
            out["source"] = s.vocabulary().resolve("source", out["source"], errors, "source")
        if current is None:
            out["owner_id"] = out.get("owner_id") or s.actor.id
        return out

    def on_created(self, entity: Lead) -> None:
        """Warn (never block) when the lead repeats a customer or another live lead."""
        found = self._similar(self._match_fields(entity), exclude=entity.id, limit=10)
        duplicates = [m.match for m in found if m.entity == "lead" or m.match.score >= 0.5]
        if duplicates:
            self._s.warnings.append(DuplicateWarning(self.spec.name, entity.id, tuple(duplicates)))

    # -- look-ups -------------------------------------------------------------------------
    def find_similar(self, *, limit: int = 5, **fields: Any) -> builtins.list[SimilarRecord]:
        """Customers and leads like ``fields`` (``name``, ``kind``, ``mobile``, ``phone``,
        ``email``, ``contact_name``, ``region``), best first, each with its owner.

        Customers are found through the customers' duplicate index (scored as
        ``customers.find_similar`` scores them); leads by their stored name and numbers
        (an exact match scores 1). The whole store is searched; a record the actor may
        not read shows only its name, owner, score and reasons. Fields need not be valid.
        """
        self.require("read")
        return self._similar(self._normalized(fields), exclude=None, limit=limit)

    def _similar(
        self, fields: Mapping[str, Any], *, exclude: str | None, limit: int
    ) -> builtins.list[SimilarRecord]:
        s = self._s
        index = s.dedup_index
        record = index.record_from_fields("customer", fields)
        scored = [m for m in index.matches("customer", record) if m.score >= 0.01]
        found = [SimilarRecord("customer", d.public) for d in index.describe("customer", scored)]
        found += self._lead_matches(fields, exclude)
        found.sort(key=lambda r: -r.match.score)
        return found[: max(limit, 0)]

    def _lead_matches(
        self, fields: Mapping[str, Any], exclude: str | None
    ) -> builtins.list[SimilarRecord]:
        s = self._s
        reasons: dict[str, builtins.list[str]] = {}
        leads: dict[str, Lead] = {}
        numbers = [n.e164 for n in (fields.get("mobile"), fields.get("phone")) if n is not None]
        checks: builtins.list[tuple[str, Filter]] = []
        if fields.get("name"):
            checks.append(("name", Filter("name", Op.EQ, fields["name"])))
        if numbers:
            checks.append(("mobile", Filter("mobile_e164", Op.IN, tuple(numbers))))
            checks.append(("phone", Filter("phone_e164", Op.IN, tuple(numbers))))
        for reason, condition in checks:
            page = self.repo.list(
                EntityQuery(filters=(condition,)), EVERYTHING, after=None, limit=_LEAD_MATCH_LIMIT
            )
            for lead in page.items:
                if lead.id == exclude or not lead.is_open:
                    continue
                leads[lead.id] = lead
                reasons.setdefault(lead.id, []).append(reason)
        out: builtins.list[SimilarRecord] = []
        for id, lead in leads.items():
            owner = s.user(lead.owner_id)
            visible = s.actor.scope.allows(lead.owner_id)
            out.append(
                SimilarRecord(
                    "lead",
                    DuplicateMatch(
                        id=id,
                        name=lead.name,
                        owner_id=lead.owner_id,
                        owner_name=owner.name if owner is not None else lead.owner_id,
                        score=1.0,
                        reasons=tuple(reasons[id]),
                        visible=visible,
                        record=lead if visible else None,
                    ),
                )
            )
        return out

    def _match_fields(self, lead: Lead) -> dict[str, Any]:
        return {
            "name": lead.name,
            "kind": lead.kind.value,
            "mobile": lead.mobile,
            "phone": lead.phone,
            "email": lead.email,
            "region": lead.region,
            "contact_name": lead.contact_name,
        }

    def _normalized(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``fields`` read leniently: what cannot be read is left out."""
        s = self._s
        out: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
        quiet = FieldErrors()
        individual = str(fields.get("kind") or "") in ("individual", "个人")
        if isinstance(fields.get("name"), str):
            normalize = normalize_person_name if individual else normalize_company_name
            try:
                out["name"] = normalize(fields["name"])
            except ValidationError:
                out["name"] = fields["name"].strip() or None
        reach = {k: fields[k] for k in ("mobile", "phone") if fields.get(k) is not None}
        parse_reachability(reach, quiet, out, phone_region=s.runtime.region)
        for key in ("mobile", "phone"):
            if not isinstance(out.get(key), Phone):
                out.pop(key, None)
        return out

    # -- moves ----------------------------------------------------------------------------
    def assign(self, id: str, owner_id: str, *, version: int | None = None) -> Lead:
        """Give a lead to another salesperson (``lead.assign``: managers, for the people
        they manage, and admins). Audited as a change of ``owner_id``.

        Raises:
            PermissionDenied: the actor may not assign leads.
            ValidationError: the owner is no active user, or not someone the actor manages.
            WorkflowError: the lead is converted or disqualified.
        """
        self._s.require("lead.assign")
        return self.update(id, version, owner_id=owner_id)

    def start(self, id: str, *, version: int | None = None) -> Lead:
        """Mark a new lead as being worked (跟进中).

        Raises:
            WorkflowError: it is not new.
        """
        return self._move(id, version, LeadStatus.WORKING, "start", "开始跟进")

    def disqualify(self, id: str, reason: Any, *, version: int | None = None) -> Lead:
        """Mark an open lead disqualified (无效), saying why.

        Raises:
            ValidationError: no reason (field ``disqualified_reason``).
            WorkflowError: it is converted or disqualified already.
        """
        errors = FieldErrors()
        text = parse_text(reason, errors, "disqualified_reason", 200)
        if text is None and not errors:
            errors.add("disqualified_reason", "required", reason)
        errors.raise_if_any(self.spec.name)
        return self._move(
            id, version, LeadStatus.DISQUALIFIED, "disqualify", "标记无效", disqualified_reason=text
        )

    def convert(
        self,
        id: str,
        *,
        version: int | None = None,
        opportunity: Mapping[str, Any] | None = None,
    ) -> Lead:
        """Turn an open lead into a customer: the customer (``customers.create``, so every
        customer rule, duplicate block and audit applies), its contact (``contacts.create``,
        from ``contact_name``; an individual's own name otherwise) and, given
        ``opportunity`` fields (``title``, ``amount`` …), an opportunity
        (``opportunities.create``), all owned by the lead's owner; the lead is marked
        converted with links to them.

        Everything is written in the session's unit of work: a failure raises before the
        session commits, and the session rolls back, so nothing is written. The customer's
        and the opportunity's own fields are checked before anything is written.

        When the CRM's approval policy has a ``lead_conversion`` rule for the amount (seed
        002: lead → opportunity approval), the conversion needs an approved approval
        (:meth:`submit_conversion`, decided through ``session.approvals``); it then uses
        the opportunity fields that were approved, and refuses others.

        Raises:
            WorkflowError: the lead is converted or disqualified, or needs an approval.
            DuplicateError: the customer would repeat one someone else works.
            ValidationError: a customer, contact or opportunity field is wrong.
        """
        s = self._s
        current, deal = self._converting(id, version, opportunity)
        if deal is not None:
            s.require("opportunity.create")
        deal = self._check_approval(current, deal)
        contact_name = current.contact_name or (
            current.name if current.kind is CustomerKind.INDIVIDUAL else None
        )
        customer_fields: dict[str, Any] = {
            "kind": current.kind,
            "name": current.name,
            "phone": current.phone,
            "source": current.source,
            "region": current.region,
            "remarks": current.remarks,
            "owner_id": current.owner_id,
        }
        if contact_name is None:
            customer_fields.update(mobile=current.mobile, email=current.email)
        customer_fields = {k: v for k, v in customer_fields.items() if v is not None}
        s.customers.check(**customer_fields)  # refuses before anything is written
        customer = s.customers.create(**customer_fields)
        contact_id: str | None = None
        if contact_name is not None:
            contact_fields = {
                "customer_id": customer.id,
                "name": contact_name,
                "mobile": current.mobile,
                "email": current.email,
            }
            contact = s.contacts.create(
                **{k: v for k, v in contact_fields.items() if v is not None}
            )
            contact_id = contact.id
        opportunity_id: str | None = None
        if deal is not None:
            deal.setdefault("owner_id", current.owner_id)
            opportunity_id = s.opportunities.create(customer_id=customer.id, **deal).id
        now = s.now()
        updated: Lead = self._stamped(
            current,
            now,
            status=LeadStatus.CONVERTED,
            customer_id=customer.id,
            contact_id=contact_id,
            opportunity_id=opportunity_id,
            converted_at=now,
        )
        self.save_change(current, updated)
        return updated

    # -- helpers --------------------------------------------------------------------------
    def _check_assignment(self, owner: str, errors: FieldErrors) -> None:
        s = self._s
        s.require("lead.assign")
        if not s.actor.scope.allows(owner):
            errors.add("owner_id", "lead.owner_not_yours", owner)

    def _converting(
        self, id: str, version: int | None, opportunity: Mapping[str, Any] | None
    ) -> tuple[Lead, dict[str, Any] | None]:
        """The open lead to convert (or to ask a conversion of) and the opportunity fields
        given, checked."""
        self.require("write")
        current = self.get(id)
        self._check_version(current, version)
        LEAD_STATES.check(current.status, LeadStatus.CONVERTED, move="convert", move_zh="转化")
        deal = dict(opportunity) if opportunity is not None else None
        if deal is not None:
            errors = FieldErrors()
            parse_input(OPPORTUNITY_FIELDS, {"customer_id": "-", **deal}, errors, partial=False)
            errors.raise_if_any("opportunity")
        return current, deal

    def _amount(self, deal: Mapping[str, Any] | None) -> Money:
        amount = Money(Decimal(0))
        if deal is not None and deal.get("amount") is not None:
            quiet = FieldErrors()
            parsed = parse_input(
                OPPORTUNITY_FIELDS, {"amount": deal["amount"]}, quiet, partial=True
            )
            amount = parsed.get("amount") or amount
        return amount

    def _check_approval(self, lead: Lead, deal: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """The opportunity fields to convert with: ``deal`` when no approval is needed;
        the approved ones when it is (refusing a conversion not approved, or one that
        asks for another deal than the approvers saw)."""
        needed = self._s.runtime.approval_policy.chain(LEAD_CONVERSION, self._amount(deal))
        approved = lead.conversion_approval is ApprovalStatus.APPROVED
        if not needed and not approved:
            return dict(deal) if deal is not None else None
        agreed = dict(lead.conversion_deal) if lead.conversion_deal is not None else None
        if approved and (deal is None or dict(deal) == agreed):
            return agreed
        raise WorkflowError(
            self.spec.name,
            lead.status.value,
            "convert",
            state_zh=LEAD_STATES.labels_zh.get(lead.status),
            move_zh="转化",
            reason="the conversion needs an approved approval"
            if not approved
            else "the conversion was approved with another opportunity",
            reason_zh="转化需要审批通过"
            if not approved
            else "审批通过的转化使用的是另一个销售机会",
        )

    # -- approval of conversions ------------------------------------------------------------
    def submit_conversion(
        self,
        id: str,
        *,
        opportunity: Mapping[str, Any] | None = None,
        version: int | None = None,
    ) -> Lead:
        """Ask for the conversion of an open lead to be approved, with the opportunity it
        would create (``opportunity``: its fields; the amount picks the chain). Once the
        approvals approve it, :meth:`convert` converts it with those fields.

        Raises:
            WorkflowError: the lead is closed, or its conversion is pending or approved.
            ValidationError: a wrong opportunity field.
        """
        s = self._s
        current, deal = self._converting(id, version, opportunity)
        approval = s.approvals.start(
            LEAD_CONVERSION,
            current,
            amount=self._amount(deal),
            status=current.conversion_approval or ApprovalStatus.DRAFT,
        )
        updated: Lead = self._stamped(
            current,
            approval.created_at,
            conversion_approval=approval.status,
            conversion_approval_id=approval.id,
            conversion_deal={k: str(v) for k, v in (deal or {}).items()} if deal else None,
        )
        self.save_change(current, updated)
        return updated

    def approval_state(self, id: str) -> tuple[int, str | None]:
        """The lead's version and the conversion approval it awaits (for
        ``session.approvals``); read in any scope."""
        found = self.repo.get(id)
        if found is None or found.deleted_at is not None:
            return 0, None
        return found.version, found.conversion_approval_id

    def approval_decided(self, approval: Approval) -> Lead:
        """Record the decided approval of the lead's conversion on the lead."""
        current = self.repo.get(approval.document_id)
        if current is None:
            raise WorkflowError(self.spec.name, "missing", "approve", move_zh="审批")
        updated: Lead = self._stamped(current, self._s.now(), conversion_approval=approval.status)
        self.save_change(current, updated)
        return updated

    def _refused(self, state: LeadStatus, move: str, move_zh: str) -> WorkflowError:
        return WorkflowError(
            self.spec.name,
            state.value,
            move,
            state_zh=LEAD_STATES.labels_zh.get(state),
            move_zh=move_zh,
        )

    def _move(
        self,
        id: str,
        version: int | None,
        target: LeadStatus,
        move: str,
        move_zh: str,
        **changes: Any,
    ) -> Lead:
        self.require("write")
        current = self.get(id)
        self._check_version(current, version)
        LEAD_STATES.check(current.status, target, move=move, move_zh=move_zh)
        updated: Lead = self._stamped(current, self._s.now(), status=target, **changes)
        self.save_change(current, updated)
        return updated
