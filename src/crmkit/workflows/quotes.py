"""Quotes on the kernel: ``session.quotes`` (报价单).

:class:`EntityService` gives quotes their lifecycle (permissions ``quote.*``, the customer's
data scope, validation, versions, audit, events, the recycle bin, document numbers
``QT-2026-000123``). This module adds the lines (defaults from the product catalogue,
priced by :mod:`crmkit.domain.pricing` on every write, totals stored), the moves *send*,
*accept*, *reject* and *expire* (:data:`~crmkit.domain.quote.QUOTE_STATES`), revisions of
a quote that has been sent, and lines read from a spreadsheet.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, ClassVar, Final

import attrs

from crmkit.adapters.tabular import TableError, read_table
from crmkit.domain import events as ev
from crmkit.domain.audit import AuditAction, snapshot
from crmkit.domain.common import parse_text
from crmkit.domain.errors import FieldErrors, WorkflowError
from crmkit.domain.fields import InputField
from crmkit.domain.headers import normalize_header
from crmkit.domain.pricing import PriceLine, check_line
from crmkit.domain.product import Product
from crmkit.domain.quote import (
    CURRENCY,
    DEFAULT_VALIDITY_DAYS,
    QUOTE_FIELDS,
    QUOTE_STATES,
    LineInput,
    Quote,
    QuoteStatus,
    priced,
    revision_number,
)
from crmkit.domain.values import Money
from crmkit.storage.catalog import OPPORTUNITIES, PRODUCTS, QUOTES
from crmkit.storage.ports import EntityQuery
from crmkit.storage.spec import Filter, Op
from crmkit.workflows.entity import EntityService
from crmkit.workflows.session import new_id

# Spreadsheet headers of a line (import_lines), by the line field they fill.
LINE_HEADERS: Final[Mapping[str, tuple[str, ...]]] = {
    "product_code": ("产品编码", "货号", "编码", "产品代码", "code", "product code"),
    "name": ("名称", "产品名称", "品名", "name"),
    "specification": ("规格型号", "规格", "型号", "specification"),
    "unit": ("单位", "unit"),
    "quantity": ("数量", "quantity", "qty"),
    "unit_price": ("单价", "unit price", "price"),
    "discount": ("折扣", "discount"),
    "tax_rate": ("税率", "tax rate"),
    "unit_cost": ("单位成本", "成本", "unit cost", "cost"),
}


class QuoteService(EntityService[Quote]):
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
            self.check_customer(data["customer_id"], errors, "quote.customer_unseen")
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
        if "lines" in data:
            self._resolve(data["lines"], self._include_tax(data, current), errors)

    def prepare(
        self,
        raw: Mapping[str, Any],  # noqa: ARG002  (the hook's signature)
        data: dict[str, Any],
        errors: FieldErrors,  # noqa: ARG002
        current: Quote | None = None,
    ) -> dict[str, Any]:
        s = self._s
        out = dict(data)
        include_tax = self._include_tax(data, current)
        out["prices_include_tax"] = include_tax
        if current is None:
            out["owner_id"] = data.get("owner_id") or s.actor.id
            if out.get("valid_until") is None:
                out["valid_until"] = s.today() + timedelta(days=DEFAULT_VALIDITY_DAYS)
        if "lines" in data:
            lines, texts = self._resolve(data["lines"], include_tax, FieldErrors())
            price = [line for line in lines if line is not None]
        elif current is not None:
            price = [line.price_line() for line in current.lines]
            texts = [
                {"name": x.name, "specification": x.specification, "unit": x.unit}
                for x in current.lines
            ]
        else:
            price, texts = [], []
        out["lines"], totals = priced(price, texts, include_tax=include_tax)
        out.update(totals)
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
        revision = current.revision + 1
        new: Quote = attrs.evolve(
            draft,
            id=new_id(),
            version=1,
            revision=revision,
            number=revision_number(current.quote_number, revision),
            quote_number=current.quote_number,
            previous_id=current.id,
            created_at=now,
            updated_at=now,
            created_by=s.actor.id,
        )
        self.repo.add(new)
        s.record(self.spec.name, new.id, AuditAction.CREATE, snapshot(new), at=now)
        s.publish(
            ev.RecordCreated(
                actor_id=s.actor.id, at=now, entity_id=new.id, entity_type=self.spec.name
            )
        )
        self.save_change(current, self._stamped(current, now, status=QuoteStatus.SUPERSEDED))
        return new

    def revisions(self, number: str) -> builtins.list[Quote]:
        """Every revision of the quote ``number`` (any revision's number), first to last,
        that the actor may see (revisions in the recycle bin left out)."""
        self.require("read")
        base = number.strip().rpartition("-V")[0] or number.strip()
        query = EntityQuery(filters=(Filter("quote_number", Op.EQ, base),))
        found: builtins.list[Quote] = []
        after: str | None = None
        while True:
            page = self.repo.list(query, self._s.actor.scope, after=after, limit=500)
            found += page.items
            if page.next_after is None:
                return sorted(found, key=lambda q: q.revision)
            after = page.next_after

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
        due: builtins.list[Quote] = []
        after: str | None = None
        while True:
            page = self.repo.list(query, self._s.actor.scope, after=after, limit=500)
            due += page.items
            if page.next_after is None:
                break
            after = page.next_after
        for quote in due:
            self._move(quote, QuoteStatus.EXPIRED, decided_on=today)
        return len(due)

    # -- spreadsheets ---------------------------------------------------------------------
    def import_lines(
        self,
        id: str,
        source: str | Path | IO[bytes],
        *,
        version: int | None = None,
        sheet: str | None = None,
        replace: bool = False,
    ) -> Quote:
        """Add the lines of a CSV or XLSX sheet to a draft quote (or, with ``replace``,
        put them in place of its lines). Headers: 产品编码/货号 (a product's code, whose
        defaults fill the line), 名称, 规格型号, 单位, 数量, 单价, 折扣, 税率, 单位成本.

        All or nothing: a wrong row fails the whole sheet, every error named by its line
        (``lines[3].quantity``; line ``i`` of the sheet's lines is ``lines[i]`` after the
        quote's own lines unless ``replace``).

        Raises:
            ValidationError: a wrong cell, an unknown product code, an unreadable file
                (field ``file``).
            WorkflowError: the quote is not a draft.
        """
        self.require("write")
        current = self.get(id)
        errors = FieldErrors()
        try:
            table = read_table(source, sheet=sheet)
        except TableError as exc:
            errors.add("file", "quote.file_unreadable", str(exc))
            errors.raise_if_any(self.spec.name)
            raise  # pragma: no cover  (raise_if_any raised)
        wanted = {normalize_header(h): key for key, hs in LINE_HEADERS.items() for h in hs}
        columns = [wanted.get(normalize_header(h or "")) for h in table.headers]
        kept = [] if replace else [_as_input(line) for line in current.lines]
        rows: builtins.list[dict[str, Any]] = []
        for row in table.rows:
            if row.is_blank:
                continue
            cells = {k: c for k, c in zip(columns, row.cells, strict=False) if k and c}
            rows.append(cells)
        codes = sorted({r["product_code"].strip() for r in rows if r.get("product_code")})
        by_code: dict[str, Product] = {}
        for code in codes:
            page = self._s._uow.repo(PRODUCTS).list(
                EntityQuery(filters=(Filter("code", Op.EQ, code),)),
                self._s.actor.scope,
                after=None,
                limit=1,
            )
            if page.items:
                by_code[code] = page.items[0]
        lines: builtins.list[Any] = list(kept)
        for i, cells in enumerate(rows, start=len(kept)):
            code = (cells.pop("product_code", None) or "").strip()
            if code:
                product = by_code.get(code)
                if product is None:
                    errors.add(f"lines[{i}].product_id", "quote.product_code_unknown", code)
                else:
                    cells["product_id"] = product.id
            lines.append(cells)
        errors.raise_if_any(self.spec.name)
        return self.update(id, version, lines=lines)

    # -- helpers --------------------------------------------------------------------------
    def _include_tax(self, data: Mapping[str, Any], current: Quote | None) -> bool:
        given = data.get("prices_include_tax")
        if given is not None:
            return bool(given)
        return current.prices_include_tax if current is not None else True

    def _resolve(
        self, given: Sequence[LineInput], include_tax: bool, errors: FieldErrors
    ) -> tuple[builtins.list[PriceLine | None], builtins.list[dict[str, Any]]]:
        """Each line with its product's defaults filled in, checked as pricing checks it;
        a line with a wrong or missing value gives None."""
        s = self._s
        ids = sorted({x.product_id for x in given if x.product_id})
        products: dict[str, Product] = {}
        if ids and s.actor.can("product.read"):
            products = {p.id: p for p in s._uow.repo(PRODUCTS).get_many(ids, s.actor.scope)}
        lines: builtins.list[PriceLine | None] = []
        texts: builtins.list[dict[str, Any]] = []
        for i, x in enumerate(given):
            at = f"lines[{i}]"
            product = products.get(x.product_id) if x.product_id else None
            unknown = bool(x.product_id) and (product is None or product.deleted_at is not None)
            if unknown:
                errors.add(f"{at}.product_id", "quote.product_unknown", x.product_id)
                product = None
            elif product is not None and not product.active:
                errors.add(f"{at}.product_id", "quote.product_inactive", x.product_id)
            values: dict[str, Any] = {
                "name": x.name or (product.name if product else None),
                "specification": x.specification or (product.specification if product else None),
                "unit": x.unit or (product.unit if product else None),
                "quantity": x.quantity,
                "tax_rate": x.tax_rate
                if x.tax_rate is not None
                else (product.tax_rate if product else None),
                "discount": x.discount if x.discount is not None else Decimal(0),
                "unit_cost": x.unit_cost or (product.cost if product else None),
            }
            price = x.unit_price
            if price is None and product is not None and product.price is not None:
                price = product.price
                if not include_tax and values["tax_rate"] is not None:
                    # the catalogue's price includes VAT; a tax-exclusive quote wants it net
                    net = price.amount / (1 + values["tax_rate"])
                    price = Money(net, price.currency).quantize()
            values["unit_price"] = price
            texts.append({k: values[k] for k in ("name", "specification", "unit")})
            said = {e.field for e in errors.errors}
            missing = [
                k for k in ("name", "quantity", "unit_price", "tax_rate") if values[k] is None
            ]
            for k in missing:
                if f"{at}.{k}" not in said and not unknown:  # the product would fill it
                    errors.add(f"{at}.{k}", "required", None)
            if missing or any(f.startswith(f"{at}.") for f in said):
                lines.append(None)
                continue
            line = PriceLine(
                quantity=values["quantity"],
                unit_price=values["unit_price"],
                tax_rate=values["tax_rate"],
                discount=values["discount"],
                unit_cost=values["unit_cost"],
                product_id=product.id if product else None,
            )
            before = len(errors.errors)
            check_line(line, errors, path=at, currency=CURRENCY)
            lines.append(line if len(errors.errors) == before else None)
        return lines, texts

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


def _as_input(line: Any) -> LineInput:
    return LineInput(
        product_id=line.product_id,
        name=line.name,
        specification=line.specification,
        unit=line.unit,
        quantity=line.quantity,
        unit_price=line.unit_price,
        discount=line.discount,
        tax_rate=line.tax_rate,
        unit_cost=line.unit_cost,
    )
