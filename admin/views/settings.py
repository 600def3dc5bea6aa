"""Settings (admins only): how this CRM is configured, read-only.

Everything here is read from public objects at request time — the open ``crmkit.CRM``
(``url``, ``store``, ``region``, ``clock``, ``settings``, ``customer_fields``), a session's
``runtime.dedup`` (the ``crmkit.DedupConfig`` the CRM was opened with) and this app's own
config (``ADMIN_IDLE_TIMEOUT``) — so the page shows what is in force, never a copy. Nothing
can be changed here: crmkit takes its settings when it is opened (``crmkit.open``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import attrs
from flask import current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import crmkit
from admin import context
from admin.i18n import current_lang
from crmkit import display

MASK = "***"

RULE_LABELS: dict[str, Any] = {
    "anti_collision": _l("Anti-collision"),
    "possible_duplicate": _l("Possible duplicate"),
}
FIELD_TYPE_LABELS: dict[str, Any] = {
    "text": _l("Text"),
    "number": _l("Number"),
    "date": _l("Date"),
    "choice": _l("Choice"),
    "boolean": _l("Yes / no"),
}


@attrs.frozen
class Row:
    """One line of a settings table: what it is, its value, and where it comes from."""

    key: str
    label: str
    value: str
    source: str = ""


@attrs.frozen
class RuleRow:
    """One duplicate rule, as a person reads it."""

    name: str
    label: str
    action: str
    block: bool
    applies: tuple[str, ...]


@attrs.frozen
class DedupSection:
    """The duplicate configuration of one kind of record."""

    kind: str
    label: str
    threshold: str
    fields: tuple[str, ...]
    rules: tuple[RuleRow, ...]


@attrs.frozen
class FieldRow:
    """One custom customer field."""

    name: str
    label: str
    type: str
    required: bool
    choices: str


def mask_url(url: str) -> str:
    """A store URL with its password (if any) replaced by ``***``; the rest kept."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url.split("@", 1)[-1] if "@" in url else url  # unparsable: drop credentials
    if not password:
        return url
    userinfo, _sep, hostinfo = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{hostinfo}"))


def backend(crm: crmkit.CRM) -> str:
    """The storage backend: the URL's scheme (and driver), and the store's class."""
    scheme = crm.url.split(":", 1)[0] if ":" in crm.url else crm.url
    name, _sep, driver = scheme.partition("+")
    shown = f"{name} ({driver})" if driver else name
    return f"{shown} — {crm.backend}"


def minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def general_rows(crm: crmkit.CRM) -> list[Row]:
    """Store, region, time, logins, sessions, recycle bin, version."""
    settings = crm.settings
    idle: timedelta = current_app.config["ADMIN_IDLE_TIMEOUT"]
    now = crm.clock.now()
    local = now.astimezone(ZoneInfo(settings.timezone))
    return [
        Row("url", _("Store URL"), mask_url(crm.url), "CRMKIT_URL"),
        Row("backend", _("Storage backend"), backend(crm)),
        Row("region", _("Default phone region"), crm.region, "crmkit.open(region=…)"),
        Row(
            "timezone",
            _("Business timezone"),
            settings.timezone,
            "Settings.timezone",
        ),
        Row(
            "clock",
            _("Clock"),
            _(
                "%(clock)s; now %(now)s (%(utc)s UTC)",
                clock=type(crm.clock).__name__,
                now=local.strftime("%Y-%m-%d %H:%M"),
                utc=now.astimezone(ZoneInfo("UTC")).strftime("%H:%M"),
            ),
            "crmkit.open(clock=…)",
        ),
        Row(
            "lockout",
            _("Login lockout"),
            _(
                "An account locks after %(n)s failed logins in one business day; "
                "an administrator unlocks it on the user’s page.",
                n=settings.lockout_threshold,
            ),
            "Settings.lockout_threshold",
        ),
        Row(
            "password",
            _("Minimum password length"),
            str(settings.password_min_length),
            "Settings.password_min_length",
        ),
        Row(
            "idle",
            _("Idle session timeout"),
            _("%(n)s minutes", n=minutes(idle)),
            "ADMIN_IDLE_TIMEOUT",
        ),
        Row(
            "recycle",
            _("Recycle bin retention"),
            _("%(n)s days", n=settings.recycle_retention_days),
            "Settings.recycle_retention_days",
        ),
        Row("page", _("Largest page"), str(settings.max_page_size), "Settings.max_page_size"),
        Row("version", _("crmkit version"), str(getattr(crmkit, "__version__", "")) or "?"),
    ]


def rule_row(rule: crmkit.DuplicateRule) -> RuleRow:
    label = RULE_LABELS.get(rule.name)
    block = rule.action is crmkit.RuleAction.BLOCK
    writes = set(rule.on)
    if writes >= set(crmkit.RuleEvent):
        when = _("On create and edit")
    elif crmkit.RuleEvent.CREATE in writes:
        when = _("On create")
    else:
        when = _("On edit")
    parts = [when]
    if rule.other_owner_only:
        parts.append(_("Only when another salesperson owns the match"))
    if rule.min_score is not None:
        score = f"{rule.min_score:.2f}"
        parts.append(_("Only from a score of %(score)s", score=score))
    else:
        parts.append(_("Every match at or above the threshold"))
    return RuleRow(
        name=rule.name,
        label=str(label) if label is not None else rule.name,
        action=_("Block") if block else _("Warn"),
        block=block,
        applies=tuple(parts),
    )


def dedup_sections(dedup: crmkit.DedupConfig) -> list[DedupSection]:
    """The customer and contact matching thresholds, compared fields and rules."""
    kinds = {"customer": _l("Customers"), "contact": _l("Contacts")}
    sections = []
    for kind, label in kinds.items():
        match = dedup.match(kind)  # type: ignore[arg-type]
        sections.append(
            DedupSection(
                kind=kind,
                label=str(label),
                threshold=f"{match.threshold:.2f}",
                fields=tuple(
                    f"{display.reason_field(r.code, current_lang())} ({r.weight:g})"
                    for r in match.rules
                ),
                rules=tuple(rule_row(r) for r in dedup.rules(kind)),  # type: ignore[arg-type]
            )
        )
    return sections


def field_rows(schema: Any) -> list[FieldRow]:
    """The custom fields customers accept, labelled in the interface language."""
    lang = current_lang()
    rows = []
    for f in schema.fields:
        label = (f.label_en if lang == "en" else f.label_zh) or f.label_zh or f.label_en or ""
        rows.append(
            FieldRow(
                name=f.name,
                label=label,
                type=str(FIELD_TYPE_LABELS.get(f.type.value, f.type.value)),
                required=f.required,
                choices=", ".join(f.choices),
            )
        )
    return rows


@attrs.frozen
class EditableRow:
    """One setting an admin may change here (``crmkit.domain.settings.EDITABLE``)."""

    name: str
    label: str
    value: Any
    default: Any
    changed: bool
    kind: str  # number, flag or text
    minimum: int | None = None
    maximum: int | None = None


def editable_rows(s: crmkit.Session) -> list[EditableRow]:
    rules = {r.name: r for r in crmkit.EDITABLE_SETTINGS}
    out = []
    for v in s.settings.editable():
        rule = rules[v.name]
        kind = "flag" if rule.kind is bool else "number" if rule.kind is int else "text"
        label = display.field_name(v.name, current_lang())
        out.append(
            EditableRow(
                v.name,
                label[:1].upper() + label[1:],
                v.value,
                display.show(v.default, current_lang()),
                v.changed,
                kind,
                rule.minimum,
                rule.maximum,
            )
        )
    return out


class SettingsView(BaseView):
    """设置: what an admin may change (crmkit's policies, validated and audited by
    ``session.settings``) and, read-only, the rest of the CRM's configuration."""

    def is_accessible(self) -> bool:
        return context.has_role(crmkit.Role.ADMIN)

    @expose("/", methods=("GET", "POST"))
    def index(self) -> ResponseReturnValue:
        crm = context.crm()
        errors: dict[str, str] = {}
        if request.method == "POST":
            errors = self._save()
            if not errors:
                return redirect(url_for(".index"))
        with context.work() as s:
            dedup: crmkit.DedupConfig = s.runtime.dedup
            editable = editable_rows(s)
            version = s.settings.version()
        return self.render(
            "crm/settings.html",
            editable=editable,
            version=version,
            errors=errors,
            posted=request.form if request.method == "POST" else {},
            general=general_rows(crm),
            dedup=dedup_sections(dedup),
            candidates=dedup.candidates,
            fields=field_rows(crm.customer_fields),
        )

    def _save(self) -> dict[str, str]:
        """Hand the posted values to crmkit; its errors by setting (nothing is written if
        any value is wrong)."""
        form = request.form
        changes: dict[str, Any] = {}
        for rule in crmkit.EDITABLE_SETTINGS:
            if rule.kind is bool:
                changes[rule.name] = "true" if form.get(rule.name) else "false"
            elif rule.name in form:
                changes[rule.name] = form[rule.name]
        try:
            version = int(form.get("version", ""))
        except ValueError:
            version = None
        try:
            with context.work() as s:
                s.settings.update(version=version, **changes)
        except crmkit.ValidationError as exc:
            flash(exc.message(), "error")
            return {e.field: e.message() for e in exc.errors}
        except crmkit.CRMError as exc:
            flash(str(exc), "error")
            return {"": str(exc)}
        flash(_("Settings saved. They are in force now."), "success")
        return {}
