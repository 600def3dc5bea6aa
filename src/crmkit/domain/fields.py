"""Declared input fields: how an entity turns caller input into typed values.

An entity lists its :class:`InputField` s once; :func:`parse_input` reads a form, an
import row or keyword arguments with them and reports every wrong field at once. The field
kinds (:func:`text`, :func:`money`, :func:`rate`, :func:`ref` …) wrap the parsers every entity
shares, so a new entity writes its rules, not its parsing.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from crmkit.domain.common import (
    is_blank,
    parse_bool,
    parse_date,
    parse_enum,
    parse_id,
    parse_moment,
    parse_multiline,
    parse_text,
    parse_value,
)
from crmkit.domain.errors import FieldErrors
from crmkit.domain.values import Money, normalize_text

Parser = Callable[[Any, FieldErrors, str], Any]


@attrs.frozen
class InputField:
    """One field callers may set.

    Attributes:
        name: the attribute and input key.
        parse: ``parse(raw, errors, path)``: the typed value, or None (empty or wrong,
            the latter reported in ``errors``).
        required: a value must be given on create and cannot be cleared.
        default: the value on create when none is given.
        editable: may be changed after create.
        kind: what sort of value it holds (``text``, ``money``, ``rate``, ``bool`` …), for
            the places that show or read it as text (spreadsheet export and import);
            ``value`` when nothing special.
    """

    name: str
    parse: Parser
    required: bool = False
    default: Any = None
    editable: bool = True
    kind: str = "value"


def parse_input(
    fields: Sequence[InputField],
    raw: Mapping[str, Any],
    errors: FieldErrors,
    *,
    partial: bool,
    extra: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Typed values of the fields present in ``raw`` (on create, defaults for the rest).

    Args:
        fields: the entity's input fields.
        raw: input keyed by field name.
        errors: every problem lands here: unknown keys (``unknown_field``, except those in
            ``extra``, which the caller handles), missing required values (``required``),
            fields that may not change (``immutable``, when ``partial``), bad values.
        partial: an update: absent fields are left out rather than defaulted.
    """
    by_name = {f.name: f for f in fields}
    for key, value in raw.items():
        if key not in by_name and key not in extra:
            errors.add(key, "unknown_field", value)
    out: dict[str, Any] = {}
    for field in fields:
        if field.name not in raw:
            if not partial:
                if field.required:
                    errors.add(field.name, "required", None)
                else:
                    out[field.name] = field.default
            continue
        value = raw[field.name]
        if partial and not field.editable:
            errors.add(field.name, "immutable", value)
            continue
        before = len(errors.errors)
        parsed = field.parse(value, errors, field.name)
        if parsed is None and field.required and len(errors.errors) == before:
            errors.add(field.name, "required", value)
        out[field.name] = field.default if parsed is None and not partial else parsed
    return out


# -- field kinds --------------------------------------------------------------------------
def text(name: str, max_length: int, **options: Any) -> InputField:
    """One line of text, NFKC-normalised and trimmed."""
    return InputField(
        name, lambda raw, e, p: parse_text(raw, e, p, max_length), kind="text", **options
    )


def multiline(name: str, max_length: int, **options: Any) -> InputField:
    """Text that keeps its line breaks."""
    return InputField(
        name, lambda raw, e, p: parse_multiline(raw, e, p, max_length), kind="text", **options
    )


def ref(name: str, **options: Any) -> InputField:
    """The id of another record (the service checks that it exists)."""
    return InputField(name, parse_id, kind="ref", **options)


def boolean(name: str, **options: Any) -> InputField:
    return InputField(name, parse_bool, kind="bool", **options)


def day(name: str, **options: Any) -> InputField:
    """A calendar date (``2027-01-31``, ``2027/1/31``, ``2027年1月31日``)."""
    return InputField(name, parse_date, kind="date", **options)


def moment(name: str, **options: Any) -> InputField:
    """A date and time (:func:`~crmkit.domain.common.parse_moment`)."""
    return InputField(name, parse_moment, kind="datetime", **options)


def choice(name: str, enum_type: type[enum.Enum], **options: Any) -> InputField:
    """A member of ``enum_type``, by itself, its value or an alias."""
    aliases = options.pop("aliases", None)
    return InputField(
        name, lambda raw, e, p: parse_enum(enum_type, raw, e, p, aliases), kind="choice", **options
    )


def money(
    name: str, *, currency: str = "CNY", negative: bool = False, **options: Any
) -> InputField:
    """An exact amount (``"1,999.00"``, ``"¥1999"``, ``Decimal``, ``Money``)."""

    def parse(raw: Any, errors: FieldErrors, path: str) -> Money | None:
        if isinstance(raw, Money):
            if raw.amount < 0 and not negative:
                errors.add(path, "money.negative", str(raw.amount))
                return None
            return raw
        return parse_value(
            Money.parse, raw, errors, path, currency=currency, allow_negative=negative
        )

    return InputField(name, parse, kind="money", **options)


def parse_fraction(
    raw: Any, errors: FieldErrors, path: str, *, code: str = "rate.invalid", upto_one: bool = False
) -> Decimal | None:
    """A fraction from 0 up to 1 (1 itself only with ``upto_one``), written ``"0.13"``,
    ``"13%"`` or as a ``Decimal``; floats are refused (0.1 is not one tenth). A wrong value
    is reported in ``errors`` as ``code``."""
    if is_blank(raw):
        return None
    if isinstance(raw, float | bool):
        errors.add(path, code, raw)
        return None
    text = normalize_text(str(raw)).strip()
    percent = text.endswith("%")
    try:
        value = Decimal(text.removesuffix("%").strip())
    except InvalidOperation:
        errors.add(path, code, raw)
        return None
    if percent:
        value /= 100
    below_top = value <= 1 if upto_one else value < 1
    if not value.is_finite() or value < 0 or not below_top:
        errors.add(path, code, raw)
        return None
    return value


def rate(name: str, **options: Any) -> InputField:
    """A fraction from 0 up to (not including) 1: ``"0.13"``, ``"13%"``, ``Decimal``."""
    return InputField(name, parse_fraction, kind="rate", **options)


def quantity(name: str, **options: Any) -> InputField:
    """A positive decimal quantity (``10``, ``"2.5"``)."""

    def parse(raw: Any, errors: FieldErrors, path: str) -> Decimal | None:
        if is_blank(raw):
            return None
        if isinstance(raw, float | bool):
            errors.add(path, "number.invalid", raw)
            return None
        try:
            value = Decimal(normalize_text(str(raw)).strip())
        except InvalidOperation:
            errors.add(path, "number.invalid", raw)
            return None
        if not value.is_finite() or value <= 0:
            errors.add(path, "number.positive", raw)
            return None
        return value

    return InputField(name, parse, kind="quantity", **options)


def integer(
    name: str, *, minimum: int | None = None, maximum: int | None = None, **options: Any
) -> InputField:
    """A whole number (an order, a count), from ``minimum`` to ``maximum`` when given."""

    def parse(raw: Any, errors: FieldErrors, path: str) -> int | None:
        if raw is None or str(raw).strip() == "":
            return None
        try:
            value = int(str(raw).strip())
        except ValueError:
            errors.add(path, "number.invalid", raw)
            return None
        low = value if minimum is None else minimum
        high = value if maximum is None else maximum
        if not low <= value <= high:
            errors.add(path, "number.range", raw, min=low, max=high)
            return None
        return value

    return InputField(name, parse, kind="integer", **options)


def tokens(name: str, allowed: Callable[[str], bool], **options: Any) -> InputField:
    """A list of member tokens (``user:<id>``, ``role:<role>``), deduplicated."""

    def parse(raw: Any, errors: FieldErrors, path: str) -> tuple[str, ...]:
        if is_blank(raw):
            return ()
        items = raw.split(",") if isinstance(raw, str) else list(raw)
        out: list[str] = []
        for i, item in enumerate(items):
            token = str(item).strip()
            if not token:
                continue
            if not allowed(token):
                errors.add(f"{path}[{i}]", "member.invalid", item)
            elif token not in out:
                out.append(token)
        return tuple(out)

    return InputField(name, parse, default=(), kind="tokens", **options)
