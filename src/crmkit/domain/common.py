"""Small parsing helpers shared by the entity modules (all pure)."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any, TypeVar

from crmkit.domain.display import ENUM_LABELS
from crmkit.domain.errors import FieldErrors, ValidationError
from crmkit.domain.values import Email, Phone, PhoneKind, normalize_text

E = TypeVar("E", bound=enum.Enum)
T = TypeVar("T")


class Gender(enum.StrEnum):
    MALE = "male"
    FEMALE = "female"
    UNKNOWN = "unknown"


GENDER_WORDS = {"男": Gender.MALE, "女": Gender.FEMALE, "m": Gender.MALE, "f": Gender.FEMALE}


def is_blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


# C0 control characters (and DEL) other than tab and line breaks: invisible, refused by
# PostgreSQL (NUL) and by the XLSX format, so they are refused at the edge.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def parse_text(raw: Any, errors: FieldErrors, path: str, max_length: int) -> str | None:
    """Free text: NFKC-normalised, trimmed; empty becomes None."""
    if is_blank(raw):
        return None
    if not isinstance(raw, str):
        errors.add(path, "invalid_type", raw, expected="text")
        return None
    if _CONTROL.search(raw):
        errors.add(path, "text.control_char", raw)
        return None
    text = normalize_text(raw)
    if len(text) > max_length:
        errors.add(path, "too_long", raw, max=max_length)
        return None
    return text


def parse_multiline(raw: Any, errors: FieldErrors, path: str, max_length: int) -> str | None:
    """Remarks keep their line breaks; only the ends are trimmed."""
    if is_blank(raw):
        return None
    if not isinstance(raw, str):
        errors.add(path, "invalid_type", raw, expected="text")
        return None
    if _CONTROL.search(raw):
        errors.add(path, "text.control_char", raw)
        return None
    text = raw.strip()
    if len(text) > max_length:
        errors.add(path, "too_long", raw, max=max_length)
        return None
    return text


def parse_enum(
    enum_type: type[E],
    raw: Any,
    errors: FieldErrors,
    path: str,
    aliases: dict[str, E] | None = None,
) -> E | None:
    """An enum member from itself, its value, or a (Chinese) alias."""
    if is_blank(raw):
        return None
    if isinstance(raw, enum_type):
        return raw
    key = str(raw).strip()
    for member in enum_type:
        if key == member.value or key.lower() == str(member.value).lower():
            return member
    if aliases and key in aliases:
        return aliases[key]
    if aliases and key.lower() in aliases:
        return aliases[key.lower()]
    labels = _enum_labels(enum_type)
    for member, (en, zh) in labels.items():
        if key == zh or key.casefold() == en.casefold():  # what forms and lists show
            return member
    codes = ", ".join(str(m.value) for m in enum_type)
    errors.add(
        path,
        "invalid_choice",
        raw,
        choices=codes,
        choices_en=", ".join(en for en, _ in labels.values()) or codes,
        choices_zh="、".join(zh for _, zh in labels.values()) or codes,
    )
    return None


def _enum_labels(enum_type: type[E]) -> dict[E, tuple[str, str]]:
    """The (English, 简体中文) label of each member of ``enum_type`` that has one in crmkit's
    display catalogue (empty when it has none)."""
    table = ENUM_LABELS.get(enum_type.__name__, {})
    return {m: table[str(m.value)] for m in enum_type if str(m.value) in table}


def parse_value(
    parser: Callable[..., T], raw: Any, errors: FieldErrors, path: str, **kwargs: Any
) -> T | None:
    """Run a value-object parser, moving its errors into ``errors``."""
    if is_blank(raw):
        return None
    try:
        return parser(raw, field=path, **kwargs)
    except ValidationError as exc:
        errors.extend(exc.errors)
        return None


def parse_date(raw: Any, errors: FieldErrors, path: str) -> date | None:
    if is_blank(raw):
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = normalize_text(str(raw)).replace("/", "-").replace(".", "-")
    for sep in ("年", "月"):
        text = text.replace(sep, "-")
    text = text.rstrip("日")
    try:
        parts = [int(p) for p in text.split("-")]
        if len(parts) != 3:
            raise ValueError(text)
        return date(parts[0], parts[1], parts[2])
    except ValueError:
        errors.add(path, "date.invalid", raw)
        return None


def parse_period(
    start: Any, end: Any, *, required: bool, entity: str = "period"
) -> tuple[date | None, date | None]:
    """Two days (dates or text) read together: each one that is not a day, a missing one
    when ``required``, or ``end`` before ``start`` is a field error (``start`` / ``end``).

    Raises:
        ValidationError: naming every wrong one.
    """
    errors = FieldErrors()
    first = parse_date(start, errors, "start")
    last = parse_date(end, errors, "end")
    for name, raw, value in (("start", start, first), ("end", end, last)):
        if required and value is None and is_blank(raw):
            errors.add(name, "required", None)
    if first is not None and last is not None and last < first:
        errors.add("end", "date.before_start", last.isoformat())
    errors.raise_if_any(entity)
    return first, last


def parse_moment(raw: Any, errors: FieldErrors, path: str) -> datetime | None:
    """A date and time: a ``datetime`` as given, a ``date`` at midnight, or text such as
    ``2027-01-05 14:30`` or ``2027-01-05T14:30+08:00``. Without a time zone it stays
    naive: the workflow places it in the CRM's zone."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, datetime):
        return raw
    if isinstance(raw, date):
        return datetime.combine(raw, datetime.min.time())
    text = str(raw).strip().replace("/", "-")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        errors.add(path, "datetime.invalid", raw)
        return None


def parse_id(raw: Any, errors: FieldErrors, path: str) -> str | None:
    if is_blank(raw):
        return None
    if not isinstance(raw, str):
        errors.add(path, "invalid_type", raw, expected="id")
        return None
    return raw.strip()


def parse_ids(raw: Any, errors: FieldErrors, path: str) -> tuple[str, ...]:
    """A list of ids, deduplicated, order kept."""
    if is_blank(raw):
        return ()
    items: Iterable[Any] = raw.split(",") if isinstance(raw, str) else raw
    out: list[str] = []
    for i, item in enumerate(items):
        value = parse_id(item, errors, f"{path}[{i}]")
        if value is not None and value not in out:
            out.append(value)
    return tuple(out)


def parse_tags(raw: Any, errors: FieldErrors, path: str, max_length: int = 30) -> tuple[str, ...]:
    """Tags from a list or a comma/、/; separated string: trimmed, unique, sorted."""
    if is_blank(raw):
        return ()
    if isinstance(raw, str):
        for sep in ("，", "、", ";", "；"):
            raw = raw.replace(sep, ",")
        items: Iterable[Any] = raw.split(",")
    else:
        items = raw
    out: set[str] = set()
    for i, item in enumerate(items):
        tag = parse_text(item, errors, f"{path}[{i}]", max_length)
        if tag:
            out.add(tag)
    return tuple(sorted(out))


def parse_bool(raw: Any, errors: FieldErrors, path: str) -> bool | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower()
    if word in {"true", "yes", "y", "1", "是"}:
        return True
    if word in {"false", "no", "n", "0", "否"}:
        return False
    errors.add(path, "bool.invalid", raw)
    return None


def parse_reachability(
    raw: Any,
    errors: FieldErrors,
    out: dict[str, Any],
    *,
    phone_region: str,
    fields: tuple[str, ...] = ("mobile", "phone", "email"),
) -> None:
    """Parse the ``mobile`` (must be a mobile), ``phone`` and ``email`` present in ``raw``
    into ``out``; value objects pass through as they are."""
    for key in fields:
        if key not in raw:
            continue
        value = raw[key]
        if isinstance(value, Phone | Email):
            out[key] = value
        elif key == "email":
            out[key] = parse_value(Email.parse, value, errors, key)
        else:
            require = PhoneKind.MOBILE if key == "mobile" else None
            out[key] = parse_value(
                Phone.parse, value, errors, key, region=phone_region, require=require
            )
