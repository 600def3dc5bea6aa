"""The SQL generic repository: every :class:`EntitySpec` on SQLite and PostgreSQL.

A spec's table holds the indexed fields as typed columns and the whole object as JSON
(``data``): filters, scope and keyset order run on the columns and their ``(field, seq)``
indexes; the object comes back through crmkit's one cattrs converter, so no per-entity row
mapper exists. Child collections live in their own tables, written and read with the parent
in its transaction. Member tokens (co-owners, group members) share one table,
``entity_members``, that scope queries join.

The tables are built from the specs here; Alembic migrations create them, and
``tests/contract/test_sql_schema.py`` checks that the two agree.
"""

from __future__ import annotations

import builtins
import enum
import typing
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

import attrs
from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Connection,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from crmkit.domain.converter import converter
from crmkit.domain.errors import ConcurrencyError, NotFound
from crmkit.domain.values import Email, Money, Phone
from crmkit.storage.catalog import BUILTIN_SPECS
from crmkit.storage.fulltext import SearchHit, parse_query
from crmkit.storage.memory.entities import check_fulltext, unique_error
from crmkit.storage.ports import EVERYTHING, Deleted, EntityQuery, Page, Scope
from crmkit.storage.spec import (
    AggregateRow,
    ChildSpec,
    EntitySpec,
    Filter,
    Group,
    Measure,
    Op,
    ScopeKind,
    check_aggregate,
    check_filter,
    check_order,
    column_value,
    currency_column,
    plain_type,
)
from crmkit.storage.sql.aggregate import aggregate_rows
from crmkit.storage.sql.clauses import customer_scope_clause, deleted_clause
from crmkit.storage.sql.common import (
    cas_update,
    id_chunks,
    insert_many,
    one_of,
    page,
    raise_if_taken,
)
from crmkit.storage.sql.fulltext import (
    drop_index_of_ids,
    fulltext_table,
    search_rows,
    write_index,
)
from crmkit.storage.sql.search import like_escape
from crmkit.storage.sql.tables import (
    ExactDecimal,
    JSONType,
    PrefixKey,
    SeqType,
    UTCDateTime,
    customers,
    metadata,
)

if TYPE_CHECKING:
    from crmkit.storage.sql.store import SqlUnitOfWork

T = TypeVar("T")

# Member tokens of every entity that has them: co-owners (user ids) and group members
# (``user:<id>``, ``role:<role>``). Keyed by the entity's table.
entity_members = Table(
    "entity_members",
    metadata,
    Column("entity_table", String(63), primary_key=True),
    Column("entity_id", String(36), primary_key=True),
    Column("member", String(64), primary_key=True),
)
Index(
    "ix_entity_members_member",
    entity_members.c.entity_table,
    entity_members.c.member,
    entity_members.c.entity_id,
)

# Document-number sequences: one row per prefix and year, counted up inside the creating
# transaction (the row lock orders concurrent creators; a rollback gives the number back).
doc_numbers = Table(
    "doc_numbers",
    metadata,
    Column("prefix", String(16), primary_key=True),
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("last", Integer, nullable=False),
)


def column_type(kind: type) -> Any:
    """The SQL type of an indexed field of Python type ``kind``."""
    if issubclass(kind, enum.Enum):
        return String(40)
    if issubclass(kind, bool):
        return Boolean()
    if issubclass(kind, int):
        return Integer()
    if issubclass(kind, Decimal | Money):
        return ExactDecimal()
    if issubclass(kind, datetime):
        return UTCDateTime()
    if issubclass(kind, date):
        return Date()
    if issubclass(kind, str | Phone | Email):  # a number by its E.164 (column_value)
        return String(255)
    raise TypeError(f"no column type for {kind!r}")


# Tables of entities crmkit does not ship (an application's, the contract kit's): they are
# not crmkit's to migrate, so they stay out of the metadata its migrations are checked
# against. ``app_metadata.create_all(engine, tables=[...])`` creates them where no
# migration does (tests).
app_metadata = MetaData()


def metadata_of(spec: EntitySpec[Any]) -> MetaData:
    return metadata if any(spec is b for b in BUILTIN_SPECS) else app_metadata


def entity_table(spec: EntitySpec[Any]) -> Table:
    """The table of ``spec`` (built once: crmkit's own in its metadata, others apart)."""
    meta = metadata_of(spec)
    found = meta.tables.get(spec.table)
    if found is not None:
        return found
    columns: list[Any] = [
        Column("seq", SeqType, primary_key=True, autoincrement=True),
        Column("id", String(36), nullable=False, unique=True),
        Column("version", Integer, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
    ]
    if spec.soft_delete:
        columns.append(Column("deleted_at", UTCDateTime))
    if spec.number:
        columns.append(Column("number", String(32), unique=True))
    columns += [Column(name, column_type(spec.field_types[name])) for name in spec.columns]
    for name in spec.money_columns:
        if currency_column(name) in spec.stored_columns:
            raise TypeError(
                f"spec {spec.name!r}: {currency_column(name)!r} holds {name}'s currency"
            )
        columns.append(Column(currency_column(name), String(3)))
    columns += [Column(name, PrefixKey(255)) for name in spec.keys]
    columns.append(Column("data", JSONType(), nullable=False))
    table = Table(spec.table, meta, *columns)
    for name in spec.columns:
        Index(f"ix_{spec.table}_{name}_seq", table.c[name], table.c.seq)
    for name in spec.keys:
        Index(f"ix_{spec.table}_{name}", table.c[name])
    if spec.soft_delete:
        Index(f"ix_{spec.table}_deleted_at", table.c.deleted_at)
    for name in spec.unique:
        live = table.c.deleted_at.is_(None) if spec.soft_delete else None
        Index(
            f"uq_{spec.table}_{name}_live",
            table.c[name],
            unique=True,
            sqlite_where=live,
            postgresql_where=live,
        )
    for child in spec.children:
        child_table(spec, child)
    if spec.fulltext:
        fulltext_table(spec, meta, table)  # PostgreSQL's; SQLite's is FTS5 (sql/fulltext.py)
    return table


def child_table(spec: EntitySpec[Any], child: ChildSpec) -> Table:
    meta = metadata_of(spec)
    found = meta.tables.get(child.table)
    if found is not None:
        return found
    hints = typing.get_type_hints(child.type)
    table = Table(
        child.table,
        meta,
        Column("seq", SeqType, primary_key=True, autoincrement=True),
        Column(
            "parent_id",
            String(36),
            ForeignKey(f"{spec.table}.id", ondelete="CASCADE"),
            nullable=False,
        ),
        Column("position", Integer, nullable=False),
        *[Column(n, column_type(plain_type(hints[n]))) for n in child.indexed],
        Column("data", JSONType(), nullable=False),
    )
    Index(f"ix_{child.table}_parent", table.c.parent_id, table.c.position)
    for name in child.indexed:
        Index(f"ix_{child.table}_{name}", table.c[name])
    return table


def _dump_child(item: Any) -> Any:
    return converter().unstructure(item)


class SqlRepository(Generic[T]):
    """``Repository[T]`` on one SQL connection (the unit of work's)."""

    def __init__(self, uow: SqlUnitOfWork, spec: EntitySpec[T]) -> None:
        self.spec = spec
        self._uow = uow
        self._conn: Connection = uow.conn
        self.table = entity_table(spec)

    # -- writes ---------------------------------------------------------------------------
    def _row(self, obj: Any) -> dict[str, Any]:
        spec = self.spec
        row = {
            "id": obj.id,
            "version": obj.version,
            "created_at": obj.created_at,
            **spec.column_values(obj),
            "data": spec.encode(obj),
        }
        if spec.soft_delete:
            row["deleted_at"] = obj.deleted_at
        if spec.number:
            row["number"] = obj.number
        for name in spec.money_columns:
            money = getattr(obj, name)
            row[currency_column(name)] = money.currency if money is not None else None
        for name, key in spec.keys.items():
            row[name] = key(obj)
        return row

    def add(self, obj: T) -> None:
        self.add_many([obj])

    def add_many(self, objs: Sequence[T]) -> None:
        if not objs:
            return
        if len(objs) == 1:
            self._add_one(objs[0])
            return
        try:
            with self._conn.begin_nested():  # so the checks below can run on PostgreSQL
                insert_many(self._conn, self.table, [self._row(o) for o in objs])
        except IntegrityError as exc:
            self._explain(objs, exc, new=True)
        self._write_side(objs, replace=False)
        if self.spec.fulltext:
            write_index(self._conn, self.spec, self.table, objs, replace=False)

    def _add_one(self, obj: T) -> None:
        """One record: ``INSERT … ON CONFLICT DO NOTHING`` and, if nothing was inserted,
        the reason. A failed INSERT would abort a PostgreSQL transaction, so ``add_many``
        wraps its batch in a savepoint: two round trips more for every record a workflow
        creates (a payment, an audit-logged create), which this spares."""
        dialect = self._conn.dialect.name
        stmt: Any = pg_insert(self.table) if dialect == "postgresql" else sqlite_insert(self.table)
        stmt = stmt.values(self._row(obj)).on_conflict_do_nothing().returning(self.table.c.seq)
        if self._conn.execute(stmt).first() is None:  # (rowcount is -1 with RETURNING)
            taken = IntegrityError(
                "INSERT … ON CONFLICT DO NOTHING", None, Exception("a unique value is taken")
            )
            self._explain([obj], taken, new=True)
        self._write_side([obj], replace=False)
        if self.spec.fulltext:
            write_index(self._conn, self.spec, self.table, [obj], replace=False)

    def update(self, obj: T, expected_version: int) -> None:
        row = self._row(obj)
        if not self.spec.unique:
            # Nothing an update writes can be taken (the id and number stay): no savepoint,
            # which costs two round trips per record (a payment updates one per receivable).
            cas_update(self._uow, self.table, self.spec.name, row, expected_version)
        else:
            try:
                with self._conn.begin_nested():  # a taken unique value is explained below
                    cas_update(self._uow, self.table, self.spec.name, row, expected_version)
            except IntegrityError as exc:
                self._explain([obj], exc, new=False)
        self._write_side([obj], replace=True)
        if self.spec.fulltext:
            write_index(self._conn, self.spec, self.table, [obj], replace=True)

    def update_many(self, objs: Sequence[T], expected_versions: Sequence[int]) -> None:
        if len(objs) != len(expected_versions):
            raise ValueError("one expected version per object")
        spec = self.spec
        if spec.unique or spec.children or spec.members or len(objs) < 2:
            for obj, expected in zip(objs, expected_versions, strict=True):
                self.update(obj, expected)
            return
        # One executemany: no unique value can be taken and there is nothing beside the row.
        t = self.table
        rows = [
            {**self._row(obj), "_id": obj.id, "_expected": expected}  # type: ignore[attr-defined]
            for obj, expected in zip(objs, expected_versions, strict=True)
        ]
        columns = [k for k in rows[0] if not k.startswith("_") and k != "id"]
        stmt = (
            update(t)
            .where(t.c.id == bindparam("_id"), t.c.version == bindparam("_expected"))
            .values({c: bindparam(c) for c in columns})
        )
        result = self._conn.execute(stmt, rows)
        if result.rowcount == len(rows):
            if spec.fulltext:
                write_index(self._conn, spec, t, objs, replace=True)
            return
        for obj, expected in zip(objs, expected_versions, strict=True):  # name the stale one
            obj_id = obj.id  # type: ignore[attr-defined]
            actual = self._conn.execute(select(t.c.version).where(t.c.id == obj_id)).scalar()
            if actual is None:
                raise NotFound(spec.name, obj_id)
            if actual != obj.version:  # type: ignore[attr-defined]
                raise ConcurrencyError(spec.name, obj_id, expected, actual)
        raise ConcurrencyError(spec.name, "?", expected_versions[0], -1)

    def _explain(self, objs: Sequence[Any], exc: IntegrityError, *, new: bool) -> None:
        """Turn a failed write into crmkit's error: a taken id, else a taken unique value."""
        t = self.table
        if new:
            raise_if_taken(self._conn, t, self.spec.name, [o.id for o in objs], exc)
        for obj in objs:
            for name in self.spec.unique:
                value = self.spec.column_values(obj)[name]
                clauses = [t.c[name] == value, t.c.id != obj.id]
                if self.spec.soft_delete:
                    clauses.append(t.c.deleted_at.is_(None))
                if value is not None and self._conn.execute(select(t.c.id).where(*clauses)).first():
                    raise unique_error(self.spec, name, getattr(obj, name)) from exc
        raise exc

    def _write_side(self, objs: Sequence[Any], *, replace: bool) -> None:
        """Children and member tokens, replaced wholesale on update."""
        spec = self.spec
        ids = [o.id for o in objs]
        if spec.members:
            m = entity_members
            if replace:
                self._conn.execute(
                    delete(m).where(m.c.entity_table == spec.table, m.c.entity_id.in_(ids))
                )
            insert_many(
                self._conn,
                m,
                [
                    {"entity_table": spec.table, "entity_id": o.id, "member": token}
                    for o in objs
                    for token in dict.fromkeys(getattr(o, spec.members))
                ],
            )
        for child in spec.children:
            ct = child_table(spec, child)
            if replace:
                self._conn.execute(delete(ct).where(ct.c.parent_id.in_(ids)))
            insert_many(
                self._conn,
                ct,
                [
                    {
                        "parent_id": o.id,
                        "position": i,
                        **spec.child_values(child, item),
                        "data": _dump_child(item),
                    }
                    for o in objs
                    for i, item in enumerate(getattr(o, child.attribute))
                ],
            )

    def purge(self, ids: Sequence[str]) -> None:
        spec, t, m = self.spec, self.table, entity_members
        if spec.fulltext:
            drop_index_of_ids(self._conn, spec, t, ids)
        for chunk in id_chunks(self._conn, list(ids)):
            for child in spec.children:
                ct = child_table(spec, child)
                self._conn.execute(delete(ct).where(one_of(self._conn, ct.c.parent_id, chunk)))
            self._conn.execute(
                delete(m).where(
                    m.c.entity_table == spec.table, one_of(self._conn, m.c.entity_id, chunk)
                )
            )
            self._conn.execute(delete(t).where(one_of(self._conn, t.c.id, chunk)))

    # -- reads ----------------------------------------------------------------------------
    def _decode(self, rows: Iterable[Any]) -> builtins.list[T]:
        """Objects from ``(seq, id, data)`` row mappings, their children read in one go."""
        rows = list(rows)
        spec = self.spec
        kids: dict[str, dict[str, builtins.list[Any]]] = {}
        if spec.children and rows:
            ids = [r["id"] for r in rows]
            for child in spec.children:
                ct = child_table(spec, child)
                found = kids.setdefault(child.attribute, {})
                for chunk in id_chunks(self._conn, ids):
                    for r in self._conn.execute(
                        select(ct.c.parent_id, ct.c.data)
                        .where(one_of(self._conn, ct.c.parent_id, chunk))
                        .order_by(ct.c.parent_id, ct.c.position)
                    ):
                        found.setdefault(r.parent_id, []).append(
                            converter().structure(r.data, child.type)
                        )
        return [
            spec.decode(r["data"], {a: found.get(r["id"], []) for a, found in kids.items()})
            for r in rows
        ]

    def _select(self) -> Any:
        return select(self.table.c.seq, self.table.c.id, self.table.c.data)

    def get(self, id: str, scope: Scope = EVERYTHING) -> T | None:
        stmt = self._select().where(self.table.c.id == id)
        clause = scope_clause(self.spec, self.table, scope, self._conn)
        if clause is not None:
            stmt = stmt.where(clause)
        found = self._decode(self._conn.execute(stmt).mappings())
        return found[0] if found else None

    def get_many(self, ids: Sequence[str], scope: Scope = EVERYTHING) -> builtins.list[T]:
        out: builtins.list[T] = []
        clause = scope_clause(self.spec, self.table, scope, self._conn)
        for chunk in id_chunks(self._conn, list(dict.fromkeys(ids))):
            stmt = self._select().where(one_of(self._conn, self.table.c.id, chunk))
            if clause is not None:
                stmt = stmt.where(clause)
            out += self._decode(self._conn.execute(stmt).mappings())
        return out

    def _where(self, query: EntityQuery, scope: Scope) -> builtins.list[ColumnElement[bool]]:
        t = self.table
        dialect = self._conn.dialect.name
        out = [filter_clause(self.spec, t, f, dialect) for f in query.filters]
        if query.text:
            out.append(
                or_(
                    *[
                        filter_clause(self.spec, t, Filter(name, Op.CONTAINS, query.text), dialect)
                        for name in self.spec.text
                    ]
                )
            )
        deleted = deleted_clause(t.c.deleted_at, query.deleted) if self.spec.soft_delete else None
        if deleted is not None:
            out.append(deleted)
        clause = scope_clause(self.spec, t, scope, self._conn)
        if clause is not None:
            out.append(clause)
        return out

    def list(self, query: EntityQuery, scope: Scope, *, after: str | None, limit: int) -> Page[T]:
        t = self.table
        if query.order_by is not None:
            return self._ordered(query, query.order_by, scope, after, limit)
        split = _one_of_few(query)
        if split is None:
            stmt = self._select().where(*self._where(query, scope))
        else:
            # ``field IN (a, b, …)`` paged by seq: a planner with statistics may walk the
            # whole table in seq order rather than the (field, seq) index (the approval
            # inbox at 1M rows: 250-400 ms). One index walk per value, each stopping at
            # the page's size, and the union of their seqs, is ~1 ms whatever the data.
            parts = []
            for narrowed in _narrowed(query, *split):
                part = select(t.c.seq).where(*self._where(narrowed, scope))
                if after is not None:
                    seq = int(after)
                    part = part.where(t.c.seq < seq if self.spec.newest_first else t.c.seq > seq)
                order = t.c.seq.desc() if self.spec.newest_first else t.c.seq.asc()
                parts.append(part.order_by(order).limit(limit + 1).subquery())
            seqs = union_all(*[select(p.c.seq) for p in parts]).subquery()
            stmt = self._select().where(t.c.seq.in_(select(seqs.c.seq)))
        rows = page(self._conn, stmt, t.c.seq, after, limit, self.spec.newest_first, dict)
        return Page(tuple(self._decode(rows.items)), rows.next_after)

    def _ordered(
        self, query: EntityQuery, field: str, scope: Scope, after: str | None, limit: int
    ) -> Page[T]:
        """A keyset page by (``field`` ascending, empty last; seq)."""
        check_order(self.spec, field)
        t = self.table
        column = t.c[field]
        stmt = self._select().where(*self._where(query, scope))
        if after is not None:
            mark = self._conn.execute(select(column).where(t.c.seq == int(after))).first()
            if mark is None:  # the record gone from the store: nothing to continue from
                return Page((), None)
            value, seq = mark[0], int(after)
            if value is None:
                stmt = stmt.where(column.is_(None), t.c.seq > seq)
            else:
                stmt = stmt.where(
                    or_(
                        column > value,
                        and_(column == value, t.c.seq > seq),
                        column.is_(None),
                    )
                )
        stmt = stmt.order_by(column.asc().nulls_last(), t.c.seq.asc()).limit(limit + 1)
        fetched = self._conn.execute(stmt).mappings().all()
        more = len(fetched) > limit
        fetched = fetched[:limit]
        items = tuple(self._decode(fetched))
        return Page(items, str(fetched[-1]["seq"]) if more and fetched else None)

    def count(self, query: EntityQuery, scope: Scope, *, cap: int | None = None) -> int:
        split = _one_of_few(query)
        if split is None:
            inner = select(self.table.c.seq).where(*self._where(query, scope))
        else:  # as ``list``: one index walk per value (the values are distinct)
            parts = [
                select(self.table.c.seq).where(*self._where(narrowed, scope))
                for narrowed in _narrowed(query, *split)
            ]
            if cap is not None:  # SQLite wants a LIMIT of a compound's member in a subquery
                parts = [select(p.limit(cap).subquery().c.seq) for p in parts]
            union = union_all(*parts)
            inner = select(union.subquery().c.seq)
        if cap is not None:
            inner = inner.limit(cap)
        counted = self._conn.execute(select(func.count()).select_from(inner.subquery())).scalar()
        return int(counted or 0)

    def aggregate(
        self,
        query: EntityQuery,
        scope: Scope,
        *,
        by: Sequence[Group],
        measures: Sequence[Measure],
    ) -> builtins.list[AggregateRow]:
        check_aggregate(self.spec, by, measures)
        where = self._where(query, scope)
        return aggregate_rows(self._conn, self.spec, self.table, where, by, measures)

    def search(
        self,
        text: str,
        scope: Scope,
        *,
        limit: int,
        filters: Sequence[Filter] = (),
    ) -> builtins.list[SearchHit[T]]:
        """From the side index (``storage/sql/fulltext.py``): the match, the scope and the
        filters in one statement, ranked by bm25 (SQLite) or ts_rank (PostgreSQL)."""
        check_fulltext(self.spec)
        terms = parse_query(text)
        if not terms or limit <= 0:
            return []
        # (no deleted_at test: the side index holds live records only)
        where = self._where(EntityQuery(filters=tuple(filters), deleted=Deleted.INCLUDE), scope)
        rows = search_rows(self._conn, self.spec, self.table, terms, where, limit)
        found = self._decode(rows)
        return [SearchHit(obj, float(r["score"])) for obj, r in zip(found, rows, strict=True)]


def filter_clause(
    spec: EntitySpec[Any], table: Table, f: Filter, dialect: str
) -> ColumnElement[bool]:
    """The SQL reading of ``f`` (see :func:`crmkit.storage.spec.matches`)."""
    check_filter(spec, f)
    col = table.c[f.field]
    if f.op is Op.NULL:
        return col.is_(None) if f.value else col.is_not(None)
    if f.op is Op.IN:
        values = [column_value(v) for v in f.value]
        return col.in_(values) if values else ~true()
    value = column_value(f.value)
    if f.op is Op.CONTAINS:
        pattern = f"%{like_escape(str(value))}%"
        if dialect == "postgresql":
            return col.ilike(pattern, escape="\\")
        return func.lower(col).like(pattern.lower(), escape="\\")
    ops = {
        Op.EQ: col.__eq__,
        Op.NE: col.__ne__,
        Op.GE: col.__ge__,
        Op.GT: col.__gt__,
        Op.LE: col.__le__,
        Op.LT: col.__lt__,
    }
    clause = ops[f.op](value)
    if f.op is Op.NE:  # a stored NULL differs from any value, as in memory
        return or_(clause, col.is_(None))
    return clause


def scope_clause(
    spec: EntitySpec[Any], table: Any, scope: Scope, conn: Connection
) -> ColumnElement[bool] | None:
    """The rows of ``table`` that ``scope`` may see under ``spec``'s rule, or None for all."""
    rule = spec.scope
    if rule.kind is ScopeKind.EVERYONE:
        return None
    col = table.c[rule.field]
    m = entity_members
    if rule.kind is ScopeKind.GROUP:
        if scope.principals is None:
            return None
        assert rule.parent is not None
        groups = entity_table(rule.parent).alias()
        tokens = sorted(scope.principals)
        of_group = and_(m.c.entity_table == rule.parent.table, m.c.entity_id == groups.c.id)
        open_or_mine = or_(
            ~exists().where(of_group), exists().where(of_group, m.c.member.in_(tokens))
        )
        return or_(col.is_(None), col.in_(select(groups.c.id).where(open_or_mine)))
    if scope.owner_ids is None:
        return None
    ids = sorted(scope.owner_ids)
    if rule.kind is ScopeKind.OWNER:
        clause = col.in_(ids)
        if rule.co_owners and spec.members:
            shared = select(m.c.entity_id).where(
                m.c.entity_table == spec.table, m.c.member.in_(ids)
            )
            clause = or_(clause, table.c.id.in_(shared))
        return clause  # type: ignore[no-any-return]
    if rule.kind is ScopeKind.CUSTOMER:
        visible = customer_scope_clause(scope)
        return col.in_(select(customers.c.id).where(visible))  # type: ignore[arg-type, no-any-return]
    assert rule.parent is not None
    parent = entity_table(rule.parent)
    inner = scope_clause(rule.parent, parent, scope, conn)
    return col.in_(select(parent.c.id).where(inner if inner is not None else true()))  # type: ignore[no-any-return]


class SqlNumbers:
    """``NumberRepository``: one row per sequence, counted up in the caller's transaction."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._conn = uow.conn

    def next(self, prefix: str, year: int) -> int:
        n = doc_numbers
        for _ in range(3):
            number = self._conn.execute(
                update(n)
                .where(n.c.prefix == prefix, n.c.year == year)
                .values(last=n.c.last + 1)
                .returning(n.c.last)
            ).scalar()
            if number is not None:
                return int(number)
            try:
                with self._conn.begin_nested():
                    self._conn.execute(insert(n).values(prefix=prefix, year=year, last=1))
                return 1
            except IntegrityError:
                continue  # another transaction created the sequence first: count on it
        raise RuntimeError(f"could not allocate a {prefix}-{year} number")


# crmkit's own entities' tables, beside the hand-written ones in tables.py (integrators'
# specs get theirs on first use, created by their own migrations).
for _spec in BUILTIN_SPECS:
    entity_table(_spec)


# How many values an ``IN`` filter may hold for :meth:`SqlRepository.list` to walk the
# index once per value (more: one query, as the planner sees fit).
_FEW: Final = 32


def _one_of_few(query: EntityQuery) -> tuple[int, tuple[Any, ...]] | None:
    """The position and values of the query's one ``IN`` filter, when it has exactly one
    and that one holds 2 to :data:`_FEW` values (one value is an equality already)."""
    found = [(i, f) for i, f in enumerate(query.filters) if f.op is Op.IN]
    if len(found) != 1:
        return None
    index, f = found[0]
    values = tuple(dict.fromkeys(f.value))
    return (index, values) if 1 < len(values) <= _FEW else None


def _narrowed(query: EntityQuery, index: int, values: tuple[Any, ...]) -> list[EntityQuery]:
    """``query`` once per value of its ``IN`` filter at ``index``, as an equality."""
    out = []
    for value in values:
        filters = list(query.filters)
        filters[index] = Filter(filters[index].field, Op.EQ, value)
        out.append(attrs.evolve(query, filters=tuple(filters)))
    return out
