"""Languages: 简体中文 by default, English on request, for the app, Flask-Admin and crmkit.

Three catalogs meet in one page: this app's own (``admin/translations``, domain
``messages``), Flask-Admin's ``zh_Hans_CN`` catalog for its buttons and tables, and crmkit's
message catalog for validation and error texts. One choice (kept in the session) drives all
three: Flask-Babel's locale selector for the first two, ``crmkit.set_language`` for crmkit.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

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
def _field_label(field: str) -> str:
    text = display.field_name(field, current_lang() if has_request_context() else "zh")
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
    )
}


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


def show(value: Any) -> str:
    """Any crmkit value as the text a person reads (escaped later by the template)."""
    return display.show(value, _lang())
