"""Reading the audit log."""

from __future__ import annotations

import builtins
import functools
import typing
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from crmkit.domain import display
from crmkit.domain.audit import AuditAction, AuditEntry
from crmkit.domain.contact import Contact
from crmkit.domain.customer import Customer
from crmkit.domain.errors import FieldErrors, NotFound
from crmkit.domain.imports import ImportJob
from crmkit.domain.messages import Language, active_language
from crmkit.domain.sharing import CoOwnershipRequest
from crmkit.domain.user import User
from crmkit.storage.catalog import CO_OWNERSHIP_REQUESTS
from crmkit.storage.ports import AuditQuery, Page
from crmkit.storage.spec import EntitySpec
from crmkit.workflows._common import page_limit
from crmkit.workflows.context import SYSTEM, Permission
from crmkit.workflows.entity import entity_services, entity_specs

if TYPE_CHECKING:
    from crmkit.workflows.session import Session


# Fields that hold user ids and customer ids on every entity type that has them.
_USER_FIELDS = frozenset(
    {
        "owner_id",
        "co_owner_ids",
        "manager_id",
        "created_by",
        "requester_id",
        "decided_by",
        "submitter_id",
    }
)
_CUSTOMER_FIELDS = frozenset({"customer_id", "parent_id", "related_customer_ids"})
# The records a kernel entity's fields name without a declared reference (the sales
# documents': their customer, contact and opportunity).
_SALES_FIELDS: dict[str, str] = {
    "customer_id": "customer",
    "contact_id": "contact",
    "opportunity_id": "opportunity",
    "quote_id": "quote",
    "approval_id": "approval",
    "conversion_approval_id": "approval",
    "order_id": "order",
    "receivable_id": "receivable",
}
# The classes of the entity types that are not kernel specs (their fields' types).
_CLASSES: dict[str, type] = {
    "customer": Customer,
    "contact": Contact,
    "user": User,
    "import": ImportJob,
    "co_ownership_request": CoOwnershipRequest,
}


@attrs.frozen
class AuditLine:
    """One audit entry in the words a person reads: the record by its name, field labels,
    values shown as the screens show them, local times (see :meth:`AuditService.describe`).

    ``changes`` holds ``(field, label, before, after)``; ``field`` is kept for links and
    tests, everything else is display text.
    """

    entry: AuditEntry
    at: str
    actor: str
    action: str
    entity: str
    record: str
    changes: tuple[tuple[str, str, str, str], ...]
    note: str | None = None


class AuditService:
    """``session.audit``: the append-only operation log."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def history(self, entity_id: str) -> builtins.list[AuditEntry]:
        """Every change to one record, oldest first, with actor and field diffs.

        Admins may read any record's history; others only that of records they may read
        (in their scope, deleted ones included) and their own account.

        Raises:
            NotFound: the record is unknown or outside the actor's scope.
        """
        s = self._s
        s.flush_audit()
        entries = s._uow.audit.history(entity_id)
        if s.actor.can(Permission.AUDIT_READ_ALL) or self._may_see(entity_id, entries):
            return entries
        raise NotFound("audit", entity_id)

    def list(
        self,
        *,
        entity_type: str | None = None,
        entity_id: str | None = None,
        record: str | None = None,
        actor_id: str | None = None,
        action: AuditAction | str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> Page[AuditEntry]:
        """The operation log, newest first (admin only).

        Args:
            entity_type / entity_id / actor_id / action: only entries about this type of
                record, this record, by this person, of this action.
            record: only entries about the customers this text finds (their name, phone …,
                as ``customers.list(q=…)`` finds them, the first 50) and their contacts.
            since / until: only entries at or after ``since`` and before ``until``.
        """
        s = self._s
        s.require(Permission.AUDIT_READ_ALL)
        action_value = None
        if action is not None:
            try:
                action_value = AuditAction(action)
            except ValueError:
                errors = FieldErrors()
                errors.add(
                    "action",
                    "invalid_choice",
                    action,
                    choices=", ".join(a.value for a in AuditAction),
                )
                errors.raise_if_any()
        ids: tuple[str, ...] | None = None
        if record and record.strip():
            ids = self._records_matching(record.strip())
        query = AuditQuery(
            entity_id=entity_id,
            entity_ids=ids,
            entity_type=entity_type,
            actor_id=actor_id,
            action=action_value,
            since=since,
            until=until,
        )
        limit = page_limit(limit, s.runtime.settings.max_page_size)
        s.flush_audit()
        return s._uow.audit.list(query, after=after, limit=limit)

    def _records_matching(self, text: str) -> tuple[str, ...]:
        """The customers ``text`` finds (any scope: the log is the admin's) and their
        contacts."""
        from crmkit.storage.ports import EVERYTHING, CustomerQuery

        uow = self._s._uow
        found = uow.customers.list(CustomerQuery(text=text), EVERYTHING, after=None, limit=50).items
        ids = [c.id for c in found]
        for contacts in uow.contacts.for_customers(ids).values():
            ids += [c.id for c in contacts]
        return tuple(ids)

    def describe(
        self, entries: Iterable[AuditEntry], *, lang: Language | None = None
    ) -> builtins.list[AuditLine]:
        """Audit entries as people read them: who (by name), when (in the business time
        zone), which record (by its name, not its id), the action and each changed field by
        its label with before and after shown like the screens show them (labels for codes,
        region paths, money, names for user and customer ids, 是/否).

        Names are read whatever the actor's scope: whoever may read an entry may read the
        names in it. A record purged since shows as 已删除的记录.
        """
        language = lang or active_language()
        entries = list(entries)
        names = _Names(self._s)
        for e in entries:
            names.want(e.entity_type, e.entity_id)
            names.want("user", e.actor_id)
            for field, (before, after) in e.changes.items():
                kind = names.reference(e.entity_type, field)
                if kind is not None:
                    for value in (before, after):
                        for id in value if isinstance(value, list | tuple) else [value]:
                            if isinstance(id, str) and id:
                                # A member token names its user after ``user:``.
                                names.want(kind, id.removeprefix("user:"))
        names.load()
        tz = self._s.runtime.settings.timezone
        out: builtins.list[AuditLine] = []
        for e in entries:
            hints = _field_types(e.entity_type)
            if e.entity_type == "merge":
                # the winner and the losers as they were: each field read through its type
                # (a customer's identity number masked, as everywhere a person reads it)
                merged = _field_types(str((e.changes.get("kind") or (None, ""))[1]))
                hints = {"winner": merged, "losers": merged}
            changes = []
            for field, (before, after) in e.changes.items():
                kind = names.reference(e.entity_type, field)
                name_of: Callable[[str], str | None] | None = (
                    functools.partial(names.get, kind) if kind is not None else None
                )
                shown = functools.partial(
                    display.show_stored,
                    kind=hints.get(field),
                    lang=language,
                    tz=tz,
                    name_of=name_of,
                )
                changes.append(
                    (
                        field,
                        display.field_name(field, language, e.entity_type),
                        shown(before),
                        shown(after),
                    )
                )
            actor = (
                display.system_actor(language)
                if e.actor_id == SYSTEM.id
                else names.get("user", e.actor_id) or e.actor_id
            )
            out.append(
                AuditLine(
                    entry=e,
                    at=display.local_time(e.at, tz),
                    actor=actor,
                    action=display.label(e.action, language),
                    entity=display.entity_label(e.entity_type, language),
                    record=names.get(e.entity_type, e.entity_id)
                    or display.entity_label(e.entity_type, language),
                    changes=tuple(changes),
                    note=display.note(e.note, language) or None,
                )
            )
        return out

    def _may_see(self, entity_id: str, entries: builtins.list[AuditEntry]) -> bool:
        s = self._s
        if entity_id == s.actor.id:
            return True
        scope = s.actor.scope
        kind = entries[0].entity_type if entries else None
        spec = entity_specs().get(kind) if kind else None
        if spec is not None:  # a kernel entity: its own read permission and scope rule
            return (
                s.actor.can(f"{spec.name}.read")
                and s._uow.repo(spec).get(entity_id, scope) is not None
            )
        if not s.actor.can(Permission.CUSTOMER_READ):
            return False
        if s._uow.customers.get(entity_id, scope) is not None:
            return True
        return s._uow.contacts.get(entity_id, scope) is not None


def _field_types(entity_type: str) -> dict[str, Any]:
    """The declared type of each field of ``entity_type``'s class (empty if unknown)."""
    spec = entity_specs().get(entity_type)
    cls = spec.type if spec is not None else _CLASSES.get(entity_type)
    if cls is None:
        return {}
    try:
        hints: dict[str, Any] = typing.get_type_hints(cls)
    except (NameError, TypeError):
        return {}
    for service in entity_services():
        if service.spec.name == entity_type:
            hints.update({f.name: "rate" for f in service.fields if f.kind == "rate"})
    # a derived rate (a document's margin rate) reads as a percentage, as rates do
    hints.update({name: "rate" for name in hints if name.endswith("_rate")})
    if spec is not None and spec.members:
        hints[spec.members] = "members"
    for child in spec.children if spec is not None else ():
        hints[child.attribute] = "children"  # its items are on the record's own page
    if entity_type == "import":
        hints["counts"] = "counts"
    return hints


class _Names:
    """The names of the records an audit page mentions, read in one go per entity type."""

    def __init__(self, s: Session) -> None:
        self._s = s
        self._wanted: dict[str, set[str]] = {}
        self._names: dict[tuple[str, str], str] = {}
        self._refs = {cls.spec.name: cls.references for cls in entity_services() if cls.references}

    def reference(self, entity_type: str, field: str) -> str | None:
        """The entity type that ``field`` of ``entity_type`` names by id, if it does."""
        if field in _USER_FIELDS:
            return "user"
        if entity_type == "customer_lookup" and field == "matches":
            return "customer"  # the customers a similar-customer lookup showed
        spec = entity_specs().get(entity_type)
        if spec is not None and field == spec.members:
            return "user"  # member tokens: ``user:<id>`` (roles need no lookup)
        if field == "reverses" and entity_type == "write_off":
            return "write_off"  # the write-off a reversal undoes
        if field == "previous_id" and entity_type in entity_specs():
            return entity_type  # the revision a quote's or order's revision replaced
        if field == "merged_into" and entity_type in ("customer", "contact"):
            return entity_type  # merged into another record of its own type
        if field in _CUSTOMER_FIELDS and entity_type in _CLASSES:
            return "customer"
        target = self._refs.get(entity_type, {}).get(field)
        if target is not None:
            return target.name
        if entity_type in entity_specs() and field in _SALES_FIELDS:
            return _SALES_FIELDS[field]  # a lead's, opportunity's or quote's customer …
        return None

    def want(self, entity_type: str, id: str) -> None:
        self._wanted.setdefault(entity_type, set()).add(id)

    def get(self, entity_type: str, id: str) -> str | None:
        return self._names.get((entity_type, id))

    def load(self) -> None:
        uow = self._s._uow
        specs = entity_specs()
        for kind, ids in self._wanted.items():
            wanted = sorted(ids)
            found: Iterable[Any]
            if kind == "customer":
                found = uow.customers.get_many(wanted)
            elif kind == "contact":
                found = [c for c in (uow.contacts.get(i) for i in wanted) if c is not None]
            elif kind == "user":
                found = [u for u in (uow.users.get(i) for i in wanted) if u is not None]
            elif kind == "import":
                found = [j for j in (uow.imports.get(i) for i in wanted) if j is not None]
            elif kind in specs:
                found = self._tree(specs[kind], wanted)
            else:
                continue
            for obj in found:
                name = _name_of(obj)
                if name is not None:
                    self._names[(kind, obj.id)] = name
        self._requests()

    def _requests(self) -> None:
        """A co-ownership request is named by the customer it asks for."""
        ids = sorted(self._wanted.get("co_ownership_request", ()))
        if not ids:
            return
        requests = self._s._uow.repo(CO_OWNERSHIP_REQUESTS).get_many(ids)
        customers = {
            c.id: c.name
            for c in self._s._uow.customers.get_many(sorted({r.customer_id for r in requests}))
        }
        for r in requests:
            if r.customer_id in customers:
                self._names[("co_ownership_request", r.id)] = customers[r.customer_id]

    def _tree(self, spec: EntitySpec[Any], ids: builtins.list[str]) -> builtins.list[Any]:
        """Records of ``spec``; those of a tree (a ``parent_id`` naming its own kind, as
        product categories) named by their path, ``门锁 / 智能门锁``, as their screens show
        them."""
        repo = self._s._uow.repo(spec)
        found = repo.get_many(ids)
        parent = self._refs.get(spec.name, {}).get("parent_id")
        if parent is None or parent.name != spec.name:
            return found
        known = {o.id: o for o in found}
        missing = {o.parent_id for o in found if o.parent_id and o.parent_id not in known}
        while missing:  # one read per level of the tree
            more = repo.get_many(sorted(missing))
            known.update({o.id: o for o in more})
            missing = {o.parent_id for o in more if o.parent_id and o.parent_id not in known}
            missing -= known.keys()
            if not more:
                break

        def path(obj: Any) -> str:
            names, seen = [], set()
            while obj is not None and obj.id not in seen:
                seen.add(obj.id)
                names.append(str(obj.name))
                obj = known.get(obj.parent_id) if obj.parent_id else None
            return " / ".join(reversed(names))

        return [attrs.evolve(o, name=path(o)) for o in found]


def _name_of(obj: Any) -> str | None:
    """What a record is called: its name, else its document number, else its file."""
    for attr in ("name", "number", "title", "document_number", "source_name"):
        value = getattr(obj, attr, None)
        if value:
            return str(value)
    return None
