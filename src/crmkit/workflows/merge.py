"""Merging duplicate customers or contacts, and undoing a merge.

``session.customers.merge(winner_id, loser_ids, choices=None, dry_run=False)`` (and
``session.contacts.merge``) folds any number of losers into a winner:

* **Survivorship, field by field.** By default the winner's value survives and an empty one
  is filled from the first loser (in the order given) that has it; collections are united
  (tags; co-owners, to which the losers' owners are added, so nobody who worked a loser
  loses it; related customers); custom fields merge key by key. ``choices`` overrides a
  field with the value of a named record: ``{"mobile": loser_id, "custom.level": loser_id}``.
* **References follow.** Every record pointing at a loser is re-pointed to the winner: its
  contacts, customers whose parent or related customer it was, pending co-ownership
  requests. Later kinds of records (opportunities, orders, tickets …) register their own
  :class:`ReferenceHandler` with ``crm.register_reference``, so merging stays complete as
  crmkit grows.
* **Losers** go to the recycle bin with ``merged_into`` pointing at the winner, and leave
  the duplicate index.
* **One audit entry** (entity type ``merge``, id = the merge id) holds everything needed to
  undo: the winner before and after, each loser before, every moved reference. Each record
  also gets a ``merge`` entry in its own history.

``unmerge(merge_id)`` restores the losers, moves back what still points at the winner, and
restores the winner's merged fields where they still hold the merged value (a field someone
changed since the merge keeps their change).

A dry run validates and plans everything (field outcomes, references to move) and writes
nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

import attrs

from crmkit.domain import events as ev
from crmkit.domain.audit import AuditAction
from crmkit.domain.contact import Contact
from crmkit.domain.converter import converter, custom_from_plain, custom_to_plain, to_plain
from crmkit.domain.customer import Customer, check_customer_rules
from crmkit.domain.errors import FieldErrors, NotFound, PermissionDenied, WorkflowError
from crmkit.domain.sharing import RequestStatus
from crmkit.storage.ports import EVERYTHING, CustomerQuery, Deleted, EntityQuery
from crmkit.storage.spec import EntitySpec, Filter, Op
from crmkit.workflows.context import Permission
from crmkit.workflows.session import new_id
from crmkit.workflows.sharing import request_query, requests

if TYPE_CHECKING:
    from crmkit.workflows.session import Session

Kind = Literal["customer", "contact"]
Entity = Customer | Contact

# Bookkeeping that never survives from a loser.
_SKIP = frozenset(
    {"id", "version", "created_at", "updated_at", "created_by", "deleted_at", "merged_into"}
)
_SKIP_CONTACT = _SKIP | {"deleted_with", "surname", "surname_letter", "initials"}
_UNION = frozenset({"tags", "co_owner_ids", "related_customer_ids"})
# A contact's name carries its derived index fields with it.
_NAME_GROUP = ("name", "surname", "surname_letter", "initials")


@attrs.frozen
class Moved:
    """One reference moved by a merge (plain JSON values, kept in the audit entry)."""

    handler: str
    entity_type: str
    entity_id: str
    field: str
    before: Any
    after: Any


@attrs.frozen
class MergeResult:
    """What a merge did (or, with ``dry_run``, would do).

    Attributes:
        merge_id: the id to pass to ``unmerge`` (None for a dry run).
        kind: ``"customer"`` or ``"contact"``.
        winner: the winner as it is (would be) after the merge.
        loser_ids: the records folded into it.
        changes: the winner's fields that change, ``field -> (before, after)`` (plain).
        moved: references moved to the winner.
        dry_run: True when nothing was written.
    """

    merge_id: str | None
    kind: str
    winner: Any
    loser_ids: tuple[str, ...]
    changes: Mapping[str, tuple[Any, Any]]
    moved: tuple[Moved, ...]
    dry_run: bool = False


class ReferenceHandler(Protocol):
    """Re-points one kind of reference during merges of ``kind`` records."""

    name: str
    kind: str

    def repoint(
        self, s: Session, winner_id: str, loser_ids: Sequence[str], *, dry_run: bool
    ) -> list[Moved]:
        """Move references from the losers to the winner (or only list them)."""

    def undo(self, s: Session, moved: Sequence[Moved]) -> None:
        """Move back what still points at the winner."""


class MergeReferences:
    """The reference handlers one CRM's merges run (``crm.register_reference``): a
    registry owned by the ``CRM`` instance, so two CRMs in a process never share one."""

    def __init__(self, handlers: Sequence[ReferenceHandler] = ()) -> None:
        self._handlers: list[ReferenceHandler] = []
        self._lock = threading.Lock()
        for handler in handlers:
            self.register(handler)

    def register(self, handler: ReferenceHandler) -> None:
        """Make merges of ``handler.kind`` records re-point ``handler``'s references too.
        Registering the same name again replaces the earlier handler."""
        with self._lock:
            kept = [h for h in self._handlers if h.name != handler.name]
            self._handlers = [*kept, handler]

    def of(self, kind: str) -> list[ReferenceHandler]:
        """The handlers merges of ``kind`` run, in registration order."""
        return [h for h in self._handlers if h.kind == kind]


def references(s: Session, kind: str) -> list[ReferenceHandler]:
    return s.runtime.references.of(kind)


# -- plain state (for the audit entry) -----------------------------------------------------
def freeze(entity: Entity) -> dict[str, Any]:
    """An entity as JSON-ready values that :func:`thaw` turns back into it."""
    plain: dict[str, Any] = converter().unstructure(entity)
    if isinstance(entity, Customer):
        plain["custom"] = custom_to_plain(entity.custom)
    return plain


def thaw(cls: type[Entity], plain: Mapping[str, Any]) -> Entity:
    data = dict(plain)
    if cls is Customer:
        data["custom"] = custom_from_plain(data.get("custom") or {})
    entity: Entity = converter().structure(data, cls)
    return entity


# -- the built-in references ---------------------------------------------------------------
def _all_pages(fetch: Any) -> list[Any]:
    out: list[Any] = []
    after: str | None = None
    while True:
        page = fetch(after)
        out.extend(page.items)
        if page.next_after is None:
            return out
        after = page.next_after


class _ContactsFollow:
    """A loser's contacts move to the winner (they are the same company's people)."""

    name = "customer.contacts"
    kind = "customer"

    def repoint(
        self, s: Session, winner_id: str, loser_ids: Sequence[str], *, dry_run: bool
    ) -> list[Moved]:
        winner_has_primary = any(c.is_primary for c in s._uow.contacts.for_customer(winner_id))
        moved: list[Moved] = []
        now = s.now()
        for loser in loser_ids:
            for c in s._uow.contacts.for_customer(loser, include_deleted=True):
                primary = c.is_primary and not winner_has_primary and not c.is_deleted
                winner_has_primary = winner_has_primary or primary
                moved.append(
                    Moved(
                        self.name,
                        "contact",
                        c.id,
                        "customer_id",
                        {"customer_id": loser, "is_primary": c.is_primary},
                        {"customer_id": winner_id, "is_primary": primary},
                    )
                )
                if not dry_run:
                    new = attrs.evolve(
                        c,
                        customer_id=winner_id,
                        is_primary=primary,
                        version=c.version + 1,
                        updated_at=now,
                    )
                    s._uow.contacts.update(new, expected_version=c.version)
                    s.dedup_index.touch("contact", c.id)
        return moved

    def undo(self, s: Session, moved: Sequence[Moved]) -> None:
        now = s.now()
        for m in moved:
            c = s._uow.contacts.get(m.entity_id)
            if c is None or c.customer_id != m.after["customer_id"]:
                continue
            back = attrs.evolve(
                c,
                customer_id=m.before["customer_id"],
                is_primary=m.before["is_primary"],
                version=c.version + 1,
                updated_at=now,
            )
            s._uow.contacts.update(back, expected_version=c.version)
            s.dedup_index.touch("contact", c.id)
            s.dedup_index.touch("customer", m.before["customer_id"])


class _CustomerLinks:
    """Customers whose parent (上级客户) or related customer was a loser."""

    name = "customer.links"
    kind = "customer"

    def repoint(
        self, s: Session, winner_id: str, loser_ids: Sequence[str], *, dry_run: bool
    ) -> list[Moved]:
        repo = s._uow.customers
        gone = set(loser_ids)
        moved: list[Moved] = []
        now = s.now()
        touched: dict[str, Customer] = {}
        for loser in loser_ids:
            for field, query in (
                ("parent_id", CustomerQuery(parent_id=loser, deleted=Deleted.INCLUDE)),
                ("related_customer_ids", CustomerQuery(related_to=loser, deleted=Deleted.INCLUDE)),
            ):
                for c in _all_pages(
                    lambda a, q=query: repo.list(q, EVERYTHING, after=a, limit=500)
                ):
                    if c.id == winner_id or c.id in gone:
                        continue
                    current = touched.get(c.id, c)
                    before: Any
                    after: Any
                    if field == "parent_id":
                        new = attrs.evolve(current, parent_id=winner_id)
                        before, after = current.parent_id, winner_id
                    else:
                        ids = [winner_id if r in gone else r for r in current.related_customer_ids]
                        ids = list(dict.fromkeys(ids))
                        new = attrs.evolve(current, related_customer_ids=tuple(ids))
                        before, after = list(current.related_customer_ids), ids
                    touched[c.id] = new
                    moved.append(Moved(self.name, "customer", c.id, field, before, after))
        if not dry_run:
            for id, new in touched.items():
                stored = repo.get(id)
                assert stored is not None
                repo.update(
                    attrs.evolve(new, version=stored.version + 1, updated_at=now),
                    expected_version=stored.version,
                )
        return moved

    def undo(self, s: Session, moved: Sequence[Moved]) -> None:
        repo = s._uow.customers
        now = s.now()
        for m in moved:
            c = repo.get(m.entity_id)
            if c is None:
                continue
            if m.field == "parent_id" and c.parent_id == m.after:
                back = attrs.evolve(c, parent_id=m.before)
            elif m.field == "related_customer_ids" and list(c.related_customer_ids) == m.after:
                back = attrs.evolve(c, related_customer_ids=tuple(m.before))
            else:
                continue
            repo.update(
                attrs.evolve(back, version=c.version + 1, updated_at=now),
                expected_version=c.version,
            )


class _PendingRequests:
    """Pending co-ownership requests about a loser now ask for the winner."""

    name = "customer.co_ownership_requests"
    kind = "customer"

    def repoint(
        self, s: Session, winner_id: str, loser_ids: Sequence[str], *, dry_run: bool
    ) -> list[Moved]:
        moved: list[Moved] = []
        for loser in loser_ids:
            query = request_query(status=RequestStatus.PENDING, customer_id=loser)
            for req in _all_pages(
                lambda a, q=query: requests(s).list(q, EVERYTHING, after=a, limit=500)
            ):
                moved.append(
                    Moved(
                        self.name, "co_ownership_request", req.id, "customer_id", loser, winner_id
                    )
                )
                if not dry_run:
                    requests(s).update(
                        attrs.evolve(req, customer_id=winner_id, version=req.version + 1),
                        expected_version=req.version,
                    )
        return moved

    def undo(self, s: Session, moved: Sequence[Moved]) -> None:
        for m in moved:
            req = requests(s).get(m.entity_id)
            if req is not None and req.customer_id == m.after:
                requests(s).update(
                    attrs.evolve(req, customer_id=m.before, version=req.version + 1),
                    expected_version=req.version,
                )


class CustomerDocumentsFollow:
    """Customer merges: the losers' records of one kernel entity whose ``customer_id`` is an
    indexed field (opportunities, quotes; deleted ones too) move to the winner, and back on
    unmerge."""

    kind = "customer"

    def __init__(self, spec: EntitySpec[Any]) -> None:
        self.spec = spec
        self.name = f"customer.{spec.table}"

    def repoint(
        self, s: Session, winner_id: str, loser_ids: Sequence[str], *, dry_run: bool
    ) -> list[Moved]:
        repo = s._uow.repo(self.spec)
        moved: list[Moved] = []
        for loser in loser_ids:
            query = EntityQuery(
                filters=(Filter("customer_id", Op.EQ, loser),), deleted=Deleted.INCLUDE
            )
            after: str | None = None
            while True:
                page = repo.list(query, EVERYTHING, after=after, limit=500)
                for record in page.items:
                    moved.append(
                        Moved(self.name, self.spec.name, record.id, "customer_id", loser, winner_id)
                    )
                    if not dry_run:
                        self._point(repo, record, winner_id)
                if page.next_after is None:
                    break
                after = page.next_after
        return moved

    def undo(self, s: Session, moved: Sequence[Moved]) -> None:
        repo = s._uow.repo(self.spec)
        for m in moved:
            record = repo.get(m.entity_id)
            if record is not None and record.customer_id == m.after:
                self._point(repo, record, m.before)

    @staticmethod
    def _point(repo: Any, record: Any, customer_id: str | None) -> None:
        repo.update(
            attrs.evolve(record, customer_id=customer_id, version=record.version + 1),
            expected_version=record.version,
        )


def default_references() -> MergeReferences:
    """crmkit's own handlers: contacts follow their customer, customers' links to one
    another, pending co-ownership requests, and the sales documents (opportunities, quotes;
    a converted lead keeps naming the customer it became, as history)."""
    from crmkit.storage.catalog import OPPORTUNITIES, QUOTES

    documents = [CustomerDocumentsFollow(spec) for spec in (OPPORTUNITIES, QUOTES)]
    return MergeReferences([_ContactsFollow(), _CustomerLinks(), _PendingRequests(), *documents])


# -- survivorship ----------------------------------------------------------------------------
def _empty(value: Any) -> bool:
    return value is None or value == "" or value == () or value == {}


def _survive(
    kind: Kind, winner: Entity, losers: Sequence[Entity], choices: Mapping[str, str]
) -> Entity:
    """The winner with every field decided (see the module docstring)."""
    cls = type(winner)
    by_id: dict[str, Entity] = {winner.id: winner, **{x.id: x for x in losers}}
    skip = _SKIP if kind == "customer" else _SKIP_CONTACT
    names = [a.name for a in attrs.fields(cls) if a.name not in skip]
    errors = FieldErrors()
    for field, source in choices.items():
        base = field.split(".", 1)[0]
        if base not in names or (base != "custom" and "." in field):
            errors.add(f"choices.{field}", "unknown_field", source)
        elif source not in by_id:
            errors.add(f"choices.{field}", "invalid_choice", source, choices=", ".join(by_id))
    errors.raise_if_any()
    everyone = [winner, *losers]
    values: dict[str, Any] = {}
    for name in names:
        if name in choices:
            values[name] = getattr(by_id[choices[name]], name)
        elif name in _UNION:
            merged: list[str] = []
            for x in everyone:
                merged.extend(getattr(x, name))
                if name == "co_owner_ids" and isinstance(x, Customer) and x.owner_id:
                    merged.append(x.owner_id)
            values[name] = tuple(dict.fromkeys(merged))
        elif name == "custom":
            custom: dict[str, Any] = {}
            for x in reversed(everyone):
                custom.update({k: v for k, v in x.custom.items() if not _empty(v)})  # type: ignore[union-attr]
            for field, source in choices.items():
                if field.startswith("custom."):
                    key = field.removeprefix("custom.")
                    value = by_id[source].custom.get(key)  # type: ignore[union-attr]
                    if value is None:
                        custom.pop(key, None)
                    else:
                        custom[key] = value
            values[name] = custom
        else:
            value = getattr(winner, name)
            if _empty(value):
                value = next(
                    (getattr(x, name) for x in losers if not _empty(getattr(x, name))), value
                )
            values[name] = value
    if kind == "contact":
        named = by_id[choices["name"]] if "name" in choices else winner
        values.update({f: getattr(named, f) for f in _NAME_GROUP})
    if isinstance(winner, Customer):
        gone = set(by_id)
        owner = values["owner_id"]
        values["co_owner_ids"] = tuple(u for u in values["co_owner_ids"] if u != owner)
        values["related_customer_ids"] = tuple(
            r for r in values["related_customer_ids"] if r not in gone
        )
        if values.get("parent_id") in gone:
            values["parent_id"] = None
        # A document type goes with its number (whichever record that came from).
        number = values.get("id_number")
        values["id_type"] = number.kind if number is not None else None
    return attrs.evolve(winner, **values)


# -- merge and unmerge -------------------------------------------------------------------------
def _load(s: Session, kind: Kind, id: str, *, include_deleted: bool = False) -> Entity:
    repo: Any = s._uow.customers if kind == "customer" else s._uow.contacts
    found: Entity | None = repo.get(id, s.actor.scope)
    if found is None or (found.is_deleted and not include_deleted):
        raise NotFound(kind, id)
    return found


def _diff_plain(before: Entity, after: Entity) -> dict[str, tuple[Any, Any]]:
    a, b = freeze(before), freeze(after)
    return {
        k: (a.get(k), b.get(k))
        for k in b
        if k not in {"version", "updated_at"} and a.get(k) != b.get(k)
    }


def merge_records(
    s: Session,
    kind: Kind,
    winner_id: str,
    loser_ids: Sequence[str],
    choices: Mapping[str, str] | None,
    dry_run: bool,
) -> MergeResult:
    """Merge ``loser_ids`` into ``winner_id`` (see the module docstring).

    Raises:
        ValidationError: no losers, the winner among them, a bad choice, or a merged record
            that breaks a rule (every problem at once).
        NotFound: a record is absent, deleted or outside the actor's scope.
        PermissionDenied: the actor may not merge (admins and managers may), or not choose
            that owner.
    """
    s.require(Permission.DEDUP_REVIEW)
    losers_ids = list(dict.fromkeys(loser_ids))
    errors = FieldErrors()
    if not losers_ids:
        errors.add("loser_ids", "required", list(loser_ids))
    if winner_id in losers_ids:
        errors.add("loser_ids", "merge.winner_among_losers", winner_id)
    errors.raise_if_any()
    winner = _load(s, kind, winner_id)
    losers = [_load(s, kind, i) for i in losers_ids]
    merged = _survive(kind, winner, losers, choices or {})
    if isinstance(merged, Customer):
        assert isinstance(winner, Customer)
        new_owner = merged.owner_id
        if new_owner not in (None, winner.owner_id) and not s.actor.may_own_for(new_owner):
            raise PermissionDenied(
                s.actor.name, "assign customers to this owner", "将客户分配给该负责人"
            )
        check_customer_rules(merged, errors, today=s.today())
        errors.raise_if_any()
    now = s.now()
    merged = attrs.evolve(merged, version=winner.version + 1, updated_at=now)
    changes = _diff_plain(winner, merged)
    moved: list[Moved] = []
    for handler in references(s, kind):
        moved.extend(handler.repoint(s, winner.id, losers_ids, dry_run=True))
    if dry_run:
        return MergeResult(None, kind, merged, tuple(losers_ids), changes, tuple(moved), True)

    repo: Any = s._uow.customers if kind == "customer" else s._uow.contacts
    merge_id = new_id()
    repo.update(merged, expected_version=winner.version)
    for loser in losers:
        gone = attrs.evolve(
            loser, deleted_at=now, merged_into=winner.id, version=loser.version + 1, updated_at=now
        )
        repo.update(gone, expected_version=loser.version)
    moved = []
    for handler in references(s, kind):
        moved.extend(handler.repoint(s, winner.id, losers_ids, dry_run=False))
    s.dedup_index.remove(kind, losers_ids)
    s.dedup_index.touch(kind, winner.id)
    if isinstance(winner, Contact):
        s.dedup_index.touch("customer", winner.customer_id)
    s.record(
        "merge",
        merge_id,
        AuditAction.MERGE,
        {
            "kind": (None, kind),
            "winner": (freeze(winner), freeze(merged)),
            "losers": ([freeze(x) for x in losers], None),
            "moved": (None, [to_plain(attrs.asdict(m)) for m in moved]),
        },
        at=now,
        note=f"{kind} {winner.id} <- {', '.join(losers_ids)}",
    )
    s.record(kind, winner.id, AuditAction.MERGE, changes, at=now, note=f"merge {merge_id}")
    for loser in losers:
        s.record(
            kind,
            loser.id,
            AuditAction.MERGE,
            {"merged_into": (None, winner.id)},
            at=now,
            note=f"merge {merge_id}",
        )
    s.publish(
        ev.RecordsMerged(
            actor_id=s.actor.id,
            at=now,
            entity_id=merge_id,
            kind=kind,
            winner_id=winner.id,
            loser_ids=tuple(losers_ids),
        )
    )
    return MergeResult(merge_id, kind, merged, tuple(losers_ids), changes, tuple(moved))


def merges(s: Session, *, after: str | None = None, limit: int = 50) -> Any:
    """Audit entries of merges, newest first (``entity_id`` is the merge id)."""
    from crmkit.storage.ports import AuditQuery

    s.require(Permission.DEDUP_REVIEW)
    s.flush_audit()
    return s._uow.audit.list(
        AuditQuery(entity_type="merge", action=AuditAction.MERGE), after=after, limit=limit
    )


def unmerge_records(s: Session, kind: Kind, merge_id: str) -> MergeResult:
    """Undo the merge ``merge_id`` (see the module docstring).

    Raises:
        NotFound: no such merge of ``kind``.
        WorkflowError: it was undone already, or its records moved on in a way that cannot
            be undone (the winner deleted, a loser restored or merged elsewhere).
    """
    s.require(Permission.DEDUP_REVIEW)
    s.flush_audit()
    entries = [e for e in s._uow.audit.history(merge_id) if e.entity_type == "merge"]
    done = next((e for e in entries if e.action is AuditAction.MERGE), None)
    if done is None or done.changes["kind"][1] != kind:
        raise NotFound("merge", merge_id)
    if any(e.action is AuditAction.UNMERGE for e in entries):
        raise WorkflowError("merge", "undone", "unmerge", state_zh="已撤销", move_zh="撤销合并")
    cls: type[Entity] = Customer if kind == "customer" else Contact
    before_plain, after_plain = done.changes["winner"]
    losers_plain: list[dict[str, Any]] = done.changes["losers"][0]
    moved = [Moved(**m) for m in done.changes["moved"][1]]
    winner = _load(s, kind, before_plain["id"])
    repo: Any = s._uow.customers if kind == "customer" else s._uow.contacts
    now = s.now()
    current = freeze(winner)
    restored_plain = dict(current)
    for field, value in before_plain.items():
        if field in {"version", "updated_at"}:
            continue
        if value != after_plain.get(field) and current.get(field) == after_plain.get(field):
            restored_plain[field] = value
    restored = attrs.evolve(thaw(cls, restored_plain), version=winner.version + 1, updated_at=now)
    repo.update(restored, expected_version=winner.version)
    loser_ids: list[str] = []
    for plain in losers_plain:
        now_loser = repo.get(plain["id"])
        if now_loser is None or now_loser.merged_into != winner.id or not now_loser.is_deleted:
            raise WorkflowError(
                "merge",
                "changed",
                "unmerge",
                state_zh="记录已变化",
                move_zh="撤销合并",
                reason=f"{kind} {plain['id']} is no longer merged into {winner.id}",
                reason_zh=f"记录 {plain['id']} 已不再合并于 {winner.id}",
            )
        back = attrs.evolve(thaw(cls, plain), version=now_loser.version + 1, updated_at=now)
        repo.update(back, expected_version=now_loser.version)
        loser_ids.append(back.id)
        s.dedup_index.touch(kind, back.id)
    by_handler: dict[str, list[Moved]] = {}
    for m in moved:
        by_handler.setdefault(m.handler, []).append(m)
    for handler in references(s, kind):
        if handler.name in by_handler:
            handler.undo(s, by_handler[handler.name])
    s.dedup_index.touch(kind, winner.id)
    if isinstance(restored, Contact):
        s.dedup_index.touch("customer", restored.customer_id)
    changes = _diff_plain(winner, restored)
    s.record("merge", merge_id, AuditAction.UNMERGE, {}, at=now, note="undone")
    s.record(kind, winner.id, AuditAction.UNMERGE, changes, at=now, note=f"merge {merge_id}")
    for id in loser_ids:
        s.record(kind, id, AuditAction.UNMERGE, {"merged_into": (winner.id, None)}, at=now)
    s.publish(
        ev.RecordsUnmerged(
            actor_id=s.actor.id,
            at=now,
            entity_id=merge_id,
            kind=kind,
            winner_id=winner.id,
            loser_ids=tuple(loser_ids),
        )
    )
    return MergeResult(merge_id, kind, restored, tuple(loser_ids), changes, tuple(moved))
