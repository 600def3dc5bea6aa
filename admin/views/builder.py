"""The builder of a sales document with priced lines — a quote, an order — and what its
pages share (its number as people read it, its revisions).

The builder is one form: the document's header (customer, opportunity, owner, the
document's dates, whether prices include VAT, remarks) and a table of lines (a catalogue
product and/or what is sold, quantity, unit price, discount, VAT rate, unit cost). Its
inputs are named ``lines-<key>-<field>`` and a hidden ``line`` input per row gives the
rows' order, so rows are added and removed in the browser (``quote_builder.js``) or,
without scripts, by the form's own buttons (添加一行 / 删除 / 计算合计 re-show the form;
nothing is saved).

Prices are crmkit's: the live totals come from ``POST <screen>/price/``, which asks crmkit
what the document would be — the service's ``check_create`` (a new document) or
``check_changes`` (a draft), the dry runs that validate and price exactly as saving does and
write nothing — and answers with the amounts as people read them, every wrong field under
its row. Saving is the service's ``create`` / ``update``; crmkit's field errors
(``lines[2].quantity``) go beside the field of the row the user sees as that line.

:class:`DocumentBuilder` is mixed into a document's screen, which names its service and
header dates (:attr:`DocumentBuilder.header_dates`) and the words of its pages.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, ClassVar

import attrs
from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import expose
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

import crmkit
from admin import context
from admin.base import user_name, user_names
from admin.forms import refusal
from admin.i18n import enum_label, money, percent, show
from admin.printing import PrintDocument, PrintLine, document_label, document_lines
from admin.views.customers import json_response, owner_pairs

# What the builder's row holds, in the table's order (crmkit's line fields).
LINE_FIELDS = (
    "product_id", "name", "specification", "unit", "quantity", "unit_price", "discount",
    "tax_rate", "unit_cost",
)  # fmt: skip
# The form reads at most this many rows (crmkit's own limit on lines is the rule).
MAX_ROWS = 500
# Select boxes: at most this many catalogue products and open opportunities.
PRODUCT_CHOICES = 1000
OPPORTUNITY_CHOICES = 500
LINE_PATH = re.compile(r"^lines\[(\d+)\](?:\.([a-z_]+))?")


def revision_rows(service: Any, document: Any) -> list[dict[str, Any]]:
    """The revisions of ``document``'s number the user sees (``service.revisions``), for
    links between them on its page; empty when it has no other."""
    rows = [
        {
            "id": d.id,
            "number": document_label(d),
            "status": enum_label(d.status),
            "approval": enum_label(d.approval) if hasattr(d, "approval") else "",
            "gross": show(d.gross),
            "current": d.id == document.id,
        }
        for d in service.revisions(document.base_number)
    ]
    return rows if len(rows) > 1 else []


@attrs.define
class LineRow:
    """One row of the lines table: what the user typed, and what crmkit said of it."""

    key: str
    values: dict[str, str]
    #: crmkit's messages, by field of the row
    errors: dict[str, list[str]] = attrs.Factory(dict)
    #: the priced amounts as shown (net, tax, gross)
    amounts: dict[str, str] = attrs.Factory(dict)
    #: what crmkit fills an empty field with (the product's name, price …), as hints
    defaults: dict[str, str] = attrs.Factory(dict)

    @property
    def blank(self) -> bool:
        return not any(self.values.values())

    def given(self) -> dict[str, str]:
        """The line as crmkit takes it: the fields typed (crmkit parses and checks them;
        the empty ones take the product's values)."""
        return {k: v for k, v in self.values.items() if v}

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "errors": {k: " ".join(v) for k, v in self.errors.items()},
            "amounts": self.amounts,
            "defaults": self.defaults,
        }


def column_labels() -> dict[str, str]:
    """The lines table's column labels, in the request's language."""
    return {
        "product_id": _("Product"),
        "name": _("Name"),
        "specification": _("Specification"),
        "unit": _("Unit"),
        "quantity": _("Quantity"),
        "unit_price": _("Unit price"),
        "discount": _("Discount"),
        "tax_rate": _("Tax rate"),
        "unit_cost": _("Unit cost"),
    }


def blank_row(key: str) -> LineRow:
    return LineRow(key, dict.fromkeys(LINE_FIELDS, ""))


def next_key(rows: Sequence[LineRow]) -> str:
    return str(max((int(r.key) for r in rows), default=-1) + 1)


def rows_from_form(form: MultiDict[str, str]) -> list[LineRow]:
    keys = [k for k in form.getlist("line") if k.isdigit() and len(k) <= 6]
    return [
        LineRow(k, {f: form.get(f"lines-{k}-{f}", "").strip() for f in LINE_FIELDS})
        for k in list(dict.fromkeys(keys))[:MAX_ROWS]
    ]


def rows_from_document(document: Any) -> list[LineRow]:
    """A draft's lines as the form shows them (amounts as typed: ``1999.00``, ``13%``)."""
    return [
        LineRow(
            str(i),
            {
                "product_id": line.product_id or "",
                "name": line.name,
                "specification": line.specification or "",
                "unit": line.unit or "",
                "quantity": show(line.quantity),
                "unit_price": str(line.unit_price.amount),
                "discount": percent(line.discount) if line.discount else "",
                "tax_rate": percent(line.tax_rate),
                "unit_cost": str(line.unit_cost.amount) if line.unit_cost is not None else "",
            },
        )
        for i, line in enumerate(document.lines)
    ]


# -- the header -----------------------------------------------------------------------------
def text_header(dates: Sequence[str]) -> tuple[str, ...]:
    """The header's text inputs of a document whose dates are ``dates``."""
    return ("customer_id", "opportunity_id", "owner_id", *dates, "remarks")


def header_from_form(form: MultiDict[str, str], fields: Sequence[str]) -> dict[str, Any]:
    header: dict[str, Any] = {k: form.get(k, "").strip() for k in fields}
    header["prices_include_tax"] = form.get("prices_include_tax") == "y"
    return header


def header_from_document(document: Any, fields: Sequence[str]) -> dict[str, Any]:
    header: dict[str, Any] = {}
    for k in fields:
        value = getattr(document, k)
        header[k] = value.isoformat() if isinstance(value, date) else (value or "")
    header["prices_include_tax"] = document.prices_include_tax
    return header


def new_header(args: Mapping[str, str], fields: Sequence[str]) -> dict[str, Any]:
    header: dict[str, Any] = dict.fromkeys(fields, "")
    header["customer_id"] = args.get("customer_id", "")
    header["opportunity_id"] = args.get("opportunity_id", "")
    header["prices_include_tax"] = True
    return header


def create_fields(header: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """``create`` keywords: what was filled in (crmkit defaults the rest)."""
    out = {k: header[k] for k in fields if header[k]}
    out["prices_include_tax"] = header["prices_include_tax"]
    return out


def update_fields(
    header: Mapping[str, Any], document: Any, fields: Sequence[str]
) -> dict[str, Any]:
    """``update`` keywords: the header fields the user changed (a customer stays)."""
    held = header_from_document(document, fields)
    return {
        k: (v if v != "" else None)
        for k, v in header.items()
        if k != "customer_id" and v != held[k] and not (k == "owner_id" and not v)
    }


# -- crmkit's answer on the form --------------------------------------------------------------
@attrs.define
class Pricing:
    """The totals of the lines as crmkit prices them, shown; None when crmkit could not
    price them (``note`` says why)."""

    totals: dict[str, str] | None = None
    partial: bool = False
    note: str = ""
    #: errors about the lines as a whole (too many lines …)
    general: list[str] = attrs.Factory(list)

    def as_json(self, rows: Sequence[LineRow]) -> dict[str, Any]:
        return {
            "totals": self.totals,
            "partial": self.partial,
            "note": self.note,
            "general": self.general,
            "lines": [r.as_json() for r in rows],
        }


def place_errors(exc: crmkit.ValidationError, sent: Sequence[LineRow]) -> list[crmkit.FieldError]:
    """Put each ``lines[i].field`` error of ``exc`` on row ``sent[i]`` (in the active
    language); return the other errors (the header's, the lines' as a whole)."""
    rest: list[crmkit.FieldError] = []
    for e in exc.errors:
        found = LINE_PATH.match(e.field)
        if found and int(found[1]) < len(sent):
            field = found[2] if found[2] in LINE_FIELDS else "name"
            sent[int(found[1])].errors.setdefault(field, []).append(e.message())
        else:
            rest.append(e)
    return rest


def fill(document: Any, sent: Sequence[LineRow]) -> Pricing:
    """Amounts and crmkit's defaults on each row, and the totals, from a priced document."""
    for row, line in zip(sent, document.lines, strict=True):
        row.amounts = {"net": money(line.net), "tax": money(line.tax), "gross": money(line.gross)}
        row.defaults = {
            "name": line.name,
            "specification": line.specification or "",
            "unit": line.unit or "",
            "unit_price": str(line.unit_price.amount),
            "tax_rate": percent(line.tax_rate),
            "unit_cost": str(line.unit_cost.amount) if line.unit_cost is not None else "",
        }
    uncosted = sum(1 for line in document.lines if line.unit_cost is None)
    rate = document.margin_rate
    totals = {
        "net": money(document.net),
        "tax": money(document.tax),
        "gross": money(document.gross),
        "margin": money(document.margin),
        "margin_rate": percent(rate) if rate is not None else "",
        "uncosted": (
            _("Lines without a unit cost (%(n)s) are left out of the gross profit.", n=uncosted)
            if uncosted
            else ""
        ),
    }
    return Pricing(totals)


def price(
    service: Any,
    rows: Sequence[LineRow],
    header: Mapping[str, Any],
    document: Any | None,
) -> Pricing:
    """Ask crmkit (``service``: ``s.quotes``, ``s.orders``) what the lines come to (nothing
    is written): every wrong field on its row; with some rows wrong, the totals of the
    others (marked partial)."""
    sent = [r for r in rows if not r.blank]
    include_tax = bool(header["prices_include_tax"])

    def dry(lines: Sequence[LineRow]) -> Any:
        given = [r.given() for r in lines]
        if document is not None:
            return service.check_changes(document, lines=given, prices_include_tax=include_tax)
        return service.check_create(
            customer_id=header["customer_id"] or None, lines=given, prices_include_tax=include_tax
        )

    try:
        return fill(dry(sent), sent)
    except crmkit.ValidationError as exc:
        rest = place_errors(exc, sent)
    general = [e.describe() for e in rest if e.field.startswith("lines")]
    header_wrong = [e for e in rest if not e.field.startswith("lines")]
    good = [r for r in sent if not r.errors]
    if header_wrong:
        note = (
            _("Choose the customer to see the totals.")
            if any(e.field == "customer_id" for e in header_wrong)
            else "; ".join(e.describe() for e in header_wrong)
        )
        return Pricing(None, note=note, general=general)
    if general:
        return Pricing(None, general=general)
    try:
        partial = fill(dry(good), good)
    except crmkit.ValidationError:
        return Pricing(None, note=_("The lines have errors."))
    partial.partial = True
    partial.note = _("The totals leave out the lines with errors.")
    return partial


# -- choices ---------------------------------------------------------------------------------
def product_choices(s: crmkit.Session, rows: Sequence[LineRow]) -> list[tuple[str, str]]:
    """Active catalogue products the user sees, ``code name 规格``, by code; a product a row
    already holds stays offered (by the row's name) even if it is no longer."""
    products: list[crmkit.Product] = []
    after: str | None = None
    while len(products) < PRODUCT_CHOICES:
        page = s.products.list(after=after, limit=500, active=True)
        products.extend(page.items)
        if page.next_after is None:
            break
        after = page.next_after
    pairs = [
        (p.id, " ".join(x for x in (p.code or "", p.name, p.specification or "") if x))
        for p in sorted(products[:PRODUCT_CHOICES], key=lambda p: (p.code or "", p.name))
    ]
    offered = {value for value, _label in pairs}
    for row in rows:
        held = row.values["product_id"]
        if held and held not in offered:
            pairs.append((held, row.values["name"] or row.defaults.get("name", "")))
            offered.add(held)
    return pairs


def opportunity_choices(
    s: crmkit.Session, header: Mapping[str, Any], customers: Mapping[str, str]
) -> list[tuple[str, str, str]]:
    """``(id, label, customer_id)`` of the open opportunities the user sees (the chosen
    customer's only, once there is one), labelled with their customer."""
    filters: dict[str, Any] = {"status": "open"}
    if header["customer_id"]:
        filters["customer_id"] = header["customer_id"]
    found = list(s.opportunities.list(limit=OPPORTUNITY_CHOICES, **filters).items)
    held = header["opportunity_id"]
    if held and all(o.id != held for o in found):
        with contextlib.suppress(crmkit.NotFound):  # gone: the select leaves it out
            found = [*found, s.opportunities.get(held)]
    out = []
    for o in found:
        customer = customers.get(o.customer_id, "")
        out.append((o.id, f"{o.title}（{customer}）" if customer else o.title, o.customer_id))
    return sorted(out, key=lambda t: t[1])


class DocumentBuilder:
    """A sales document's builder routes, mixed into its screen (a
    :class:`~admin.entity.EntityModelView` whose ``service_name`` is ``quotes`` or
    ``orders``): the builder (``/new/``, ``/edit/``) and its live totals (``/price/``)."""

    #: the CSS/id word of the document: ``quote``, ``order``
    kind: ClassVar[str]
    #: the header's dates, each with the hint under its input
    header_dates: ClassVar[tuple[tuple[str, Any], ...]] = ()

    def builder_words(self) -> dict[str, str]:
        """The builder's words in the request's language: ``new`` (a new document's
        title), ``legend`` (the header's), ``lines`` (the lines'), ``hint`` (under that),
        ``saved`` (with ``%(number)s``)."""
        raise NotImplementedError

    def locked(self, document: Any) -> str | None:
        """Why ``document`` is not edited in the builder (None: it is)."""
        raise NotImplementedError

    def print_document(self, s: crmkit.Session, document: Any) -> PrintDocument:
        """The document as printed (read in ``s``, the user's scope)."""
        raise NotImplementedError

    @property
    def header_fields(self) -> tuple[str, ...]:
        return text_header([name for name, _hint in self.header_dates])

    # -- cells and pages ------------------------------------------------------------------
    def show_number(self, document: Any) -> str:
        return document_label(document)

    def record_name(self, model: Any) -> str:
        return document_label(model)

    def show_opportunity_id(self, document: Any) -> str:
        if not document.opportunity_id:
            return ""
        try:
            with context.work() as s:
                return str(s.opportunities.get(document.opportunity_id).title)
        except crmkit.CRMError:
            return ""

    def show_prices_include_tax(self, document: Any) -> str:
        return show(document.prices_include_tax)

    def lines(self, document: Any) -> tuple[PrintLine, ...]:
        """The lines as its page shows them (each with its amount without tax, tax and
        total: 价税分离), as they are printed."""
        return document_lines(document.lines)

    # -- the builder ----------------------------------------------------------------------
    @expose("/new/", methods=("GET", "POST"))
    def create_view(self) -> ResponseReturnValue:
        """A new document: its header and lines, with totals as the user types."""
        view: Any = self
        if not view.can_create:
            abort(403)
        if request.method == "POST":
            return self._builder_post(None)
        rows = [blank_row("0")]
        return self._builder(None, new_header(request.args, self.header_fields), rows)

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self) -> ResponseReturnValue:
        """A draft's header and lines. A document that may not be edited is sent back to
        its page with the reason; a save crmkit refuses shows crmkit's."""
        view: Any = self
        if not view.can_edit:
            abort(403)
        id = request.args.get("id") or abort(404)
        document = view.get_one(id)
        if request.method == "POST":
            return self._builder_post(document)
        reason = self.locked(document)
        if reason is not None:
            flash(reason, "error")
            return redirect(url_for(".details_view", id=id))
        rows = rows_from_document(document)
        header = header_from_document(document, self.header_fields)
        return self._builder(document, header, [*rows, blank_row(next_key(rows))])

    def _builder_post(self, document: Any | None) -> ResponseReturnValue:
        view: Any = self
        form = request.form
        fields = self.header_fields
        rows = rows_from_form(form)
        header = header_from_form(form, fields)
        if document is not None:
            header["customer_id"] = document.customer_id  # crmkit keeps a document's customer
        if form.get("add_line"):
            return self._builder(document, header, [*rows, blank_row(next_key(rows))])
        if form.get("remove_line"):
            kept = [r for r in rows if r.key != form["remove_line"]]
            return self._builder(document, header, kept or [blank_row("0")])
        if form.get("recalculate"):
            return self._builder(document, header, rows)
        lines = [r.given() for r in rows if not r.blank]
        raw_version = form.get("version", "")
        try:
            with context.work() as s:
                service = context.service(s, view.service_name)
                if document is None:
                    saved = service.create(**create_fields(header, fields), lines=lines)
                else:
                    saved = service.update(
                        document.id,
                        int(raw_version) if raw_version.isdigit() else None,
                        **update_fields(header, document, fields),
                        lines=lines,
                    )
        except crmkit.ValidationError as exc:
            flash(exc.message(), "error")
            errors: dict[str, list[str]] = {}
            for e in place_errors(exc, [r for r in rows if not r.blank]):
                if e.field in fields or e.field == "prices_include_tax":
                    errors.setdefault(e.field, []).append(e.message())
            return self._builder(document, header, rows, errors=errors, keep_errors=True)
        except crmkit.CRMError as exc:
            flash(refusal(exc, document_label(document) if document else ""), "error")
            return self._builder(document, header, rows)
        words = self.builder_words()
        flash(words["saved"] % {"number": document_label(saved)}, "success")
        return redirect(url_for(".details_view", id=saved.id))

    def _builder(
        self,
        document: Any | None,
        header: dict[str, Any],
        rows: list[LineRow],
        *,
        errors: Mapping[str, list[str]] | None = None,
        keep_errors: bool = False,
    ) -> ResponseReturnValue:
        """The builder page, priced by crmkit as it stands (no-script users see the same
        totals the script would show)."""
        from admin.views.sales import customer_choices  # the sales module imports this one

        view: Any = self
        customers = customer_choices()
        names = dict(customers)
        saved_errors = {r.key: dict(r.errors) for r in rows} if keep_errors else {}
        with context.work() as s:
            user_names(s)  # the owners' names, read once for the request
            held = header["customer_id"]
            if held and held not in names:  # an older customer than the select offers
                try:
                    names[held] = s.customers.get(held, include_deleted=document is not None).name
                    customers.append((held, names[held]))
                except crmkit.NotFound:
                    header["customer_id"] = "" if document is None else held
            pricing = price(context.service(s, view.service_name), rows, header, document)
            products = product_choices(s, rows)
            opportunities = opportunity_choices(s, header, names)
        owners = owner_pairs()
        if header["owner_id"] and all(value != header["owner_id"] for value, _n in owners):
            owners.append((header["owner_id"], user_name(header["owner_id"])))
        for row in rows:  # a failed save's errors are the ones to show (the same, and more)
            if keep_errors:
                row.errors = saved_errors.get(row.key, {})
        words = self.builder_words()
        return view.render(
            "crm/document_builder.html",
            document=document,
            kind=self.kind,
            words=words,
            dates=self.header_dates,
            title=document_label(document) if document else words["new"],
            action=(
                url_for(".edit_view", id=document.id)
                if document is not None
                else url_for(".create_view")
            ),
            price_url=url_for(".price_view"),
            header=header,
            errors=errors or {},
            rows=rows,
            pricing=pricing,
            customers=customers,
            customer_name=names.get(header["customer_id"], ""),
            opportunities=opportunities,
            owners=owners,
            products=products,
            label=view.label,
            column_labels=column_labels(),
            blank=blank_row("__KEY__"),
        )

    @expose("/price/", methods=("POST",))
    def price_view(self) -> ResponseReturnValue:
        """The builder's live totals: the posted form priced by crmkit (nothing written),
        as JSON: ``totals`` (shown amounts, or null with a ``note``), ``lines`` (each row's
        amounts, crmkit's defaults and its errors by field)."""
        view: Any = self
        form = request.form
        rows = rows_from_form(form)
        header = header_from_form(form, self.header_fields)
        id = form.get("id", "")
        with context.work() as s:
            service = context.service(s, view.service_name)
            document: Any | None = None
            if id:
                try:
                    document = service.get(id)
                except crmkit.NotFound:
                    abort(404)
                header["customer_id"] = document.customer_id
            try:
                pricing = price(service, rows, header, document)
            except crmkit.PermissionDenied:
                abort(403)
        return json_response(pricing.as_json(rows))  # markup-safe, not cached

    # -- the print view -------------------------------------------------------------------
    @expose("/print/")
    def print_view(self) -> ResponseReturnValue:
        """The document to print or save as PDF (the browser's print): the company's
        header, the customer, the lines and totals, signatures (``crm/print/document.html``,
        from :meth:`print_document`)."""
        view: Any = self
        id = request.args.get("id") or abort(404)
        document = view.get_one(id)
        with context.work() as s:
            printed = self.print_document(s, document)
        return view.render(
            "crm/print/document.html",
            document=printed,
            back_url=url_for(".details_view", id=id),
        )
