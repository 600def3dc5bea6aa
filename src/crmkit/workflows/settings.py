"""``session.settings``: the policies an admin changes while the CRM runs (系统设置).

The application opens crmkit with its :class:`~crmkit.workflows.runtime.Settings`; an admin
may change those listed in :data:`crmkit.domain.settings.EDITABLE` (retention, lockout,
password length, time zone …). A change is validated (every wrong value named), versioned,
audited field by field, stored with the CRM's data, and in force in this process as soon as
it commits and in every other process using the store within :data:`RELOAD_AFTER` (by the
CRM's clock).
"""

from __future__ import annotations

import builtins
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

import attrs

from crmkit.domain import events as ev
from crmkit.domain.audit import AuditAction
from crmkit.domain.errors import ConcurrencyError, FieldErrors
from crmkit.domain.settings import EDITABLE, SETTINGS_ID, StoredSettings, parse_settings
from crmkit.storage.catalog import APP_SETTINGS

if TYPE_CHECKING:
    from crmkit.storage.ports import UnitOfWork
    from crmkit.workflows.runtime import Runtime, Settings
    from crmkit.workflows.session import Session

# How stale another process's change may be here: sessions re-read the stored settings
# when they are older than this (one small read a minute at most).
RELOAD_AFTER: Final = timedelta(seconds=60)


@attrs.frozen
class SettingValue:
    """One editable setting as a screen lists it: its name, value in force, and the
    application's own value (what "reset" brings back)."""

    name: str
    value: Any
    default: Any
    changed: bool


def effective(base: Settings, stored: StoredSettings | None) -> Settings:
    """``base`` with the stored changes that still apply (a value no longer valid, or a
    setting no longer editable, is left out rather than failing the CRM's start)."""
    if stored is None or not stored.values:
        return base
    errors = FieldErrors()
    known = {k: v for k, v in stored.values.items() if hasattr(base, k)}
    values = parse_settings(known, errors)
    return attrs.evolve(base, **values)


def load_settings(runtime: Runtime, uow: UnitOfWork | None = None) -> None:
    """Put the stored settings in force in this process (reading them in ``uow``, or in a
    unit of work of its own)."""
    if uow is None:
        with runtime.store.unit_of_work() as own:
            load_settings(runtime, own)
        return
    stored = uow.repo(APP_SETTINGS).get(SETTINGS_ID)
    runtime.settings = effective(runtime.base_settings or runtime.settings, stored)
    runtime.settings_read_at = runtime.clock.now()


def reload_if_stale(runtime: Runtime, uow: UnitOfWork) -> None:
    """Re-read the stored settings if another process may have changed them meanwhile."""
    read = runtime.settings_read_at
    now = runtime.clock.now()
    if read is None or not read <= now < read + RELOAD_AFTER:
        load_settings(runtime, uow)


class SettingsService:
    """``session.settings``: read the settings in force; change the editable ones (admins,
    permission ``settings.write``)."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def current(self) -> Settings:
        """The settings in force."""
        return self._s.runtime.settings

    def editable(self) -> builtins.list[SettingValue]:
        """The settings an admin may change, with their values in force and the
        application's."""
        runtime = self._s.runtime
        base = runtime.base_settings or runtime.settings
        return [
            SettingValue(
                r.name,
                getattr(runtime.settings, r.name),
                getattr(base, r.name),
                getattr(runtime.settings, r.name) != getattr(base, r.name),
            )
            for r in EDITABLE
            if hasattr(base, r.name)
        ]

    def version(self) -> int:
        """The stored settings' version (0: never changed), for :meth:`update`."""
        stored = self._s._uow.repo(APP_SETTINGS).get(SETTINGS_ID)
        return stored.version if stored is not None else 0

    def update(self, version: int | None = None, **changes: Any) -> Settings:
        """Change editable settings; the others keep their values.

        Args:
            version: the :meth:`version` the caller read; another admin's change since
                raises ``ConcurrencyError`` and writes nothing.
            **changes: setting name -> new value (text from a form is read: ``"30"``,
                ``"是"``, ``"Asia/Shanghai"``).

        Raises:
            ValidationError: every unknown setting and wrong value at once.
            PermissionDenied: the actor may not change settings.
        """
        s = self._s
        s.require("settings.write")
        errors = FieldErrors()
        values = parse_settings(changes, errors)
        errors.raise_if_any()
        repo = s._uow.repo(APP_SETTINGS)
        stored = repo.get(SETTINGS_ID)
        held = stored.version if stored is not None else 0
        if version is not None and version != held:
            raise ConcurrencyError("settings", SETTINGS_ID, version, held)
        before = s.runtime.settings
        diff = {k: (getattr(before, k), v) for k, v in values.items() if getattr(before, k) != v}
        if not diff:
            return before
        now = s.now()
        if stored is None:
            stored = StoredSettings(values=values, created_at=now, updated_at=now)
            repo.add(stored)
        else:
            merged = {**stored.values, **values}
            updated = attrs.evolve(stored, values=merged, version=held + 1, updated_at=now)
            repo.update(updated, expected_version=held)
        s.record("settings", SETTINGS_ID, AuditAction.UPDATE, diff, at=now)
        s.publish(
            ev.RecordUpdated(
                actor_id=s.actor.id,
                at=now,
                entity_id=SETTINGS_ID,
                entity_type="settings",
                fields=tuple(diff),
            )
        )
        runtime = s.runtime
        s.on_commit(lambda: load_settings(runtime))
        return attrs.evolve(before, **values)
