"""Settings an admin may change while the CRM runs (系统设置), with their bounds.

The application opens crmkit with its :class:`~crmkit.workflows.runtime.Settings`; the
policies listed here may then be changed by an admin (through ``session.settings`` or the
admin's settings screen), are stored, audited, and take effect in every process using the
store. What only the application decides (workers, the collector, queue leases) is not
here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from crmkit.domain.common import parse_bool
from crmkit.domain.errors import FieldErrors
from crmkit.domain.sla import ServiceHours

SETTINGS_ID: Final = "settings"  # the one stored record


@attrs.frozen(kw_only=True)
class StoredSettings:
    """The values an admin changed (setting name -> value); the rest keep the
    application's."""

    id: str = SETTINGS_ID
    values: Mapping[str, Any] = attrs.field(factory=dict)
    version: int = 1
    created_at: datetime
    updated_at: datetime


def _timezone(text: str) -> bool:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def write_off_amount(text: str) -> Decimal | None:
    """The 抹零 limit as an amount of yuan (``"10.00"``; ``"0"``: no write-offs), or None
    if ``text`` is not one."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        return None
    return value


def _signature(text: str) -> bool:
    """【name】, 2 to 12 characters inside, as the operators register signatures."""
    return text.startswith("【") and text.endswith("】") and 2 <= len(text) - 2 <= 12


def quiet_window(text: str) -> tuple[time, time] | None:
    """``"21:00-08:00"`` as (start, end) local times (the window may cross midnight);
    None when ``text`` is not such a window. An empty text or ``"-"`` means no quiet hours
    and is read by the caller."""
    parts = text.replace("–", "-").split("-")
    if len(parts) != 2:
        return None
    try:
        start, end = (time.fromisoformat(p.strip()) for p in parts)
    except ValueError:
        return None
    return None if start == end else (start, end)


@attrs.frozen
class SettingRule:
    """One editable setting: its type and bounds (``choices`` for text)."""

    name: str
    kind: type
    minimum: int | None = None
    maximum: int | None = None
    valid: Callable[[str], bool] | None = None

    def parse(self, raw: Any, errors: FieldErrors) -> Any:
        """The typed value of ``raw`` (a form's text or a value), or None if wrong."""
        if self.kind is bool:
            return parse_bool(raw, errors, self.name)
        if self.kind is int:
            try:
                value = int(str(raw).strip())
            except ValueError:
                errors.add(self.name, "number.invalid", raw)
                return None
            low = self.minimum if self.minimum is not None else value
            high = self.maximum if self.maximum is not None else value
            if not low <= value <= high:
                errors.add(self.name, "number.range", raw, min=low, max=high)
                return None
            return value
        text = str(raw).strip()
        if not text or (self.valid is not None and not self.valid(text)):
            errors.add(self.name, "setting.invalid", raw)
            return None
        return text


EDITABLE: Final[tuple[SettingRule, ...]] = (
    SettingRule("recycle_retention_days", int, 1, 3650),
    SettingRule("lockout_threshold", int, 3, 100),
    SettingRule("admin_lock_minutes", int, 1, 1440),
    SettingRule("captcha_after", int, 0, 100),
    SettingRule("password_min_length", int, 8, 128),
    SettingRule("max_page_size", int, 10, 5000),
    SettingRule("timezone", str, valid=_timezone),
    SettingRule("strict_name_script", bool),
    SettingRule("write_off_limit", str, valid=lambda t: write_off_amount(t) is not None),
    SettingRule("write_off_percent", int, 0, 100),
    SettingRule("overdue_reminder_days", int, 1, 90),
    SettingRule("sms_signature", str, valid=lambda t: _signature(t)),
    SettingRule("sms_max_segments", int, 1, 10),
    SettingRule("quiet_hours", str, valid=lambda t: t == "-" or quiet_window(t) is not None),
    SettingRule("service_hours", str, valid=lambda t: ServiceHours.parse(t) is not None),
    SettingRule("ticket_reopen_days", int, 0, 365),
    SettingRule("satisfaction_survey", bool),
)
EDITABLE_BY_NAME: Final[Mapping[str, SettingRule]] = {r.name: r for r in EDITABLE}


def parse_settings(raw: Mapping[str, Any], errors: FieldErrors) -> dict[str, Any]:
    """Typed values of the editable settings in ``raw``; every wrong one (an unknown
    name, a value out of bounds) reported in ``errors``."""
    out: dict[str, Any] = {}
    for name, value in raw.items():
        rule = EDITABLE_BY_NAME.get(name)
        if rule is None:
            errors.add(name, "unknown_field", value)
            continue
        parsed = rule.parse(value, errors)
        if parsed is not None:
            out[name] = parsed
    return out
