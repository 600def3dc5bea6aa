"""``Repository.aggregate`` in SQL: one GROUP BY in the database, sums exact on both dialects.

The records are selected as ``list`` selects them (filters, data scope, the recycle bin) in
an inner query that reads each value once: a group's expression, a measure's operands. A
field with a column is read from it; any other from the stored object (``json_extract`` on
SQLite, ``jsonb_extract_path_text`` on PostgreSQL), which parses each row's JSON and costs
most of the time at scale (see docs/benchmarks.md, issue 17).

Exact sums:

- **PostgreSQL** sums ``NUMERIC``, which is exact at any size (ints are cast too, so that
  ``int × int`` cannot overflow a 4-byte column).
- **SQLite** has no decimal type: amounts are decimal text, and ``SUM`` of text is a float.
  Each amount is summed instead as the integer of its digits (``"1234.50"`` -> 123450)
  grouped by its scale (the digits after the point, 2 here), which the database adds
  exactly in 64 bits; Python then puts each scale's sum back in place
  (``123450 × 10⁻²``) and merges the scales of one group. Anything this cannot hold
  exactly is detected, not rounded: a value that is not plain digits (``1E+3``) or has
  more than 18 characters (flagged per group), a product past 64 bits (SQLite turns it
  into a float), a sum past 64 bits (SQLite raises "integer overflow"). Then the same
  inner query is read row by row and summed in Python, exactly, as the memory backend
  does.

Keys read from the stored object come back as the JSON's text and are decoded to the
field's type before merging, so ``0.3`` and ``0.30`` are one group, as in memory.
"""

from __future__ import annotations

import builtins
import enum
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Numeric,
    String,
    Table,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.exc import OperationalError

from crmkit.domain.values import Money
from crmkit.storage.spec import (
    EXACT,
    AggregateRow,
    EntitySpec,
    Grain,
    Group,
    Measure,
    Totals,
    check_aggregate,
    currency_column,
)

# SQLite's 64-bit integers hold every 18-digit number; longer text is summed in Python.
_MAX_DIGITS = 18


class _Inexact(Exception):
    """SQLite could not add these values exactly in 64 bits."""


def aggregate_rows(
    conn: Connection,
    spec: EntitySpec[Any],
    table: Table,
    where: Sequence[ColumnElement[bool]],
    by: Sequence[Group],
    measures: Sequence[Measure],
) -> builtins.list[AggregateRow]:
    """The aggregate of the rows of ``table`` that ``where`` selects (see
    ``Repository.aggregate``)."""
    check_aggregate(spec, by, measures)
    plan = _Plan(conn.dialect.name, spec, table, by, measures)
    inner = select(*plan.columns).select_from(table).where(*where)
    if plan.dialect == "sqlite" and plan.reads_data:
        # A LIMIT keeps SQLite from flattening the inner query into the outer one, which
        # would parse a row's JSON again for every use of a value read from it.
        inner = inner.limit(-1)
    sub = inner.subquery("matching")
    if plan.dialect == "postgresql":
        return _postgres(conn, plan, sub)
    try:
        return _sqlite(conn, plan, sub)
    except _Inexact:
        return _in_python(conn, plan, sub)
    except OperationalError as exc:
        if "integer overflow" not in str(exc.orig):
            raise
        return _in_python(conn, plan, sub)


class _Plan:
    """The expressions of one aggregate: the groups' and the operands' values per row."""

    def __init__(
        self,
        dialect: str,
        spec: EntitySpec[Any],
        table: Table,
        by: Sequence[Group],
        measures: Sequence[Measure],
    ) -> None:
        self.dialect = dialect
        self.spec = spec
        self.table = table
        self.by = tuple(by)
        self.measures = tuple(measures)
        self.reads_data = False
        self.operands: dict[str, int] = {}  # field -> its column "v<i>" in the inner query
        for measure in self.measures:
            for field in measure.fields:
                self.operands.setdefault(field, len(self.operands))
        # The inner query's columns: g<i> per group, v<i> per operand (one at least).
        self.columns: builtins.list[Any] = []
        self.decoders: builtins.list[Callable[[Any], Any]] = []
        for i, group in enumerate(self.by):
            expr, decode = self._group(group)
            self.columns.append(expr.label(f"g{i}"))
            self.decoders.append(decode)
        for field, i in self.operands.items():
            self.columns.append(self._operand(field).label(f"v{i}"))
        if not self.columns:
            self.columns.append(literal(1).label("one"))

    def is_decimal(self, field: str) -> bool:
        return not issubclass(self.spec.value_types[field], int)

    def _stored(self, field: str, part: str | None = None) -> tuple[Any, bool]:
        """A field's stored value (a money field's ``amount`` or ``currency`` part), and
        whether it is read from the stored object (then as its JSON text)."""
        spec = self.spec
        if part == "currency" and field in spec.money_columns:
            return self.table.c[currency_column(field)], False
        if part != "currency" and field in spec.stored_columns:
            return self.table.c[field], False
        self.reads_data = True
        path = (field,) if part is None else (field, part)
        if self.dialect == "postgresql":
            return func.jsonb_extract_path_text(self.table.c.data, *path), True
        return func.json_extract(self.table.c.data, "$." + ".".join(path)), True

    def _group(self, group: Group) -> tuple[Any, Callable[[Any], Any]]:
        kind = self.spec.value_types[group.field]
        if group.grain is Grain.CURRENCY:
            return self._stored(group.field, "currency")[0], _same
        if group.grain is Grain.BANDS:  # a column (check_aggregate): compared as typed
            column = self.table.c[group.field]
            whens = [(column < cut, literal(i)) for i, cut in enumerate(group.cuts)]
            band = case((column.is_(None), None), *whens, else_=literal(len(group.cuts)))
            return band, _same
        part = "amount" if issubclass(kind, Money) else None
        value, from_data = self._stored(group.field, part)
        if group.grain is Grain.VALUE:
            return value, (_decoder(kind) if from_data else _same)
        if from_data or self.dialect == "sqlite":
            # ISO text either way (SQLite keeps datetimes as UTC text): "YYYY-MM" leads.
            return func.substr(value, 1, 7), _same
        if issubclass(kind, datetime):
            value = func.timezone("UTC", value)
        return func.to_char(value, "YYYY-MM"), _same

    def _operand(self, field: str) -> Any:
        part = "amount" if issubclass(self.spec.value_types[field], Money) else None
        value, from_data = self._stored(field, part)
        if self.dialect == "postgresql":
            return cast(value, Numeric())
        if self.is_decimal(field):
            return type_coerce(value, String())
        return type_coerce(value, Integer()) if not from_data else cast(value, Integer())

    def key(self, row: Any) -> tuple[Any, ...]:
        return tuple(decode(row[i]) for i, decode in enumerate(self.decoders))


def _same(value: Any) -> Any:
    return value


def _decoder(kind: type) -> Callable[[Any], Any]:
    """JSON text (or SQLite's reading of a JSON scalar) back to a field's stored value."""

    def wrap(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
        return lambda v: None if v is None else convert(v)

    if issubclass(kind, enum.Enum):
        sample = next(iter(kind)).value
        return wrap(int if isinstance(sample, int) else str)
    if issubclass(kind, bool):
        return wrap(lambda v: v in (1, True, "true"))
    if issubclass(kind, int):
        return wrap(int)
    if issubclass(kind, Decimal | Money):
        return wrap(lambda v: Decimal(str(v)))
    if issubclass(kind, datetime):
        return wrap(datetime.fromisoformat)
    if issubclass(kind, date):
        return wrap(date.fromisoformat)
    return wrap(str)


# -- PostgreSQL: NUMERIC sums ---------------------------------------------------------------
def _postgres(conn: Connection, plan: _Plan, sub: Any) -> builtins.list[AggregateRow]:
    groups = [sub.c[f"g{i}"] for i in range(len(plan.by))]
    sums: builtins.list[Any] = []
    for measure in plan.measures:
        if not measure.fields:
            continue
        operands = [sub.c[f"v{plan.operands[f]}"] for f in measure.fields]
        product = operands[0] if len(operands) == 1 else operands[0] * operands[1]
        sums.append(type_coerce(func.sum(product), Numeric()))
    stmt = select(*groups, func.count(), *sums).select_from(sub).group_by(*groups)
    totals = Totals(plan.spec, plan.measures)
    ints = [all(not plan.is_decimal(f) for f in m.fields) for m in plan.measures if m.fields]
    n = len(groups)
    for row in conn.execute(stmt):
        found = iter(
            None if v is None else (int(v) if as_int else v)
            for v, as_int in zip(row[n + 1 :], ints, strict=True)
        )
        totals.add(
            plan.key(row), row[n], [next(found) if m.fields else None for m in plan.measures]
        )
    return totals.rows()


# -- SQLite: integer digits by scale --------------------------------------------------------
def _sqlite(conn: Connection, plan: _Plan, sub: Any) -> builtins.list[AggregateRow]:
    # Constants are written into the SQL, not bound: a scale must read the same in the
    # SELECT and the GROUP BY.
    def sql(text: str) -> Any:
        return literal_column(text)

    digits: dict[str, Any] = {}
    scales: dict[str, Any] = {}
    odd: builtins.list[Any] = []
    for field, i in plan.operands.items():
        value = sub.c[f"v{i}"]
        if not plan.is_decimal(field):
            digits[field] = value
            continue
        point = func.instr(value, sql("'.'"))
        digits[field] = cast(func.replace(value, sql("'.'"), sql("''")), Integer())
        scales[field] = case((point > sql("0"), func.length(value) - point), else_=sql("0"))
        odd.append(value.op("GLOB")(sql("'*[^0-9.-]*'")))
        odd.append(func.length(value) > sql(str(_MAX_DIGITS)))
    groups = [sub.c[f"g{i}"] for i in range(len(plan.by))]
    scale_fields = list(scales)
    sums: builtins.list[Any] = []
    for measure in plan.measures:
        if not measure.fields:
            continue
        parts = [digits[f] for f in measure.fields]
        sums.append(
            type_coerce(func.sum(parts[0] if len(parts) == 1 else parts[0] * parts[1]), Integer())
        )
    flag = [type_coerce(func.max(or_(*odd)), Integer())] if odd else []
    scale_of_rows = [scales[f] for f in scale_fields]
    stmt = (
        select(*groups, *scale_of_rows, func.count(), *sums, *flag)
        .select_from(sub)
        .group_by(*groups, *scale_of_rows)
    )
    totals = Totals(plan.spec, plan.measures)
    n, k = len(groups), len(scale_fields)
    # Per measure: None for a count, else where its sum is in a row and where the scales
    # of its decimal operands are (none: an int sum).
    where: builtins.list[tuple[int, tuple[int, ...], bool] | None] = []
    at = n + k + 1
    for fields in totals.fields:
        if not fields:
            where.append(None)
            continue
        places = tuple(n + scale_fields.index(f) for f in fields if f in scales)
        where.append((at, places, any(plan.is_decimal(f) for f in fields)))
        at += 1
    for row in conn.execute(stmt):
        if flag and row[-1]:
            raise _Inexact
        values: builtins.list[Any] = []
        for place in where:
            if place is None:
                values.append(None)
                continue
            total = row[place[0]]
            if total is None:
                values.append(None)
            elif type(total) is not int:
                raise _Inexact  # a product went past 64 bits and became a float
            elif place[2]:
                scale = sum(row[i] for i in place[1])
                values.append(EXACT.scaleb(Decimal(total), -scale))
            else:
                values.append(total)
        totals.add(plan.key(row), row[n + k], values)
    return totals.rows()


def _in_python(conn: Connection, plan: _Plan, sub: Any) -> builtins.list[AggregateRow]:
    """Every matching row's values, summed exactly here: SQLite's way out when 64 bits
    do not hold the sums."""
    totals = Totals(plan.spec, plan.measures)
    n = len(plan.by)
    for row in conn.execute(select(sub)):
        numbers = {
            field: _number(row[n + i], plan.is_decimal(field)) for field, i in plan.operands.items()
        }
        totals.add_record(plan.key(row), numbers)
    return totals.rows()


def _number(value: Any, is_decimal: bool) -> Any:
    if value is None:
        return None
    return Decimal(str(value)) if is_decimal else int(value)
