"""Storage ports: the small interfaces every backend implements.

A backend is a :class:`Store` that hands out :class:`UnitOfWork` objects. A unit of work is
one transaction: it exposes the repositories, and ``commit()`` makes everything done through
them durable at once (or nothing, on ``rollback()``). The contract suite in
``crmkit.testing.contract`` states precisely what each method must do; an integrator's backend
is correct when it passes that suite.

Repositories store and return domain objects; they know nothing of permissions, validation or
audit (workflows do that). They apply *data scope* inside their queries, because filtering
afterwards would break keyset pages and leak counts.
"""

from __future__ import annotations

import builtins
import enum
from collections.abc import Collection, Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Generic, NamedTuple, Protocol, Self, TypeVar

import attrs

from crmkit.domain.audit import AuditAction, AuditEntry
from crmkit.domain.contact import Contact
from crmkit.domain.customer import Category, ChannelType, Customer, CustomerKind
from crmkit.domain.imports import ImportJob, ImportStatus, RowResult
from crmkit.domain.user import Credentials, User
from crmkit.storage.fulltext import SearchHit
from crmkit.storage.spec import AggregateRow, EntitySpec, Filter, Group, Measure

if TYPE_CHECKING:  # crmkit.storage.queues imports Page from here
    from crmkit.storage.queues import EventRepository, JobRepository, OutboxRepository

T = TypeVar("T")


@attrs.frozen
class Scope:
    """Which customers an actor may see.

    ``owner_ids`` is the set of users whose owned or co-owned customers are visible;
    ``None`` means everything (admin, finance, service, system). ``principals`` are the
    member tokens the actor holds (``user:<id>``, ``role:<role>``) for entities whose groups
    restrict who sees them; ``None`` sees every group (admin, system).
    """

    owner_ids: frozenset[str] | None = None
    principals: frozenset[str] | None = None

    @classmethod
    def everything(cls) -> Scope:
        return cls(None)

    @classmethod
    def of(cls, *user_ids: str) -> Scope:
        return cls(frozenset(user_ids))

    @property
    def is_everything(self) -> bool:
        return self.owner_ids is None

    def allows(self, owner_id: str | None, co_owner_ids: Sequence[str] = ()) -> bool:
        """True if a customer with these owners is inside the scope."""
        if self.owner_ids is None:
            return True
        if owner_id is not None and owner_id in self.owner_ids:
            return True
        return any(u in self.owner_ids for u in co_owner_ids)


EVERYTHING = Scope(None)


class Deleted(enum.StrEnum):
    """Values for a query's ``deleted`` filter."""

    EXCLUDE = "exclude"  # live records only (the default)
    ONLY = "only"  # the recycle bin
    INCLUDE = "include"  # both


@attrs.frozen(kw_only=True)
class CustomerQuery:
    """Filters for listing customers. Unset filters do not restrict.

    ``region`` is a GB/T 2260 code: a province or city code matches everything inside it.
    ``text`` searches the customer name, contact names and phone numbers (index-backed).
    """

    owner_id: str | None = None
    category: Category | None = None
    kind: CustomerKind | None = None
    channel_type: ChannelType | None = None
    region: str | None = None
    tag: str | None = None
    source: str | None = None
    industry: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    text: str | None = None
    deleted: Deleted = Deleted.EXCLUDE
    deleted_before: datetime | None = None
    parent_id: str | None = None
    related_to: str | None = None  # customers listing this id among their related customers


@attrs.frozen(kw_only=True)
class AuditQuery:
    entity_id: str | None = None
    entity_ids: tuple[str, ...] | None = None  # any of these records (empty: none)
    entity_type: str | None = None
    actor_id: str | None = None
    action: AuditAction | None = None
    since: datetime | None = None
    until: datetime | None = None


@attrs.frozen
class Page(Generic[T]):
    """One keyset page. Pass ``next_after`` back as ``after`` to get the next one."""

    items: tuple[T, ...]
    next_after: str | None = None

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class Summary(NamedTuple):
    """The few fields a duplicate review lists and scopes a record by, read without
    building the whole record (a scan lists hundreds of thousands of them).

    For a contact, ``owner_id`` and ``co_owner_ids`` are its customer's: they decide whether
    a scope allows it, as for :meth:`ContactRepository.get`.
    """

    id: str
    name: str
    owner_id: str | None
    co_owner_ids: tuple[str, ...]
    created_at: datetime
    deleted: bool


class CustomerRepository(Protocol):
    def add(self, customer: Customer) -> None:
        """Insert a new customer (its id must be new)."""

    def add_many(self, customers: Sequence[Customer], *, contacts: Sequence[Contact] = ()) -> None:
        """Insert many new customers at once (the bulk path), with ``contacts`` of theirs
        (new too) in the same go, so that their search documents hold the contacts from
        the start instead of being rewritten when the contacts follow."""

    def get(self, id: str, scope: Scope = EVERYTHING) -> Customer | None:
        """The customer, deleted or not, if it exists and ``scope`` allows it."""

    def get_many(self, ids: Sequence[str], scope: Scope = EVERYTHING) -> builtins.list[Customer]:
        """Those of ``ids`` that exist and are in scope, in no particular order."""

    def summaries(self, ids: Sequence[str]) -> builtins.list[Summary]:
        """The :class:`Summary` of those of ``ids`` that exist (deleted or not, any scope),
        in no particular order."""

    def update(self, customer: Customer, expected_version: int) -> None:
        """Replace the stored customer whose version is ``expected_version``.

        ``customer.version`` must be ``expected_version + 1``. Raises ``ConcurrencyError`` if
        the stored version differs (someone else wrote first) and ``NotFound`` if it is gone.
        """

    def list(
        self, query: CustomerQuery, scope: Scope, *, after: str | None, limit: int
    ) -> Page[Customer]:
        """A keyset page, newest first, of customers matching ``query`` inside ``scope``."""

    def count(self, query: CustomerQuery, scope: Scope, *, cap: int | None = None) -> int:
        """How many match; stops counting at ``cap`` when given."""

    def purge(self, ids: Sequence[str]) -> None:
        """Delete for good (with their contacts, co-owners, tags and search entries)."""

    def find_by_keys(
        self, *, name_keys: Sequence[str] = (), phones: Sequence[str] = ()
    ) -> builtins.list[Customer]:
        """Live customers, in any scope, whose normalised name (``textsearch.normalize_query``
        of the name) is one of ``name_keys`` or whose mobile or phone (E.164) is one of
        ``phones``. Duplicate checks use it, so it must be index-backed."""


class AuditRepository(Protocol):
    def append(self, entry: AuditEntry) -> None: ...

    def append_many(self, entries: Sequence[AuditEntry]) -> None: ...

    def history(self, entity_id: str) -> builtins.list[AuditEntry]:
        """Every entry about one entity, oldest first."""

    def list(self, query: AuditQuery, *, after: str | None, limit: int) -> Page[AuditEntry]:
        """A keyset page, newest first."""


@attrs.frozen
class IndexEntry:
    """One record in the duplicate index: its encoded match record and blocking key hashes.

    ``record`` is :func:`crmkit.domain.dedup.codec.encode_record` text; ``keys`` are
    :func:`~crmkit.domain.dedup.codec.key_hash` values (the kind is hashed into them, so
    customers and contacts never share a key).
    """

    entity_id: str
    record: str
    keys: frozenset[int]
    place: str | None = None
    """The record's place (the match configuration's ``place.field``, a region code), kept
    beside each key so that a lookup can say where a key's holders are."""


class KeyHolder(NamedTuple):
    """An indexed record holding a blocking key, and its place (None: unknown)."""

    entity_id: str
    place: str | None


@attrs.frozen
class StoredPair:
    """A compared pair kept in the index: a duplicate, or a vetoed pair (``vetoed``), which
    clustering must never join. ``left < right``."""

    left: str
    right: str
    score: float
    reasons: tuple[str, ...] = ()
    vetoed: bool = False


class Verdict(enum.StrEnum):
    DISTINCT = "distinct"  # "not a duplicate": the pair is never proposed again


@attrs.frozen(kw_only=True)
class Decision:
    """A reviewer's verdict on a pair (``left < right``)."""

    left: str
    right: str
    verdict: Verdict
    actor_id: str
    at: datetime


@attrs.frozen
class Candidate:
    """An indexed record sharing ``shared`` blocking keys with the one looked up."""

    entity_id: str
    record: str
    shared: int


class DedupRepository(Protocol):
    """The duplicate index: match records, blocking keys, compared pairs and decisions.

    Workflows keep it in step with customers and contacts in the same unit of work, so a
    duplicate check is an index probe and a scan reads pairs instead of comparing every
    record again. ``kind`` is ``"customer"`` or ``"contact"``.
    """

    def lock(self, keys: Collection[int]) -> None:
        """Hold these keys until the unit of work ends; another unit of work locking any of
        them waits. Taken before a duplicate check, it makes check-then-insert atomic
        (on SQLite the whole database's write lock is taken instead)."""

    def put(self, kind: str, entries: Sequence[IndexEntry], *, new: bool = False) -> None:
        """Index records, replacing what was indexed for the same ids, and drop every pair
        touching them (their matches are recomputed by the caller). ``new=True`` promises
        that none of the ids was indexed before (records just created): nothing is looked
        up to be replaced."""

    def remove(self, kind: str, ids: Sequence[str]) -> None:
        """Forget records: their entries, keys and pairs. Decisions are kept."""

    def candidates(
        self, kind: str, keys: Collection[int], *, limit: int, exclude: Collection[str] = ()
    ) -> builtins.list[Candidate]:
        """Indexed records sharing at least one of ``keys``, those sharing most first (then
        any order), at most ``limit``, none of ``exclude``."""

    def lookup(self, keys: Collection[int], *, per_key: int) -> dict[int, builtins.list[KeyHolder]]:
        """For each of ``keys`` held by some indexed record, the records holding it with
        their places (at most ``per_key`` of them, any of them when there are more): the
        batched form of :meth:`candidates`, for bulk paths."""

    def records(self, kind: str, ids: Sequence[str]) -> dict[str, str]:
        """The encoded records of those ``ids`` that are indexed."""

    def count(self, kind: str) -> int:
        """How many records are indexed."""

    def put_pairs(self, kind: str, pairs: Sequence[StoredPair]) -> None:
        """Store pairs, replacing a stored pair of the same two ids."""

    def pairs(self, kind: str, *, after: str | None, limit: int) -> Page[StoredPair]:
        """A keyset page of every stored pair, by ``(left, right)``."""

    def pairs_of(self, kind: str, ids: Sequence[str]) -> builtins.list[StoredPair]:
        """Stored pairs with either side among ``ids``."""

    def decide(self, kind: str, decision: Decision) -> None:
        """Record (or replace) the decision on a pair."""

    def decisions(self, kind: str, ids: Sequence[str] | None = None) -> builtins.list[Decision]:
        """Decisions on pairs with a side among ``ids`` (every decision when None)."""

    def record_format(self, kind: str) -> int | None:
        """The match-record format the index of ``kind`` was built with
        (``crmkit.domain.dedup.codec.RECORD_FORMAT`` then), None if never recorded."""

    def set_record_format(self, kind: str, record_format: int) -> None:
        """Record the format the index of ``kind`` is now built with."""


@attrs.frozen(kw_only=True)
class ImportQuery:
    actor_id: str | None = None
    status: ImportStatus | None = None
    file_sha256: str | None = None


class ImportRepository(Protocol):
    """Import jobs and the outcome of each of their rows."""

    def add(self, job: ImportJob) -> None: ...

    def get(self, id: str) -> ImportJob | None: ...

    def update(self, job: ImportJob, expected_version: int) -> None:
        """As ``CustomerRepository.update``."""

    def list(self, query: ImportQuery, *, after: str | None, limit: int) -> Page[ImportJob]:
        """A keyset page of jobs, newest first."""

    def put_rows(self, job_id: str, results: Sequence[RowResult]) -> None:
        """Keep row outcomes (a row already kept for the job is replaced)."""

    def rows(self, job_id: str, *, after: str | None, limit: int) -> Page[RowResult]:
        """A keyset page of the job's row outcomes, by row number (``undo`` included)."""


@attrs.frozen(kw_only=True)
class EntityQuery:
    """Filters for a generic repository's ``list`` and ``count``: every filter holds.

    ``order_by`` names a field with a column (an indexed one): ``list`` then pages in its
    ascending order, records where it is empty last, ties in store order (the oldest
    receivables due first, say); otherwise in the spec's order.
    """

    filters: tuple[Filter, ...] = ()
    deleted: Deleted = Deleted.EXCLUDE
    text: str | None = None  # contained (any case) in one of the spec's ``text`` fields
    order_by: str | None = None


E = TypeVar("E")


class Repository(Protocol[E]):
    """The one repository every entity declared by an :class:`EntitySpec` gets.

    Semantics (the generic contract in ``crmkit.testing.contract`` checks them): ``add``
    refuses an id that exists (``ConcurrencyError``, expected version 0) and a value taken
    in a ``unique`` field among live records (``ValidationError`` naming it); ``update`` is
    a compare-and-set on ``version``; children are written and read with their parent;
    pages are keyset pages in the spec's order (``newest_first``); ``get`` returns deleted
    records too, lists only what ``deleted`` asks for.
    """

    spec: EntitySpec[E]

    def add(self, obj: E) -> None: ...

    def add_many(self, objs: Sequence[E]) -> None: ...

    def get(self, id: str, scope: Scope = EVERYTHING) -> E | None: ...

    def get_many(self, ids: Sequence[str], scope: Scope = EVERYTHING) -> builtins.list[E]:
        """Those of ``ids`` that exist and are in scope, in no particular order."""

    def update(self, obj: E, expected_version: int) -> None:
        """As ``CustomerRepository.update``."""

    def update_many(self, objs: Sequence[E], expected_versions: Sequence[int]) -> None:
        """``update`` of each object against its expected version, for work that moves many
        records at once (SFA cursors): one statement where the backend can. All or
        nothing for the caller's transaction: ``ConcurrencyError`` (or ``NotFound``) names
        a record that was not at its expected version, and the caller rolls back."""

    def list(self, query: EntityQuery, scope: Scope, *, after: str | None, limit: int) -> Page[E]:
        """A keyset page of the records matching ``query`` inside ``scope``."""

    def count(self, query: EntityQuery, scope: Scope, *, cap: int | None = None) -> int:
        """How many match; stops counting at ``cap`` when given."""

    def aggregate(
        self,
        query: EntityQuery,
        scope: Scope,
        *,
        by: Sequence[Group],
        measures: Sequence[Measure],
    ) -> builtins.list[AggregateRow]:
        """Counts and sums of the records matching ``query`` inside ``scope`` (the records
        ``list`` would page through), one row per group, computed where the data is.

        ``by`` groups on a field's value, the month of a date (``Group.month``) or the
        currency of an amount (``Group.currency``); each row's key holds one value per
        group, None for an empty field. ``measures`` are counts and exact sums
        (``Measure.sum("amount", times="probability")``): an int for int fields, a
        ``Decimal`` otherwise, never rounded; empty values add nothing. Rows come in key
        order, empty keys first; only groups holding records appear.

        Any field of the entity may be read; fields without a column (see
        ``EntitySpec.stored_columns``) are read from the stored object, which is slower
        at scale: index the fields a large aggregate reads.

        Raises:
            ValueError: an aggregate :func:`crmkit.storage.spec.check_aggregate` refuses.
        """

    def purge(self, ids: Sequence[str]) -> None:
        """Delete for good, with children and members."""

    def search(
        self,
        text: str,
        scope: Scope,
        *,
        limit: int,
        filters: Sequence[Filter] = (),
    ) -> builtins.list[SearchHit[E]]:
        """The live records in ``scope`` passing ``filters`` whose ``fulltext`` fields
        :func:`crmkit.storage.fulltext.matches` ``text``, best first (at most ``limit``;
        none for a blank query), answered from the spec's full-text side index.

        Raises:
            ValueError: the spec declares no ``fulltext`` fields.
        """


class ContactRepository(Repository[Contact], Protocol):
    """Contacts: the generic repository of :data:`crmkit.storage.catalog.CONTACTS` (seen
    through their customer's scope, oldest first; ``text`` searches names and numbers) and
    the reads only contacts need."""

    def for_customer(
        self, customer_id: str, *, include_deleted: bool = False
    ) -> builtins.list[Contact]:
        """A customer's contacts, oldest first (live ones only, unless asked)."""

    def for_customers(self, customer_ids: Sequence[str]) -> dict[str, builtins.list[Contact]]:
        """The live contacts of each of these customers that has any, oldest first."""

    def with_phones(self, phones: Sequence[str]) -> builtins.list[Contact]:
        """Live contacts whose mobile or phone has one of these E.164 numbers, oldest
        first."""

    def surname_index(self, scope: Scope) -> dict[str, int]:
        """Live contacts per surname letter (A–Z, #) inside ``scope``."""

    def summaries(self, ids: Sequence[str]) -> builtins.list[Summary]:
        """Summaries of these contacts (deleted ones too), owned as their customers are."""


class UserRepository(Repository[User], Protocol):
    """Users: the generic repository of :data:`crmkit.storage.catalog.USERS` (lists oldest
    first, ``login`` unique among live users) and what only users need, their credentials
    kept apart from the stored user."""

    def get_by_login(self, login: str) -> User | None:
        """The live user with ``login``, else the latest deleted one holding it."""

    def logins_starting_with(self, prefix: str) -> set[str]:
        """Every login (deleted users' too) that starts with ``prefix`` (no wildcards)."""

    def subordinate_ids(self, manager_id: str) -> frozenset[str]:
        """Everyone below ``manager_id``, recursively (not including them)."""

    def get_credentials(self, user_id: str) -> Credentials | None: ...

    def put_credentials(self, credentials: Credentials) -> None: ...


class NumberRepository(Protocol):
    """Document-number sequences, one per (prefix, year)."""

    def next(self, prefix: str, year: int) -> int:
        """The next number of the sequence (1 for a new one). Allocated in the unit of
        work's transaction: concurrent units of work get distinct numbers, and a rolled-back
        one gives its number back."""


class UnitOfWork(Protocol):
    """One transaction. Use as a context manager: leaving it without ``commit()`` rolls back."""

    customers: CustomerRepository
    contacts: ContactRepository
    users: UserRepository
    audit: AuditRepository
    dedup: DedupRepository
    imports: ImportRepository
    numbers: NumberRepository
    events: EventRepository
    outbox: OutboxRepository
    jobs: JobRepository

    def repo(self, spec: EntitySpec[E]) -> Repository[E]:
        """The generic repository of ``spec``'s entity type on this unit of work."""

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class Store(Protocol):
    """A storage backend."""

    url: str

    def unit_of_work(self) -> UnitOfWork: ...

    def close(self) -> None: ...
