"""Custom fields: a typed schema that an application defines at runtime.

Values are validated against the schema on every write and kept in their typed form
(``str``, ``Decimal``, ``date``, ``bool``); storage serialises them through the converter.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from crmkit.domain.errors import FieldErrors

TRUE_WORDS = frozenset({"true", "yes", "y", "1", "是", "对", "真"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "否", "不", "假"})


class CustomFieldType(enum.StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    CHOICE = "choice"
    BOOLEAN = "boolean"


@attrs.frozen
class CustomField:
    """One custom field: its key, type, whether it is required, and for choices, the options."""

    name: str
    type: CustomFieldType = attrs.field(converter=CustomFieldType)
    required: bool = False
    choices: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    label_zh: str | None = None
    label_en: str | None = None
    max_length: int = 500

    def __attrs_post_init__(self) -> None:
        if self.type is CustomFieldType.CHOICE and not self.choices:
            raise ValueError(f"custom field {self.name!r} is a choice without choices")
        if not self.name.isidentifier():
            raise ValueError(f"custom field name {self.name!r} must be an identifier")

    def coerce(self, raw: Any, errors: FieldErrors, path: str) -> Any:
        """Parse ``raw`` to this field's type; report a field error and return None if wrong."""
        if isinstance(raw, str):
            raw = raw.strip()
        if raw is None or raw == "":
            return None
        if self.type is CustomFieldType.TEXT:
            text = str(raw)
            if len(text) > self.max_length:
                errors.add(path, "too_long", raw, max=self.max_length)
                return None
            return text
        if self.type is CustomFieldType.NUMBER:
            if isinstance(raw, float | bool):
                errors.add(path, "number.invalid", raw)
                return None
            try:
                value = Decimal(str(raw))
            except InvalidOperation:
                errors.add(path, "number.invalid", raw)
                return None
            if not value.is_finite():
                errors.add(path, "number.invalid", raw)
                return None
            return value
        if self.type is CustomFieldType.DATE:
            if isinstance(raw, date):
                return raw
            try:
                return date.fromisoformat(str(raw))
            except ValueError:
                errors.add(path, "date.invalid", raw)
                return None
        if self.type is CustomFieldType.BOOLEAN:
            if isinstance(raw, bool):
                return raw
            word = str(raw).strip().lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
            errors.add(path, "bool.invalid", raw)
            return None
        # CHOICE
        text = str(raw)
        if text not in self.choices:
            errors.add(path, "invalid_choice", raw, choices=", ".join(self.choices))
            return None
        return text


@attrs.frozen
class CustomFieldSchema:
    """The set of custom fields an entity type accepts."""

    fields: tuple[CustomField, ...] = ()

    def __attrs_post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if len(names) != len(set(names)):
            raise ValueError("custom field names must be unique")

    def with_field(self, field: CustomField) -> CustomFieldSchema:
        """A schema with ``field`` added, or replaced if one has that name."""
        kept = tuple(f for f in self.fields if f.name != field.name)
        return CustomFieldSchema((*kept, field))

    def get(self, name: str) -> CustomField | None:
        return next((f for f in self.fields if f.name == name), None)

    def validate(
        self,
        values: Mapping[str, Any],
        errors: FieldErrors,
        *,
        path: str = "custom",
        base: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Validate ``values`` on top of ``base`` (the stored values for an update).

        Returns the merged, typed mapping without empty values; every problem is added to
        ``errors`` under ``custom.<name>``.
        """
        merged: dict[str, Any] = dict(base or {})
        for key, raw in values.items():
            field = self.get(key)
            sub = f"{path}.{key}"
            if field is None:
                errors.add(sub, "custom.unknown", raw)
                continue
            value = field.coerce(raw, errors, sub)
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        for field in self.fields:
            if field.required and merged.get(field.name) is None:
                sub = f"{path}.{field.name}"
                if not any(e.field == sub for e in errors.errors):
                    errors.add(sub, "required", values.get(field.name))
        return merged


def field_names(schema: CustomFieldSchema) -> Iterable[str]:
    return (f.name for f in schema.fields)
