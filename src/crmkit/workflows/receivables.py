"""Receivables on the kernel: ``session.receivables`` (应收款).

:meth:`ReceivableService.plan` turns an approved order's total into receivables, one per
instalment of a payment plan (回款计划), by :func:`crmkit.domain.receivables.plan`'s rule
(every share but the last rounded down to the fen, the last absorbing the rounding), so
that they sum exactly to the order's 价税合计. :meth:`ReceivableService.aging` puts the
open balances the actor may see into 账龄 buckets at a date. Receivables are never created,
edited or deleted one by one: payments, allocations and write-offs (to come) change their
balances.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, ClassVar

from crmkit.domain.approvals import ApprovalStatus
from crmkit.domain.errors import FieldErrors
from crmkit.domain.fields import InputField
from crmkit.domain.order import OrderStatus
from crmkit.domain.receivable import LIVE, RECEIVABLE_FIELDS, Receivable, ReceivableStatus
from crmkit.domain.receivables import Bucket, aging, plan
from crmkit.domain.values import Money
from crmkit.storage.catalog import RECEIVABLES
from crmkit.storage.ports import EntityQuery
from crmkit.storage.spec import Filter, Op
from crmkit.workflows.entity import EntityService

_PLAN_ONLY = (
    "receivables come from an order's payment plan",
    "应收款由订单的回款计划生成",
)


class ReceivableService(EntityService[Receivable]):
    """``session.receivables``: what customers owe, by instalment.

    Permissions: ``receivable.read`` (everyone, in the customer's scope),
    ``receivable.create`` (making a plan: sales staff and finance).
    """

    spec = RECEIVABLES
    fields: ClassVar[tuple[InputField, ...]] = RECEIVABLE_FIELDS

    def prepare(
        self,
        raw: Mapping[str, Any],  # noqa: ARG002  (the hook's signature)
        data: dict[str, Any],
        errors: FieldErrors,  # noqa: ARG002
        current: Receivable | None = None,
    ) -> dict[str, Any]:
        out = dict(data)
        if current is None:
            out["balance"] = data["amount"]
        return out

    def create(self, **fields: Any) -> Receivable:  # noqa: ARG002
        """Receivables come from :meth:`plan`."""
        raise self.refusal("create", "新建", _PLAN_ONLY)

    def update(self, id: str, version: int | None = None, **changes: Any) -> Receivable:  # noqa: ARG002
        """Balances change through payments and write-offs, never by hand."""
        raise self.refusal("edit", "修改", _PLAN_ONLY)

    def delete(self, id: str, version: int | None = None) -> None:  # noqa: ARG002
        """Financial records are kept; a correction is a new entry."""
        raise self.refusal("delete", "删除", _PLAN_ONLY)

    def plan(self, order_id: str, parts: Sequence[tuple[Any, Any]]) -> builtins.list[Receivable]:
        """回款计划转应收款: one receivable per instalment of ``parts`` (``(due, "30%")`` or
        ``(due, "35000.00")``) of the approved order ``order_id``'s total, owned by its
        salesperson.

        Raises:
            WorkflowError: the order is not approved, is cancelled or superseded, or has a
                plan already.
            ValidationError: a wrong part (``instalments[1].due`` …), parts that do not
                make the total.
            NotFound: the actor may not see the order.
        """
        s = self._s
        self.require("create")
        order = s.orders.get(order_id)
        if order.approval is not ApprovalStatus.APPROVED or order.status in {
            OrderStatus.CANCELLED,
            OrderStatus.SUPERSEDED,
        }:
            raise self.refusal(
                "plan", "生成回款计划", ("the order is not approved", "订单尚未审批通过")
            )
        if self.for_order(order_id):
            raise self.refusal(
                "plan", "生成回款计划", ("the order has a plan already", "该订单已有回款计划")
            )
        made = []
        for number, instalment in enumerate(plan(order.gross, parts), start=1):
            made.append(
                super().create(
                    customer_id=order.customer_id,
                    order_id=order.id,
                    owner_id=order.owner_id,
                    instalment=number,
                    amount=instalment.amount,
                    due=instalment.due,
                )
            )
        return made

    def for_order(self, order_id: str) -> builtins.list[Receivable]:
        """The order's live receivables, by instalment."""
        self.require("read")
        query = EntityQuery(
            filters=(Filter("order_id", Op.EQ, order_id), Filter("status", Op.IN, tuple(LIVE)))
        )
        found = self.every(query)
        return sorted(found, key=lambda r: r.instalment)

    def aging(self, *, as_of: date | None = None) -> dict[Bucket, Money]:
        """账龄: the open balances the actor may see, by days overdue at ``as_of`` (default
        today): not due, 1–30, 31–60, 61–90, over 90."""
        self.require("read")
        when = as_of or self._s.today()
        open_ = (ReceivableStatus.OPEN, ReceivableStatus.PARTLY_PAID)
        query = EntityQuery(filters=(Filter("status", Op.IN, open_),))
        return dict(aging(((r.due, r.balance) for r in self.every(query)), when))
