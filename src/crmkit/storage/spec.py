"""Entity specs: an entity declared once, served by one generic repository per backend.

An :class:`EntitySpec` names an attrs class and says how it is stored: its table, the
fields that get their own indexed column (so lists can filter and page on them), how data
scope applies (:class:`ScopeRule`), whether deletes are soft, which child collections are
stored with it in the same transaction, and its document-number prefix. The memory and SQL
backends read nothing else: a new entity costs a spec (and, on SQL, a migration that
creates its table), never a repository class.

What an entity class must have: ``id: str`` and ``version: int``; ``created_at``; with
``soft_delete`` a ``deleted_at: datetime | None``; with ``number`` a ``number: str | None``;
with ``members`` a ``tuple[str, ...]`` attribute of that name. Everything else is free.
Objects are stored whole (through crmkit's one cattrs converter) beside their indexed
columns, so a field added to the class needs no schema change unless it is filtered on.
"""

from __future__ import annotations

import bisect
import builtins
import decimal
import enum
import functools
import itertools
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

import attrs

from crmkit.domain.converter import converter, custom_from_plain, custom_to_plain
from crmkit.domain.values import Email, Money, Phone

T = TypeVar("T")


class ScopeKind(enum.StrEnum):
    EVERYONE = "everyone"  # every actor who may read the entity type sees every record
    OWNER = "owner"  # the owner (and co-owners) and their managers
    CUSTOMER = "customer"  # whoever may see the customer it belongs to
    PARENT = "parent"  # whoever may see the parent document (order lines, approval steps)
    GROUP = "group"  # a group restricts who sees its members (product groups)


@attrs.frozen
class ScopeRule:
    """How an actor's data scope selects records of one entity type.

    Build one with the class methods: :meth:`everyone`, :meth:`owner`,
    :meth:`via_customer`, :meth:`via_parent`, :meth:`group`.
    """

    kind: ScopeKind
    field: str | None = None
    co_owners: bool = False
    parent: EntitySpec[Any] | None = None

    @classmethod
    def everyone(cls) -> ScopeRule:
        return cls(ScopeKind.EVERYONE)

    @classmethod
    def owner(cls, field: str = "owner_id", *, co_owners: bool = False) -> ScopeRule:
        """Visible to the owner in ``field`` and, with ``co_owners``, to the users in the
        spec's ``members`` attribute, and to everyone above them (the scope's user ids)."""
        return cls(ScopeKind.OWNER, field, co_owners)

    @classmethod
    def via_customer(cls, field: str = "customer_id") -> ScopeRule:
        """Visible exactly when the customer in ``field`` is."""
        return cls(ScopeKind.CUSTOMER, field)

    @classmethod
    def via_parent(cls, field: str, parent: EntitySpec[Any]) -> ScopeRule:
        """Visible exactly when the ``parent`` record in ``field`` is."""
        return cls(ScopeKind.PARENT, field, parent=parent)

    @classmethod
    def group(cls, field: str, groups: EntitySpec[Any]) -> ScopeRule:
        """Records outside a group (``field`` empty) are visible to all; a group whose
        ``members`` list is empty is open; otherwise only actors holding one of its member
        tokens (``user:<id>``, ``role:<role>``) see its records."""
        return cls(ScopeKind.GROUP, field, parent=groups)


@attrs.frozen
class ChildSpec:
    """A collection stored with its parent: ``attribute`` holds a tuple of ``type``.

    Children are written and read with the parent, in its transaction; a parent update
    replaces them all. ``indexed`` fields get columns in the child table (reports read
    lines by product, say) but children have no repository of their own.
    """

    attribute: str
    type: builtins.type
    table: str
    indexed: tuple[str, ...] = ()


@attrs.frozen(eq=False)
class EntitySpec(Generic[T]):
    """One entity type's storage declaration.

    Args:
        name: the entity type's code (``"product"``): audit entries, errors and permissions
            name it so.
        type: the attrs class.
        table: the SQL table.
        indexed: fields that get their own column, filterable in ``list``/``count``.
        scope: the data-scope rule (default: everyone).
        soft_delete: deletes go to the recycle bin (``deleted_at``) rather than away.
        children: child collections stored with the entity.
        number: a document-number prefix (``"SO"``): records get ``SO-2026-000123``.
        members: an attribute holding member tokens (co-owners, group members), stored
            so that scope queries can read them.
        unique: indexed fields unique among live records (a second ``LK-100`` is refused).
        text: indexed text fields the ``text`` filter searches (substring, any case).
        newest_first: list order; ``False`` lists oldest first.
        fulltext: fields (text, tuples of text) kept in a full-text side index that
            ``repo.search`` answers from (see :mod:`crmkit.storage.fulltext`).
        keys: text columns computed from the object on every write, for a backend's own
            lookups (a contact's normalised name, which customer search reads by prefix);
            ``name -> function(obj)``. They are not fields: queries never filter on them.
    """

    name: str
    type: builtins.type[T]
    table: str
    indexed: tuple[str, ...] = ()
    scope: ScopeRule = attrs.field(factory=ScopeRule.everyone)
    soft_delete: bool = True
    children: tuple[ChildSpec, ...] = ()
    number: str | None = None
    members: str | None = None
    unique: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    newest_first: bool = True
    fulltext: tuple[str, ...] = ()
    keys: Mapping[str, Callable[[Any], str | None]] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        names = self.field_names
        wanted = {"id", "version", "created_at"} | set(self.columns)
        if self.soft_delete:
            wanted.add("deleted_at")
        if self.number:
            wanted.add("number")
        if self.members:
            wanted.add(self.members)
        wanted.update(c.attribute for c in self.children)
        missing = sorted(wanted - names)
        if missing:
            raise TypeError(f"{self.type.__name__} lacks {missing} needed by spec {self.name!r}")
        for field in (*self.unique, *self.text):
            if field not in self.indexed:
                raise TypeError(f"spec {self.name!r}: {field!r} must be indexed")
        unknown = sorted(set(self.fulltext) - names)
        if unknown:
            raise TypeError(f"spec {self.name!r}: fulltext names no field {unknown}")
        clashing = sorted(set(self.keys) & (names | {"seq", "data"}))
        if clashing:
            raise TypeError(f"spec {self.name!r}: keys {clashing} clash with fields")

    @functools.cached_property
    def field_names(self) -> frozenset[str]:
        """The entity class's attribute names."""
        return frozenset(a.name for a in attrs.fields(self.type))  # type: ignore[arg-type]

    @functools.cached_property
    def columns(self) -> tuple[str, ...]:
        """Fields with a column: the indexed ones and the one the scope rule reads."""
        out = list(self.indexed)
        if self.scope.field and self.scope.field not in out:
            out.append(self.scope.field)
        return tuple(out)

    @functools.cached_property
    def field_types(self) -> Mapping[str, builtins.type]:
        """The stored type of each column field (``Optional`` unwrapped)."""
        hints = typing.get_type_hints(self.type)
        return {name: plain_type(hints[name]) for name in self.columns}

    @functools.cached_property
    def value_types(self) -> Mapping[str, builtins.type]:
        """The type of every field of the class (``Optional`` unwrapped)."""
        hints = typing.get_type_hints(self.type)
        return {name: plain_type(hints[name]) for name in self.field_names}

    @functools.cached_property
    def stored_columns(self) -> frozenset[str]:
        """Fields a SQL table keeps in columns of their own: :attr:`columns` and the
        bookkeeping ones (``id``, ``version``, ``created_at``, ``deleted_at``, ``number``).
        Every other field lives only in the stored object."""
        out = {"id", "version", "created_at", *self.columns}
        if self.soft_delete:
            out.add("deleted_at")
        if self.number:
            out.add("number")
        return frozenset(out)

    @functools.cached_property
    def money_columns(self) -> tuple[str, ...]:
        """Columns of :class:`Money` fields: each has its amount in ``<name>`` and its
        currency in ``<name>_currency`` (:func:`currency_column`), so that sums can be
        grouped by currency without reading the stored object."""
        return tuple(n for n in self.columns if issubclass(self.field_types[n], Money))

    @functools.cached_property
    def child_attributes(self) -> frozenset[str]:
        return frozenset(c.attribute for c in self.children)

    # -- the stored form ------------------------------------------------------------------
    def column_values(self, obj: Any) -> dict[str, Any]:
        """The indexed columns' values of ``obj``: the stored form of each field."""
        return {name: column_value(getattr(obj, name)) for name in self.columns}

    def encode(self, obj: T) -> dict[str, Any]:
        """``obj`` as JSON-ready data, without its children (stored apart)."""
        data: dict[str, Any] = converter().unstructure(obj)
        for attribute in self.child_attributes:
            data.pop(attribute, None)
        if "custom" in data:
            data["custom"] = custom_to_plain(getattr(obj, "custom"))  # noqa: B009
        return data

    def decode(self, data: Mapping[str, Any], children: Mapping[str, Sequence[Any]] = {}) -> T:
        """Inverse of :meth:`encode`; ``children`` maps attributes to their decoded items."""
        plain = dict(data)
        custom = plain.pop("custom", None)
        obj: Any = converter().structure(plain, self.type)
        changes: dict[str, Any] = {a: tuple(children.get(a, ())) for a in self.child_attributes}
        if custom is not None:
            changes["custom"] = custom_from_plain(custom)
        return attrs.evolve(obj, **changes) if changes else obj  # type: ignore[no-any-return]

    def child_values(self, child: ChildSpec, item: Any) -> dict[str, Any]:
        return {name: column_value(getattr(item, name)) for name in child.indexed}

    def __repr__(self) -> str:
        return f"EntitySpec({self.name!r})"


def currency_column(field: str) -> str:
    """The column holding the currency of the money column ``field``."""
    return f"{field}_currency"


def plain_type(hint: Any) -> builtins.type:
    """``X | None`` -> ``X``; anything else as it is."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            hint = args[0]
    origin = typing.get_origin(hint)
    return origin if origin is not None else hint  # type: ignore[no-any-return]


def column_value(value: Any) -> Any:
    """The stored (and compared) form of a field value: enums by value, money by amount,
    a phone number by its E.164 (whatever its extension: one switchboard is one number),
    an email address as text."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Money):
        return value.amount
    if isinstance(value, Phone):
        return value.e164
    if isinstance(value, Email):
        return value.value
    return value


# -- queries ------------------------------------------------------------------------------
class Op(enum.StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    GE = "ge"
    GT = "gt"
    LE = "le"
    LT = "lt"
    CONTAINS = "contains"  # substring, any case (text fields)
    NULL = "null"  # value True: is empty; False: is not


@attrs.frozen
class Filter:
    """One condition on an indexed field: ``Filter("code", Op.EQ, "LK-100")``."""

    field: str
    op: Op
    value: Any


# Ranges on SQLite's decimal text would compare as text: decimals filter by equality only.
ORDERED_TYPES: tuple[type, ...] = (int, str, date, datetime)


def check_filter(spec: EntitySpec[Any], f: Filter) -> None:
    """Refuse a filter the backends cannot answer the same way (a programming error)."""
    if f.field not in spec.columns:
        raise ValueError(f"{spec.name}.{f.field} is not indexed")
    kind = spec.field_types[f.field]
    if f.op in (Op.GE, Op.GT, Op.LE, Op.LT) and not (
        issubclass(kind, ORDERED_TYPES) and not issubclass(kind, enum.Enum)
    ):
        raise ValueError(f"{spec.name}.{f.field} ({kind!r}) has no order to compare")
    if f.op is Op.CONTAINS and f.field not in spec.text:
        raise ValueError(f"{spec.name}.{f.field} is not a text-searched field")


def check_order(spec: EntitySpec[Any], field: str) -> None:
    """Refuse an ``order_by`` without a column (a programming error).

    Raises:
        ValueError: naming the field.
    """
    if field not in spec.stored_columns or field in spec.child_attributes:
        raise ValueError(f"{spec.name}.{field}: a list is ordered by a field with a column")
    if issubclass(spec.value_types[field], Decimal | Money):  # SQLite keeps them as text
        raise ValueError(f"{spec.name}.{field}: a list is ordered by text, a date or an int")


def matches(f: Filter, value: Any) -> bool:
    """Whether a stored value passes ``f``: the memory backend's reading of the filter,
    which the SQL backend's clauses must agree with (the contract suite checks)."""
    want = column_value(f.value) if f.op not in (Op.IN, Op.NULL) else f.value
    if f.op is Op.NULL:
        return (value is None) is bool(want)
    if f.op is Op.IN:
        return value is not None and value in {column_value(v) for v in want}
    if value is None:
        return f.op is Op.NE  # an empty value differs from every value
    compare: dict[Op, Callable[[Any, Any], bool]] = {
        Op.EQ: lambda a, b: bool(a == b),
        Op.NE: lambda a, b: bool(a != b),
        Op.GE: lambda a, b: bool(a >= b),
        Op.GT: lambda a, b: bool(a > b),
        Op.LE: lambda a, b: bool(a <= b),
        Op.LT: lambda a, b: bool(a < b),
        Op.CONTAINS: lambda a, b: str(b).casefold() in str(a).casefold(),
    }
    return compare[f.op](value, want)


# -- aggregates ---------------------------------------------------------------------------
class Grain(enum.StrEnum):
    VALUE = "value"  # the field's stored value, as filters compare it
    MONTH = "month"  # "YYYY-MM" of a date (of a datetime, in UTC)
    CURRENCY = "currency"  # the currency code of a money field
    BANDS = "bands"  # which of the ranges cut by ``Group.cuts`` holds the value


@attrs.frozen
class Group:
    """What an aggregate groups records by: ``Group("owner_id")`` (the value),
    ``Group.month("expected_close")`` (``"2027-01"``), ``Group.currency("amount")``,
    ``Group.bands("due", (d1, d2, d3))`` (0 below ``d1``, 1 from ``d1`` up to ``d2`` … 3
    from ``d3`` on).

    A group's key is None for records whose field is empty.
    """

    field: str
    grain: Grain = Grain.VALUE
    cuts: tuple[Any, ...] = ()

    @classmethod
    def month(cls, field: str) -> Group:
        """The month (``"YYYY-MM"``) of a date field, or of a datetime field in UTC."""
        return cls(field, Grain.MONTH)

    @classmethod
    def currency(cls, field: str) -> Group:
        """The currency code of a :class:`Money` field."""
        return cls(field, Grain.CURRENCY)

    @classmethod
    def bands(cls, field: str, cuts: Sequence[Any]) -> Group:
        """The band of a date, datetime or int field between rising ``cuts``: the key is
        how many cuts are at or below the value (0 … ``len(cuts)``), so ``bisect_right``.
        Aging (账龄) is bands of the due date cut at 90, 60 and 30 days ago and today."""
        return cls(field, Grain.BANDS, tuple(cuts))


@attrs.frozen
class Measure:
    """What an aggregate computes for each group: ``Measure.count()``,
    ``Measure.sum("amount")`` or ``Measure.sum("amount", times="probability")``."""

    field: str | None = None
    times: str | None = None

    @classmethod
    def count(cls) -> Measure:
        """How many records the group holds."""
        return cls()

    @classmethod
    def sum(cls, field: str, *, times: str | None = None) -> Measure:
        """Σ ``field`` (of a money field, its amount), or Σ ``field`` × ``times`` over the
        records where both are set. Empty values add nothing; a sum of nothing is 0."""
        return cls(field, times)

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields the measure reads (none for a count)."""
        return tuple(f for f in (self.field, self.times) if f is not None)


@attrs.frozen
class AggregateRow:
    """One group of an aggregate: its ``key`` (a value per group, in the order asked) and
    its ``values`` (one per measure, in the order asked)."""

    key: tuple[Any, ...]
    values: tuple[Any, ...]


# Types an aggregate can group by (their stored values) and sum.
GROUPABLE_TYPES: tuple[type, ...] = (
    str,
    enum.Enum,
    bool,
    int,
    Decimal,
    Money,
    date,
    datetime,
    Phone,  # by its E.164
    Email,
)
SUMMABLE_TYPES: tuple[type, ...] = (int, Decimal, Money)


def check_aggregate(
    spec: EntitySpec[Any], by: Sequence[Group], measures: Sequence[Measure]
) -> None:
    """Refuse an aggregate the backends cannot answer the same way (a programming error).

    Raises:
        ValueError: an unknown or non-scalar field, a month of something not a date, the
            currency of something not money, a sum of something not a number, a sum of
            money not grouped by its currency, the month of a datetime without a column.
    """
    types = spec.value_types

    def kind_of(field: str) -> type:
        if field not in types or field in spec.child_attributes or field == spec.members:
            raise ValueError(f"{spec.name}.{field} is not a field that can be aggregated")
        kind = types[field]
        if not isinstance(kind, type) or not issubclass(kind, GROUPABLE_TYPES):
            raise ValueError(f"{spec.name}.{field} ({kind!r}) is not a single value")
        return kind

    currencies = set()
    for group in by:
        kind = kind_of(group.field)
        if group.grain is Grain.MONTH:
            if not issubclass(kind, date):
                raise ValueError(f"{spec.name}.{group.field} ({kind!r}) has no month")
            if issubclass(kind, datetime) and group.field not in spec.stored_columns:
                raise ValueError(
                    f"{spec.name}.{group.field}: the month of a datetime needs a column "
                    "(index the field)"
                )
        if group.grain is Grain.CURRENCY:
            if not issubclass(kind, Money):
                raise ValueError(f"{spec.name}.{group.field} ({kind!r}) has no currency")
            currencies.add(group.field)
        if group.grain is Grain.BANDS:
            _check_bands(spec, group, kind)
    for measure in measures:
        if measure.field is None and measure.times is not None:
            raise ValueError("a product needs its first field")
        for field in measure.fields:
            kind = kind_of(field)
            if not issubclass(kind, SUMMABLE_TYPES) or issubclass(kind, bool):
                raise ValueError(f"{spec.name}.{field} ({kind!r}) is not a number to sum")
            if issubclass(kind, Money) and field not in currencies:
                raise ValueError(
                    f"{spec.name}.{field}: a sum of money needs Group.currency({field!r}) "
                    "(amounts in different currencies do not add up)"
                )


def _check_bands(spec: EntitySpec[Any], group: Group, kind: type) -> None:
    where = f"{spec.name}.{group.field}"
    if not issubclass(kind, date | int) or issubclass(kind, bool | enum.Enum):
        raise ValueError(f"{where} ({kind!r}) is not a date or an int to band")
    if group.field not in spec.stored_columns:
        raise ValueError(f"{where}: bands need a column (index the field)")
    if not group.cuts or any(
        not isinstance(c, kind) or isinstance(c, datetime | bool) != issubclass(kind, datetime)
        for c in group.cuts
    ):
        raise ValueError(f"{where}: bands need cuts of the field's type")
    if any(a >= b for a, b in itertools.pairwise(group.cuts)):
        raise ValueError(f"{where}: cuts must rise")


# Sums are exact: no rounding however many digits they grow to.
EXACT = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


def month_key(value: date | None) -> str | None:
    """``"YYYY-MM"`` of a date, or of a datetime in UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.astimezone(UTC)
    return f"{value.year:04d}-{value.month:02d}"


def group_key(obj: Any, group: Group) -> Any:
    """The key ``obj`` falls under for ``group`` (the memory backend's reading)."""
    value = getattr(obj, group.field)
    if group.grain is Grain.MONTH:
        return month_key(value)
    if group.grain is Grain.CURRENCY:
        return value.currency if value is not None else None
    if group.grain is Grain.BANDS:
        return None if value is None else bisect.bisect_right(group.cuts, value)
    return column_value(value)


class Totals:
    """Counts and exact sums per key, added up in any order: the one place where an
    aggregate's groups are merged, whichever backend found them."""

    def __init__(self, spec: EntitySpec[Any], measures: Sequence[Measure]) -> None:
        self.measures = tuple(measures)
        self.fields = tuple(m.fields for m in self.measures)
        types = spec.value_types
        self.zeros: tuple[Any, ...] = tuple(
            0 if all(issubclass(types[f], int) for f in fields) else Decimal(0)
            for fields in self.fields
        )
        self.groups: dict[tuple[Any, ...], list[Any]] = {}

    def add(self, key: tuple[Any, ...], count: int, sums: Sequence[Any]) -> None:
        """Add ``count`` records under ``key`` whose measures sum to ``sums`` (one per
        measure; None adds nothing, and a count measure takes ``count``)."""
        found = self.groups.get(key)
        if found is None:
            found = self.groups[key] = [0, *self.zeros]
        found[0] += count
        for i, value in enumerate(sums, start=1):
            if value is not None:
                found[i] = (
                    EXACT.add(found[i], value) if isinstance(value, Decimal) else (found[i] + value)
                )

    def add_record(self, key: tuple[Any, ...], numbers: Mapping[str, Any]) -> None:
        """Add one record, given the stored value of each field the measures read (a
        money field's amount)."""
        sums: list[Any] = []
        for fields in self.fields:
            values = [numbers[f] for f in fields]
            if not values or any(v is None for v in values):
                sums.append(None)
            elif len(values) == 1:
                sums.append(values[0])
            else:
                a, b = values
                both_int = isinstance(a, int) and isinstance(b, int)
                sums.append(a * b if both_int else EXACT.multiply(a, b))
        self.add(key, 1, sums)

    def rows(self) -> list[AggregateRow]:
        """The groups holding records, in key order (empty keys first)."""
        out = []
        for key, (count, *sums) in self.groups.items():
            if count:
                values = tuple(
                    value if fields else count
                    for fields, value in zip(self.fields, sums, strict=True)
                )
                out.append(AggregateRow(key, values))
        out.sort(key=lambda row: tuple((v is not None, v) for v in row.key))
        return out


def aggregate_objects(
    spec: EntitySpec[Any],
    objects: Iterable[Any],
    by: Sequence[Group],
    measures: Sequence[Measure],
) -> list[AggregateRow]:
    """The aggregate of ``objects`` (already filtered and scoped): the memory backend's
    reading, which the SQL backend's queries must agree with (the contract suite checks)."""
    check_aggregate(spec, by, measures)
    totals = Totals(spec, measures)
    fields = {f for m in measures for f in m.fields}
    for obj in objects:
        key = tuple(group_key(obj, g) for g in by)
        totals.add_record(key, {f: column_value(getattr(obj, f)) for f in fields})
    return totals.rows()
