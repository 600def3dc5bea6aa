"""What quotes and orders share: lines picked from the product catalogue and priced.

:class:`SalesDocumentService` is an :class:`~crmkit.workflows.entity.EntityService` for an
entity whose ``lines`` are :class:`~crmkit.domain.lines.SalesLine` s: a line's empty fields
take its product's defaults (name, specification, unit, price, VAT rate, cost), every line is
checked as :mod:`crmkit.domain.pricing` checks it (each problem named ``lines[i].field``),
the lines are priced on every write and the header totals stored with them, and lines can
be read from a spreadsheet.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, ClassVar, Final, TypeVar

import attrs

from crmkit.adapters.tabular import TableError, read_table
from crmkit.domain import events as ev
from crmkit.domain.audit import AuditAction, snapshot
from crmkit.domain.errors import FieldErrors
from crmkit.domain.headers import normalize_header
from crmkit.domain.lines import CURRENCY, LineInput, priced, revision_number
from crmkit.domain.pricing import PriceLine, check_line
from crmkit.domain.product import Product
from crmkit.domain.values import Money
from crmkit.storage.catalog import PRODUCTS
from crmkit.storage.ports import EntityQuery
from crmkit.storage.spec import Filter, Op
from crmkit.workflows.entity import EntityService
from crmkit.workflows.session import new_id

D = TypeVar("D")

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


_Resolved = tuple[builtins.list[PriceLine | None], builtins.list[dict[str, Any]]]


class SalesDocumentService(EntityService[D]):
    """The lifecycle of a document with priced lines (quotes, orders). A subclass sets
    ``spec`` and ``fields`` (with an ``InputField("lines", parse_lines, …)`` and a
    ``prices_include_tax`` boolean) and calls :meth:`priced_fields` from its ``prepare``
    and :meth:`check_lines` from its ``check_references``."""

    #: the field holding the number every revision shares (``quote_number``)
    number_field: ClassVar[str]
    #: the last lines resolved, for the same write's second call (see ``_resolve``)
    _resolved: tuple[Any, bool, _Resolved] | None = None

    def store_revision(self, current: D, draft: D) -> D:
        """Store ``draft`` (``current`` with the caller's changes, checked) as the next
        revision of ``current``: a new record with the shared number, the next revision
        counter, ``previous_id`` linking the audit trail, numbered ``<number>-V<n>``."""
        s = self._s
        now = s.now()
        before: Any = current
        revision = before.revision + 1
        base = getattr(before, self.number_field)
        written: Any = draft  # an attrs class
        new: D = attrs.evolve(
            written,
            id=new_id(),
            version=1,
            revision=revision,
            number=revision_number(base, revision),
            previous_id=before.id,
            created_at=now,
            updated_at=now,
            created_by=s.actor.id,
            **{self.number_field: base},
        )
        obj: Any = new
        self.repo.add(new)
        s.record(self.spec.name, obj.id, AuditAction.CREATE, snapshot(new), at=now)
        s.publish(
            ev.RecordCreated(
                actor_id=s.actor.id, at=now, entity_id=obj.id, entity_type=self.spec.name
            )
        )
        return new

    def revisions(self, number: str) -> builtins.list[D]:
        """Every revision of the document ``number`` (any revision's number) that the
        actor may see, first to last (revisions in the recycle bin left out)."""
        self.require("read")
        base = number.strip().rpartition("-V")[0] or number.strip()
        query = EntityQuery(filters=(Filter(self.number_field, Op.EQ, base),))
        found: builtins.list[Any] = self.every(query)
        return sorted(found, key=lambda d: d.revision)

    def priced_fields(
        self, data: Mapping[str, Any], current: Any, out: dict[str, Any]
    ) -> dict[str, Any]:
        """``out`` with ``prices_include_tax``, the priced ``lines`` and the header totals
        (from ``data``'s lines, or ``current``'s when they are not changed)."""
        include_tax = self._include_tax(data, current)
        out["prices_include_tax"] = include_tax
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

    def check_lines(self, data: Mapping[str, Any], current: Any, errors: FieldErrors) -> None:
        """Report every wrong line given (an unknown or inactive product, a missing value
        no product fills, a value pricing refuses)."""
        if "lines" in data:
            self._resolve(data["lines"], self._include_tax(data, current), errors)

    # -- spreadsheets ---------------------------------------------------------------------
    def import_lines(
        self,
        id: str,
        source: str | Path | IO[bytes],
        *,
        version: int | None = None,
        sheet: str | None = None,
        replace: bool = False,
    ) -> D:
        """Add the lines of a CSV or XLSX sheet to a draft document (or, with ``replace``,
        put them in place of its lines). Headers: 产品编码/货号 (a product's code, whose
        defaults fill the line), 名称, 规格型号, 单位, 数量, 单价, 折扣, 税率, 单位成本.

        All or nothing: a wrong row fails the whole sheet, every error named by its line
        (``lines[3].quantity``; line ``i`` of the sheet's lines is ``lines[i]`` after the
        document's own lines unless ``replace``).

        Raises:
            ValidationError: a wrong cell, an unknown product code, an unreadable file
                (field ``file``).
            WorkflowError: the document may not be edited.
        """
        self.require("write")
        current: Any = self.get(id)
        errors = FieldErrors()
        try:
            table = read_table(source, sheet=sheet)
        except TableError as exc:
            errors.add("file", "lines.file_unreadable", str(exc))
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
                    errors.add(f"lines[{i}].product_id", "lines.product_code_unknown", code)
                else:
                    cells["product_id"] = product.id
            lines.append(cells)
        errors.raise_if_any(self.spec.name)
        return self.update(id, version, lines=lines)

    # -- helpers --------------------------------------------------------------------------
    def _include_tax(self, data: Mapping[str, Any], current: Any) -> bool:
        given = data.get("prices_include_tax")
        if given is not None:
            return bool(given)
        return current.prices_include_tax if current is not None else True

    def _resolve(
        self, given: Sequence[LineInput], include_tax: bool, errors: FieldErrors
    ) -> tuple[builtins.list[PriceLine | None], builtins.list[dict[str, Any]]]:
        """Each line with its product's defaults filled in, checked as pricing checks it;
        a line with a wrong or missing value gives None.

        A write resolves its lines twice, to report their errors (``check_lines``) and to
        price them (``priced_fields``), from the same parsed tuple: the second call takes
        the first's result (a 50-line order: 1.7 ms less)."""
        held, self._resolved = self._resolved, None
        if held is not None and held[0] is given and held[1] == include_tax:
            return held[2]
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
                errors.add(f"{at}.product_id", "lines.product_unknown", x.product_id)
                product = None
            elif product is not None and not product.active:
                errors.add(f"{at}.product_id", "lines.product_inactive", x.product_id)
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
                    # the catalogue's price includes VAT; a tax-exclusive document wants it net
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
        self._resolved = (given, include_tax, (lines, texts))
        return lines, texts


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
