"""One service lifecycle for every entity on the kernel.

:class:`EntityService` gives an entity its verbs (``create``, ``get``, ``list``, ``count``,
``update``, ``delete``, ``restore``, ``purge``) with the same steps each time: the
permission (``<spec name>.<action>`` in the CRM's :class:`~crmkit.workflows.context.Permissions`),
the actor's data scope (inside the repository query), validation of every field at once
(the entity's :class:`~crmkit.domain.fields.InputField` s, its custom fields, its references
and its rules), the version check, an audit entry with field diffs and an event. An entity
service declares its spec and fields and overrides the hooks that hold its own rules
(:meth:`EntityService.check`, :meth:`EntityService.on_created` …); it never copies the
lifecycle.
"""

from __future__ import annotations

import builtins
import enum
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import attrs

from crmkit.domain import events as ev
from crmkit.domain.audit import AuditAction, diff, snapshot
from crmkit.domain.common import parse_bool, parse_date, parse_multiline
from crmkit.domain.custom_fields import CustomFieldSchema
from crmkit.domain.errors import ConcurrencyError, FieldErrors, NotFound, WorkflowError
from crmkit.domain.fields import InputField, parse_input
from crmkit.domain.messages import Language
from crmkit.domain.numbers import format_number
from crmkit.domain.sheets import DuplicatePolicy, EntityImportReport
from crmkit.storage.ports import EVERYTHING, Deleted, EntityQuery, Page, Repository, Scope
from crmkit.storage.spec import EntitySpec, Filter, Op
from crmkit.workflows._common import page_limit
from crmkit.workflows.session import new_id

if TYPE_CHECKING:
    from crmkit.adapters.tabular import Format
    from crmkit.workflows.entity_io import SheetColumn
    from crmkit.workflows.session import Session

T = TypeVar("T")

# ``list(price__ge=…)``: the suffixes a filter keyword may carry, and their operators.
_SUFFIXES: dict[str, Op] = {op.value: op for op in Op}


class EntityService(Generic[T]):
    """The lifecycle every kernel entity's service shares.

    Class attributes a subclass sets:
        spec: the entity's :class:`~crmkit.storage.spec.EntitySpec`.
        fields: the input fields callers may set.
        references: field -> the spec of the record it must name (checked to exist, live).
        custom: whether the entity takes custom fields (``crm.define_field(spec.name, …)``).
        sheet_headers: header synonyms for :meth:`import_file` (labels and names always
            count).
        sheet_labels: export headers that differ from the fields' labels.

    Permissions checked: ``<spec.name>.read`` (get, list, count), ``.create``, ``.write``
    (update), ``.delete`` (delete, restore) and ``.purge``.
    """

    spec: ClassVar[EntitySpec[Any]]
    fields: ClassVar[tuple[InputField, ...]] = ()
    references: ClassVar[Mapping[str, EntitySpec[Any]]] = {}
    custom: ClassVar[bool] = False
    #: spreadsheet column key -> header spellings an import accepts (``"price"``:
    #: 单价, 售价 …; a reference by name is keyed without ``_id``: ``"category"``)
    sheet_headers: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    #: column key -> (English, 简体中文) header an export writes, where the field's
    #: label does not fit (default: the label, ``crmkit.domain.messages.FIELD_LABELS``)
    sheet_labels: ClassVar[Mapping[str, tuple[str, str]]] = {}

    def __init__(self, session: Session) -> None:
        self._s = session

    @property
    def repo(self) -> Repository[T]:
        return self._s._uow.repo(self.spec)

    def require(self, action: str) -> None:
        self._s.require(f"{self.spec.name}.{action}")

    @property
    def required_fields(self) -> frozenset[str]:
        """The fields a record cannot be without (those :attr:`fields` marks ``required``):
        :meth:`create` refuses it without them and :meth:`update` refuses to clear them.
        Forms mark them (the admin's red *)."""
        return frozenset(f.name for f in self.fields if f.required)

    # -- reads ----------------------------------------------------------------------------
    def get(self, id: str, *, include_deleted: bool = False) -> T:
        """The record with ``id``.

        Raises:
            NotFound: it does not exist, is in the recycle bin (unless ``include_deleted``),
                or lies outside the actor's data scope.
            PermissionDenied: the actor may not read this entity type.
        """
        self.require("read")
        found = self.repo.get(id, self._s.actor.scope)
        if found is None or (self._deleted(found) and not include_deleted):
            raise NotFound(self.spec.name, id)
        return found

    def get_many(self, ids: builtins.list[str]) -> builtins.list[T]:
        """Those of ``ids`` that exist, are live and in scope (in no particular order)."""
        self.require("read")
        found = self.repo.get_many(ids, self._s.actor.scope)
        return [obj for obj in found if not self._deleted(obj)]

    def list(
        self,
        *,
        after: str | None = None,
        limit: int = 50,
        q: str | None = None,
        deleted: Deleted | str = Deleted.EXCLUDE,
        **filters: Any,
    ) -> Page[T]:
        """A keyset page of records in the actor's scope.

        Args:
            after: the previous page's ``next_after``.
            limit: page size (clamped to ``Settings.max_page_size``).
            q: text that one of the spec's text fields contains (any case).
            deleted: ``"exclude"`` (default), ``"only"`` (the recycle bin) or ``"include"``.
            **filters: ``field=value`` on an indexed field, or ``field__op=value`` with
                ``op`` one of ``ne in ge gt le lt contains null``.

        Raises:
            ValidationError: an unknown filter or a value of the wrong type.
        """
        self.require("read")
        size = page_limit(limit, self._s.runtime.settings.max_page_size)
        return self.repo.list(
            self.query(filters, q=q, deleted=deleted), self._s.actor.scope, after=after, limit=size
        )

    def every(self, query: EntityQuery, scope: Scope | None = None) -> builtins.list[T]:
        """Every record matching ``query`` inside ``scope`` (default: the actor's), read
        page by page in the spec's order: for a service's own moves and reports, which
        check their permission themselves."""
        found: builtins.list[T] = []
        after: str | None = None
        within = scope if scope is not None else self._s.actor.scope
        while True:
            page = self.repo.list(query, within, after=after, limit=500)
            found += page.items
            if page.next_after is None:
                return found
            after = page.next_after

    def count(
        self,
        *,
        cap: int | None = None,
        q: str | None = None,
        deleted: Deleted | str = Deleted.EXCLUDE,
        **filters: Any,
    ) -> int:
        """How many records :meth:`list` would page through (at most ``cap``)."""
        self.require("read")
        return self.repo.count(
            self.query(filters, q=q, deleted=deleted), self._s.actor.scope, cap=cap
        )

    def query(
        self,
        filters: Mapping[str, Any],
        *,
        q: str | None = None,
        deleted: Deleted | str = Deleted.EXCLUDE,
    ) -> EntityQuery:
        """Filter keywords as an :class:`EntityQuery`, every wrong one reported at once."""
        errors = FieldErrors()
        out: list[Filter] = []
        for key, value in filters.items():
            name, _, suffix = key.partition("__")
            op = _SUFFIXES.get(suffix or "eq")
            if name not in self.spec.columns or op is None:
                errors.add(key, "unknown_field", value)
                continue
            if op is Op.CONTAINS and name not in self.spec.text:
                errors.add(key, "unknown_field", value)
                continue
            if op is Op.NULL:
                out.append(Filter(name, op, bool(value)))
                continue
            if op is Op.IN:
                values = [self._filter_value(name, v, key, errors) for v in value]
                out.append(Filter(name, op, tuple(values)))
                continue
            out.append(Filter(name, op, self._filter_value(name, value, key, errors)))
        text = (q or "").strip()
        if text and not self.spec.text:
            errors.add("q", "unknown_field", q)
        mode = deleted if isinstance(deleted, Deleted) else None
        if mode is None:
            try:
                mode = Deleted(deleted)
            except ValueError:
                errors.add("deleted", "invalid_choice", deleted, choices="exclude, only, include")
        errors.raise_if_any(self.spec.name)
        return EntityQuery(filters=tuple(out), deleted=mode or Deleted.EXCLUDE, text=text or None)

    def _filter_value(self, name: str, value: Any, key: str, errors: FieldErrors) -> Any:
        kind = self.spec.field_types[name]
        if value is None or isinstance(value, kind):
            return value
        if issubclass(kind, enum.Enum):
            try:
                return kind(value)
            except ValueError:
                errors.add(key, "invalid_choice", value, choices=", ".join(m.value for m in kind))
                return None
        if issubclass(kind, bool):
            return parse_bool(value, errors, key)
        if issubclass(kind, datetime | date):
            return parse_date(value, errors, key)
        if issubclass(kind, str):
            return str(value)
        return value

    # -- writes ---------------------------------------------------------------------------
    def create(self, **fields: Any) -> T:
        """Validate ``fields`` and store a new record.

        Raises:
            ValidationError: every wrong field at once.
            PermissionDenied: the actor may not create this entity type.
        """
        self.require("create")
        return self.insert(fields)

    def insert(self, fields: Mapping[str, Any]) -> T:
        """:meth:`create` once the permission is checked: for an entity's own verbs that
        make records under another permission (a write-off under ``receivable.write_off``)."""
        return self.add_new(self._new(fields, numbered=True))

    def add_new(self, entity: T) -> T:
        """Store a record :meth:`_new` made (and the verb completed), with the lifecycle's
        cascades, audit entry and event."""
        s = self._s
        self.repo.add(entity)
        self.on_created(entity)
        obj: Any = entity
        now = obj.created_at
        s.record(self.spec.name, obj.id, AuditAction.CREATE, snapshot(entity), at=now)
        s.publish(self.created_event(entity))
        return entity

    def update(self, id: str, version: int | None = None, **changes: Any) -> T:
        """Change some fields of a record; the others are kept.

        Args:
            id: the record.
            version: the version the caller read; if the stored one differs, nothing is
                written and ``ConcurrencyError`` is raised.
            **changes: the fields to change.

        Raises:
            ValidationError: every wrong field at once.
            ConcurrencyError: ``version`` is not the stored version.
            NotFound: absent, in the recycle bin, or outside the actor's scope.
            PermissionDenied: the actor may not edit this entity type.
        """
        s = self._s
        self.require("write")
        current: Any = self.get(id)
        self._check_version(current, version)
        now = s.now()
        updated = self._changed(current, changes, now)
        if not diff(current, updated):
            return current  # type: ignore[no-any-return]
        self.save_change(current, updated)
        return updated

    def save_change(self, current: T, updated: T) -> None:
        """Store ``updated`` over ``current`` (compare-and-set on its version) with the
        lifecycle's cascades, audit diff and event: what :meth:`update` does once the change
        is checked, for an entity's own verbs (win, send, assign …) to share."""
        s = self._s
        before: Any = current
        after: Any = updated
        self.repo.update(updated, expected_version=before.version)
        self.on_updated(current, updated)
        changed = diff(current, updated)
        at = getattr(after, "updated_at", None) or s.now()
        s.record(self.spec.name, after.id, AuditAction.UPDATE, changed, at=at)
        s.publish(self.updated_event(updated, tuple(changed)))

    def check_create(self, **fields: Any) -> T:
        """The record :meth:`create` would store from ``fields``, validated the same way,
        with nothing written (an import's dry run). Its id is fresh; a numbered entity's
        ``number`` is left empty (a dry run takes no number).

        Raises:
            ValidationError / PermissionDenied: as :meth:`create`.
        """
        self.require("create")
        return self._new(fields, numbered=False)

    def check_changes(self, current: T, **changes: Any) -> T:
        """The record :meth:`update` would store if ``current`` were the stored version,
        validated the same way, with nothing written (an import's dry run, which may
        update a record it has only pretended to create); ``current`` itself when nothing
        would change.

        Raises:
            ValidationError / PermissionDenied: as :meth:`update`.
        """
        self.require("write")
        updated = self._changed(current, changes, self._s.now())
        return updated if diff(current, updated) else current

    def _new(self, fields: Mapping[str, Any], *, numbered: bool) -> T:
        """A new record from ``fields``, every rule checked; nothing written (but, when
        ``numbered``, a document number taken)."""
        s = self._s
        errors = FieldErrors()
        data = parse_input(self.fields, fields, errors, partial=False, extra=self._extra_keys())
        data.update(self.parse_extra(fields, data, errors, None))
        if self.custom:
            data["custom"] = self.custom_schema().validate(fields.get("custom") or {}, errors)
        self.check_references(data, errors, None)
        self.check_unique(data, None, errors)
        errors.raise_if_any(self.spec.name)
        now = s.now()
        base: dict[str, Any] = {"id": new_id(), "created_at": now}
        if "updated_at" in self.spec.field_names:
            base["updated_at"] = now
        if "created_by" in self.spec.field_names:
            base["created_by"] = s.actor.id
        if self.spec.number:
            year = s.today().year
            base["number"] = (
                format_number(self.spec.number, year, s._uow.numbers.next(self.spec.number, year))
                if numbered
                else ""
            )
        build: Any = self.spec.type
        entity: T = build(**self.prepare(fields, data, errors), **base)
        self.check(entity, None, errors)
        errors.raise_if_any(self.spec.name)
        return entity

    def _changed(self, current: Any, changes: Mapping[str, Any], now: datetime) -> T:
        """``current`` with ``changes``, every rule checked, version and time stamped;
        nothing written."""
        errors = FieldErrors()
        data = parse_input(self.fields, changes, errors, partial=True, extra=self._extra_keys())
        data.update(self.parse_extra(changes, data, errors, current))
        if self.custom and "custom" in changes:
            data["custom"] = self.custom_schema().validate(
                changes.get("custom") or {}, errors, base=current.custom
            )
        self.check_references(data, errors, current)
        self.check_unique(data, current, errors)
        errors.raise_if_any(self.spec.name)
        updated: T = self._stamped(current, now, **self.prepare(changes, data, errors, current))
        self.check(updated, current, errors)
        errors.raise_if_any(self.spec.name)
        return updated

    def delete(self, id: str, version: int | None = None) -> None:
        """Move a record to the recycle bin (or away, for entities without one).

        Raises:
            NotFound / ConcurrencyError / PermissionDenied: as for :meth:`update`.
        """
        s = self._s
        self.require("delete")
        current: Any = self.get(id)
        self._check_version(current, version)
        now = s.now()
        self.on_deleting(current)
        if not self.spec.soft_delete:
            self.repo.purge([id])
            s.record(self.spec.name, id, AuditAction.PURGE, at=now)
            s.publish(
                ev.RecordsPurged(
                    actor_id=s.actor.id, at=now, entity_type=self.spec.name, entity_ids=(id,)
                )
            )
            return
        deleted = self._stamped(
            current, now, deleted_at=now, **self.bin_changes(current, deleting=True)
        )
        self.repo.update(deleted, expected_version=current.version)
        s.record(self.spec.name, id, AuditAction.DELETE, diff(current, deleted), at=now)
        s.publish(self.deleted_event(deleted))

    def restore(self, id: str) -> T:
        """Bring a record back from the recycle bin.

        Raises:
            ValidationError: a value it holds was taken meanwhile (a unique field).
        """
        s = self._s
        self.require("delete")
        current: Any = self.get(id, include_deleted=True)
        if not self._deleted(current):
            return current  # type: ignore[no-any-return]
        now = s.now()
        restored: T = self._stamped(
            current, now, deleted_at=None, **self.bin_changes(current, deleting=False)
        )
        self.repo.update(restored, expected_version=current.version)
        s.record(self.spec.name, id, AuditAction.RESTORE, diff(current, restored), at=now)
        s.publish(self.restored_event(restored))
        return restored

    def purge(self, *, older_than: timedelta | None = None) -> int:
        """Delete for good what has been in the recycle bin longer than ``older_than``
        (default: ``Settings.recycle_retention_days``); returns how many."""
        s = self._s
        self.require("purge")
        age = (
            older_than
            if older_than is not None
            else timedelta(days=s.runtime.settings.recycle_retention_days)
        )
        cutoff = s.now() - age
        binned: Any = self.every(EntityQuery(deleted=Deleted.ONLY))
        ids: list[str] = [o.id for o in binned if o.deleted_at <= cutoff]
        if not ids:
            return 0
        self.repo.purge(ids)
        now = s.now()
        for id in ids:
            s.record(self.spec.name, id, AuditAction.PURGE, at=now)
        s.publish(
            ev.RecordsPurged(
                actor_id=s.actor.id, at=now, entity_type=self.spec.name, entity_ids=tuple(ids)
            )
        )
        return len(ids)

    # -- spreadsheets (crmkit.workflows.entity_io) ------------------------------------------
    def import_file(
        self,
        source: str | Path | IO[bytes],
        *,
        mapping: Mapping[str, str] | None = None,
        dry_run: bool = False,
        on_duplicate: DuplicatePolicy | str = DuplicatePolicy.SKIP,
        sheet: str | None = None,
    ) -> EntityImportReport:
        """Create (or update) records from a CSV or XLSX file, one row at a time through
        :meth:`create` and :meth:`update`; every row ends in exactly one outcome and a
        failing row writes nothing. See :func:`crmkit.workflows.entity_io.import_file`.
        """
        from crmkit.workflows.entity_io import import_file

        return import_file(
            self, source, mapping=mapping, dry_run=dry_run, on_duplicate=on_duplicate, sheet=sheet
        )

    def export(
        self,
        target: str | Path | IO[bytes],
        *,
        format: Format = "xlsx",
        lang: Language | None = None,
        q: str | None = None,
        **filters: Any,
    ) -> int:
        """Write the records the actor may see (``q`` and ``filters`` as :meth:`list`) to a
        spreadsheet that :meth:`import_file` reads back; returns how many. See
        :func:`crmkit.workflows.entity_io.export`."""
        from crmkit.workflows.entity_io import export

        return export(self, target, format=format, lang=lang, q=q, **filters)

    def sheet_columns(self) -> tuple[SheetColumn, ...]:
        """The columns of this entity's spreadsheets: what a header can map to."""
        from crmkit.workflows.entity_io import sheet_columns

        return sheet_columns(self)

    # -- hooks ----------------------------------------------------------------------------
    def parse_extra(
        self,
        raw: Mapping[str, Any],  # noqa: ARG002  (the hook's signature)
        data: Mapping[str, Any],  # noqa: ARG002
        errors: FieldErrors,  # noqa: ARG002
        current: T | None,  # noqa: ARG002
    ) -> dict[str, Any]:
        """Hook: values of the keys an entity reads itself (its ``_extra_keys``: a plan's
        steps), parsed with the other fields so that one error lists every wrong field."""
        return {}

    def prepare(
        self,
        raw: Mapping[str, Any],  # noqa: ARG002  (for overrides)
        data: dict[str, Any],
        errors: FieldErrors,  # noqa: ARG002
        current: T | None = None,  # noqa: ARG002
    ) -> dict[str, Any]:
        """The parsed fields, with what the entity derives from them (default: as they
        are). ``raw`` is the caller's input, ``current`` the stored record on update."""
        return data

    def check(self, entity: T, current: T | None, errors: FieldErrors) -> None:
        """The entity's rules across fields and records; add every problem to ``errors``."""

    def on_created(self, entity: T) -> None:
        """Cascades after a create (in the same unit of work)."""

    def on_updated(self, before: T, after: T) -> None:
        """Cascades after an update."""

    def on_deleting(self, entity: T) -> None:
        """Checks and cascades before a delete (raise to refuse it)."""

    def bin_changes(
        self,
        entity: T,  # noqa: ARG002  (for overrides)
        *,
        deleting: bool,  # noqa: ARG002
    ) -> dict[str, Any]:
        """Fields a move into (``deleting``) or out of the recycle bin changes beside
        ``deleted_at`` (a deleted user is deactivated); default none."""
        return {}

    def created_event(self, entity: T) -> ev.DomainEvent:
        """The event a create publishes (default :class:`~crmkit.domain.events.RecordCreated`)."""
        obj: Any = entity
        return ev.RecordCreated(
            actor_id=self._s.actor.id,
            at=obj.created_at,
            entity_id=obj.id,
            entity_type=self.spec.name,
        )

    def deleted_event(self, entity: T) -> ev.DomainEvent:
        """The event a move into the recycle bin publishes (``entity`` as binned; default
        :class:`~crmkit.domain.events.RecordDeleted`)."""
        obj: Any = entity
        return ev.RecordDeleted(
            actor_id=self._s.actor.id,
            at=obj.deleted_at,
            entity_id=obj.id,
            entity_type=self.spec.name,
        )

    def restored_event(self, entity: T) -> ev.DomainEvent:
        """The event a restore publishes (``entity`` as restored; default
        :class:`~crmkit.domain.events.RecordRestored`)."""
        obj: Any = entity
        return ev.RecordRestored(
            actor_id=self._s.actor.id,
            at=getattr(obj, "updated_at", None) or self._s.now(),
            entity_id=obj.id,
            entity_type=self.spec.name,
        )

    def updated_event(self, after: T, fields: tuple[str, ...]) -> ev.DomainEvent:
        """The event an update of ``fields`` publishes (default
        :class:`~crmkit.domain.events.RecordUpdated`)."""
        obj: Any = after
        return ev.RecordUpdated(
            actor_id=self._s.actor.id,
            at=getattr(obj, "updated_at", None) or self._s.now(),
            entity_id=obj.id,
            entity_type=self.spec.name,
            fields=fields,
        )

    # -- helpers --------------------------------------------------------------------------
    def custom_schema(self) -> CustomFieldSchema:
        return self._s.runtime.custom_fields.get(self.spec.name) or CustomFieldSchema()

    def check_references(
        self, data: Mapping[str, Any], errors: FieldErrors, current: T | None
    ) -> None:
        """Every reference given names a live record (in any scope: a reference is not a
        read)."""
        for field, target in self.references.items():
            value = data.get(field)
            if value is None or (current is not None and getattr(current, field) == value):
                continue
            found: Any = self._s._uow.repo(target).get(value)
            if found is None or (target.soft_delete and found.deleted_at is not None):
                errors.add(field, "not_found_ref", value)

    def check_unique(self, data: Mapping[str, Any], current: Any, errors: FieldErrors) -> None:
        """Report every ``unique`` value given that another live record holds, with the
        other errors (the store refuses it all the same, should a concurrent writer take
        it first)."""
        for field in self.spec.unique:
            value = data.get(field)
            if value is None or (current is not None and getattr(current, field) == value):
                continue
            query = EntityQuery(filters=(Filter(field, Op.EQ, value),))
            if self.repo.count(query, EVERYTHING, cap=1):
                errors.add(field, "taken", value)

    def check_customer(self, customer_id: str | None, errors: FieldErrors, code: str) -> None:
        """The customer a record belongs to is live and one the actor sees (reported as
        ``code`` on ``customer_id``): a sales document is written for one's own customers.
        None: nothing to check (a missing customer is already reported as required)."""
        if customer_id is None:
            return
        s = self._s
        customer = s._uow.customers.get(customer_id, s.actor.scope)
        if customer is None or customer.is_deleted:
            errors.add("customer_id", code, customer_id)

    def check_owner(self, data: Mapping[str, Any], current: Any, errors: FieldErrors) -> bool:
        """An ``owner_id`` given names a live, active user, and cannot be cleared once set;
        True when it gives a new owner that holds (for an entity's assignment rules)."""
        if "owner_id" not in data:
            return False
        owner = data["owner_id"]
        if owner is None:
            if current is not None:
                errors.add("owner_id", "required", None)
            return False
        if current is not None and owner == current.owner_id:
            return False
        user = self._s.user(owner)
        if user is None or user.is_deleted:
            errors.add("owner_id", "not_found_ref", owner)
            return False
        if not user.active:
            errors.add("owner_id", "customer.owner_inactive", owner)
            return False
        return True

    def refusal(self, move: str, move_zh: str, reason: tuple[str, str]) -> WorkflowError:
        """The error for a verb this entity does not offer (``reason``: why, in English and
        Chinese): approvals come from submissions, receivables from payment plans."""
        return WorkflowError(
            self.spec.name,
            "-",
            move,
            state_zh="-",
            move_zh=move_zh,
            reason=reason[0],
            reason_zh=reason[1],
        )

    def _extra_keys(self) -> frozenset[str]:
        return frozenset({"custom"}) if self.custom else frozenset()

    def _deleted(self, obj: Any) -> bool:
        return self.spec.soft_delete and obj.deleted_at is not None

    def _check_version(self, current: Any, version: int | None) -> None:
        if version is not None and version != current.version:
            raise ConcurrencyError(self.spec.name, current.id, version, current.version)

    def writable(self, id: str, version: int | None) -> T:
        """The record ``id`` for one of the entity's own verbs that changes it: the write
        permission, the actor's scope and the version checked."""
        self.require("write")
        current = self.get(id)
        self._check_version(current, version)
        return current

    def save_changes(self, current: T, **changes: Any) -> T:
        """``current`` with ``changes``, versioned, time-stamped and stored through
        :meth:`save_change` (audit, cascades, event)."""
        updated: T = self._stamped(current, self._s.now(), **changes)
        self.save_change(current, updated)
        return updated

    def required_text(self, field: str, raw: Any, max_length: int) -> str:
        """A verb's own required text argument (a reason, a result), stripped.

        Raises:
            ValidationError: empty, or longer than ``max_length``, named as ``field``.
        """
        errors = FieldErrors()
        value = parse_multiline(raw, errors, field, max_length)
        if value is None and not errors:
            errors.add(field, "required", raw)
        errors.raise_if_any(self.spec.name)
        assert value is not None
        return value

    def _stamped(self, current: Any, now: datetime, **changes: Any) -> Any:
        stamp: dict[str, Any] = {"version": current.version + 1, **changes}
        if "updated_at" in self.spec.field_names:
            stamp["updated_at"] = now
        return attrs.evolve(current, **stamp)


def entity_services() -> builtins.list[type[EntityService[Any]]]:
    """Every entity service class with a spec: crmkit's own and any an application
    defined (found at call time)."""
    import crmkit.workflows.activities
    import crmkit.workflows.approvals
    import crmkit.workflows.complaints
    import crmkit.workflows.dictionary
    import crmkit.workflows.kb
    import crmkit.workflows.leads
    import crmkit.workflows.messages
    import crmkit.workflows.opportunities
    import crmkit.workflows.orders
    import crmkit.workflows.payments
    import crmkit.workflows.products
    import crmkit.workflows.quotes
    import crmkit.workflows.receivables
    import crmkit.workflows.repairs
    import crmkit.workflows.sfa
    import crmkit.workflows.targets
    import crmkit.workflows.tickets  # noqa: F401

    found: builtins.list[type[EntityService[Any]]] = []
    pending: builtins.list[type[EntityService[Any]]] = list(EntityService.__subclasses__())
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        if "spec" in cls.__dict__:
            found.append(cls)
    return found


def entity_specs() -> dict[str, EntitySpec[Any]]:
    """The specs of :func:`entity_services`, by entity type."""
    return {cls.spec.name: cls.spec for cls in entity_services()}


def custom_field_entities() -> frozenset[str]:
    """The entity types that take custom fields: customers and every entity service that
    says so (found at call time, so an application's own services count too)."""
    return frozenset({"customer"} | {c.spec.name for c in entity_services() if c.custom})
