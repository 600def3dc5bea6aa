"""Sales orders on the kernel: ``session.orders`` (销售订单).

:class:`~crmkit.workflows.lines.SalesDocumentService` gives orders their lifecycle and their
priced lines (as quotes'); this module adds the approval (submit, withdraw; the decisions are
``session.approvals``'), the lock on approved and pending orders, revisions after approval,
the credit check of credit-terms customers, cost adjustments (成本微调), the delivery plan
with freight, sign-off, cancellation, and the reminders an approved order schedules.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Final, cast
from zoneinfo import ZoneInfo

import attrs

from crmkit.domain import events as ev
from crmkit.domain import fields as f
from crmkit.domain.approvals import (
    DOCUMENT_STATES,
    FINANCE,
    Approval,
    ApprovalStatus,
    Step,
    check_editable,
)
from crmkit.domain.common import parse_text
from crmkit.domain.customer import Settlement
from crmkit.domain.errors import FieldErrors, ValidationError, WorkflowError
from crmkit.domain.fields import InputField
from crmkit.domain.freight import FreightError, Shipment
from crmkit.domain.lines import CURRENCY
from crmkit.domain.opportunity import money_totals
from crmkit.domain.order import (
    ORDER_FIELDS,
    ORDER_STATES,
    CostAdjustment,
    Delivery,
    DeliveryState,
    Order,
    OrderStatus,
    OrderTotal,
    RankBy,
    Reminder,
    check_plan,
    margin_fields,
    parse_items,
    remaining,
)
from crmkit.domain.regions import Region
from crmkit.domain.values import Money
from crmkit.storage.catalog import OPPORTUNITIES, ORDERS, PRODUCTS, QUOTES
from crmkit.storage.ports import EVERYTHING, EntityQuery
from crmkit.storage.spec import EntitySpec, Filter, Group, Measure, Op
from crmkit.workflows.jobs import JobHandler
from crmkit.workflows.lines import SalesDocumentService

DOCUMENT: Final = "order"
REMINDER_JOB: Final = "order.reminder"
CREDIT_STEP: Final = Step("信用额度审批", role=FINANCE.role, label_en="Credit limit approval")
# The orders a customer's credit counts: approved or awaiting approval, not yet finished.
_EXPOSED: Final = (ApprovalStatus.PENDING, ApprovalStatus.APPROVED)
_LIVE: Final = (OrderStatus.OPEN, OrderStatus.DELIVERED)


class OrderService(SalesDocumentService[Order]):
    """``session.orders``: what customers bought, approved, delivered and signed off.

    ``create(customer_id=, lines=[…], …)`` as a quote (lines from the catalogue, priced on
    every write), plus the contract's dates: ``signed_on``, ``delivery_due``,
    ``sign_off_due``, ``renewal_on``, ``warranty_until``. A draft (or a rejected or
    withdrawn order) is edited with ``update``; :meth:`submit` starts its approval chain
    (``session.approvals`` decides it); a pending or approved order is locked, and an
    approved one is changed by :meth:`revise`.
    """

    spec = ORDERS
    number_field = "order_number"
    fields: ClassVar[tuple[InputField, ...]] = ORDER_FIELDS
    custom = True

    # -- the kernel's hooks ---------------------------------------------------------------
    def check_references(
        self, data: Mapping[str, Any], errors: FieldErrors, current: Order | None
    ) -> None:
        """A customer the actor sees, an opportunity and a quote of that customer, an active
        owner, lines whose products are live and visible and whose values pricing accepts."""
        s = self._s
        customer_id = data.get("customer_id") or (current.customer_id if current else None)
        if current is None and data.get("customer_id") is not None:
            self.check_customer(data.get("customer_id"), errors, "quote.customer_unseen")
        for field, spec in (("opportunity_id", OPPORTUNITIES), ("quote_id", QUOTES)):
            ref = data.get(field)
            if ref is None or (current is not None and ref == getattr(current, field)):
                continue
            found: Any = s._uow.repo(cast("EntitySpec[Any]", spec)).get(ref, s.actor.scope)
            if found is None or found.deleted_at is not None:
                errors.add(field, "not_found_ref", ref)
            elif found.customer_id != customer_id:
                errors.add(field, "order.other_customer", ref)
        self.check_owner(data, current, errors)
        self.check_lines(data, current, errors)

    def prepare(
        self,
        raw: Mapping[str, Any],  # noqa: ARG002  (the hook's signature)
        data: dict[str, Any],
        errors: FieldErrors,  # noqa: ARG002
        current: Order | None = None,
    ) -> dict[str, Any]:
        out = dict(data)
        if current is None:
            out["owner_id"] = data.get("owner_id") or self._s.actor.id
        self.priced_fields(data, current, out)
        adjustment = current.cost_adjustment if current is not None else None
        if adjustment is not None:
            out.update(margin_fields(out["net"], out["cost"], adjustment))
        return out

    def on_deleting(self, entity: Order) -> None:
        """Only an order being written may go to the recycle bin (an approved order is
        cancelled, never deleted)."""
        check_editable(entity.approval, self.spec.name)

    # -- edits ----------------------------------------------------------------------------
    def update(self, id: str, version: int | None = None, **changes: Any) -> Order:
        """Change an order being written (a draft, or one rejected or withdrawn).

        Raises:
            WorkflowError: it is pending or approved (locked; :meth:`revise` an approved
                one), or it is cancelled or superseded.
            ValidationError / ConcurrencyError / NotFound / PermissionDenied: as for every
                entity.
        """
        self.require("write")
        current = self.get(id)
        check_editable(current.approval, self.spec.name)
        self._check_live(current, "edit", "修改")
        return super().update(id, version, **changes)

    def revise(self, id: str, *, version: int | None = None, **changes: Any) -> Order:
        """A new revision of an approved order (``SO-2027-000001-V2``), a draft with its
        fields and ``changes``, to be submitted and approved in turn. The approved order
        stays in force until then; its approval supersedes it. The audit trail links
        them (``previous_id``).

        Raises:
            WorkflowError: the order is not approved (edit a draft; decide or withdraw a
                pending one), or a newer revision of it exists already.
            ValidationError: a wrong change.
        """
        self.require("create")
        current = self.get(id)
        self._check_version(current, version)
        if current.approval is not ApprovalStatus.APPROVED:
            raise self._refused(
                current,
                "revise",
                "修订",
                "only an approved order is revised",
                "只有已审批的订单才能修订",
            )
        self._check_live(current, "revise", "修订")
        if self._newer(current) is not None:
            raise self._refused(
                current, "revise", "修订", "a newer revision exists", "已有更新的修订版"
            )
        base = attrs.evolve(
            current,
            approval=ApprovalStatus.DRAFT,
            approval_id=None,
            submitted_at=None,
            approved_at=None,
        )
        draft = self.check_changes(base, **changes)
        return self.store_revision(current, draft)

    # -- approval -------------------------------------------------------------------------
    def submit(self, id: str, *, version: int | None = None) -> Order:
        """Start the order's approval chain (the CRM's policy by amount, plus a finance step
        when a credit-terms customer's open orders would pass their credit limit). With no
        chain, the order is approved at once.

        Raises:
            ValidationError: it has no lines.
            WorkflowError: it is pending or approved already, cancelled or superseded; or
                the customer's credit limit would be passed and the CRM refuses such orders
                (``Settings.credit_over_limit = "refuse"``).
        """
        s = self._s
        self.require("create")
        current = self.get(id)
        self._check_version(current, version)
        self._check_live(current, "submit", "提交审批")
        errors = FieldErrors()
        if not current.lines:
            errors.add("lines", "order.no_lines", None)
        errors.raise_if_any(self.spec.name)
        approval = s.approvals.start(
            DOCUMENT,
            current,
            amount=current.gross,
            status=current.approval,
            extra_steps=self._credit_steps(current),
        )
        now = approval.created_at
        updated: Order = self._stamped(
            current, now, approval=approval.status, approval_id=approval.id, submitted_at=now
        )
        self.save_change(current, updated)
        if approval.status is ApprovalStatus.APPROVED:
            return self.approval_decided(approval)
        return updated

    def withdraw(self, id: str, *, version: int | None = None) -> Order:
        """Take a pending order back from its approval (its submitter only); it can be
        edited and submitted again.

        Raises:
            PermissionDenied: the actor did not submit it.
            WorkflowError: it is not pending.
        """
        s = self._s
        self.require("write")
        current = self.get(id)
        self._check_version(current, version)
        if current.approval_id is None:
            raise self._refused(current, "withdraw", "撤回")
        s.approvals.withdraw(current.approval_id)
        updated: Order = self._stamped(current, s.now(), approval=ApprovalStatus.WITHDRAWN)
        self.save_change(current, updated)
        return updated

    def approval_state(self, id: str) -> tuple[int, str | None]:
        """The order's version and the approval it awaits (for ``session.approvals`` to
        refuse a decision on a stale revision); read in any scope."""
        found = self.repo.get(id)
        if found is None or found.deleted_at is not None:
            return 0, None
        return found.version, found.approval_id

    def approval_decided(self, approval: Approval) -> Order:
        """Apply a decided approval to its order: rejected back to its author; approved
        locked, an earlier revision superseded, reminders scheduled (``session.approvals``
        calls this; so does :meth:`submit` when no step is needed)."""
        s = self._s
        current = self.repo.get(approval.document_id)
        if current is None:
            raise WorkflowError(self.spec.name, "missing", "approve", move_zh="审批")
        now = s.now()
        changes: dict[str, Any] = {"approval": approval.status}
        if approval.status is ApprovalStatus.APPROVED:
            changes["approved_at"] = now
        updated: Order = self._stamped(current, now, **changes)
        self.save_change(current, updated)
        if approval.status is ApprovalStatus.APPROVED:
            s.publish(
                ev.OrderApproved(
                    actor_id=s.actor.id,
                    at=now,
                    entity_id=updated.id,
                    customer_id=updated.customer_id,
                    owner_id=updated.owner_id,
                    gross=str(updated.gross.amount),
                )
            )
            if updated.previous_id is not None:
                self._supersede(updated.previous_id)
            self._schedule_reminders(updated)
        return updated

    # -- money ----------------------------------------------------------------------------
    def adjust_cost(
        self, id: str, amount: Any, *, reason: Any, version: int | None = None
    ) -> Order:
        """成本微调: add ``amount`` (negative: take it off) to the order's cost, with a
        reason; the margin follows. Allowed on any order not cancelled or superseded,
        approved ones included (cost is not what the customer agreed to).

        Raises:
            PermissionDenied: the actor lacks ``order.adjust_cost``.
            ValidationError: a malformed amount, a zero one, or no reason.
        """
        s = self._s
        self.require("adjust_cost")
        current = self.get(id)
        self._check_version(current, version)
        self._check_live(current, "adjust the cost", "成本微调")
        if current.approval is ApprovalStatus.PENDING:  # the approvers judge this margin
            raise self._refused(current, "adjust the cost", "成本微调")
        errors = FieldErrors()
        parsed = _MONEY.parse(amount, errors, "amount")
        if parsed is not None and parsed.amount == 0:
            errors.add("amount", "number.positive", str(amount))
        text = parse_text(reason, errors, "reason", 500)
        if text is None and not any(e.field == "reason" for e in errors.errors):
            errors.add("reason", "required", None)
        errors.raise_if_any(self.spec.name)
        assert parsed is not None
        assert text is not None
        now = s.now()
        made = CostAdjustment(amount=parsed, reason=text, by=s.actor.id, at=now)
        total = current.cost_adjustment + parsed
        updated: Order = self._stamped(
            current,
            now,
            cost_adjustments=(*current.cost_adjustments, made),
            cost_adjustment=total,
            **margin_fields(current.net, current.cost, total),
        )
        self.save_change(current, updated)
        return updated

    # -- fulfilment -----------------------------------------------------------------------
    def plan_delivery(
        self,
        id: str,
        *,
        planned_on: Any,
        items: Any = None,
        region: Any = None,
        note: Any = None,
        version: int | None = None,
    ) -> Order:
        """Add a delivery to the plan (交付计划): ``items`` (``[{"line": 0, "quantity": 5}]``,
        default: everything not yet planned) on ``planned_on``, to ``region`` (default:
        the customer's). An approved order gets a reminder for it.

        Raises:
            ValidationError: an unknown line, a quantity beyond what is left to plan, a
                malformed date or region, nothing left to plan.
            WorkflowError: the order is pending, cancelled, superseded or complete.
        """
        s = self._s
        self.require("write")
        current = self.get(id)
        self._check_version(current, version)
        self._check_live(current, "plan a delivery", "安排交付")
        if current.approval is ApprovalStatus.PENDING or current.status is not OrderStatus.OPEN:
            raise self._refused(current, "plan a delivery", "安排交付")
        errors = FieldErrors()
        on = _DAY.parse(planned_on, errors, "planned_on")
        if on is None and not any(e.field == "planned_on" for e in errors.errors):
            errors.add("planned_on", "required", None)
        chosen = (
            parse_items(items, current.lines, errors) if items is not None else remaining(current)
        )
        if not chosen and not errors.errors:
            errors.add("items", "order.nothing_to_deliver", None)
        check_plan(current, chosen, errors)
        where = self._region(region, current.customer_id, errors)
        text = parse_text(note, errors, "note", 500)
        errors.raise_if_any(self.spec.name)
        assert on is not None
        delivery = Delivery(
            number=len(current.deliveries) + 1,
            planned_on=on,
            items=chosen,
            region=where,
            note=text,
        )
        updated: Order = self._stamped(current, s.now(), deliveries=(*current.deliveries, delivery))
        self.save_change(current, updated)
        if updated.approval is ApprovalStatus.APPROVED:
            self._remind(updated, Reminder.DELIVERY, on, str(delivery.number))
        return updated

    def deliver(self, id: str, number: int, *, on: Any = None, version: int | None = None) -> Order:
        """Record delivery ``number`` of the plan made (on ``on``, default today): its weight
        from the products' weights and its freight by the CRM's freight rule, added to the
        order's. Once every line is delivered the order is *delivered*.

        Raises:
            PermissionDenied: the actor lacks ``order.deliver``.
            ValidationError: no such planned delivery; by weight, a product without one.
            WorkflowError: the order is not approved, or not open.
        """
        s = self._s
        current = self._fulfilling(id, version, OrderStatus.DELIVERED, "deliver", "交付")
        errors = FieldErrors()
        when = _DAY.parse(on, errors, "on") if on is not None else s.today()
        found = [d for d in current.deliveries if d.number == number]
        if not found or found[0].status is not DeliveryState.PLANNED:
            errors.add("number", "order.delivery_unknown", number)
        errors.raise_if_any(self.spec.name)
        delivery = found[0]
        weight = self._weight(current, delivery)
        value = Money(
            sum(
                (
                    current.lines[i.line].gross.amount * i.quantity / current.lines[i.line].quantity
                    for i in delivery.items
                ),
                Decimal(0),
            ),
            current.currency,
        ).quantize()
        freight = Money(Decimal("0.00"), current.currency)
        rule = s.runtime.freight
        if rule is not None:
            try:
                freight = rule.charge(Shipment(weight=weight, region=delivery.region, value=value))
            except FreightError:
                errors.add("number", "order.weight_unknown", number)
                errors.raise_if_any(self.spec.name)
        done = attrs.evolve(
            delivery,
            status=DeliveryState.DELIVERED,
            delivered_on=when,
            weight=weight,
            freight=freight,
        )
        deliveries = tuple(done if d.number == number else d for d in current.deliveries)
        moved = attrs.evolve(current, deliveries=deliveries)
        status = OrderStatus.DELIVERED if moved.fully_delivered else current.status
        updated: Order = self._stamped(
            current,
            s.now(),
            deliveries=deliveries,
            freight=current.freight + freight,
            status=status,
        )
        self.save_change(current, updated)
        s.cancel_job(self._job_key(updated, Reminder.DELIVERY, str(number)))
        s.publish(
            ev.OrderDelivered(
                actor_id=s.actor.id,
                at=s.now(),
                entity_id=updated.id,
                customer_id=updated.customer_id,
                delivery=number,
                freight=str(freight.amount),
            )
        )
        return updated

    def sign_off(self, id: str, *, on: Any = None, version: int | None = None) -> Order:
        """The customer signed the order off (验收): it is complete.

        Raises:
            WorkflowError: it is not approved, or is cancelled or complete already.
        """
        s = self._s
        current = self._fulfilling(id, version, OrderStatus.COMPLETED, "sign off", "验收")
        errors = FieldErrors()
        when = _DAY.parse(on, errors, "on") if on is not None else s.today()
        errors.raise_if_any(self.spec.name)
        updated: Order = self._stamped(
            current, s.now(), status=OrderStatus.COMPLETED, signed_off_on=when
        )
        self.save_change(current, updated)
        if current.sign_off_due is not None:
            tag = current.sign_off_due.isoformat()
            s.cancel_job(self._job_key(updated, Reminder.SIGN_OFF, tag))
        return updated

    def cancel(self, id: str, *, reason: Any, version: int | None = None) -> Order:
        """Cancel an open order with a reason (an approved one needs ``order.cancel``); its
        pending reminders are dropped.

        Raises:
            WorkflowError: it is pending (withdraw it first), delivered, complete, cancelled
                or superseded.
            ValidationError: no reason.
        """
        s = self._s
        self.require("write")
        current = self.get(id)
        self._check_version(current, version)
        if current.approval is ApprovalStatus.APPROVED:
            self.require("cancel")
        if current.approval is ApprovalStatus.PENDING:
            raise self._refused(current, "cancel", "取消")
        ORDER_STATES.check(current.status, OrderStatus.CANCELLED, move="cancel", move_zh="取消")
        errors = FieldErrors()
        text = parse_text(reason, errors, "reason", 500)
        if text is None and not any(e.field == "reason" for e in errors.errors):
            errors.add("reason", "required", None)
        errors.raise_if_any(self.spec.name)
        updated: Order = self._stamped(
            current, s.now(), status=OrderStatus.CANCELLED, cancel_reason=text
        )
        self.save_change(current, updated)
        self._cancel_reminders(current)
        return updated

    def statistics(
        self,
        by: RankBy | str = RankBy.CUSTOMER,
        *,
        signed_from: Any = None,
        signed_to: Any = None,
        limit: int | None = None,
    ) -> builtins.list[OrderTotal]:
        """Approved orders the actor may see (revisions superseded and orders cancelled
        left out), ranked by their 价税合计: per customer (订单金额客户排名), per
        salesperson (签单统计), or by the customer's source, province or industry.

        Args:
            by: ``customer``, ``owner``, ``source``, ``region`` or ``industry``.
            signed_from / signed_to: the first and last signing dates counted (orders
                without a signing date then left out); None: no bound.
            limit: the first so many groups.

        Raises:
            ValidationError: an unknown grouping or a malformed date.
        """
        self.require("read")
        s = self._s
        errors = FieldErrors()
        try:
            rank = RankBy(by)
        except ValueError:
            errors.add("by", "invalid_choice", by, choices=", ".join(r.value for r in RankBy))
            rank = RankBy.CUSTOMER
        start = _DAY.parse(signed_from, errors, "signed_from") if signed_from else None
        end = _DAY.parse(signed_to, errors, "signed_to") if signed_to else None
        errors.raise_if_any(self.spec.name)
        filters = [
            Filter("approval", Op.EQ, ApprovalStatus.APPROVED),
            Filter("status", Op.IN, (*_LIVE, OrderStatus.COMPLETED)),
        ]
        if start is not None:
            filters.append(Filter("signed_on", Op.GE, start))
        if end is not None:
            filters.append(Filter("signed_on", Op.LE, end))
        field = "owner_id" if rank is RankBy.OWNER else "customer_id"
        rows = self.repo.aggregate(
            EntityQuery(filters=tuple(filters)),
            s.actor.scope,
            by=(Group(field), Group.currency("gross")),
            measures=(Measure.count(), Measure.sum("gross")),
        )
        attribute = _CUSTOMER_ATTRIBUTE.get(rank)
        keys: dict[str | None, str | None] = {}
        if attribute is not None:
            ids = sorted({row.key[0] for row in rows if row.key[0]})
            for customer in s._uow.customers.get_many(ids):
                value = getattr(customer, attribute)
                keys[customer.id] = value.province if isinstance(value, Region) else value
        counts: dict[str | None, int] = {}
        sums: dict[str | None, dict[str, Decimal]] = {}
        for row in rows:
            (id, currency), (count, total) = row.key, row.values
            key = keys.get(id) if attribute is not None else id
            counts[key] = counts.get(key, 0) + count
            per = sums.setdefault(key, {})
            per[currency] = per.get(currency, Decimal(0)) + total
        out = [OrderTotal(k, counts[k], money_totals(sums[k])) for k in counts]
        out.sort(key=lambda t: (-max((m.amount for m in t.amounts), default=0), str(t.key)))
        return out[:limit] if limit is not None else out

    def credit(self, customer_id: str) -> tuple[Money, Money | None]:
        """A customer's exposure (what they owe on receivables, less unapplied payments,
        plus their orders pending or approved and not yet receivables) and credit limit
        (None: not a credit-terms customer with a limit). ``session.receivables.balance``
        has the parts."""
        self.require("read")
        return self._exposure(customer_id, exclude=None), self._limit(customer_id)

    # -- helpers --------------------------------------------------------------------------
    def _newer(self, order: Order) -> Order | None:
        query = EntityQuery(filters=(Filter("order_number", Op.EQ, order.order_number),))
        later = [o for o in self.every(query, EVERYTHING) if o.revision > order.revision]
        return min(later, key=lambda o: o.revision) if later else None

    def _supersede(self, previous_id: str) -> None:
        before = self.repo.get(previous_id)
        if before is None or before.status in {OrderStatus.SUPERSEDED, OrderStatus.CANCELLED}:
            return
        self._cancel_reminders(before)
        self.save_change(
            before, self._stamped(before, self._s.now(), status=OrderStatus.SUPERSEDED)
        )

    def _limit(self, customer_id: str) -> Money | None:
        customer = self._s._uow.customers.get(customer_id)
        if customer is None or customer.settlement is not Settlement.CREDIT:
            return None
        return customer.credit_limit

    def _exposure(self, customer_id: str, *, exclude: Order | None) -> Money:
        """What the customer owes (open receivables less unapplied payments) plus their
        orders pending or approved and not finished that are not receivables yet, summed
        by the store (in CNY, the currency of credit limits), less ``exclude`` and the
        revision it replaces, whose amount the caller counts itself."""
        skip = tuple(i for i in (exclude.id, exclude.previous_id) if i) if exclude else ()
        owed = self._s.receivables.credit_of(customer_id, None, None, skip=skip)
        return owed.outstanding + owed.unplanned

    def unplanned(
        self, customer_id: str, planned: Mapping[str, Decimal], skip: Sequence[str] = ()
    ) -> Money:
        """Σ of the customer's orders pending or approved and not finished, less what of
        each is a receivable already (``planned``: order id -> Σ of its receivables), but
        for the orders in ``skip``."""
        query = EntityQuery(
            filters=(
                Filter("customer_id", Op.EQ, customer_id),
                Filter("approval", Op.IN, _EXPOSED),
                Filter("status", Op.IN, _LIVE),
            )
        )
        rows = self.repo.aggregate(
            query,
            EVERYTHING,
            by=(Group("id"), Group.currency("gross")),
            measures=(Measure.sum("gross"),),
        )
        total = Decimal(0)
        for row in rows:
            (id, currency), (gross,) = row.key, row.values
            if currency == CURRENCY and id not in skip:
                total += max(Decimal(0), gross - planned.get(id, Decimal(0)))
        return Money(total, CURRENCY).quantize()

    def _credit_steps(self, order: Order) -> tuple[Step, ...]:
        """A finance step when the order would take a credit-terms customer past their
        limit (cash customers are not checked); refused instead if the CRM says so."""
        limit = self._limit(order.customer_id)
        if limit is None:
            return ()
        exposure = self._exposure(order.customer_id, exclude=order) + order.gross
        if exposure.amount <= limit.amount:
            return ()
        if self._s.runtime.settings.credit_over_limit == "refuse":
            raise WorkflowError(
                self.spec.name,
                order.approval.value,
                "submit",
                move_zh="提交审批",
                reason=f"the customer's open orders ({exposure.amount}) would pass their "
                f"credit limit ({limit.amount})",
                reason_zh=f"客户未完成订单金额 {exposure.amount} 将超过信用额度 {limit.amount}",
            )
        return (CREDIT_STEP,)

    def _weight(self, order: Order, delivery: Delivery) -> Decimal | None:
        s = self._s
        ids = sorted({order.lines[i.line].product_id or "" for i in delivery.items} - {""})
        products = {p.id: p for p in s._uow.repo(PRODUCTS).get_many(ids)} if ids else {}
        total = Decimal(0)
        for item in delivery.items:
            product = products.get(order.lines[item.line].product_id or "")
            if product is None or product.weight is None:
                return None
            total += product.weight * item.quantity
        return total

    def _region(self, raw: Any, customer_id: str, errors: FieldErrors) -> Region | None:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            customer = self._s._uow.customers.get(customer_id)
            return customer.region if customer is not None else None
        if isinstance(raw, Region):
            return raw
        try:
            return Region.parse(str(raw))
        except ValidationError as exc:
            errors.extend(exc.errors)
            return None

    def _fulfilling(
        self, id: str, version: int | None, target: OrderStatus, move: str, move_zh: str
    ) -> Order:
        """The order a fulfilment move (deliver, sign off) goes from: approved, and in a
        state that moves to ``target``."""
        self.require("deliver")
        current = self.get(id)
        self._check_version(current, version)
        if current.approval is not ApprovalStatus.APPROVED:
            raise self._refused(
                current, move, move_zh, "the order is not approved yet", "订单尚未审批通过"
            )
        ORDER_STATES.check(current.status, target, move=move, move_zh=move_zh)
        return current

    def _check_live(self, order: Order, move: str, move_zh: str) -> None:
        if order.status in {OrderStatus.CANCELLED, OrderStatus.SUPERSEDED}:
            raise WorkflowError(
                self.spec.name,
                order.status.value,
                move,
                state_zh=ORDER_STATES.labels_zh.get(order.status),
                move_zh=move_zh,
            )

    def _refused(
        self,
        order: Order,
        move: str,
        move_zh: str,
        reason: str = "",
        reason_zh: str = "",
    ) -> WorkflowError:
        return WorkflowError(
            self.spec.name,
            order.approval.value,
            move,
            state_zh=DOCUMENT_STATES.labels_zh.get(order.approval),
            move_zh=move_zh,
            reason=reason,
            reason_zh=reason_zh,
        )

    # -- reminders ------------------------------------------------------------------------
    def _reminders(self, order: Order) -> builtins.list[tuple[Reminder, date, str]]:
        out = [
            (Reminder.DELIVERY, d.planned_on, str(d.number))
            for d in order.deliveries
            if d.status is DeliveryState.PLANNED
        ]
        for kind, when in (
            (Reminder.SIGN_OFF, order.sign_off_due),
            (Reminder.RENEWAL, order.renewal_on),
            (Reminder.WARRANTY, order.warranty_until),
        ):
            if when is not None:
                out.append((kind, when, when.isoformat()))
        return out

    def _schedule_reminders(self, order: Order) -> None:
        for kind, when, tag in self._reminders(order):
            self._remind(order, kind, when, tag)

    def _cancel_reminders(self, order: Order) -> None:
        for kind, _when, tag in self._reminders(order):
            self._s.cancel_job(self._job_key(order, kind, tag))

    def _job_key(self, order: Order, kind: Reminder, tag: str) -> str:
        return f"{REMINDER_JOB}:{order.id}:{kind.value}:{tag}"

    def _remind(self, order: Order, kind: Reminder, when: date, tag: str) -> None:
        """A due job at 09:00 (the CRM's time zone) ``reminder_days_before`` days before
        ``when`` (at once if that has passed)."""
        s = self._s
        settings = s.runtime.settings
        zone = ZoneInfo(settings.timezone)
        day = when - timedelta(days=settings.reminder_days_before)
        due = datetime.combine(day, time(9, 0), tzinfo=zone)
        s.schedule(
            REMINDER_JOB,
            max(due, s.now()),
            {"order_id": order.id, "kind": kind.value, "on": when.isoformat(), "tag": tag},
            key=self._job_key(order, kind, tag),
        )


def remind(session: Any, job: Any) -> None:
    """The ``order.reminder`` job: tell the order's salesperson, by email and SMS where
    they have them (through the outbox), unless the order no longer needs it (cancelled,
    superseded, the delivery made, the date moved)."""
    payload = job.payload
    order: Order | None = session._uow.repo(ORDERS).get(payload["order_id"])
    if order is None or order.deleted_at is not None:
        return
    if order.status in {OrderStatus.CANCELLED, OrderStatus.SUPERSEDED}:
        return
    service = session.orders
    wanted = {(kind.value, tag): when.isoformat() for kind, when, tag in service._reminders(order)}
    if wanted.get((payload["kind"], payload["tag"])) != payload["on"]:
        return
    body = {
        "template": REMINDER_JOB,
        "kind": payload["kind"],
        "order_id": order.id,
        "order": order.label,
        "on": payload["on"],
    }
    session.notify_user(order.owner_id, body, key=f"{job.key}:{payload['on']}")


JOB_HANDLERS: Final[Mapping[str, JobHandler]] = {REMINDER_JOB: remind}
"""The due jobs orders schedule, registered on every CRM (``crm.on_job`` replaces them)."""

_MONEY: Final = f.money("amount", negative=True)
# The customer attribute an order statistic groups by.
_CUSTOMER_ATTRIBUTE: Final = {
    RankBy.SOURCE: "source",
    RankBy.REGION: "region",
    RankBy.INDUSTRY: "industry",
}
_DAY: Final = f.day("on")
