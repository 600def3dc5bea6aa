"""Quotes (报价单): what a customer is offered, line by line, with its money worked out.

A quote belongs to one customer (and, optionally, to one of that customer's opportunities).
Its lines say what is sold (a catalogue product or free text), how many, at what unit price,
discount and VAT rate; their amounts and the quote's totals (不含税金额, 税额, 价税合计, 毛利)
come from :func:`crmkit.domain.pricing.price_lines` and are stored with the quote, so lists
show them without working them out again.

A quote moves draft → sent → accepted / rejected / expired (:data:`QUOTE_STATES`). Only a
draft is edited in place; a quote that has been sent is *revised*: a new revision is written
with the same quote number and the next revision counter (QT-2026-000001 第2版), and the
earlier one, kept as it was, becomes *superseded*.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

import attrs

from crmkit.domain import fields as f
from crmkit.domain.lines import (
    CURRENCY,
    PricedDocument,
    SalesLine,
    parse_lines,
)
from crmkit.domain.states import StateMachine
from crmkit.domain.values import Money

DEFAULT_VALIDITY_DAYS: Final = 30


class QuoteStatus(enum.StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"  # a later revision replaced it


QUOTE_STATES: Final[StateMachine[QuoteStatus]] = StateMachine(
    "quote",
    {
        QuoteStatus.DRAFT: frozenset({QuoteStatus.SENT}),
        QuoteStatus.SENT: frozenset(
            {
                QuoteStatus.ACCEPTED,
                QuoteStatus.REJECTED,
                QuoteStatus.EXPIRED,
                QuoteStatus.SUPERSEDED,
            }
        ),
        QuoteStatus.REJECTED: frozenset({QuoteStatus.SUPERSEDED}),
        QuoteStatus.EXPIRED: frozenset({QuoteStatus.SUPERSEDED}),
    },
    {
        QuoteStatus.DRAFT: "草稿",
        QuoteStatus.SENT: "已发送",
        QuoteStatus.ACCEPTED: "已接受",
        QuoteStatus.REJECTED: "已拒绝",
        QuoteStatus.EXPIRED: "已过期",
        QuoteStatus.SUPERSEDED: "已出新版",
    },
)
"""draft -> sent -> accepted | rejected | expired; sent, rejected and expired quotes are
superseded by a revision; accepted and superseded are final."""


QuoteLine = SalesLine
"""A quote's line (:class:`crmkit.domain.lines.SalesLine`)."""


@attrs.frozen(kw_only=True)
class Quote(PricedDocument):
    """A quote (报价单), one revision of it.

    Attributes:
        number: this revision's document number: the quote number on the first revision
            (``QT-2026-000001``), with ``-V<n>`` on later ones (``QT-2026-000001-V2``).
        quote_number: the quote number every revision shares (``QT-2026-000001``).
        revision: 1 for the first, then 2, 3 … (第2版).
        previous_id: the revision this one replaced (None on the first).
        customer_id: the customer (its data scope is the quote's).
        opportunity_id: the customer's opportunity it prices, if any.
        owner_id: the salesperson responsible (default: whoever created it).
        prices_include_tax: whether the lines' unit prices include VAT (含税价, the default).
        currency: CNY.
        valid_until: the last day the offer holds (有效期至).
        lines: the lines, in order.
        net / tax / gross: the totals (不含税金额, 税额, 价税合计).
        cost / margin / margin_rate: the costed lines' cost, gross margin (毛利) and its rate.
        status: see :data:`QUOTE_STATES`.
    """

    id: str
    number: str | None = None
    quote_number: str = attrs.field(
        default=attrs.Factory(lambda self: self.number or "", takes_self=True)
    )
    revision: int = 1
    previous_id: str | None = None
    customer_id: str
    opportunity_id: str | None = None
    owner_id: str
    prices_include_tax: bool = True
    currency: str = CURRENCY
    valid_until: date
    lines: tuple[QuoteLine, ...] = ()
    net: Money
    tax: Money
    gross: Money
    cost: Money
    margin: Money
    margin_rate: Decimal | None = None
    status: QuoteStatus = QuoteStatus.DRAFT
    remarks: str | None = None
    sent_at: datetime | None = None
    decided_on: date | None = None
    decision_note: str | None = None
    custom: Mapping[str, Any] = attrs.field(factory=dict)
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str
    deleted_at: datetime | None = None

    @property
    def base_number(self) -> str:
        return self.quote_number


QUOTE_FIELDS: Final = (
    f.ref("customer_id", required=True, editable=False),
    f.ref("opportunity_id"),
    f.ref("owner_id"),
    f.boolean("prices_include_tax", default=True),
    f.day("valid_until"),
    f.InputField("lines", parse_lines, default=(), kind="lines"),
    f.multiline("remarks", 1000),
)
