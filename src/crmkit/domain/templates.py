"""Message templates (短信模板 / 邮件模板) and SMS length, for SFA steps and the SMS centre.

A :class:`MessageTemplate` holds a text with ``{name}`` placeholders (``{客户名称}`` works
too). :meth:`MessageTemplate.render` fills them and refuses, with field errors in zh and
en, a placeholder no variable fills; :func:`check_template` refuses a template that names
a variable its channel does not offer, before anything is sent.

SMS length follows the GSM rules Chinese gateways bill by: a message that is all GSM-7
characters fits 160 in one segment and 153 per segment when split; any other character
(Chinese) makes it UCS-2, 70 in one segment and 67 per segment when split. Aliyun and
Tencent both bill per segment, so an SMS longer than ``max_segments`` is refused.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs

from crmkit.domain.errors import FieldErrors

# GSM 03.38: the basic set, and the extension table whose characters take two places.
_GSM_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED: Final = frozenset("^{}\\[~]|€\f")
_FIELD: Final = re.compile(r"\{([^{}]*)\}")


def sms_segments(text: str) -> int:
    """How many segments an SMS of ``text`` is billed as (0 for an empty one)."""
    if not text:
        return 0
    if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in text):
        units = sum(2 if c in _GSM_EXTENDED else 1 for c in text)
        single, multi = 160, 153
    else:
        # UCS-2 counts UTF-16 code units: a character outside the BMP takes two
        units = sum(2 if ord(c) > 0xFFFF else 1 for c in text)
        single, multi = 70, 67
    return 1 if units <= single else math.ceil(units / multi)


@attrs.frozen
class MessageTemplate:
    """A template: its ``code`` (``"birthday"``), ``channel`` (``"sms"`` or
    ``"email"``), ``body`` and, for email, ``subject``."""

    code: str
    channel: str
    body: str
    subject: str | None = None

    @property
    def variables(self) -> frozenset[str]:
        """The placeholders the subject and body name."""
        return frozenset(_names(self.body) | _names(self.subject or ""))

    def render(
        self, variables: Mapping[str, Any], *, max_segments: int = 3
    ) -> tuple[str | None, str]:
        """``(subject, body)`` with every placeholder filled.

        Raises:
            ValidationError: a placeholder no variable fills (``variables.<name>``), or an
                SMS longer than ``max_segments`` segments (``body``).
        """
        errors = FieldErrors()
        for name in sorted(self.variables - set(variables)):
            errors.add(f"variables.{name}", "template.unknown_variable", name, name=name)
        errors.raise_if_any("message")
        values = {k: "" if v is None else str(v) for k, v in variables.items()}
        body = _fill(self.body, values)
        subject = _fill(self.subject, values) if self.subject is not None else None
        if self.channel == "sms":
            used = sms_segments(body)
            if used > max_segments:
                errors.add("body", "template.too_long", used, segments=used, limit=max_segments)
        errors.raise_if_any("message")
        return subject, body


def check_template(template: MessageTemplate, offered: Iterable[str]) -> None:
    """Refuse a template that names a variable ``offered`` does not hold, or a body that
    is empty or not a template (an unclosed brace).

    Raises:
        ValidationError: naming each (``body`` / ``subject``).
    """
    errors = FieldErrors()
    if not template.body.strip():
        errors.add("body", "required", None)
    for part, text in (("body", template.body), ("subject", template.subject or "")):
        try:
            list(string.Formatter().parse(text))
        except ValueError:
            errors.add(part, "template.malformed", text)
            continue
        for name in sorted(_names(text) - set(offered)):
            errors.add(part, "template.unknown_variable", name, name=name)
    errors.raise_if_any("message_template")


def _names(text: str) -> set[str]:
    return {m.group(1).strip() for m in _FIELD.finditer(text)}


def _fill(text: str, values: Mapping[str, str]) -> str:
    # Placeholders only: no attribute access or format specs (a template is user input).
    return _FIELD.sub(lambda m: values[m.group(1).strip()], text)
