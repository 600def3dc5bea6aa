"""Quotes on the kernel: ``session.quotes`` (报价单).

:class:`EntityService` gives quotes their lifecycle (permissions ``quote.*``, the customer's
data scope, validation, versions, audit, events, the recycle bin, document numbers
``QT-2026-000123``). This module adds the lines (defaults from the product catalogue,
priced by :mod:`crmkit.domain.pricing` on every write, totals stored), the moves *send*,
*accept*, *reject* and *expire* (:data:`~crmkit.domain.quote.QUOTE_STATES`), revisions of
a quote that has been sent, and lines read from a spreadsheet.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

import attrs

from crmkit.domain.common import parse_text
from crmkit.domain.errors import FieldErrors, WorkflowError
from crmkit.domain.fields import InputField
from crmkit.domain.order import Order
from crmkit.domain.quote import (
    DEFAULT_VALIDITY_DAYS,
    QUOTE_FIELDS,
    QUOTE_STATES,
    Quote,
    QuoteStatus,
)
from crmkit.storage.catalog import OPPORTUNITIES, QUOTES
from crmkit.storage.ports import EntityQuery
from crmkit.storage.spec import Filter, Op
from crmkit.workflows.lines import SalesDocumentService


class QuoteService(SalesDocumentService[Quote]):
    """``session.quotes``: priced offers to customers.

    ``create(customer_id=, lines=[…], …)``: the owner defaults to the actor, the validity to
    30 days, ``prices_include_tax`` to True. A line names a product (``product_id``) and/or
    says itself what is sold: ``name``, ``specification``, ``unit``, ``quantity``,
    ``unit_price``, ``discount``, ``tax_rate``, ``unit_cost``; what it leaves out comes from
    the product. Only a draft is edited (``update``); a sent quote is :meth:`revise` d.

    ``list`` filters: ``customer_id``, ``opportunity_id``, ``owner_id``, ``status``,
    ``quote_number``, ``valid_until`` (with ``__ge``/``__lt`` … ranges).
    """

    spec = QUOTES
    number_field = "quote_number"
    fields: ClassVar[tuple[InputField, ...]] = QUOTE_FIELDS
    custom = True

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self._revising = False

    # -- the kernel's hooks ---------------------------------------------------------------
    def check_references(
        self, data: Mapping[str, Any], errors: FieldErrors, current: Quote | None
    ) -> None:
        """Every rule on the input, reported with the parsing errors: a customer the actor
        sees, an opportunity of that customer, an active owner, lines whose products are
        live and visible and whose values pricing accepts."""
        s = self._s
        customer_id = data.get("customer_id") or (current.customer_id if current else None)
        if current is None and data.get("customer_id") is not None:
            self.check_customer(data.get("customer_id"), errors, "quote.customer_unseen")
        opp_id = data.get("opportunity_id")
        if opp_id is not None and (current is None or opp_id != current.opportunity_id):
            opp = s._uow.repo(OPPORTUNITIES).get(opp_id, s.actor.scope)
            if opp is None or opp.deleted_at is not None:
                errors.add("opportunity_id", "not_found_ref", opp_id)
            elif opp.customer_id != customer_id:
                errors.add("opportunity_id", "quote.opportunity_customer", opp_id)
        self.check_owner(data, current, errors)
        if current is not None:
            for name in ("valid_until", "prices_include_tax"):
                if name in data and data[name] is None:
                    errors.add(name, "required", None)
        # A new quote (or a new revision) does not offer what has already run out.
        until = data.get("valid_until") or (current.valid_until if current else None)
        fresh = current is None or self._revising or until != current.valid_until
        if until is not None and fresh and until < s.today():
            errors.add("valid_until", "date.past", until.isoformat())
        self.check_lines(data, current, errors)

    def prepare(
        self,
        raw: Mapping[str, Any],  # noqa: ARG002  (the hook's signature)
        data: dict[str, Any],
        errors: FieldErrors,  # noqa: ARG002
        current: Quote | None = None,
    ) -> dict[str, Any]:
        s = self._s
        out = dict(data)
        if current is None:
            out["owner_id"] = data.get("owner_id") or s.actor.id
            if out.get("valid_until") is None:
                out["valid_until"] = s.today() + timedelta(days=DEFAULT_VALIDITY_DAYS)
        self.priced_fields(data, current, out)
        return out

    # -- edits ----------------------------------------------------------------------------
    def update(self, id: str, version: int | None = None, **changes: Any) -> Quote:
        """Change a draft quote (lines are replaced whole when given; totals are priced
        again).

        Raises:
            WorkflowError: the quote is no longer a draft (:meth:`revise` it instead).
            ValidationError / ConcurrencyError / NotFound / PermissionDenied: as for every
                entity.
        """
        self.require("write")
        current = self.get(id)
        if current.status is not QuoteStatus.DRAFT:
            raise self._refused(current.status, "edit", "修改")
        return super().update(id, version, **changes)

    def revise(self, id: str, *, version: int | None = None, **changes: Any) -> Quote:
        """A new revision of a sent, rejected or expired quote: a draft with the same quote
        number and the next revision counter (``QT-2026-000001 第2版``, number
        ``QT-2026-000001-V2``), its fields those of ``id`` with ``changes``. The earlier
        revision is kept as it was, marked superseded.

        Raises:
            WorkflowError: the quote is a draft (edit it), accepted, or superseded already.
            ValidationError: a wrong change, or a validity date in the past.
        """
        s = self._s
        self.require("create")
        self.require("write")
        current = self.get(id)
        self._check_version(current, version)
        QUOTE_STATES.check(current.status, QuoteStatus.SUPERSEDED, move="revise", move_zh="修订")
        now = s.now()
        base = attrs.evolve(
            current, status=QuoteStatus.DRAFT, sent_at=None, decided_on=None, decision_note=None
        )
        self._revising = True
        try:
            draft = self.check_changes(base, **changes)
        finally:
            self._revising = False
        new = self.store_revision(current, draft)
        self.save_change(current, self._stamped(current, now, status=QuoteStatus.SUPERSEDED))
        return new

    def to_order(self, id: str, **overrides: Any) -> Order:
        """报价记录转订单: a draft order with this quote's customer, opportunity, owner,
        prices and lines (``overrides`` change any order field: ``signed_on``,
        ``delivery_due`` …). The quote is marked accepted (a draft is sent and accepted).

        Raises:
            WorkflowError: the quote was rejected, expired or superseded, or an order that
                is not cancelled was made from it already.
            ValidationError: the order refuses a field (a product no longer offered …).
            PermissionDenied: the actor may not create orders.
        """
        s = self._s
        self.require("write")
        quote = self.get(id)
        if quote.status not in {QuoteStatus.DRAFT, QuoteStatus.SENT, QuoteStatus.ACCEPTED}:
            raise self._refused(quote.status, "make an order of", "转订单")
        made = s.orders.list(quote_id=quote.id, status__ne="cancelled", limit=1)
        if made.items:
            raise WorkflowError(
                self.spec.name,
                quote.status.value,
                "make an order of",
                state_zh=QUOTE_STATES.labels_zh.get(quote.status),
                move_zh="转订单",
                reason=f"order {made.items[0].number} was made from it already",
                reason_zh=f"已转为订单 {made.items[0].number}",
            )
        fields: dict[str, Any] = {
            "customer_id": quote.customer_id,
            "quote_id": quote.id,
            "opportunity_id": quote.opportunity_id,
            "owner_id": quote.owner_id,
            "prices_include_tax": quote.prices_include_tax,
            "lines": list(quote.lines),
            "remarks": quote.remarks,
            **overrides,
        }
        order = s.orders.create(**fields)
        if quote.status is QuoteStatus.DRAFT:
            quote = self._move(quote, QuoteStatus.SENT, sent_at=s.now())
        if quote.status is QuoteStatus.SENT:
            self._move(quote, QuoteStatus.ACCEPTED, decided_on=s.today())
        return order

    # -- moves ----------------------------------------------------------------------------
    def send(self, id: str, *, version: int | None = None) -> Quote:
        """Mark a draft sent to the customer: from now on it is revised, not edited.

        Raises:
            ValidationError: it has no lines, or its validity date has passed.
            WorkflowError: it is not a draft.
        """
        current = self._moving(id, version, QuoteStatus.SENT, "send", "发送")
        errors = FieldErrors()
        if not current.lines:
            errors.add("lines", "quote.no_lines", None)
        if current.valid_until < self._s.today():
            errors.add("valid_until", "date.past", current.valid_until.isoformat())
        errors.raise_if_any(self.spec.name)
        return self._move(current, QuoteStatus.SENT, sent_at=self._s.now())

    def accept(self, id: str, *, version: int | None = None, note: Any = None) -> Quote:
        """The customer accepted the sent quote (an order is made from it later).

        Raises:
            WorkflowError: it is not sent (or a later revision replaced it).
        """
        current = self._moving(id, version, QuoteStatus.ACCEPTED, "accept", "接受")
        return self._decide(current, QuoteStatus.ACCEPTED, note)

    def reject(self, id: str, *, version: int | None = None, reason: Any = None) -> Quote:
        """The customer turned the sent quote down (``reason``: why, if known)."""
        current = self._moving(id, version, QuoteStatus.REJECTED, "reject", "拒绝")
        return self._decide(current, QuoteStatus.REJECTED, reason)

    def expire(self, id: str, *, version: int | None = None) -> Quote:
        """Mark a sent quote expired (its offer no longer holds)."""
        current = self._moving(id, version, QuoteStatus.EXPIRED, "expire", "过期")
        return self._move(current, QuoteStatus.EXPIRED, decided_on=self._s.today())

    def expire_overdue(self) -> int:
        """Mark expired every sent quote in the actor's scope whose validity date has
        passed; returns how many."""
        self.require("write")
        today = self._s.today()
        query = EntityQuery(
            filters=(
                Filter("status", Op.EQ, QuoteStatus.SENT),
                Filter("valid_until", Op.LT, today),
            )
        )
        due = self.every(query)
        for quote in due:
            self._move(quote, QuoteStatus.EXPIRED, decided_on=today)
        return len(due)

    # -- helpers --------------------------------------------------------------------------
    def _refused(self, state: QuoteStatus, move: str, move_zh: str) -> WorkflowError:
        return WorkflowError(
            self.spec.name,
            state.value,
            move,
            state_zh=QUOTE_STATES.labels_zh.get(state),
            move_zh=move_zh,
        )

    def _moving(
        self, id: str, version: int | None, target: QuoteStatus, move: str, move_zh: str
    ) -> Quote:
        self.require("write")
        current = self.get(id)
        self._check_version(current, version)
        QUOTE_STATES.check(current.status, target, move=move, move_zh=move_zh)
        return current

    def _decide(self, current: Quote, target: QuoteStatus, note: Any) -> Quote:
        errors = FieldErrors()
        text = parse_text(note, errors, "decision_note", 500)
        errors.raise_if_any(self.spec.name)
        return self._move(current, target, decided_on=self._s.today(), decision_note=text)

    def _move(self, current: Quote, target: QuoteStatus, **changes: Any) -> Quote:
        updated: Quote = self._stamped(current, self._s.now(), status=target, **changes)
        self.save_change(current, updated)
        return updated
