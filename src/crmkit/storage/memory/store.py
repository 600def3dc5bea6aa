"""The memory store and its unit of work, which applies its overlays on commit."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any, Self, TypeVar

from crmkit.domain.audit import AuditEntry
from crmkit.domain.errors import ValidationError
from crmkit.domain.imports import RowResult
from crmkit.domain.user import Credentials
from crmkit.storage.catalog import CONTACTS, USERS
from crmkit.storage.memory.audit import _MemoryAudit
from crmkit.storage.memory.contacts import MemoryContacts
from crmkit.storage.memory.customers import _MemoryCustomers
from crmkit.storage.memory.dedup import _DedupOverlay, _MemoryDedup
from crmkit.storage.memory.entities import MemoryNumbers, MemoryRepository
from crmkit.storage.memory.imports import _MemoryImports
from crmkit.storage.memory.queues import (
    MemoryEvents,
    MemoryJobs,
    MemoryOutbox,
    QueueOverlay,
    QueueTables,
)
from crmkit.storage.memory.tables import _MISSING, _Overlay, _Tables
from crmkit.storage.memory.users import MemoryUsers
from crmkit.storage.ports import (
    AuditRepository,
    ContactRepository,
    CustomerRepository,
    DedupRepository,
    ImportRepository,
    NumberRepository,
    Repository,
    UserRepository,
)
from crmkit.storage.queues import EventRepository, JobRepository, OutboxRepository
from crmkit.storage.spec import EntitySpec

T = TypeVar("T")


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
        # Events, outbox and jobs, with their row locks (``queues``); the condition
        # above also wakes units of work waiting for those rows.
        self._queues = QueueTables()

    def unit_of_work(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)

    def close(self) -> None:
        """Nothing to release; kept for the ``Store`` protocol."""


def open_memory_store(url: str = "memory://", **_: Any) -> MemoryStore:
    """Entry point used by ``crmkit.open()`` for ``memory://`` and no URL."""
    return MemoryStore(url)


class MemoryUnitOfWork:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        t = store._tables
        self._customers = _Overlay(t.customers, t.customer_seq)
        self._credentials: dict[str, Credentials] = {}
        self._jobs = _Overlay(t.jobs, t.job_seq)
        self._overlays = (self._customers, self._jobs)
        self._job_rows: dict[tuple[str, int], RowResult] = {}
        self._audit: list[AuditEntry] = []
        self._dedup = _DedupOverlay()
        self.customers: CustomerRepository = _MemoryCustomers(self)
        self.audit: AuditRepository = _MemoryAudit(self)
        self.dedup: DedupRepository = _MemoryDedup(self)
        self.imports: ImportRepository = _MemoryImports(self, self._jobs)
        self._queues = QueueOverlay(store._queues, store._lock, store._key_released)
        self.events: EventRepository = MemoryEvents(self._queues)
        self.outbox: OutboxRepository = MemoryOutbox(self._queues)
        self.jobs: JobRepository = MemoryJobs(self._queues)
        self._repos: dict[str, MemoryRepository[Any]] = {}
        users = MemoryUsers(self, self._overlay(USERS))
        self.users: UserRepository = users
        self._repos[USERS.table] = users  # ``repo(USERS)`` is the same repository
        contacts = MemoryContacts(self, self._overlay(CONTACTS))
        self.contacts: ContactRepository = contacts
        self._repos[CONTACTS.table] = contacts
        self._numbers = MemoryNumbers(self)
        self.numbers: NumberRepository = self._numbers

    def repo(self, spec: EntitySpec[T]) -> Repository[T]:
        """The generic repository of ``spec`` (one per table and unit of work)."""
        found = self._repos.get(spec.table)
        if found is None:
            found = self._repos[spec.table] = MemoryRepository(self, spec, self._overlay(spec))
        return found

    def _overlay(self, spec: EntitySpec[Any]) -> _Overlay:
        t = self._store._tables
        with self._store._lock:
            rows = t.entities.setdefault(spec.table, {})
            seqs = t.entity_seqs.setdefault(spec.table, {})
        return _Overlay(rows, seqs)

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
