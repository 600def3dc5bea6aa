"""The generic repository's ``aggregate``, against a brute-force sum: part of
:class:`crmkit.testing.contract.EntityRepositoryContract`.

Semantics stated here and tested below (see ``Repository.aggregate``):

- The records aggregated are those ``list`` would page through: the same filters, data
  scope and ``deleted`` choice (live records by default).
- One row per key found, in key order with empty keys first. A key holds, per group, the
  field's stored value (an enum's value, a money field's amount), the month ``"YYYY-MM"``
  of a date (of a datetime in UTC), a money field's currency, or the band of a date or
  int between rising cuts (how many cuts are at or below it); None for an empty field.
  Values equal as numbers are one key (``0.3`` and ``0.30``).
- Counts are ints; sums are exact: an int for int fields, else a ``Decimal`` equal to the
  exact sum however many digits it takes (past 64 bits too); empty values add nothing, and
  a sum of nothing is 0. A product adds ``a × b`` for the records where both are set.
- A field without a column is read from the stored object, with the same results.
- An aggregate the backends cannot answer alike raises ``ValueError``
  (:func:`crmkit.storage.spec.check_aggregate`).

The test entity :data:`DEALS` has a field of each kind, with and without a column, and an
owner scope with co-owners. On SQL its table lives outside crmkit's migrations; the
contract creates it.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, localcontext
from typing import Any, Final

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmkit.domain.values import Money
from crmkit.storage.ports import EVERYTHING, Deleted, EntityQuery, Scope, Store
from crmkit.storage.spec import (
    AggregateRow,
    EntitySpec,
    Filter,
    Grain,
    Group,
    Measure,
    Op,
    ScopeRule,
)


class DealStage(enum.StrEnum):
    NEW = "new"
    WON = "won"
    LOST = "lost"


@attrs.frozen(kw_only=True)
class Deal:
    """A record with a field of each kind an aggregate reads, some with a column
    (``indexed`` in :data:`DEALS`), the others only in the stored object."""

    id: str
    owner_id: str | None = None
    shared_with: tuple[str, ...] = ()
    stage: DealStage = DealStage.NEW  # column
    quantity: int = 0  # column
    price: Money | None = None  # column: its amount, and its currency beside it
    weight: Decimal | None = None  # column (decimal text on SQLite)
    closes: date | None = None  # column
    amount: Money | None = None  # stored object only, as every field below
    rate: Decimal | None = None
    signed: date | None = None
    region: str | None = None
    hot: bool = False
    level: int = 0
    was: DealStage | None = None
    touched_at: datetime | None = None
    version: int = 1
    created_at: datetime
    deleted_at: datetime | None = None


DEALS: Final = EntitySpec(
    "test_deal",
    Deal,
    table="test_deals",
    indexed=("stage", "quantity", "price", "weight", "closes"),
    scope=ScopeRule.owner("owner_id", co_owners=True),
    members="shared_with",
)


def create_deal_table(store: Any) -> None:
    """Create :data:`DEALS`' table in a SQL store (memory stores need nothing)."""
    engine = getattr(store, "engine", None)
    if engine is None:
        return
    from crmkit.storage.sql.entities import app_metadata, entity_table

    app_metadata.create_all(engine, tables=[entity_table(DEALS)])


# -- strategies ---------------------------------------------------------------------------
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
_USERS = ("u-1", "u-2", "u-3")
# Amounts as people write them, and the ones SQLite cannot add as 64-bit integers:
# exponent notation, more than 18 digits, sums and products past 2**63.
_ODD = [
    Decimal("1E+3"),
    Decimal("0E-8"),
    Decimal("-0.00"),
    Decimal("12345678901234567.89"),
    Decimal("999999999999999.99"),
]
_DECIMALS = (
    st.decimals(-1_000_000, 1_000_000, places=2)
    | st.decimals(0, 1, places=3)
    | st.sampled_from(_ODD)
)
_MONEY = st.none() | st.builds(Money, _DECIMALS, st.sampled_from(["CNY", "USD"]))
_DATES = st.none() | st.dates(date(2026, 1, 1), date(2026, 4, 30))
# 02:00 on the 1st of a month in UTC+8 is the previous month in UTC.
_TIMES = st.integers(0, 120).map(
    lambda h: datetime(2026, 2, 1, 2, 0, tzinfo=UTC) + timedelta(hours=h - 60)
)

DEAL_STRATEGY: Final = st.builds(
    Deal,
    id=st.builds(lambda: str(uuid.uuid4())),
    owner_id=st.none() | st.sampled_from(_USERS),
    shared_with=st.lists(st.sampled_from(_USERS), unique=True, max_size=2).map(tuple),
    stage=st.sampled_from(list(DealStage)),
    quantity=st.integers(-3, 3) | st.sampled_from([2**31 - 1, -(2**31)]),  # PostgreSQL's int
    price=_MONEY,
    weight=st.none() | _DECIMALS,
    closes=_DATES,
    amount=_MONEY,
    rate=st.none() | st.decimals(0, 1, places=2) | st.sampled_from([Decimal("0.3")]),
    signed=_DATES,
    region=st.none() | st.sampled_from(["华东", "华北"]),
    hot=st.booleans(),
    level=st.integers(-2, 2),
    was=st.none() | st.sampled_from(list(DealStage)),
    touched_at=st.none() | _TIMES,
    created_at=_TIMES,
    deleted_at=st.none() | st.just(NOW),
)

GROUPS: Final = (
    Group("stage"),
    Group("owner_id"),
    Group("quantity"),
    Group("price"),
    Group("weight"),
    Group("closes"),
    Group("rate"),
    Group("region"),
    Group("hot"),
    Group("signed"),
    Group("level"),
    Group("was"),
    Group("touched_at"),
    Group.month("closes"),
    Group.month("signed"),
    Group.month("created_at"),
    Group.currency("price"),
    Group.currency("amount"),
    Group.bands("closes", (date(2026, 2, 1), date(2026, 3, 1), date(2026, 3, 31))),
    Group.bands("quantity", (-1, 0, 2)),
)
MEASURES: Final = (
    Measure.count(),
    Measure.sum("quantity"),
    Measure.sum("weight"),
    Measure.sum("price"),
    Measure.sum("amount"),
    Measure.sum("rate"),
    Measure.sum("amount", times="rate"),
    Measure.sum("price", times="quantity"),
    Measure.sum("weight", times="weight"),
    Measure.sum("quantity", times="quantity"),
    Measure.sum("level"),
    Measure.sum("level", times="weight"),
)
SCOPES: Final = (EVERYTHING, Scope.of("u-1"), Scope.of("u-1", "u-2"), Scope.of())
FILTERS: Final = (
    (),
    (Filter("stage", Op.NE, DealStage.LOST),),
    (Filter("quantity", Op.GE, 0),),
    (Filter("closes", Op.NULL, False),),
)


@st.composite
def aggregates(draw: Any) -> tuple[tuple[Group, ...], tuple[Measure, ...]]:
    """A valid aggregate of :data:`DEALS`: a sum of money comes with its currency group."""
    # Drawn evenly (hypothesis favours the first elements of a sampled list).
    pick = draw(st.randoms(use_true_random=False))
    by = pick.sample(GROUPS, draw(st.integers(0, 3)))
    measures = pick.sample(MEASURES, draw(st.integers(1, 3)))
    for m in measures:
        for field in m.fields:
            if field in ("price", "amount") and Group.currency(field) not in by:
                by.append(Group.currency(field))
    return tuple(by), tuple(measures)


# -- the brute force ------------------------------------------------------------------------
def brute_force(
    deals: list[Deal],
    query: EntityQuery,
    scope: Scope,
    by: tuple[Group, ...],
    measures: tuple[Measure, ...],
) -> list[AggregateRow]:
    """The aggregate, computed the slow and obvious way."""

    def kept(d: Deal) -> bool:
        if query.deleted is Deleted.EXCLUDE and d.deleted_at is not None:
            return False
        if query.deleted is Deleted.ONLY and d.deleted_at is None:
            return False
        for f in query.filters:
            value = getattr(d, f.field)
            if f.op is Op.NE and value == f.value:
                return False
            if f.op is Op.GE and value < f.value:
                return False
            if f.op is Op.NULL and (value is None) is not f.value:
                return False
        if scope.owner_ids is None:
            return True
        return d.owner_id in scope.owner_ids or bool(scope.owner_ids & set(d.shared_with))

    def key(d: Deal, g: Group) -> Any:
        value = getattr(d, g.field)
        if value is None:
            return None
        if g.grain is Grain.CURRENCY:
            return value.currency
        if g.grain is Grain.BANDS:
            return sum(1 for cut in g.cuts if cut <= value)
        if g.grain is Grain.MONTH:
            if isinstance(value, datetime):
                value = value.astimezone(UTC)
            return value.strftime("%Y-%m")
        if isinstance(value, enum.Enum):
            return value.value
        return value.amount if isinstance(value, Money) else value

    def number(value: Any) -> Any:
        return value.amount if isinstance(value, Money) else value

    groups: dict[tuple[Any, ...], list[Any]] = {}
    with localcontext() as ctx:
        ctx.prec = 200  # no rounding for these sizes
        for d in filter(kept, deals):
            k = tuple(key(d, g) for g in by)
            sums = groups.setdefault(k, [None] * len(measures))
            for i, m in enumerate(measures):
                if not m.fields:
                    sums[i] = (sums[i] or 0) + 1
                    continue
                values = [number(getattr(d, f)) for f in m.fields]
                integral = all(isinstance(getattr(d, f), int) for f in m.fields)
                if sums[i] is None:
                    sums[i] = 0 if integral else Decimal(0)
                if all(v is not None for v in values):
                    product = values[0] if len(values) == 1 else values[0] * values[1]
                    sums[i] += product
    rows = [AggregateRow(k, tuple(v)) for k, v in groups.items()]
    return sorted(rows, key=lambda r: tuple((v is not None, v) for v in r.key))


# -- the contract ---------------------------------------------------------------------------
class AggregateContract:
    """``Repository.aggregate`` on :data:`DEALS` (and crmkit's opportunities)."""

    aggregate_examples: int = 40

    def make_store(self) -> Store:
        raise NotImplementedError(f"{type(self).__name__} must implement make_store()")

    @pytest.fixture
    def deal_store(self) -> Iterator[Store]:
        store = self.make_store()
        create_deal_table(store)
        try:
            yield store
        finally:
            store.close()

    def test_an_aggregate_equals_a_brute_force_sum_in_scope(self, deal_store: Store) -> None:
        store = deal_store

        @given(
            deals=st.lists(DEAL_STRATEGY, max_size=12),
            aggregate=aggregates(),
            scope=st.sampled_from(SCOPES),
            filters=st.sampled_from(FILTERS),
            deleted=st.sampled_from([Deleted.EXCLUDE, Deleted.INCLUDE, Deleted.ONLY]),
        )
        @settings(
            max_examples=self.aggregate_examples,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        )
        def check(
            deals: list[Deal],
            aggregate: tuple[tuple[Group, ...], tuple[Measure, ...]],
            scope: Scope,
            filters: tuple[Filter, ...],
            deleted: Deleted,
        ) -> None:
            by, measures = aggregate
            query = EntityQuery(filters=filters, deleted=deleted)
            with store.unit_of_work() as uow:
                uow.repo(DEALS).add_many(deals)
                uow.commit()
            try:
                with store.unit_of_work() as uow:
                    got = uow.repo(DEALS).aggregate(query, scope, by=by, measures=measures)
                assert got == brute_force(deals, query, scope, by, measures)
            finally:
                with store.unit_of_work() as uow:
                    uow.repo(DEALS).purge([d.id for d in deals])
                    uow.commit()

        check()

    def test_an_ordered_list_pages_by_the_field_then_store_order(self, deal_store: Store) -> None:
        """``EntityQuery(order_by=…)``: the records ``list`` finds unordered, by the field
        ascending (empty last), ties in the order they were added, over any page size."""
        store = deal_store

        @given(
            deals=st.lists(DEAL_STRATEGY, max_size=12),
            field=st.sampled_from(["closes", "quantity", "stage"]),
            scope=st.sampled_from(SCOPES),
            filters=st.sampled_from(FILTERS),
            size=st.integers(1, 5),
        )
        @settings(
            max_examples=self.aggregate_examples,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        )
        def check(
            deals: list[Deal], field: str, scope: Scope, filters: tuple[Filter, ...], size: int
        ) -> None:
            with store.unit_of_work() as uow:
                uow.repo(DEALS).add_many(deals)
                uow.commit()
            try:
                with store.unit_of_work() as uow:
                    repo = uow.repo(DEALS)
                    every = repo.list(EntityQuery(filters=filters), scope, after=None, limit=99)
                    ordered: list[Deal] = []
                    after: str | None = None
                    query = EntityQuery(filters=filters, order_by=field)
                    while True:
                        page = repo.list(query, scope, after=after, limit=size)
                        ordered += page.items
                        after = page.next_after
                        if after is None:
                            break
                position = {d.id: i for i, d in enumerate(deals)}

                def key(d: Deal) -> tuple[Any, ...]:
                    value = getattr(d, field)
                    value = value.value if isinstance(value, enum.Enum) else value
                    return (value is None, value if value is not None else 0, position[d.id])

                assert [d.id for d in ordered] == [d.id for d in sorted(every.items, key=key)]
            finally:
                with store.unit_of_work() as uow:
                    uow.repo(DEALS).purge([d.id for d in deals])
                    uow.commit()

        check()

    def test_a_list_ordered_by_a_field_without_a_column_is_refused(self, deal_store: Store) -> None:
        with deal_store.unit_of_work() as uow:
            for field in ("region", "weight", "price"):
                with pytest.raises(ValueError, match=rf"test_deal\.{field}\b"):
                    uow.repo(DEALS).list(
                        EntityQuery(order_by=field), EVERYTHING, after=None, limit=5
                    )

    def test_sums_past_64_bits_stay_exact(self, deal_store: Store) -> None:
        big, most = 99999999999999999, 2**31 - 1  # a sum of 100 of either needs 66 bits
        deals = [
            Deal(
                id=str(uuid.uuid4()),
                stage=DealStage.WON if i == 0 else DealStage.NEW,
                price=Money(Decimal(big).scaleb(-2)),
                quantity=most,
                weight=Decimal("1.5"),
                created_at=NOW,
            )
            for i in range(100)
        ]
        with deal_store.unit_of_work() as uow:
            uow.repo(DEALS).add_many(deals)
            uow.commit()
        with deal_store.unit_of_work() as uow:
            repo = uow.repo(DEALS)
            [row] = repo.aggregate(
                EntityQuery(),
                EVERYTHING,
                by=(Group.currency("price"),),
                measures=(
                    Measure.sum("price"),
                    Measure.sum("price", times="quantity"),
                    Measure.sum("quantity", times="quantity"),
                    Measure.sum("weight"),
                ),
            )
            assert row.key == ("CNY",)
            assert row.values == (
                Decimal(100 * big).scaleb(-2),
                Decimal(100 * big * most).scaleb(-2),
                100 * most * most,
                Decimal(150),
            )
            # One product past 64 bits (no sum past them).
            [one] = repo.aggregate(
                EntityQuery(filters=(Filter("stage", Op.EQ, DealStage.WON),)),
                EVERYTHING,
                by=(Group.currency("price"),),
                measures=(Measure.sum("price", times="quantity"),),
            )
            assert one.values == (Decimal(big * most).scaleb(-2),)
            # The unit of work goes on working after the database gave up on 64 bits.
            assert repo.count(EntityQuery(), EVERYTHING) == 100

    def test_groups_read_from_the_stored_object_merge_equal_values(self, deal_store: Store) -> None:
        deals = [
            Deal(
                id=str(uuid.uuid4()),
                rate=Decimal(r),
                amount=Money(Decimal(a)),
                quantity=2,
                created_at=NOW,
            )
            for r, a in (("0.3", "10"), ("0.30", "0.5"), ("0.300", "1E+2"), ("1", "7"))
        ]
        with deal_store.unit_of_work() as uow:
            uow.repo(DEALS).add_many(deals)
            uow.commit()
        with deal_store.unit_of_work() as uow:
            rows = uow.repo(DEALS).aggregate(
                EntityQuery(),
                EVERYTHING,
                by=(Group("rate"), Group.currency("amount")),
                measures=(
                    Measure.count(),
                    Measure.sum("amount", times="rate"),
                    Measure.sum("quantity"),
                ),
            )
            plain = uow.repo(DEALS).aggregate(
                EntityQuery(), EVERYTHING, by=(), measures=(Measure.sum("quantity"),)
            )
        assert rows == [
            AggregateRow((Decimal("0.3"), "CNY"), (3, Decimal("33.15"), 6)),
            AggregateRow((Decimal("1"), "CNY"), (1, Decimal("7"), 2)),
        ]
        assert plain == [AggregateRow((), (8,))]
        assert type(plain[0].values[0]) is int

    def test_an_aggregate_the_backends_cannot_answer_alike_is_refused(
        self, deal_store: Store
    ) -> None:
        refused = [  # the aggregate, and the field its error names
            ((Group.month("region"),), (Measure.count(),), "region"),  # not a date
            ((Group.currency("weight"),), (Measure.count(),), "weight"),  # not money
            ((Group("shared_with"),), (Measure.count(),), "shared_with"),  # not one value
            ((Group.month("touched_at"),), (Measure.count(),), "touched_at"),  # no column
            ((), (Measure.sum("region"),), "region"),  # not a number
            ((), (Measure.sum("hot"),), "hot"),  # a flag is not a number
            ((), (Measure.sum("price"),), "price"),  # money across currencies
            ((Group.currency("amount"),), (Measure.sum("price", times="rate"),), "price"),
            ((Group("nothing"),), (Measure.count(),), "nothing"),
            ((Group.bands("signed", (date(2026, 2, 1),)),), (Measure.count(),), "signed"),
            ((Group.bands("weight", (Decimal(1),)),), (Measure.count(),), "weight"),
            ((Group.bands("closes", (date(2026, 3, 1), NOW)),), (Measure.count(),), "closes"),
            ((Group.bands("closes", (date(2026, 3, 1),) * 2),), (Measure.count(),), "closes"),
            ((Group.bands("quantity", ()),), (Measure.count(),), "quantity"),
        ]
        with deal_store.unit_of_work() as uow:
            for by, measures, field in refused:
                with pytest.raises(ValueError, match=rf"test_deal\.{field}\b"):
                    uow.repo(DEALS).aggregate(EntityQuery(), EVERYTHING, by=by, measures=measures)


__all__ = [
    "DEALS",
    "DEAL_STRATEGY",
    "AggregateContract",
    "Deal",
    "DealStage",
    "brute_force",
    "create_deal_table",
]
