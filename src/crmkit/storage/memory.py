"""The in-memory store: dictionaries behind the storage ports.

It is a real backend (it passes the same contract suite as SQL), meant for tests and for
applications that want a throw-away CRM. A unit of work keeps its writes in an overlay and
applies them on commit under a lock, after re-checking the versions it based them on, so two
units of work behave like two database transactions with optimistic concurrency.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import attrs

from crmkit.domain.audit import AuditEntry
from crmkit.domain.contact import Contact
from crmkit.domain.customer import Customer
from crmkit.domain.errors import ConcurrencyError, FieldError, NotFound, ValidationError
from crmkit.domain.imports import ImportJob, RowResult
from crmkit.domain.sharing import CoOwnershipRequest
from crmkit.domain.user import Credentials, User
from crmkit.storage.memory_entities import MemoryNumbers, MemoryRepository
from crmkit.storage.memory_queues import (
    MemoryEvents,
    MemoryJobs,
    MemoryOutbox,
    QueueOverlay,
    QueueTables,
)
from crmkit.storage.ports import (
    EVERYTHING,
    AuditQuery,
    AuditRepository,
    Candidate,
    ContactQuery,
    ContactRepository,
    CoOwnershipRepository,
    CustomerQuery,
    CustomerRepository,
    Decision,
    DedupRepository,
    Deleted,
    ImportQuery,
    ImportRepository,
    IndexEntry,
    KeyHolder,
    NumberRepository,
    Page,
    Repository,
    RequestQuery,
    Scope,
    StoredPair,
    Summary,
    UserQuery,
    UserRepository,
)
from crmkit.storage.queues import EventRepository, JobRepository, OutboxRepository
from crmkit.storage.spec import EntitySpec
from crmkit.storage.textsearch import customer_matches_text, normalize_query

T = TypeVar("T")
_MISSING: Any = object()  # marks a purged row in an overlay


@attrs.define
class _Tables:
    customers: dict[str, Customer] = attrs.Factory(dict)
    customer_seq: dict[str, int] = attrs.Factory(dict)
    contacts: dict[str, Contact] = attrs.Factory(dict)
    contact_seq: dict[str, int] = attrs.Factory(dict)
    users: dict[str, User] = attrs.Factory(dict)
    user_seq: dict[str, int] = attrs.Factory(dict)
    credentials: dict[str, Credentials] = attrs.Factory(dict)
    audit: list[AuditEntry] = attrs.Factory(list)
    requests: dict[str, CoOwnershipRequest] = attrs.Factory(dict)
    request_seq: dict[str, int] = attrs.Factory(dict)
    jobs: dict[str, ImportJob] = attrs.Factory(dict)
    job_seq: dict[str, int] = attrs.Factory(dict)
    job_rows: dict[tuple[str, int], RowResult] = attrs.Factory(dict)
    # The duplicate index: (kind, id) -> entry; key -> ids; (kind, left, right) -> pair.
    dedup_entries: dict[tuple[str, str], IndexEntry] = attrs.Factory(dict)
    dedup_keys: dict[int, set[str]] = attrs.Factory(dict)
    dedup_pairs: dict[tuple[str, str, str], StoredPair] = attrs.Factory(dict)
    dedup_decisions: dict[tuple[str, str, str], Decision] = attrs.Factory(dict)
    # Generic entities (storage.spec): table -> id -> object, and their seqs.
    entities: dict[str, dict[str, Any]] = attrs.Factory(dict)
    entity_seqs: dict[str, dict[str, int]] = attrs.Factory(dict)
    numbers: dict[tuple[str, int], int] = attrs.Factory(dict)
    next_seq: int = 1


class MemoryStore:
    """A store kept in process memory. Thread-safe; nothing survives the process."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self.dialect_name = "memory"
        self._tables = _Tables()
        self._lock = threading.RLock()
        # Duplicate-index key locks held by open units of work (``DedupRepository.lock``).
        self._key_owners: dict[int, object] = {}
        self._key_released = threading.Condition(self._lock)
        # Events, outbox and jobs, with their row locks (``memory_queues``); the condition
        # above also wakes units of work waiting for those rows.
        self._queues = QueueTables()

    def unit_of_work(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)

    def close(self) -> None:
        """Nothing to release; kept for the ``Store`` protocol."""


def open_memory_store(url: str = "memory://", **_: Any) -> MemoryStore:
    """Entry point used by ``crmkit.open()`` for ``memory://`` and no URL."""
    return MemoryStore(url)


def _page(rows: list[tuple[int, T]], after: str | None, limit: int, descending: bool) -> Page[T]:
    rows.sort(key=lambda r: r[0], reverse=descending)
    if after is not None:
        mark = int(after)
        rows = [r for r in rows if (r[0] < mark if descending else r[0] > mark)]
    chunk = rows[: limit + 1]
    more = len(chunk) > limit
    chunk = chunk[:limit]
    return Page(tuple(r[1] for r in chunk), str(chunk[-1][0]) if more and chunk else None)


def _deleted_ok(deleted_at: Any, mode: Deleted) -> bool:
    if mode == Deleted.INCLUDE:
        return True
    if mode == Deleted.ONLY:
        return deleted_at is not None
    return deleted_at is None


class _Overlay:
    """Pending writes of one table: id -> new row (or ``_MISSING`` when purged)."""

    def __init__(self, committed: dict[str, Any], seqs: dict[str, int]) -> None:
        self.committed = committed
        self.seqs = seqs
        self.written: dict[str, Any] = {}
        self.new_seqs: dict[str, int] = {}
        self.base_versions: dict[str, int | None] = {}

    def current(self, id: str) -> Any:
        if id in self.written:
            row = self.written[id]
            return None if row is _MISSING else row
        return self.committed.get(id)

    def seq(self, id: str) -> int:
        return self.new_seqs.get(id) or self.seqs[id]

    def rows(self) -> Iterable[tuple[int, Any]]:
        for id, row in self.committed.items():
            if id not in self.written:
                yield self.seqs[id], row
        for id, row in self.written.items():
            if row is not _MISSING:
                yield self.seq(id), row

    def remember_base(self, id: str) -> None:
        if id not in self.base_versions:
            row = self.committed.get(id)
            self.base_versions[id] = None if row is None else row.version

    def conflicts(self) -> ConcurrencyError | None:
        for id, base in self.base_versions.items():
            row = self.committed.get(id)
            now = None if row is None else row.version
            if now != base:
                return ConcurrencyError("record", id, base or 0, now)
        return None

    def apply(self) -> None:
        for id, row in self.written.items():
            if row is _MISSING:
                self.committed.pop(id, None)
                self.seqs.pop(id, None)
            else:
                self.committed[id] = row
                if id in self.new_seqs:
                    self.seqs[id] = self.new_seqs[id]


class MemoryUnitOfWork:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        t = store._tables
        self._customers = _Overlay(t.customers, t.customer_seq)
        self._contacts = _Overlay(t.contacts, t.contact_seq)
        self._users = _Overlay(t.users, t.user_seq)
        self._credentials: dict[str, Credentials] = {}
        self._requests = _Overlay(t.requests, t.request_seq)
        self._jobs = _Overlay(t.jobs, t.job_seq)
        self._overlays = (self._customers, self._contacts, self._users, self._requests, self._jobs)
        self._job_rows: dict[tuple[str, int], RowResult] = {}
        self._audit: list[AuditEntry] = []
        self._dedup = _DedupOverlay()
        self.customers: CustomerRepository = _MemoryCustomers(self)
        self.contacts: ContactRepository = _MemoryContacts(self)
        self.users: UserRepository = _MemoryUsers(self)
        self.audit: AuditRepository = _MemoryAudit(self)
        self.dedup: DedupRepository = _MemoryDedup(self)
        self.co_ownership: CoOwnershipRepository = _MemoryRequests(self, self._requests)
        self.imports: ImportRepository = _MemoryImports(self, self._jobs)
        self._queues = QueueOverlay(store._queues, store._lock, store._key_released)
        self.events: EventRepository = MemoryEvents(self._queues)
        self.outbox: OutboxRepository = MemoryOutbox(self._queues)
        self.jobs: JobRepository = MemoryJobs(self._queues)
        self._repos: dict[str, MemoryRepository[Any]] = {}
        self._numbers = MemoryNumbers(self)
        self.numbers: NumberRepository = self._numbers

    def repo(self, spec: EntitySpec[T]) -> Repository[T]:
        """The generic repository of ``spec`` (one per table and unit of work)."""
        found = self._repos.get(spec.table)
        if found is None:
            t = self._store._tables
            with self._store._lock:
                rows = t.entities.setdefault(spec.table, {})
                seqs = t.entity_seqs.setdefault(spec.table, {})
            found = self._repos[spec.table] = MemoryRepository(self, spec, _Overlay(rows, seqs))
        return found

    def _all_overlays(self) -> tuple[_Overlay, ...]:
        return self._overlays + tuple(r._rows for r in self._repos.values())

    def _next_seq(self) -> int:
        with self._store._lock:
            seq = self._store._tables.next_seq
            self._store._tables.next_seq += 1
            return seq

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    def commit(self) -> None:
        with self._store._lock:
            for overlay in self._all_overlays():
                conflict = overlay.conflicts()
                if conflict is not None:
                    self.rollback()
                    raise conflict
            taken = {u.login: u.id for u in self._store._tables.users.values()}
            for user in self._users.written.values():
                if user is not _MISSING and taken.get(user.login, user.id) != user.id:
                    self.rollback()
                    raise ValidationError([FieldError("login", "user.login_taken", user.login)])
            for repo in self._repos.values():
                # What the tables would hold: others' commits, under this one's writes.
                after = list(repo._rows.rows())
                for row in repo._rows.written.values():
                    if row is not _MISSING:
                        try:
                            repo.check_unique(row, after)
                        except ValidationError:
                            self.rollback()
                            raise
            for overlay in self._all_overlays():
                overlay.apply()
            self._store._tables.credentials.update(self._credentials)
            self._store._tables.audit.extend(self._audit)
            self._store._tables.job_rows.update(self._job_rows)
            self._dedup.apply(self._store._tables)
            self._queues.apply()
            self._release_keys()
        self._numbers.taken.clear()
        # The unit of work may go on: what follows is a new transaction.
        self._clear()

    def _clear(self) -> None:
        for overlay in self._all_overlays():
            overlay.written.clear()
            overlay.new_seqs.clear()
            overlay.base_versions.clear()
        self._credentials.clear()
        self._audit.clear()
        self._job_rows.clear()
        self._dedup = _DedupOverlay()
        self._queues.clear()  # also releases the queue rows this unit of work held

    def rollback(self) -> None:
        self._clear()
        self._numbers.give_back()
        with self._store._lock:
            self._release_keys()

    def _release_keys(self) -> None:
        owners = self._store._key_owners
        mine = [k for k, owner in owners.items() if owner is self]
        for key in mine:
            del owners[key]
        if mine:
            self._store._key_released.notify_all()


def _versioned_update(overlay: _Overlay, entity: str, obj: Any, expected_version: int) -> None:
    current = overlay.current(obj.id)
    if current is None:
        raise NotFound(entity, obj.id)
    if current.version != expected_version:
        raise ConcurrencyError(entity, obj.id, expected_version, current.version)
    overlay.remember_base(obj.id)
    overlay.written[obj.id] = obj


def _insert(uow: MemoryUnitOfWork, overlay: _Overlay, entity: str, obj: Any) -> None:
    if overlay.current(obj.id) is not None:
        raise ConcurrencyError(entity, obj.id, 0, overlay.current(obj.id).version)
    overlay.remember_base(obj.id)
    overlay.written[obj.id] = obj
    overlay.new_seqs[obj.id] = uow._next_seq()


class _MemoryCustomers:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._rows = uow._customers

    def add(self, customer: Customer) -> None:
        _insert(self._uow, self._rows, "customer", customer)

    def add_many(self, customers: Sequence[Customer], *, contacts: Sequence[Contact] = ()) -> None:
        for customer in customers:
            self.add(customer)
        self._uow.contacts.add_many(contacts)

    def get(self, id: str, scope: Scope = EVERYTHING) -> Customer | None:
        c: Customer | None = self._rows.current(id)
        if c is None or not scope.allows(c.owner_id, c.co_owner_ids):
            return None
        return c

    def get_many(self, ids: Sequence[str], scope: Scope = EVERYTHING) -> builtins.list[Customer]:
        return [c for c in (self.get(i, scope) for i in dict.fromkeys(ids)) if c is not None]

    def summaries(self, ids: Sequence[str]) -> builtins.list[Summary]:
        return [
            Summary(c.id, c.name, c.owner_id, c.co_owner_ids, c.created_at, c.is_deleted)
            for c in self.get_many(ids)
        ]

    def update(self, customer: Customer, expected_version: int) -> None:
        _versioned_update(self._rows, "customer", customer, expected_version)

    def _matcher(self, query: CustomerQuery, scope: Scope) -> Callable[[Customer], bool]:
        contacts = self._uow.contacts
        region = query.region.rstrip("0") if query.region else None
        if region is not None and len(region) % 2:
            region += "0"  # keep whole 2-digit levels: "3702" not "3702" minus a zero

        def ok(c: Customer) -> bool:
            if not _deleted_ok(c.deleted_at, query.deleted):
                return False
            if not scope.allows(c.owner_id, c.co_owner_ids):
                return False
            checks: tuple[tuple[Any, Any], ...] = (
                (query.owner_id, c.owner_id),
                (query.category, c.category),
                (query.kind, c.kind),
                (query.channel_type, c.channel_type),
                (query.source, c.source),
                (query.industry, c.industry),
                (query.parent_id, c.parent_id),
            )
            if any(want is not None and want != have for want, have in checks):
                return False
            if query.tag is not None and query.tag not in c.tags:
                return False
            if query.related_to is not None and query.related_to not in c.related_customer_ids:
                return False
            if region is not None and (c.region is None or not c.region.code.startswith(region)):
                return False
            if query.created_from is not None and c.created_at < query.created_from:
                return False
            if query.created_to is not None and c.created_at >= query.created_to:
                return False
            if query.deleted_before is not None and (
                c.deleted_at is None or c.deleted_at >= query.deleted_before
            ):
                return False
            if query.text:
                people = contacts.for_customer(c.id)
                if not customer_matches_text(c, people, query.text):
                    return False
            return True

        return ok

    def list(
        self, query: CustomerQuery, scope: Scope, *, after: str | None, limit: int
    ) -> Page[Customer]:
        ok = self._matcher(query, scope)
        return _page([r for r in self._rows.rows() if ok(r[1])], after, limit, descending=True)

    def count(self, query: CustomerQuery, scope: Scope, *, cap: int | None = None) -> int:
        ok = self._matcher(query, scope)
        n = 0
        for _, c in self._rows.rows():
            if ok(c):
                n += 1
                if cap is not None and n >= cap:
                    break
        return n

    def find_by_keys(
        self, *, name_keys: Sequence[str] = (), phones: Sequence[str] = ()
    ) -> builtins.list[Customer]:
        names, numbers = set(name_keys), set(phones)
        found = []
        for _, c in sorted(self._rows.rows(), key=lambda r: r[0]):
            if c.deleted_at is not None:
                continue
            own = {p.e164 for p in (c.mobile, c.phone) if p is not None}
            if normalize_query(c.name) in names or own & numbers:
                found.append(c)
        return found

    def purge(self, ids: Sequence[str]) -> None:
        for id in ids:
            if self._rows.current(id) is None:
                continue
            for contact in self._uow.contacts.for_customer(id, include_deleted=True):
                self._uow.contacts.purge([contact.id])
            self._rows.remember_base(id)
            self._rows.written[id] = _MISSING


class _MemoryContacts:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._rows = uow._contacts

    def _visible(self, contact: Contact, scope: Scope) -> bool:
        if scope.is_everything:
            return True
        return self._uow.customers.get(contact.customer_id, scope) is not None

    def add(self, contact: Contact) -> None:
        _insert(self._uow, self._rows, "contact", contact)

    def add_many(self, contacts: Sequence[Contact]) -> None:
        for contact in contacts:
            self.add(contact)

    def get(self, id: str, scope: Scope = EVERYTHING) -> Contact | None:
        c: Contact | None = self._rows.current(id)
        if c is None or not self._visible(c, scope):
            return None
        return c

    def summaries(self, ids: Sequence[str]) -> builtins.list[Summary]:
        out: builtins.list[Summary] = []
        for c in (self.get(i) for i in dict.fromkeys(ids)):
            if c is None:
                continue
            parent = self._uow.customers.get(c.customer_id)
            owner, co = (parent.owner_id, parent.co_owner_ids) if parent else (None, ())
            out.append(Summary(c.id, c.name, owner, co, c.created_at, c.is_deleted))
        return out

    def update(self, contact: Contact, expected_version: int) -> None:
        _versioned_update(self._rows, "contact", contact, expected_version)

    def list(
        self, query: ContactQuery, scope: Scope, *, after: str | None, limit: int
    ) -> Page[Contact]:
        text = query.text.casefold() if query.text else None

        def ok(c: Contact) -> bool:
            if not _deleted_ok(c.deleted_at, query.deleted):
                return False
            if query.customer_id is not None and c.customer_id != query.customer_id:
                return False
            if query.surname_letter is not None and c.surname_letter != query.surname_letter:
                return False
            if text is not None:
                hay = " ".join([c.name, *(p.e164 for p in (c.mobile, c.phone) if p)]).casefold()
                if text not in hay:
                    return False
            return self._visible(c, scope)

        return _page([r for r in self._rows.rows() if ok(r[1])], after, limit, descending=False)

    def for_customer(
        self, customer_id: str, *, include_deleted: bool = False
    ) -> builtins.list[Contact]:
        rows = [
            r
            for r in self._rows.rows()
            if r[1].customer_id == customer_id and (include_deleted or r[1].deleted_at is None)
        ]
        rows.sort(key=lambda r: r[0])
        return [r[1] for r in rows]

    def for_customers(self, customer_ids: Sequence[str]) -> dict[str, builtins.list[Contact]]:
        wanted = set(customer_ids)
        out: dict[str, builtins.list[Contact]] = {}
        for _, c in sorted(self._rows.rows(), key=lambda r: r[0]):
            if c.customer_id in wanted and c.deleted_at is None:
                out.setdefault(c.customer_id, []).append(c)
        return out

    def surname_index(self, scope: Scope) -> dict[str, int]:
        out: dict[str, int] = {}
        for _, c in self._rows.rows():
            if c.deleted_at is None and self._visible(c, scope):
                out[c.surname_letter] = out.get(c.surname_letter, 0) + 1
        return dict(sorted(out.items()))

    def purge(self, ids: Sequence[str]) -> None:
        for id in ids:
            if self._rows.current(id) is not None:
                self._rows.remember_base(id)
                self._rows.written[id] = _MISSING


class _MemoryUsers:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._rows = uow._users

    def add(self, user: User) -> None:
        if self.get_by_login(user.login) is not None:
            raise ValidationError([FieldError("login", "user.login_taken", user.login)])
        _insert(self._uow, self._rows, "user", user)

    def get(self, id: str) -> User | None:
        user: User | None = self._rows.current(id)
        return user

    def get_by_login(self, login: str) -> User | None:
        return next((u for _, u in self._rows.rows() if u.login == login), None)

    def update(self, user: User, expected_version: int) -> None:
        other = self.get_by_login(user.login)
        if other is not None and other.id != user.id:
            raise ValidationError([FieldError("login", "user.login_taken", user.login)])
        _versioned_update(self._rows, "user", user, expected_version)

    def list(self, query: UserQuery, *, after: str | None, limit: int) -> Page[User]:
        text = query.text.casefold() if query.text else None

        def ok(u: User) -> bool:
            return (
                _deleted_ok(u.deleted_at, query.deleted)
                and (query.role is None or u.role == query.role)
                and (query.manager_id is None or u.manager_id == query.manager_id)
                and (query.active is None or u.active == query.active)
                and (text is None or text in u.name.casefold() or text in u.login)
            )

        return _page([r for r in self._rows.rows() if ok(r[1])], after, limit, descending=False)

    def count(self) -> int:
        return sum(1 for _ in self._rows.rows())

    def logins_starting_with(self, prefix: str) -> set[str]:
        return {u.login for _, u in self._rows.rows() if u.login.startswith(prefix)}

    def subordinate_ids(self, manager_id: str) -> frozenset[str]:
        by_manager: dict[str, list[str]] = {}
        for _, u in self._rows.rows():
            if u.manager_id is not None:
                by_manager.setdefault(u.manager_id, []).append(u.id)
        found: set[str] = set()
        todo = [manager_id]
        while todo:
            for child in by_manager.get(todo.pop(), []):
                if child not in found and child != manager_id:
                    found.add(child)
                    todo.append(child)
        return frozenset(found)

    def get_credentials(self, user_id: str) -> Credentials | None:
        if user_id in self._uow._credentials:
            return self._uow._credentials[user_id]
        return self._uow._store._tables.credentials.get(user_id)

    def put_credentials(self, credentials: Credentials) -> None:
        self._uow._credentials[credentials.user_id] = credentials


class _MemoryAudit:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def _all(self) -> builtins.list[AuditEntry]:
        return [*self._uow._store._tables.audit, *self._uow._audit]

    def append(self, entry: AuditEntry) -> None:
        self._uow._audit.append(entry)

    def append_many(self, entries: Sequence[AuditEntry]) -> None:
        self._uow._audit.extend(entries)

    def history(self, entity_id: str) -> builtins.list[AuditEntry]:
        return [e for e in self._all() if e.entity_id == entity_id]

    def list(self, query: AuditQuery, *, after: str | None, limit: int) -> Page[AuditEntry]:
        def ok(e: AuditEntry) -> bool:
            return (
                (query.entity_id is None or e.entity_id == query.entity_id)
                and (query.entity_type is None or e.entity_type == query.entity_type)
                and (query.actor_id is None or e.actor_id == query.actor_id)
                and (query.action is None or e.action == query.action)
                and (query.since is None or e.at >= query.since)
                and (query.until is None or e.at < query.until)
            )

        rows = [(i, e) for i, e in enumerate(self._all(), start=1) if ok(e)]
        return _page(rows, after, limit, descending=True)


class _Versioned(Generic[T]):
    """add / get / update of one versioned entity kept in an overlay."""

    entity = ""

    def __init__(self, uow: MemoryUnitOfWork, rows: _Overlay) -> None:
        self._uow = uow
        self._rows = rows

    def add(self, obj: T) -> None:
        _insert(self._uow, self._rows, self.entity, obj)

    def get(self, id: str) -> T | None:
        found: T | None = self._rows.current(id)
        return found

    def update(self, obj: T, expected_version: int) -> None:
        _versioned_update(self._rows, self.entity, obj, expected_version)


class _MemoryRequests(_Versioned[CoOwnershipRequest]):
    entity = "co_ownership_request"

    def list(
        self, query: RequestQuery, *, after: str | None, limit: int
    ) -> Page[CoOwnershipRequest]:
        def ok(r: CoOwnershipRequest) -> bool:
            return (
                (query.status is None or r.status == query.status)
                and (query.customer_id is None or r.customer_id == query.customer_id)
                and (query.requester_id is None or r.requester_id == query.requester_id)
                and (query.owner_ids is None or r.owner_id in query.owner_ids)
            )

        return _page([r for r in self._rows.rows() if ok(r[1])], after, limit, descending=True)


# -- the duplicate index ----------------------------------------------------------------
_KEY_LOCK_TIMEOUT_S = 30.0


@attrs.define
class _DedupOverlay:
    """Pending changes to the duplicate index of one unit of work."""

    entries: dict[tuple[str, str], Any] = attrs.Factory(dict)  # IndexEntry or _MISSING
    pairs: dict[tuple[str, str, str], Any] = attrs.Factory(dict)  # StoredPair or _MISSING
    dropped: set[tuple[str, str]] = attrs.Factory(set)  # (kind, id): committed pairs gone
    decisions: dict[tuple[str, str, str], Decision] = attrs.Factory(dict)

    def apply(self, t: _Tables) -> None:
        if self.dropped:
            for gone in [
                k
                for k in t.dedup_pairs
                if (k[0], k[1]) in self.dropped or (k[0], k[2]) in self.dropped
            ]:
                del t.dedup_pairs[gone]
        for (kind, id), entry in self.entries.items():
            old = t.dedup_entries.pop((kind, id), None)
            if old is not None:
                for key in old.keys:
                    members = t.dedup_keys.get(key)
                    if members is not None:
                        members.discard(id)
                        if not members:
                            del t.dedup_keys[key]
            if entry is not _MISSING:
                t.dedup_entries[(kind, id)] = entry
                for key in entry.keys:
                    t.dedup_keys.setdefault(key, set()).add(id)
        for where, pair in self.pairs.items():
            if pair is _MISSING:
                t.dedup_pairs.pop(where, None)
            else:
                t.dedup_pairs[where] = pair
        t.dedup_decisions.update(self.decisions)


class _MemoryDedup:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    @property
    def _o(self) -> _DedupOverlay:
        return self._uow._dedup

    @property
    def _t(self) -> _Tables:
        return self._uow._store._tables

    def lock(self, keys: Collection[int]) -> None:
        store = self._uow._store
        wanted = set(keys)
        with store._lock:
            ok = store._key_released.wait_for(
                lambda: all(store._key_owners.get(k, self._uow) is self._uow for k in wanted),
                timeout=_KEY_LOCK_TIMEOUT_S,
            )
            if not ok:
                raise ConcurrencyError("dedup_key", "lock", 0, None)
            for key in wanted:
                store._key_owners[key] = self._uow

    def _entry(self, kind: str, id: str) -> IndexEntry | None:
        found = self._o.entries.get((kind, id))
        if found is _MISSING:
            return None
        if found is not None:
            entry: IndexEntry = found
            return entry
        return self._t.dedup_entries.get((kind, id))

    def put(self, kind: str, entries: Sequence[IndexEntry], *, new: bool = False) -> None:
        for entry in entries:
            if not new:
                self._drop_pairs(kind, entry.entity_id)
            self._o.entries[(kind, entry.entity_id)] = entry

    def remove(self, kind: str, ids: Sequence[str]) -> None:
        for id in ids:
            self._drop_pairs(kind, id)
            self._o.entries[(kind, id)] = _MISSING

    def _drop_pairs(self, kind: str, id: str) -> None:
        self._o.dropped.add((kind, id))
        for key in [k for k in self._o.pairs if k[0] == kind and id in (k[1], k[2])]:
            del self._o.pairs[key]

    def candidates(
        self, kind: str, keys: Collection[int], *, limit: int, exclude: Collection[str] = ()
    ) -> builtins.list[Candidate]:
        wanted = set(keys)
        ids: set[str] = set()
        with self._uow._store._lock:
            for key in wanted:
                ids.update(self._t.dedup_keys.get(key, ()))
        ids.update(id for (k, id), e in self._o.entries.items() if k == kind and e is not _MISSING)
        found: list[Candidate] = []
        for id in ids - set(exclude):
            entry = self._entry(kind, id)
            if entry is None:
                continue
            shared = len(entry.keys & wanted)
            if shared:
                found.append(Candidate(id, entry.record, shared))
        found.sort(key=lambda c: (-c.shared, c.entity_id))
        return found[:limit]

    def lookup(self, keys: Collection[int], *, per_key: int) -> dict[int, builtins.list[KeyHolder]]:
        wanted = set(keys)
        held: dict[int, set[str]] = {}
        with self._uow._store._lock:
            for key in wanted:
                held[key] = set(self._t.dedup_keys.get(key, ()))
        for (_, id), entry in self._o.entries.items():
            for key in wanted:
                if entry is not _MISSING and key in entry.keys:
                    held[key].add(id)
                elif key in held and (entry is _MISSING or key not in entry.keys):
                    held[key].discard(id)
        return {
            k: [KeyHolder(id, self._place(id)) for id in sorted(ids)[:per_key]]
            for k, ids in held.items()
            if ids
        }

    def _place(self, id: str) -> str | None:
        # Keys carry their kind hashed in, so a key's holders are all of one kind; ids are
        # unique across kinds.
        for kind in ("customer", "contact"):
            entry = self._entry(kind, id)
            if entry is not None:
                return entry.place
        return None

    def records(self, kind: str, ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for id in ids:
            entry = self._entry(kind, id)
            if entry is not None:
                out[id] = entry.record
        return out

    def count(self, kind: str) -> int:
        ids = {id for (k, id) in self._t.dedup_entries if k == kind}
        ids.update(id for (k, id) in self._o.entries if k == kind)
        return sum(1 for id in ids if self._entry(kind, id) is not None)

    def _all_pairs(self, kind: str) -> dict[tuple[str, str], StoredPair]:
        dropped = self._o.dropped
        out = {
            (k[1], k[2]): p
            for k, p in self._t.dedup_pairs.items()
            if k[0] == kind and (kind, k[1]) not in dropped and (kind, k[2]) not in dropped
        }
        for k, p in self._o.pairs.items():
            if k[0] != kind:
                continue
            if p is _MISSING:
                out.pop((k[1], k[2]), None)
            else:
                out[(k[1], k[2])] = p
        return out

    def put_pairs(self, kind: str, pairs: Sequence[StoredPair]) -> None:
        for pair in pairs:
            self._o.pairs[(kind, pair.left, pair.right)] = pair

    def pairs(self, kind: str, *, after: str | None, limit: int) -> Page[StoredPair]:
        ordered = sorted(self._all_pairs(kind).items())
        if after is not None:
            mark = tuple(after.split("|", 1))
            ordered = [item for item in ordered if item[0] > mark]
        chunk = ordered[: limit + 1]
        more = len(chunk) > limit
        chunk = chunk[:limit]
        return Page(tuple(p for _, p in chunk), "|".join(chunk[-1][0]) if more and chunk else None)

    def pairs_of(self, kind: str, ids: Sequence[str]) -> builtins.list[StoredPair]:
        wanted = set(ids)
        return [
            p
            for key, p in sorted(self._all_pairs(kind).items())
            if key[0] in wanted or key[1] in wanted
        ]

    def decide(self, kind: str, decision: Decision) -> None:
        self._o.decisions[(kind, decision.left, decision.right)] = decision

    def decisions(self, kind: str, ids: Sequence[str] | None = None) -> builtins.list[Decision]:
        merged = {k: d for k, d in self._t.dedup_decisions.items() if k[0] == kind}
        merged.update({k: d for k, d in self._o.decisions.items() if k[0] == kind})
        wanted = set(ids) if ids is not None else None
        return [
            d
            for _, d in sorted(merged.items())
            if wanted is None or d.left in wanted or d.right in wanted
        ]


class _MemoryImports(_Versioned[ImportJob]):
    entity = "import"

    def list(self, query: ImportQuery, *, after: str | None, limit: int) -> Page[ImportJob]:
        def ok(j: ImportJob) -> bool:
            return (
                (query.actor_id is None or j.actor_id == query.actor_id)
                and (query.status is None or j.status == query.status)
                and (query.file_sha256 is None or j.file_sha256 == query.file_sha256)
            )

        return _page([r for r in self._rows.rows() if ok(r[1])], after, limit, descending=True)

    def put_rows(self, job_id: str, results: Sequence[RowResult]) -> None:
        for r in results:
            self._uow._job_rows[(job_id, r.row)] = r

    def rows(self, job_id: str, *, after: str | None, limit: int) -> Page[RowResult]:
        merged = {k: v for k, v in self._uow._store._tables.job_rows.items() if k[0] == job_id}
        merged.update({k: v for k, v in self._uow._job_rows.items() if k[0] == job_id})
        return _page([(k[1], v) for k, v in merged.items()], after, limit, descending=False)
