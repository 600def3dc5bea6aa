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

import builtins
import enum
import functools
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Generic, TypeVar

import attrs

from crmkit.domain.converter import converter, custom_from_plain, custom_to_plain
from crmkit.domain.values import Money

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


def plain_type(hint: Any) -> builtins.type:
    """``X | None`` -> ``X``; anything else as it is."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            hint = args[0]
    origin = typing.get_origin(hint)
    return origin if origin is not None else hint  # type: ignore[no-any-return]


def column_value(value: Any) -> Any:
    """The stored (and compared) form of a field value: enums by value, money by amount."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Money):
        return value.amount
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
