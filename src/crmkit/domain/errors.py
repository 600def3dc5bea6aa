"""crmkit's exceptions.

The hierarchy::

    CRMError
    ├── ValidationError (also ValueError)      every wrong field at once
    ├── DuplicateError                         similar records exist; carries the matches
    ├── PermissionDenied (also PermissionError)
    │   └── AuthenticationError                wrong login/password, locked or disabled account
    ├── NotFound (also LookupError)            absent, deleted, or outside the actor's scope
    ├── ConcurrencyError                       a stale version was written
    ├── WorkflowError                          a transition the state machine forbids
    ├── TableError (also ValueError)           a file that is not a table at all
    ├── BackupError (also ValueError)          a file that is not a usable crmkit backup
    ├── CallbackError (also ValueError)        an SMS provider's callback refused or unreadable
    └── NotifierError                          a notifier did not send a message
        └── NotifierTimeout                    no answer in time: sent or not, unknown

Errors carry their context as attributes, so callers (forms, import reports, APIs) never
parse messages. Messages render in the active language (see ``crmkit.language``).
``TableError``, ``BackupError`` and ``CallbackError`` are raised by the adapters that read
those inputs and live beside them (``crmkit.adapters.tabular``, ``crmkit.adapters.sqlite_backup``,
``crmkit.adapters.sms_callbacks``), so that the
domain names no file format; ``NotifierError`` belongs to the notifier port
(``crmkit.workflows.notify``), which notifier adapters raise. All of them are exported as
``crmkit.<Name>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import attrs

from crmkit.domain.messages import (
    ENTITY_NAMES,
    ENTITY_NAMES_ZH,
    Language,
    active_language,
    field_label,
    render,
    render_summary,
)


@attrs.frozen
class FieldError:
    """One wrong field: its path, a stable code, the offending value and message parameters."""

    field: str
    code: str
    value: Any = None
    params: dict[str, Any] = attrs.field(factory=dict)

    def message(self, lang: Language | None = None) -> str:
        """The message in ``lang`` (default: the active language), without the field label."""
        return render(self.code, lang, **self.params)

    @property
    def message_en(self) -> str:
        return self.message("en")

    @property
    def message_zh(self) -> str:
        return self.message("zh")

    def describe(self, lang: Language | None = None, entity: str | None = None) -> str:
        """Label and message, e.g. ``手机：不是有效的电话号码`` (``entity``: whose field it
        is, where one name means different things: an opportunity's ``title`` is 机会名称,
        a contact's 职务)."""
        lang = lang or active_language()
        sep = ": " if lang == "en" else "："
        return f"{field_label(self.field, lang, entity)}{sep}{self.message(lang)}"

    def prefixed(self, prefix: str) -> FieldError:
        """The same error under a parent path (``contacts[0]`` + ``mobile``)."""
        return attrs.evolve(self, field=f"{prefix}.{self.field}" if prefix else self.field)


class CRMError(Exception):
    """Base of every error crmkit raises on purpose."""


class ValidationError(CRMError, ValueError):
    """One or more fields are wrong. ``errors`` lists all of them, in input order."""

    def __init__(self, errors: Iterable[FieldError], *, entity: str | None = None) -> None:
        self.errors: tuple[FieldError, ...] = tuple(errors)
        self.entity = entity  # whose fields (for their labels), when one entity's
        if not self.errors:
            raise ValueError("ValidationError needs at least one FieldError")
        super().__init__(self.message())

    @property
    def fields(self) -> tuple[str, ...]:
        """The wrong fields' paths, each once, in order."""
        return tuple(dict.fromkeys(e.field for e in self.errors))

    def message(self, lang: Language | None = None) -> str:
        lang = lang or active_language()
        details = "; ".join(e.describe(lang, self.entity) for e in self.errors)
        # People read labels, not keys: 名称、手机、邮箱, not ``name, mobile, email``.
        labels = dict.fromkeys(field_label(f, lang, self.entity) for f in self.fields)
        head = render_summary(
            "validation",
            lang,
            count=len(self.fields),
            fields=(", " if lang == "en" else "、").join(labels),
        )
        return f"{head} — {details}"

    def __str__(self) -> str:
        return self.message()

    def by_field(self) -> dict[str, list[FieldError]]:
        """Errors grouped by field path (what a form needs)."""
        out: dict[str, list[FieldError]] = {}
        for e in self.errors:
            out.setdefault(e.field, []).append(e)
        return out


@attrs.frozen
class DuplicateMatch:
    """A record similar to the one being written, disclosed minimally.

    Only what the anti-collision rule needs is shown: the record's id and name, who owns it,
    how similar it is and why. A caller who may not read the record cannot open it by id
    (``visible`` is False and ``record`` None); the id still lets them ask to co-own it.
    """

    id: str
    name: str
    owner_id: str | None
    owner_name: str | None
    score: float
    reasons: tuple[str, ...] = ()
    visible: bool = False  # may the caller open it (``get(id)``)?
    record: Any = None  # the Customer or Contact itself, only when visible
    rule: str | None = None  # the duplicate rule that decided it (anti_collision …)


class DuplicateError(CRMError):
    """A similar record exists and the dedup rule blocks the write."""

    def __init__(self, entity: str, matches: Sequence[DuplicateMatch]) -> None:
        self.entity = entity
        self.matches = tuple(matches)
        super().__init__(self.message())

    @property
    def owners(self) -> tuple[str | None, ...]:
        return tuple(m.owner_name or m.owner_id for m in self.matches)

    def message(self, lang: Language | None = None) -> str:
        listed = ", ".join(f"{m.name} ({m.owner_name or m.owner_id or '-'})" for m in self.matches)
        return render_summary(
            "duplicate",
            lang,
            entity=self.entity,
            entity_zh=ENTITY_NAMES_ZH.get(self.entity, self.entity),
            matches=listed,
        )

    def __str__(self) -> str:
        return self.message()


class PermissionDenied(CRMError, PermissionError):
    """The actor's role does not allow the action."""

    def __init__(self, actor: str, action: str, action_zh: str | None = None) -> None:
        self.actor = actor
        self.action = action
        self.action_zh = action_zh or action
        super().__init__(self.message())

    def message(self, lang: Language | None = None) -> str:
        return render_summary(
            "permission", lang, actor=self.actor, action=self.action, action_zh=self.action_zh
        )

    def __str__(self) -> str:
        return self.message()


class AuthenticationError(PermissionDenied):
    """Login failed. ``reason`` is ``failed``, ``locked`` or ``inactive``.

    A wrong password, an unknown login and a wrong password for a locked account all give
    ``failed`` with the same message: only someone who gave the right password learns that
    the account is locked (``until``: when a timed lock ends, in the CRM's timezone; ``None``
    for a lock that lasts until an administrator lifts it) or disabled.
    """

    def __init__(self, reason: str, *, until: datetime | None = None) -> None:
        self.reason = reason
        self.until = until
        CRMError.__init__(self, self.message())
        self.actor = ""
        self.action = "log in"
        self.action_zh = "登录"

    def message(self, lang: Language | None = None) -> str:
        if self.reason == "locked" and self.until is not None:
            return render_summary(
                "auth_locked_until", lang, until=self.until.strftime("%Y-%m-%d %H:%M")
            )
        return render_summary(f"auth_{self.reason}", lang)


class NotFound(CRMError, LookupError):
    """No such record, or the actor may not see it (the two are indistinguishable on purpose)."""

    def __init__(self, entity: str, id: str) -> None:
        self.entity = entity
        self.id = id
        super().__init__(self.message())

    def message(self, lang: Language | None = None) -> str:
        return render_summary(
            "not_found",
            lang,
            entity=self.entity,
            entity_zh=ENTITY_NAMES_ZH.get(self.entity, self.entity),
            id=self.id,
        )

    def __str__(self) -> str:
        return self.message()


class ConcurrencyError(CRMError):
    """The record changed since the caller read it; nothing was written."""

    def __init__(self, entity: str, id: str, expected: int, actual: int | None) -> None:
        self.entity = entity
        self.id = id
        self.expected = expected
        self.actual = actual
        super().__init__(self.message())

    def message(self, lang: Language | None = None) -> str:
        return render_summary(
            "concurrency",
            lang,
            entity=self.entity,
            entity_zh=ENTITY_NAMES_ZH.get(self.entity, self.entity),
            id=self.id,
            expected=self.expected,
            actual=self.actual if self.actual is not None else "?",
        )

    def __str__(self) -> str:
        return self.message()


class WorkflowError(CRMError):
    """A move the state machine forbids from the current state."""

    def __init__(
        self,
        entity: str,
        state: str,
        move: str,
        *,
        state_zh: str | None = None,
        move_zh: str | None = None,
        reason: str = "",
        reason_zh: str = "",
    ) -> None:
        self.entity = entity
        self.state = state
        self.move = move
        self.state_zh = state_zh or state
        self.move_zh = move_zh or move
        self.reason = reason
        self.reason_zh = reason_zh or reason
        super().__init__(self.message())

    def message(self, lang: Language | None = None) -> str:
        lang = lang or active_language()
        reason = self.reason if lang == "en" else self.reason_zh
        name = ENTITY_NAMES.get(self.entity, (self.entity.replace("_", " "), ""))[0]
        return render_summary(
            "workflow_refused" if self.state == "-" else "workflow",
            lang,
            entity=f"{'an' if name[:1] in 'aeiou' else 'a'} {name}",
            entity_zh=ENTITY_NAMES_ZH.get(self.entity, self.entity),
            state=self.state,
            state_zh=self.state_zh,
            move=self.move,
            move_zh=self.move_zh,
            reason=(f": {reason}" if lang == "en" else f"：{reason}") if reason else "",
        )

    def __str__(self) -> str:
        return self.message()


class FieldErrors:
    """Collects field errors while validating, then raises them all at once."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, field: str, code: str, value: Any = None, **params: Any) -> None:
        self.errors.append(FieldError(field, code, value, params))

    def extend(self, errors: Iterable[FieldError], prefix: str = "") -> None:
        self.errors.extend(e.prefixed(prefix) for e in errors)

    def __bool__(self) -> bool:
        return bool(self.errors)

    def __len__(self) -> int:
        return len(self.errors)

    def raise_if_any(self, entity: str | None = None) -> None:
        if self.errors:
            raise ValidationError(self.errors, entity=entity)
