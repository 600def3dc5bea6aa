"""Repairs on the kernel: ``session.repairs`` (维修接单, 维修配件更换, 工单打印).

A repair order records a customer's product (from the catalogue) and serial number, the
fault reported, the technician and what they found, the parts replaced (catalogue products
with quantities, priced at the product's price unless told) and the labour. Its charge is
parts plus labour, nothing under warranty (保修), and is kept by every write. It moves
through :data:`~crmkit.domain.repair.REPAIR_MACHINE` by :meth:`RepairService.diagnose`,
:meth:`~RepairService.start`, :meth:`~RepairService.finish`, :meth:`~RepairService.deliver`
and :meth:`~RepairService.cancel`; it is edited (parts, labour …) until it is done.

A done repair with a charge may be raised as a receivable (:meth:`RepairService.raise_receivable`),
which payments then settle like any other. :meth:`RepairService.work_order` gives the
printable work order (维修工单) with every value ready to show; :meth:`RepairService.parts_used`
counts the parts used per product.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Final
from zoneinfo import ZoneInfo

import attrs

from crmkit.domain import display
from crmkit.domain import fields as f
from crmkit.domain.common import is_blank, parse_period
from crmkit.domain.errors import FieldErrors, NotFound, WorkflowError
from crmkit.domain.fields import InputField
from crmkit.domain.messages import Language, active_language
from crmkit.domain.product import Product
from crmkit.domain.receivable import Receivable
from crmkit.domain.repair import (
    REPAIR_FIELDS,
    REPAIR_MACHINE,
    Repair,
    RepairPart,
    RepairStatus,
    charge_of,
)
from crmkit.domain.ticket import TicketType
from crmkit.domain.values import Money
from crmkit.storage.catalog import PRODUCTS, REPAIRS, TICKETS
from crmkit.storage.ports import EntityQuery
from crmkit.storage.spec import Filter, Op
from crmkit.workflows.entity import EntityService
from crmkit.workflows.session import new_id

_R = RepairStatus
# What may still be edited (parts, labour, diagnosis …): a repair not yet done.
_EDITABLE: Final = frozenset({_R.RECEIVED, _R.DIAGNOSING, _R.REPAIRING})
_PART_PRODUCT: Final = f.ref("product_id", required=True)
_PART_QUANTITY: Final = f.quantity("quantity", required=True)
_PART_PRICE: Final = f.money("unit_price")
_PART_KEYS: Final = frozenset({"product_id", "quantity", "unit_price"})
_DUE: Final = f.day("due")


@attrs.frozen
class PartUsage:
    """How many of one product were used as parts (:meth:`RepairService.parts_used`), in
    how many repairs."""

    product_id: str
    name: str
    quantity: Decimal
    repairs: int


@attrs.frozen
class WorkOrderLine:
    """A part on a work order, every value as shown."""

    name: str
    quantity: str
    unit_price: str
    amount: str


@attrs.frozen
class WorkOrder:
    """A repair's printable work order (维修工单): every value already shown in the
    language it was made for (money with its currency, labels, local times), for a
    template to lay out as it is."""

    lang: Language
    number: str
    status: str
    customer: str
    contact: str
    contact_phone: str
    product: str
    serial_number: str
    fault: str
    diagnosis: str
    technician: str
    warranty: str
    parts: tuple[WorkOrderLine, ...]
    parts_total: str
    labour: str
    charge: str
    charge_in_words: str
    received_at: str
    done_at: str
    delivered_at: str
    printed_at: str


class RepairService(EntityService[Repair]):
    """``session.repairs``: repair orders (维修单).

    ``create(customer_id=, fault=, product_id=…, serial_number=…, contact_id=…,
    technician_id=…, warranty=False, labour="80.00", parts=[{"product_id": …,
    "quantity": 2}])``. Permissions ``repair.*``: service staff, managers and admins
    write; everyone reads in the customer's scope; ``repair.raise_receivable`` (service
    staff, finance, managers and admins) raises a charge as a receivable.
    """

    spec = REPAIRS
    fields: ClassVar[tuple[InputField, ...]] = REPAIR_FIELDS

    # -- the kernel's hooks ---------------------------------------------------------------
    def _extra_keys(self) -> frozenset[str]:
        return frozenset({"parts"})

    def parse_extra(
        self,
        raw: Mapping[str, Any],
        data: Mapping[str, Any],  # noqa: ARG002  (the hook's signature)
        errors: FieldErrors,
        current: Repair | None,  # noqa: ARG002
    ) -> dict[str, Any]:
        if "parts" not in raw:
            return {}
        return {"parts": self._parts(raw["parts"], errors)}

    def _parts(self, raw: Any, errors: FieldErrors) -> tuple[RepairPart, ...]:
        """The parts of ``raw`` (a list of mappings), every wrong one named by its number
        from 1: ``parts.2.quantity``."""
        if raw is None:
            return ()
        if isinstance(raw, str | bytes | Mapping) or not hasattr(raw, "__iter__"):
            errors.add("parts", "invalid_type", raw, expected="list")
            return ()
        out: list[RepairPart] = []
        products = self._s._uow.repo(PRODUCTS)
        for n, item in enumerate(raw, start=1):
            path = f"parts.{n}"
            if isinstance(item, RepairPart):
                item = {
                    "product_id": item.product_id,
                    "quantity": item.quantity,
                    "unit_price": item.unit_price,
                }
            if not isinstance(item, Mapping):
                errors.add(path, "invalid_type", item, expected="mapping")
                continue
            for key in item:
                if key not in _PART_KEYS:
                    errors.add(f"{path}.{key}", "unknown_field", item[key])
            product_id = _PART_PRODUCT.parse(item.get("product_id"), errors, f"{path}.product_id")
            quantity = _PART_QUANTITY.parse(item.get("quantity"), errors, f"{path}.quantity")
            price = _PART_PRICE.parse(item.get("unit_price"), errors, f"{path}.unit_price")
            wrong = {e.field for e in errors.errors}
            for key, value in (("product_id", product_id), ("quantity", quantity)):
                if value is None and f"{path}.{key}" not in wrong:
                    errors.add(f"{path}.{key}", "required", None)
            product: Product | None = None
            if product_id is not None:
                product = products.get(product_id)
                if product is None or product.deleted_at is not None:
                    errors.add(f"{path}.product_id", "not_found_ref", product_id)
                    product = None
                elif not product.active:
                    errors.add(f"{path}.product_id", "repair.product_inactive", product_id)
            if price is None and product is not None:
                price = product.price
                if price is None and f"{path}.unit_price" not in wrong:
                    errors.add(f"{path}.unit_price", "repair.no_price", None)
            if product is None or quantity is None or price is None:
                continue
            out.append(
                RepairPart(
                    id=new_id(),
                    product_id=product.id,
                    name=product.name,
                    quantity=quantity,
                    unit_price=price,
                )
            )
        return tuple(out)

    def check_references(
        self, data: Mapping[str, Any], errors: FieldErrors, current: Repair | None
    ) -> None:
        s = self._s
        customer_id = data.get("customer_id") or (current.customer_id if current else None)
        if current is None:
            self.check_customer(data.get("customer_id"), errors, "not_found_ref")
            ticket_id = data.get("ticket_id")
            if ticket_id:
                ticket = s._uow.repo(TICKETS).get(ticket_id, s.actor.scope)
                if ticket is None or ticket.deleted_at is not None:
                    errors.add("ticket_id", "not_found_ref", ticket_id)
                elif ticket.customer_id != customer_id:
                    errors.add("ticket_id", "repair.other_customer", ticket_id)
        contact_id = data.get("contact_id")
        if contact_id and (current is None or contact_id != current.contact_id):
            contact = s._uow.contacts.get(contact_id)
            if contact is None or contact.deleted_at is not None:
                errors.add("contact_id", "not_found_ref", contact_id)
            elif contact.customer_id != customer_id:
                errors.add("contact_id", "repair.other_customer", contact_id)
        product_id = data.get("product_id")
        if product_id and (current is None or product_id != current.product_id):
            product = s._uow.repo(PRODUCTS).get(product_id)
            if product is None or product.deleted_at is not None:
                errors.add("product_id", "not_found_ref", product_id)
        technician = data.get("technician_id")
        if technician and (current is None or technician != current.technician_id):
            user = s.user(technician)
            if user is None or user.is_deleted:
                errors.add("technician_id", "not_found_ref", technician)
            elif not user.active:
                errors.add("technician_id", "customer.owner_inactive", technician)

    def prepare(
        self,
        raw: Mapping[str, Any],  # noqa: ARG002  (the hook's signature)
        data: dict[str, Any],
        errors: FieldErrors,  # noqa: ARG002
        current: Repair | None = None,
    ) -> dict[str, Any]:
        out = dict(data)
        if current is None:
            out["received_at"] = self._s.now()
        if "product_id" in out:
            product = self._s._uow.repo(PRODUCTS).get(out["product_id"] or "")
            out["product_name"] = product.name if product is not None else None
        if "warranty" in out and out["warranty"] is None:
            out["warranty"] = False
        parts = out.get("parts", current.parts if current else ())
        labour = out.get("labour", current.labour if current else None)
        warranty = out.get("warranty", current.warranty if current else False)
        out["charge"] = charge_of(parts, labour, warranty=bool(warranty))
        return out

    def update(self, id: str, version: int | None = None, **changes: Any) -> Repair:
        """Change a repair not yet done (parts, labour, diagnosis, technician …).

        Raises:
            WorkflowError: it is done, delivered or cancelled.
            ValidationError / ConcurrencyError / NotFound / PermissionDenied: as for every
                entity.
        """
        self.require("write")
        current = self.get(id)
        if current.status not in _EDITABLE:
            raise _refused(current, "edit", "修改", ("it is finished", "维修单已完工或已取消"))
        return super().update(id, version, **changes)

    # -- intake ---------------------------------------------------------------------------
    def from_ticket(self, ticket_id: str, **fields: Any) -> Repair:
        """维修接单 from a repair ticket: its customer, contact and product, and its
        description (else subject) as the fault, unless ``fields`` give others.

        Raises:
            NotFound: the actor may not see the ticket.
            ValidationError: the ticket is not a repair ticket, or a wrong field.
        """
        s = self._s
        self.require("create")
        ticket = s._uow.repo(TICKETS).get(ticket_id, s.actor.scope)
        if ticket is None or ticket.deleted_at is not None:
            raise NotFound("ticket", ticket_id)
        if ticket.type is not TicketType.REPAIR:
            errors = FieldErrors()
            errors.add("ticket_id", "repair.not_a_repair_ticket", ticket_id)
            errors.raise_if_any(self.spec.name)
        given = {k: v for k, v in fields.items() if k not in {"customer_id", "ticket_id"}}
        given.setdefault("fault", ticket.description or ticket.subject)
        if ticket.contact_id:
            given.setdefault("contact_id", ticket.contact_id)
        if ticket.product_id:
            given.setdefault("product_id", ticket.product_id)
        return self.insert({**given, "customer_id": ticket.customer_id, "ticket_id": ticket.id})

    def set_parts(self, id: str, parts: Any, *, version: int | None = None) -> Repair:
        """维修配件更换: put ``parts`` (``[{"product_id": …, "quantity": 2, "unit_price":
        "35.00"}]``; the price defaults to the product's) in place of the repair's parts;
        the charge follows.

        Raises:
            ValidationError: every wrong part, named by its number (``parts.2.quantity``).
            WorkflowError: the repair is done, delivered or cancelled.
        """
        return self.update(id, version, parts=parts)

    # -- moves ----------------------------------------------------------------------------
    def diagnose(
        self, id: str, *, technician_id: str | None = None, version: int | None = None
    ) -> Repair:
        """Start checking the product (检测中), by ``technician_id`` (default: the one set,
        else the actor).

        Raises:
            WorkflowError: the repair is past receiving.
            ValidationError: an unknown or inactive technician.
        """
        current = self.writable(id, version)
        status = REPAIR_MACHINE.check(current.status, _R.DIAGNOSING, move="diagnose")
        who = technician_id or current.technician_id or self._s.actor.id
        if who != current.technician_id:
            errors = FieldErrors()
            self.check_references({"technician_id": who}, errors, current)
            errors.raise_if_any(self.spec.name)
        return self.save_changes(current, status=status, technician_id=who)

    def start(self, id: str, *, diagnosis: Any = None, version: int | None = None) -> Repair:
        """Start repairing (维修中), with what was found; a done repair goes back to it
        (rework) unless its charge has been raised as a receivable.

        Raises:
            WorkflowError: the move is not allowed from its state.
        """
        current = self.writable(id, version)
        status = REPAIR_MACHINE.check(current.status, _R.REPAIRING, move="start")
        if current.receivable_id is not None:
            raise _refused(current, "start", "维修", _CHARGED)
        changes: dict[str, Any] = {"status": status, "done_at": None}
        if not is_blank(diagnosis):
            changes["diagnosis"] = self.required_text("diagnosis", diagnosis, 2000)
        if current.technician_id is None:
            changes["technician_id"] = self._s.actor.id
        return self.save_changes(current, **changes)

    def finish(self, id: str, *, diagnosis: Any = None, version: int | None = None) -> Repair:
        """Mark the repair done (已修复).

        Raises:
            WorkflowError: the move is not allowed from its state.
        """
        current = self.writable(id, version)
        status = REPAIR_MACHINE.check(current.status, _R.DONE, move="finish", move_zh="完工")
        changes: dict[str, Any] = {"status": status, "done_at": self._s.now()}
        if not is_blank(diagnosis):
            changes["diagnosis"] = self.required_text("diagnosis", diagnosis, 2000)
        return self.save_changes(current, **changes)

    def deliver(self, id: str, *, version: int | None = None) -> Repair:
        """Hand the repaired product back (已交付).

        Raises:
            WorkflowError: the repair is not done.
        """
        current = self.writable(id, version)
        status = REPAIR_MACHINE.check(current.status, _R.DELIVERED, move="deliver", move_zh="交付")
        return self.save_changes(current, status=status, delivered_at=self._s.now())

    def cancel(self, id: str, *, reason: Any, version: int | None = None) -> Repair:
        """Cancel a repair not yet done, for ``reason``.

        Raises:
            WorkflowError: it is done, delivered or cancelled.
            ValidationError: no reason.
        """
        current = self.writable(id, version)
        status = REPAIR_MACHINE.check(current.status, _R.CANCELLED, move="cancel", move_zh="取消")
        text = self.required_text("cancel_reason", reason, 500)
        return self.save_changes(current, status=status, cancel_reason=text)

    # -- money ----------------------------------------------------------------------------
    def raise_receivable(
        self, id: str, *, due: Any = None, version: int | None = None
    ) -> Receivable:
        """Raise a done repair's charge as a receivable (应收款) of its customer, due on
        ``due`` (default today), owned by the customer's salesperson (else the actor), so
        that payments settle it and its overdue reminders run like any other.

        The receivable names the repair (``repair_id``; its remarks give the repair's
        number) instead of an order.

        Raises:
            WorkflowError: the repair is not done, has no charge, or was raised already.
            ValidationError: a due day that is not one.
            PermissionDenied: not ``repair.raise_receivable``.
        """
        s = self._s
        self.require("raise_receivable")
        current = self.get(id)
        self._check_version(current, version)
        if current.status not in {_R.DONE, _R.DELIVERED}:
            raise _refused(current, "raise a receivable for", "生成应收款", _NOT_DONE)
        if current.receivable_id is not None:
            raise _refused(current, "raise a receivable for", "生成应收款", _CHARGED)
        if current.charge is None or current.charge.amount <= 0:
            raise _refused(current, "raise a receivable for", "生成应收款", _FREE)
        errors = FieldErrors()
        day = _DUE.parse(due, errors, "due") if not is_blank(due) else s.today()
        errors.raise_if_any(self.spec.name)
        assert day is not None
        customer = s._uow.customers.get(current.customer_id)
        owner = (customer.owner_id if customer is not None else None) or s.actor.id
        receivable = s.receivables.insert(
            {
                "customer_id": current.customer_id,
                "repair_id": current.id,
                "owner_id": owner,
                "instalment": 1,
                "amount": current.charge,
                "due": day,
                "remarks": f"维修单 {current.number}",
            }
        )
        s.receivables._schedule_overdue(receivable, receivable.due + timedelta(days=1))
        self.save_changes(current, receivable_id=receivable.id)
        return receivable

    # -- reads ----------------------------------------------------------------------------
    def parts_used(self, start: Any, end: Any) -> builtins.list[PartUsage]:
        """The parts used in the repairs received from ``start`` to ``end`` (days,
        inclusive; cancelled repairs left out) that the actor may see, per product, the
        most used first.

        Raises:
            ValidationError: a day that is not one, or ``end`` before ``start``.
        """
        self.require("read")
        first, last = parse_period(start, end, required=True)
        assert first is not None
        assert last is not None
        zone = ZoneInfo(self._s.runtime.settings.timezone)
        query = EntityQuery(
            filters=(
                Filter("received_at", Op.GE, datetime.combine(first, time(0), tzinfo=zone)),
                Filter(
                    "received_at",
                    Op.LT,
                    datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone),
                ),
                Filter("status", Op.NE, _R.CANCELLED),
            )
        )
        totals: dict[str, tuple[str, Decimal, set[str]]] = {}
        for repair in self.every(query):
            for part in repair.parts:
                name, quantity, repairs = totals.get(
                    part.product_id, (part.name, Decimal(0), set())
                )
                repairs.add(repair.id)
                totals[part.product_id] = (name, quantity + part.quantity, repairs)
        out = [PartUsage(k, n, q, len(r)) for k, (n, q, r) in totals.items()]
        return sorted(out, key=lambda u: (-u.quantity, u.name))

    def work_order(self, id: str, *, lang: Language | None = None) -> WorkOrder:
        """The repair's printable work order (维修工单打印), every value shown in ``lang``
        (default: the active language) through :mod:`crmkit.domain.display`.

        Raises:
            NotFound: the actor may not see the repair.
        """
        s = self._s
        repair = self.get(id)
        language: Language = lang or active_language()
        tz = s.runtime.settings.timezone

        def show(value: Any) -> str:
            return display.show(value, language, tz=tz)

        customer = s._uow.customers.get(repair.customer_id)
        contact = s._uow.contacts.get(repair.contact_id) if repair.contact_id else None
        phone = None
        if contact is not None:
            phone = contact.mobile or contact.phone
        elif customer is not None:
            phone = customer.mobile or customer.phone
        technician = s.user(repair.technician_id) if repair.technician_id else None
        labour = repair.labour or Money(Decimal("0.00"))
        charge = repair.charge or Money(Decimal("0.00"))
        lines = tuple(
            WorkOrderLine(p.name, show(p.quantity), show(p.unit_price), show(p.amount))
            for p in repair.parts
        )
        return WorkOrder(
            lang=language,
            number=repair.number or "",
            status=show(repair.status),
            customer=customer.name if customer is not None else "",
            contact=contact.name if contact is not None else "",
            contact_phone=show(phone),
            product=repair.product_name or "",
            serial_number=repair.serial_number or "",
            fault=repair.fault,
            diagnosis=repair.diagnosis or "",
            technician=technician.name if technician is not None else "",
            warranty=show(repair.warranty),
            parts=lines,
            parts_total=show(repair.parts_total),
            labour=show(labour),
            charge=show(charge),
            charge_in_words=display.amount_in_words(charge) if language == "zh" else "",
            received_at=show(repair.received_at),
            done_at=show(repair.done_at),
            delivered_at=show(repair.delivered_at),
            printed_at=show(s.now()),
        )


_CHARGED: Final = ("its charge has been raised as a receivable", "维修费用已生成应收款")
_NOT_DONE: Final = ("it is not done", "维修尚未完工")
_FREE: Final = ("it has nothing to charge", "该维修单无需收费")


def _refused(repair: Repair, move: str, move_zh: str, reason: tuple[str, str]) -> WorkflowError:
    return WorkflowError(
        REPAIRS.name,
        repair.status.value,
        move,
        state_zh=REPAIR_MACHINE.labels_zh.get(repair.status),
        move_zh=move_zh,
        reason=reason[0],
        reason_zh=reason[1],
    )
