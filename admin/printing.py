"""Printable sales documents: one template (``crm/print/document.html``, A4 print CSS) for
any document with priced lines: a quote, an order.

A :class:`PrintDocument` is everything the page shows, already as people read it (labels,
money, dates through :mod:`crmkit.display`): the company's header, the document's title and
number, facts about it (customer, dates, salesperson, an order's approval status …), the
lines, the totals with the amount in Chinese capitals (大写), terms, remarks and the
signature boxes. :func:`quote_document` builds one from a quote, :func:`order_document`
from an order (its approval status among the facts, never its cost or margin); both go
through :func:`printed`.

The company header comes from the app's config (``ADMIN_COMPANY_NAME``,
``ADMIN_COMPANY_ADDRESS``, ``ADMIN_COMPANY_PHONE``, ``ADMIN_COMPANY_EMAIL``; the name
defaults to ``ADMIN_TITLE``): crmkit's settings hold no company profile yet.

PDF: the browser's print dialog saves the page as a PDF (``@page`` is A4). The amount in
capitals (大写) comes from ``crmkit.display.amount_in_words``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import attrs
from flask import current_app
from flask_babel import gettext as _

import crmkit
from admin.i18n import enum_label, money, percent, show
from crmkit import display


@attrs.frozen
class Company:
    """The seller, as the document's header names it."""

    name: str
    address: str = ""
    phone: str = ""
    email: str = ""


def company() -> Company:
    """The company from the app's config (the app's title when no name is set)."""
    config = current_app.config
    return Company(
        name=str(config.get("ADMIN_COMPANY_NAME") or config.get("ADMIN_TITLE") or ""),
        address=str(config.get("ADMIN_COMPANY_ADDRESS") or ""),
        phone=str(config.get("ADMIN_COMPANY_PHONE") or ""),
        email=str(config.get("ADMIN_COMPANY_EMAIL") or ""),
    )


@attrs.frozen
class PrintLine:
    """One line as printed."""

    number: int
    name: str
    specification: str
    unit: str
    quantity: str
    unit_price: str
    discount: str
    tax_rate: str
    net: str
    tax: str
    gross: str


@attrs.frozen
class PrintDocument:
    """A printable document, every value already as people read it."""

    kind: str  # "quote", "order": the page's CSS class
    title: str
    number: str
    company: Company
    facts: tuple[tuple[str, str], ...]
    lines: tuple[PrintLine, ...]
    totals: tuple[tuple[str, str], ...]
    by_tax_rate: tuple[tuple[str, str, str, str], ...] = ()
    in_words: str = ""
    terms: tuple[str, ...] = ()
    remarks: str = ""
    signatures: tuple[str, ...] = ()
    any_discount: bool = False


def document_lines(lines: Sequence[Any]) -> tuple[PrintLine, ...]:
    """Priced lines (a quote's ``QuoteLine`` or anything of that shape) as printed."""
    return tuple(
        PrintLine(
            number=i,
            name=line.name,
            specification=line.specification or "",
            unit=line.unit or "",
            quantity=show(line.quantity),
            unit_price=money(line.unit_price),
            discount=percent(line.discount) if line.discount else "",
            tax_rate=percent(line.tax_rate),
            net=money(line.net),
            tax=money(line.tax),
            gross=money(line.gross),
        )
        for i, line in enumerate(lines, start=1)
    )


def document_totals(net: crmkit.Money, tax: crmkit.Money, gross: crmkit.Money) -> dict[str, Any]:
    """The totals rows and the amount in capitals of a document's ``net``, ``tax`` and
    ``gross`` (不含税金额, 税额, 价税合计)."""
    return {
        "totals": (
            (_("Amount without tax"), money(net)),
            (_("Tax"), money(tax)),
            (_("Total with tax"), money(gross)),
        ),
        "in_words": display.amount_in_words(gross),
    }


def by_tax_rate(totals: Any) -> tuple[tuple[str, str, str, str], ...]:
    """Each tax rate's net, tax and gross (as an invoice lists them), when there are
    several rates; ``totals`` is crmkit's priced totals (``Quote.totals()``)."""
    rates = tuple(totals.by_tax_rate)
    if len(rates) < 2:
        return ()
    return tuple((percent(r.tax_rate), money(r.net), money(r.tax), money(r.gross)) for r in rates)


def customer_facts(s: crmkit.Session, customer_id: str) -> list[tuple[str, str]]:
    """The buyer as a document names it: the customer, its primary contact (else the
    first), the phone and the address (read in ``s``, the user's scope)."""
    customer = s.customers.get(customer_id, include_deleted=True)
    contacts = s.contacts.list(customer_id=customer.id, limit=20).items
    contact = next((c for c in contacts if c.is_primary), contacts[0] if contacts else None)
    phone = customer.phone or customer.mobile
    address = " ".join(x for x in (show(customer.region), customer.address or "") if x)
    return [
        (_("Customer"), customer.name),
        (_("Contact"), contact.name if contact is not None else ""),
        (_("Phone"), show(contact.mobile or contact.phone) if contact is not None else show(phone)),
        (_("Address"), address),
    ]


def local_day(at: Any) -> str:
    """The day of an instant in the business time zone, as shown."""
    return show(at.astimezone(ZoneInfo(display.DEFAULT_TIMEZONE)).date())


def price_terms(document: Any) -> str:
    return (
        _("Unit prices include VAT.")
        if document.prices_include_tax
        else _("Unit prices do not include VAT.")
    )


def printed(document: Any, **fields: Any) -> PrintDocument:
    """A :class:`PrintDocument` of a quote or an order: its lines, totals (by tax rate
    too), 大写, remarks and the two signature boxes, with ``fields`` (kind, title, number,
    facts, terms); facts without a value are left out."""
    lines = document_lines(document.lines)
    facts = tuple((k, v) for k, v in fields.pop("facts") if v)
    return PrintDocument(
        company=company(),
        facts=facts,
        lines=lines,
        by_tax_rate=by_tax_rate(document.totals()),
        remarks=document.remarks or "",
        signatures=(_("Seller (seal)"), _("Buyer (seal)")),
        any_discount=any(line.discount for line in lines),
        **document_totals(document.net, document.tax, document.gross),
        **fields,
    )


def document_label(document: Any) -> str:
    """A quote's or an order's number as people read it: ``QT-2026-000001``,
    ``SO-2026-000001 (revision 2)`` / ``… 第2版``."""
    if document.revision == 1:
        return str(document.base_number)
    return _("%(number)s (revision %(n)s)", number=document.base_number, n=document.revision)


def quote_document(s: crmkit.Session, quote: crmkit.Quote, owner: str) -> PrintDocument:
    """A quote as a printable 报价单 (the customer read in ``s``, the user's scope)."""
    facts = [
        *customer_facts(s, quote.customer_id),
        (_("Quote date"), local_day(quote.sent_at or quote.created_at)),
        (_("Valid until"), show(quote.valid_until)),
        (_("Salesperson"), owner),
    ]
    if quote.status is not crmkit.QuoteStatus.SENT:
        facts.append((_("Status"), enum_label(quote.status)))
    terms = (
        _("This quote is valid until %(date)s.", date=show(quote.valid_until)),
        price_terms(quote),
    )
    return printed(
        quote, kind="quote", title=_("Quotation"), number=document_label(quote), facts=facts,
        terms=terms,
    )  # fmt: skip


def order_document(s: crmkit.Session, order: crmkit.Order, owner: str) -> PrintDocument:
    """An order as a printable 销售订单: the customer, the order's dates, salesperson and
    approval status, the lines and totals, the terms; never its cost or margin."""
    facts = [
        *customer_facts(s, order.customer_id),
        (_("Order date"), show(order.signed_on) or local_day(order.created_at)),
        (_("Delivery due"), show(order.delivery_due)),
        (_("Salesperson"), owner),
        (_("Approval status"), enum_label(order.approval)),
    ]
    if order.status is not crmkit.OrderStatus.OPEN:
        facts.append((_("Status"), enum_label(order.status)))
    terms = [price_terms(order)]
    if order.delivery_due is not None:
        terms.append(_("Delivery by %(date)s.", date=show(order.delivery_due)))
    if order.sign_off_due is not None:
        terms.append(_("Sign-off by %(date)s.", date=show(order.sign_off_due)))
    if order.warranty_until is not None:
        terms.append(_("Warranty until %(date)s.", date=show(order.warranty_until)))
    return printed(
        order, kind="order", title=_("Sales order"), number=document_label(order), facts=facts,
        terms=tuple(terms),
    )  # fmt: skip
