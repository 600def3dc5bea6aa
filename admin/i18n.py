"""Languages: 简体中文 by default, English on request, for the app, Flask-Admin and crmkit.

Three catalogs meet in one page: this app's own (``admin/translations``, domain
``messages``), Flask-Admin's ``zh_Hans_CN`` catalog for its buttons and tables, and crmkit's
message catalog for validation and error texts. One choice (kept in the session) drives all
three: Flask-Babel's locale selector for the first two, ``crmkit.set_language`` for crmkit.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from flask import Flask, has_request_context, session
from flask_babel import Babel, LazyString, lazy_gettext

import crmkit

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


# Labels of crmkit's enum values. The English text is the msgid; the zh catalog has the rest.
ENUM_LABELS: dict[str, LazyString] = {
    # customer kinds and categories
    "company": lazy_gettext("Company"),
    "individual": lazy_gettext("Individual"),
    "potential": lazy_gettext("Potential"),
    "formal": lazy_gettext("Formal"),
    "signed": lazy_gettext("Signed"),
    "abandoned": lazy_gettext("Abandoned"),
    "terminal": lazy_gettext("End customer"),
    "channel": lazy_gettext("Channel"),
    "cash": lazy_gettext("Cash"),
    "credit": lazy_gettext("Credit"),
    "male": lazy_gettext("Male"),
    "female": lazy_gettext("Female"),
    # roles
    "admin": lazy_gettext("Administrator"),
    "manager": lazy_gettext("Sales manager"),
    "sales": lazy_gettext("Salesperson"),
    "finance": lazy_gettext("Finance"),
    "service": lazy_gettext("Customer service"),
    # audit actions
    "create": lazy_gettext("Create"),
    "update": lazy_gettext("Update"),
    "delete": lazy_gettext("Delete"),
    "restore": lazy_gettext("Restore"),
    "purge": lazy_gettext("Purge"),
    "login": lazy_gettext("Log in"),
    "login_failed": lazy_gettext("Failed login"),
    "lock": lazy_gettext("Lock"),
    "unlock": lazy_gettext("Unlock"),
    "password": lazy_gettext("Password change"),
    "merge": lazy_gettext("Merge"),
    "unmerge": lazy_gettext("Unmerge"),
    "revert": lazy_gettext("Revert"),
    # import outcomes
    "created": lazy_gettext("Row created"),
    "updated": lazy_gettext("Row updated"),
    "duplicate": lazy_gettext("Duplicate row"),
    "failed": lazy_gettext("Row failed"),
}


# Labels of crmkit's field names, for columns, forms, import mapping and audit diffs.
FIELD_LABELS: dict[str, LazyString] = {
    "name": lazy_gettext("Name"),
    "kind": lazy_gettext("Kind"),
    "category": lazy_gettext("Customer category"),
    "channel_type": lazy_gettext("Channel type"),
    "owner_id": lazy_gettext("Owner"),
    "owner": lazy_gettext("Owner"),
    "co_owner_ids": lazy_gettext("Co-owners"),
    "customer_id": lazy_gettext("Customer"),
    "region": lazy_gettext("Region"),
    "mobile": lazy_gettext("Mobile"),
    "phone": lazy_gettext("Phone"),
    "email": lazy_gettext("Email"),
    "source": lazy_gettext("Source"),
    "industry": lazy_gettext("Industry"),
    "tags": lazy_gettext("Tags"),
    "credit_rating": lazy_gettext("Credit rating"),
    "settlement": lazy_gettext("Settlement"),
    "credit_limit": lazy_gettext("Credit limit"),
    "uscc": lazy_gettext("Unified social credit code"),
    "address": lazy_gettext("Address"),
    "remarks": lazy_gettext("Remarks"),
    "gender": lazy_gettext("Gender"),
    "birthday": lazy_gettext("Birthday"),
    "title": lazy_gettext("Title"),
    "is_primary": lazy_gettext("Primary contact"),
    "contact_name": lazy_gettext("Contact name"),
    "contact_mobile": lazy_gettext("Contact mobile"),
    "contact_title": lazy_gettext("Contact title"),
    "login": lazy_gettext("Login"),
    "role": lazy_gettext("Role"),
    "manager_id": lazy_gettext("Manager"),
    "active": lazy_gettext("Active"),
    "locked": lazy_gettext("Locked"),
    "code": lazy_gettext("Code"),
    "specification": lazy_gettext("Specification"),
    "unit": lazy_gettext("Unit"),
    "category_id": lazy_gettext("Category"),
    "group_id": lazy_gettext("Group"),
    "price": lazy_gettext("List price"),
    "cost": lazy_gettext("Cost"),
    "margin": lazy_gettext("Gross margin"),
    "tax_rate": lazy_gettext("Tax rate"),
    "description": lazy_gettext("Description"),
    "members": lazy_gettext("Members"),
    "sort": lazy_gettext("Order"),
    "created_at": lazy_gettext("Created"),
    "updated_at": lazy_gettext("Updated"),
    "deleted_at": lazy_gettext("Deleted"),
}


def labels(*fields: str) -> dict[str, LazyString]:
    """``{field: label}`` for ``fields``, in that order."""
    return {f: FIELD_LABELS[f] for f in fields}


def enum_label(value: enum.Enum | str) -> str:
    """The label of an enum value in the active language (the raw value if unknown)."""
    raw = value.value if isinstance(value, enum.Enum) else value
    label = ENUM_LABELS.get(str(raw))
    return str(label) if label is not None else str(raw)


def enum_choices(values: Any) -> list[tuple[str, str]]:
    """Select choices for an enum class: ``(value, label)`` pairs."""
    return [(v.value, enum_label(v)) for v in values]


def local_time(at: datetime) -> str:
    """An instant as Beijing time, to the minute (the business timezone crmkit uses)."""
    return at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")


def money(value: crmkit.Money) -> str:
    """An amount as people write it, by Babel's currency format: ``¥1,999.00`` (English:
    ``CN¥1,999.00``)."""
    return value.format("en" if _lang() == "en" else "zh_CN")


def percent(rate: Decimal) -> str:
    """A fraction as a percentage: ``Decimal("0.13")`` → ``13%``, ``0.065`` → ``6.5%``."""
    return f"{(rate * 100).normalize():f}%"


def _lang() -> Lang:
    """The request's language (简体中文 outside a request)."""
    return current_lang() if has_request_context() else "zh"


def show(value: Any) -> str:
    """Any crmkit value as the text a person reads (escaped later by the template)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, enum.Enum):
        return enum_label(value)
    if isinstance(value, crmkit.Phone):
        return value.national
    if isinstance(value, crmkit.Email | crmkit.USCC):
        return str(value.value)
    if isinstance(value, crmkit.Region):
        return value.path
    if isinstance(value, crmkit.Money):
        return money(value)
    if isinstance(value, datetime):
        return local_time(value)
    if isinstance(value, date | Decimal):
        return str(value)
    if isinstance(value, tuple | list):
        return ", ".join(show(v) for v in value)
    return str(value)
