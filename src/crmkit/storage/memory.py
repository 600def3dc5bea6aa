"""The in-memory store: dictionaries behind the storage ports.

It is a real backend (it passes the same contract suite as SQL), meant for tests and for
applications that want a throw-away CRM. A unit of work keeps its writes in an overlay and
applies them on commit under a lock, after re-checking the versions it based them on, so two
units of work behave like two database transactions with optimistic concurrency.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import attrs

from crmkit.domain.audit import AuditEntry
from crmkit.domain.contact import Contact
from crmkit.domain.customer import Customer
from crmkit.domain.errors import ConcurrencyError, FieldError, NotFound, ValidationError
from crmkit.domain.user import Credentials, User
from crmkit.storage.ports import (
    EVERYTHING,
    AuditQuery,
    AuditRepository,
    ContactQuery,
    ContactRepository,
    CustomerQuery,
    CustomerRepository,
    Deleted,
    Page,
    Scope,
    UserQuery,
    UserRepository,
)
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
    next_seq: int = 1


class MemoryStore:
    """A store kept in process memory. Thread-safe; nothing survives the process."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self.dialect_name = "memory"
        self._tables = _Tables()
        self._lock = threading.RLock()

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
        self._audit: list[AuditEntry] = []
        self._done = False
        self.customers: CustomerRepository = _MemoryCustomers(self)
        self.contacts: ContactRepository = _MemoryContacts(self)
        self.users: UserRepository = _MemoryUsers(self)
        self.audit: AuditRepository = _MemoryAudit(self)

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
        if not self._done:
            self.rollback()

    def commit(self) -> None:
        with self._store._lock:
            for overlay in (self._customers, self._contacts, self._users):
                conflict = overlay.conflicts()
                if conflict is not None:
                    self.rollback()
                    raise conflict
            taken = {u.login: u.id for u in self._store._tables.users.values()}
            for user in self._users.written.values():
                if user is not _MISSING and taken.get(user.login, user.id) != user.id:
                    self.rollback()
                    raise ValidationError([FieldError("login", "user.login_taken", user.login)])
            for overlay in (self._customers, self._contacts, self._users):
                overlay.apply()
            self._store._tables.credentials.update(self._credentials)
            self._store._tables.audit.extend(self._audit)
        self._done = True

    def rollback(self) -> None:
        self._customers.written.clear()
        self._contacts.written.clear()
        self._users.written.clear()
        self._credentials.clear()
        self._audit.clear()
        self._done = True


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

    def add_many(self, customers: Sequence[Customer]) -> None:
        for customer in customers:
            self.add(customer)

    def get(self, id: str, scope: Scope = EVERYTHING) -> Customer | None:
        c: Customer | None = self._rows.current(id)
        if c is None or not scope.allows(c.owner_id, c.co_owner_ids):
            return None
        return c

    def get_many(self, ids: Sequence[str], scope: Scope = EVERYTHING) -> builtins.list[Customer]:
        return [c for c in (self.get(i, scope) for i in dict.fromkeys(ids)) if c is not None]

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
            )
            if any(want is not None and want != have for want, have in checks):
                return False
            if query.tag is not None and query.tag not in c.tags:
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
