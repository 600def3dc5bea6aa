"""Languages: 简体中文 by default, English on request, for the app, Flask-Admin and crmkit.

Three catalogs meet in one page: this app's own (``admin/translations``, domain
``messages``), Flask-Admin's ``zh_Hans_CN`` catalog for its buttons and tables, and crmkit's
message catalog for validation and error texts. One choice (kept in the session) drives all
three: Flask-Babel's locale selector for the first two, ``crmkit.set_language`` for crmkit.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from babel.units import format_unit
from flask import Flask, has_request_context, session
from flask_babel import Babel, LazyString

import crmkit
from crmkit import display

Lang = Literal["zh", "en"]
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
# Flask-Admin names its Simplified Chinese catalog zh_Hans_CN; Babel parses that as zh-Hans.
LOCALES: dict[Lang, str] = {"zh": "zh_Hans_CN", "en": "en"}


def current_lang() -> Lang:
    """The language chosen in this browser session (简体中文 until switched)."""
    return "en" if session.get("lang") == "en" else "zh"


def select_locale() -> str:
    """Flask-Babel's locale selector."""
    return LOCALES[current_lang()]


def apply_crmkit_language() -> None:
    """Before every request: crmkit's messages follow the chosen language.

    ``crmkit.set_language`` sets a context variable, so a request in one thread never
    changes the language of a request in another.
    """
    crmkit.set_language(current_lang())


def init_app(app: Flask) -> None:
    """Configure Flask-Babel for this app's catalog and the session's language."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", LOCALES["zh"])
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    Babel(app, locale_selector=select_locale)
    app.before_request(apply_crmkit_language)
    app.jinja_env.globals["current_lang"] = current_lang


# Labels of crmkit's field names, for columns, forms, import mapping and audit diffs.
def _field_label(field: str, entity: str | None = None) -> str:
    lang = current_lang() if has_request_context() else "zh"
    text = display.field_name(field, lang, entity)
    return text[:1].upper() + text[1:]


# Column, form and filter labels: crmkit's field labels (crmkit.display), in the session's
# language when shown.
FIELD_LABELS: dict[str, LazyString] = {
    field: LazyString(_field_label, field)
    for field in (
        "name",
        "kind",
        "category",
        "channel_type",
        "owner_id",
        "owner",
        "co_owner_ids",
        "customer_id",
        "region",
        "province",
        "city",
        "district",
        "mobile",
        "phone",
        "email",
        "source",
        "industry",
        "tags",
        "credit_rating",
        "settlement",
        "credit_limit",
        "uscc",
        "address",
        "remarks",
        "gender",
        "birthday",
        "id_number",
        "id_type",
        "title",
        "is_primary",
        "contact_name",
        "contact_mobile",
        "contact_title",
        "login",
        "role",
        "manager_id",
        "active",
        "locked",
        "code",
        "specification",
        "unit",
        "category_id",
        "group_id",
        "price",
        "cost",
        "margin",
        "tax_rate",
        "description",
        "members",
        "sort",
        "created_at",
        "updated_at",
        "deleted_at",
        "need",
        "budget",
        "amount",
        "expected_close",
        "stage",
        "probability",
        "competitors",
        "next_step",
        "status",
        "lost_reason",
        "closed_on",
        "disqualified_reason",
        "converted_at",
        "valid_until",
        "gross",
        "net",
        "tax",
        "opportunity_id",
        "prices_include_tax",
        "quote_id",
        "approval",
        "signed_on",
        "delivery_due",
        "sign_off_due",
        "signed_off_on",
        "renewal_on",
        "warranty_until",
        "cost_adjustment",
        "margin_rate",
        "freight",
        "submitted_at",
        "approved_at",
        "cancel_reason",
        "planned_on",
        "delivered_on",
        "weight",
        "comment",
        # receivables and payments (财务)
        "instalment",
        "due",
        "balance",
        "paid",
        "written_off",
        "received_on",
        "method",
        "account",
        "reference",
        "unapplied",
        "reversed_reason",
    )
}


def entity_labels(entity: str, *fields: str) -> dict[str, LazyString]:
    """``{field: label}`` where an entity names a field its own way (an order's ``status``
    is its 执行状态), crmkit's word (``crmkit.display.field_name(…, entity=)``)."""
    return {f: LazyString(_field_label, f, entity) for f in fields}


def labels(*fields: str) -> dict[str, LazyString]:
    """``{field: label}`` for ``fields``, in that order."""
    return {f: FIELD_LABELS[f] for f in fields}


def enum_label(value: enum.Enum | str) -> str:
    """The label of an enum value in the active language (crmkit.display)."""
    return display.label(value, _lang())


def enum_choices(values: Any) -> list[tuple[str, str]]:
    """Select choices for an enum class: ``(value, label)`` pairs."""
    return [(v.value, enum_label(v)) for v in values]


def local_time(at: datetime) -> str:
    """An instant as Beijing time, to the minute (the business timezone crmkit uses)."""
    return display.local_time(at)


def money(value: crmkit.Money) -> str:
    """An amount as people write it: ``¥1,999.00`` (English: ``CN¥1,999.00``)."""
    return display.money(value, _lang())


def percent(rate: Decimal) -> str:
    """A fraction as a percentage: ``Decimal("0.13")`` → ``13%``."""
    return display.percent(rate)


def _lang() -> Lang:
    """The request's language (简体中文 outside a request)."""
    return current_lang() if has_request_context() else "zh"


def catalogue_text(code: str | None) -> str:
    """A code of crmkit's message catalogue (``sfa.plan_disabled``) in the reader's language;
    text that is no code (an older record's English) as it is.

    ``crmkit.display`` has no function for a bare code; a ``FieldError`` renders one."""
    if not code:
        return ""
    return crmkit.FieldError("", code).message(_lang())


def show(value: Any) -> str:
    """Any crmkit value as the text a person reads (escaped later by the template)."""
    return display.show(value, _lang())


# The units a duration is told in, largest first (seconds only for under a minute).
_UNITS = (("duration-day", 86400), ("duration-hour", 3600), ("duration-minute", 60))


def duration(spent: timedelta) -> str:
    """How long something lasted, in words, to the minute: its two largest units, days at
    most (``3天5小时``, ``45 days 2 hours``; under a minute ``20秒钟``), the unit words from
    Babel's CLDR data in the request's language.

    crmkit.display has no duration yet; this belongs there once it has one.
    """
    locale = LOCALES[_lang()]
    seconds = max(int(spent.total_seconds()), 0)
    if seconds < 60:
        return str(format_unit(seconds, "duration-second", locale=locale))
    parts: list[str] = []
    for unit, size in _UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(str(format_unit(count, unit, locale=locale)))
        if parts and (len(parts) == 2 or not count):
            break  # 3天 then 0小时: "3天", not "3天2分钟"
    return ("" if _lang() == "zh" else " ").join(parts)
