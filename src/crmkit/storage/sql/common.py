"""Query helpers shared by the SQL repositories."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from sqlalchemy import (
    ColumnElement,
    Connection,
    Dialect,
    String,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    column,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError

from crmkit.domain.errors import ConcurrencyError, NotFound
from crmkit.storage.ports import Page

if TYPE_CHECKING:
    from crmkit.storage.sql.store import SqlUnitOfWork

CHUNK = 500  # ids per IN (...) list


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def bulk_columns(*names: str, json: str = "") -> tuple[list[Any], list[Any]]:
    """Untyped columns for reads of many rows, which the caller decodes itself (SQLAlchemy's
    per-column result processing costs more than the query there), as SQLite and as
    PostgreSQL read them: the ``json`` column as text on PostgreSQL too, since psycopg
    would parse every row's jsonb, where the callers skip the parser for common values
    (an empty list) or decode each distinct value once."""
    plain: list[Any] = [column(n) for n in names]
    pg = [cast(column(n), Text).label(n) if n == json else column(n) for n in names]
    return plain, pg


# Ids per PostgreSQL array parameter: no bound on the statement's size, so bulk reads (a
# scan reads a million rows' worth) make few round trips.
PG_CHUNK = 10_000


def id_chunks(conn: Connection, ids: Sequence[str]) -> Iterator[Sequence[str]]:
    """``ids`` in the slices :func:`one_of` takes best on this connection's database."""
    return chunks(ids, PG_CHUNK if conn.dialect.name == "postgresql" else CHUNK)


def one_of(conn: Connection, col: Any, ids: Sequence[str]) -> ColumnElement[bool]:
    """``col IN ids``; on PostgreSQL ``col = ANY(array)``, one parameter: an IN list costs
    SQLAlchemy and psycopg work for each id, and psycopg a new statement text for each
    length (at 1M customers, a third of a scan's time)."""
    if conn.dialect.name == "postgresql":
        return col == any_(bindparam(None, list(ids), type_=ARRAY(String)))  # type: ignore[no-any-return]
    return col.in_(ids)  # type: ignore[no-any-return]


def insert_many(conn: Connection, table: Table, values: Sequence[Mapping[str, Any]]) -> None:
    """INSERT many rows (each mapping the same column names to values).

    On SQLite this is the driver's ``executemany`` of the rows' bound values: SQLAlchemy's
    per-row parameter handling (building each row's parameters, type processing through the
    compiled statement) costs as much as SQLite's own insert there, and an import writes a
    dozen rows for every customer. Values go through each column type's bind processor all
    the same. Other databases take the usual path, where SQLAlchemy batches the rows into
    multi-row statements.
    """
    if not values:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(insert(table), list(values))
        return
    names = tuple(values[0])
    sql, processors = _raw_insert(table, conn.dialect, names)
    if not any(processors):  # e.g. the duplicate index's key rows, the most numerous
        params = [tuple([v[n] for n in names]) for v in values]
    else:
        pairs = tuple(zip(names, processors, strict=True))
        params = [tuple([p(v[n]) if p else v[n] for n, p in pairs]) for v in values]
    conn.exec_driver_sql(sql, params)


@functools.lru_cache(maxsize=128)
def _raw_insert(
    table: Table, dialect: Dialect, names: tuple[str, ...]
) -> tuple[str, tuple[Callable[[Any], Any] | None, ...]]:
    quote = dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
        f"VALUES ({', '.join('?' * len(names))})"
    )
    types = [table.c[n].type for n in names]
    return sql, tuple(t.dialect_impl(dialect).bind_processor(dialect) for t in types)


def page(
    conn: Connection,
    stmt: Any,
    seq_col: Any,
    after: str | None,
    limit: int,
    descending: bool,
    convert: Callable[[Any], Any],
) -> Page[Any]:
    if after is not None:
        stmt = stmt.where(seq_col < int(after) if descending else seq_col > int(after))
    stmt = stmt.order_by(seq_col.desc() if descending else seq_col.asc()).limit(limit + 1)
    fetched = conn.execute(stmt).all()
    more = len(fetched) > limit
    fetched = fetched[:limit]
    items = tuple(convert(r._mapping) for r in fetched)
    return Page(items, str(fetched[-1].seq) if more and fetched else None)


def raise_taken(
    conn: Connection, table: Any, entity: str, ids: Sequence[str], exc: IntegrityError
) -> NoReturn:
    """After a failed INSERT: ``ConcurrencyError`` for an id that already exists (someone
    created it first, as with a stale update: expected version 0), else the error itself."""
    raise_if_taken(conn, table, entity, ids, exc)
    raise exc


def raise_if_taken(
    conn: Connection, table: Any, entity: str, ids: Sequence[str], exc: IntegrityError
) -> None:
    """``ConcurrencyError`` if one of ``ids`` already exists in ``table``; else nothing,
    for the caller to look for another cause of ``exc``."""
    for chunk in chunks(list(ids)):
        row = conn.execute(select(table.c.id, table.c.version).where(table.c.id.in_(chunk))).first()
        if row is not None:
            raise ConcurrencyError(entity, row.id, 0, row.version) from exc


def cas_update(
    uow: SqlUnitOfWork, table: Any, entity: str, values: dict[str, Any], expected: int
) -> None:
    """UPDATE … WHERE id = :id AND version = :expected, or say why not."""
    entity_id = values["id"]
    result = uow.conn.execute(
        update(table).where(table.c.id == entity_id, table.c.version == expected).values(**values)
    )
    if result.rowcount == 1:
        return
    actual = uow.conn.execute(select(table.c.version).where(table.c.id == entity_id)).scalar()
    if actual is None:
        raise NotFound(entity, entity_id)
    raise ConcurrencyError(entity, entity_id, expected, actual)
