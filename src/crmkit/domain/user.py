"""Users: the people who work in the CRM, their roles and who manages whom."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, Final

import attrs

from crmkit.domain.common import (
    is_blank,
    parse_bool,
    parse_enum,
    parse_id,
    parse_reachability,
    parse_value,
)
from crmkit.domain.errors import FieldErrors
from crmkit.domain.pinyin import derive_login
from crmkit.domain.values import Email, Phone, normalize_person_name


class Role(enum.StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    SALES = "sales"
    FINANCE = "finance"
    SERVICE = "service"

    @property
    def label_zh(self) -> str:
        return ROLE_LABELS_ZH[self]


ROLE_LABELS_ZH: Final = {
    Role.ADMIN: "管理员",
    Role.MANAGER: "销售经理",
    Role.SALES: "销售员",
    Role.FINANCE: "财务",
    Role.SERVICE: "客服",
}
ROLE_ALIASES: Final = {v: k for k, v in ROLE_LABELS_ZH.items()} | {"经理": Role.MANAGER}

LOGIN_RE: Final = re.compile(r"^[a-z][a-z0-9._-]{0,39}$")
SYSTEM_ACTOR_ID: Final = "system"


@attrs.frozen(kw_only=True)
class User:
    """A person who logs in. ``login`` is derived from the name by the pinyin rule."""

    id: str
    name: str
    login: str
    role: Role
    manager_id: str | None = None
    email: Email | None = None
    mobile: Phone | None = None
    active: bool = True
    locked: bool = False
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str
    deleted_at: datetime | None = None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


@attrs.frozen(kw_only=True)
class Credentials:
    """A user's password hash and failed-login counter (kept apart from ``User``).

    ``locked_until`` is a timed lock: the last active admin is never locked for good by
    failed logins (``Settings.admin_lock_minutes``), and no login succeeds before it.
    """

    user_id: str
    password_hash: str | None = attrs.field(default=None, repr=False)
    failed_count: int = 0
    failed_on: date | None = None
    locked_until: datetime | None = None


USER_FIELDS: Final[tuple[str, ...]] = (
    "name",
    "login",
    "role",
    "manager_id",
    "email",
    "mobile",
    "active",
)


def parse_user_input(
    raw: Mapping[str, Any],
    errors: FieldErrors,
    *,
    phone_region: str,
    partial: bool = False,
    strict_names: bool = False,
) -> dict[str, Any]:
    """Typed user fields from caller input (password is handled by the workflow)."""
    out: dict[str, Any] = {}
    for key in raw:
        if key not in USER_FIELDS:
            errors.add(key, "unknown_field", raw[key])
    if "name" in raw or not partial:
        if is_blank(raw.get("name")):
            errors.add("name", "required", raw.get("name"))
        else:
            out["name"] = parse_value(
                normalize_person_name, raw["name"], errors, "name", strict=strict_names
            )
    if "role" in raw or not partial:
        role = parse_enum(Role, raw.get("role"), errors, "role", dict(ROLE_ALIASES))
        if role is None and not any(e.field == "role" for e in errors.errors):
            errors.add("role", "required", raw.get("role"))
        out["role"] = role
    if "login" in raw and not is_blank(raw["login"]):
        login = str(raw["login"]).strip().lower()
        if not LOGIN_RE.match(login):
            errors.add("login", "user.login_format", raw["login"])
        else:
            out["login"] = login
    if "manager_id" in raw:
        out["manager_id"] = parse_id(raw["manager_id"], errors, "manager_id")
    parse_reachability(raw, errors, out, phone_region=phone_region, fields=("mobile", "email"))
    if "active" in raw:
        out["active"] = bool(parse_bool(raw["active"], errors, "active"))
    return out


def next_free_login(name: str, taken: Iterable[str]) -> str:
    """The seed rule's login for ``name``, numbered past ``taken`` (zhangsan, zhangsan1, …)."""
    base = derive_login(name)
    used = set(taken)
    if base not in used:
        return base
    n = 1
    while f"{base}{n}" in used:
        n += 1
    return f"{base}{n}"
