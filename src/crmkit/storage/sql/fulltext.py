"""Full-text side indexes in SQL: the grams of :mod:`crmkit.storage.fulltext`, indexed.

Every spec with ``fulltext`` fields gets a side table ``<table>_fulltext`` keyed by the
entity row's ``seq``, holding the record's grams (already cut by crmkit, so both databases
index exactly the tokens the reference reading sees). The generic repository writes it with
the record (add, update, soft delete and restore, purge); a record in the recycle bin has no
row, so it is never found.

**SQLite.** An FTS5 table ``<table>_fulltext(grams)`` whose rowid is the entity's ``seq``;
``grams`` is the space-joined grams. Its tokenizer is FTS5's ``ascii``: it splits on ASCII
white space and punctuation and keeps every non-ASCII character in the token, so each gram
is exactly one token. (``unicode61`` would split too, but on its Unicode 6.1 tables: a letter
Python knows and it does not would cut a gram in two, and the index would disagree with the
reference.) A term is an FTS5 phrase, ``"门锁 锁复"``, with ``*`` when its last gram matches
by prefix; terms are joined with AND; results rank by ``bm25``.

**PostgreSQL.** A table ``<table>_fulltext(seq, grams tsvector)`` with a GIN index. The
tsvector is written as a literal (``'门锁':1 '锁复':2``) rather than through
``to_tsvector('simple', …)``: the lexemes are the grams as they are (what the 'simple'
configuration would keep: no stemming, no stop words), with positions crmkit chose, and no
text parser whose idea of a word depends on the server's locale. A term is a phrase of
lexemes joined by ``<->`` (the last one ``:*`` for a prefix), terms joined by ``&``; results
rank by ``ts_rank``.

:func:`create_fulltext_table` creates the side table of an application's spec (crmkit's own
come from migrations, which call :func:`sqlite_fulltext_ddl` / build the same table).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    bindparam,
    cast,
    column,
    delete,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy import table as table_clause
from sqlalchemy.dialects.postgresql import TSQUERY, TSVECTOR

from crmkit.storage.fulltext import Term, document, grams, windows
from crmkit.storage.spec import EntitySpec
from crmkit.storage.sql.common import id_chunks, insert_many, one_of

SUFFIX: Final = "_fulltext"
# The shadow tables FTS5 keeps beside ``<name>`` (SQLite only).
FTS5_SHADOWS: Final = ("_data", "_idx", "_content", "_docsize", "_config")


def fulltext_name(spec: EntitySpec[Any]) -> str:
    return f"{spec.table}{SUFFIX}"


def is_sqlite_fulltext_table(name: str) -> bool:
    """Whether ``name`` is an FTS5 side table or one of its shadows (left out of schema
    comparisons on SQLite: Alembic cannot describe virtual tables)."""
    if name.endswith(SUFFIX):
        return True
    return any(name.endswith(SUFFIX + shadow) for shadow in FTS5_SHADOWS)


def sqlite_fulltext_ddl(table: str) -> list[str]:
    """The statements creating the SQLite side table of the entity table ``table``."""
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {table}{SUFFIX} USING fts5("
        "grams, tokenize = 'ascii', detail = full)"
    ]


def fulltext_table(spec: EntitySpec[Any], meta: MetaData, entity: Table) -> Table:
    """The PostgreSQL side table of ``spec`` in ``meta`` (built once)."""
    name = fulltext_name(spec)
    found = meta.tables.get(name)
    if found is not None:
        return found
    table = Table(
        name,
        meta,
        Column(
            "seq",
            BigInteger,
            ForeignKey(entity.c.seq, ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        Column("grams", TSVECTOR, nullable=False),
    )
    Index(f"ix_{name}_grams", table.c.grams, postgresql_using="gin")
    return table


def create_fulltext_table(conn: Connection, spec: EntitySpec[Any], entity: Table) -> None:
    """Create ``spec``'s side table where no migration does (an application's entity)."""
    if conn.dialect.name == "sqlite":
        for sql in sqlite_fulltext_ddl(spec.table):
            conn.exec_driver_sql(sql)
        return
    fulltext_table(spec, entity.metadata, entity).create(conn, checkfirst=True)


# -- writing ------------------------------------------------------------------------------
def tsvector_literal(found: Sequence[str]) -> str:
    """A tsvector literal of grams at positions 1, 2, … (grams hold only letters and digits,
    so they need no escaping)."""
    positions: dict[str, list[str]] = {}
    for i, gram in enumerate(found, start=1):
        positions.setdefault(gram, []).append(str(i))
    return " ".join(f"'{g}':{','.join(p)}" for g, p in positions.items())


def write_index(
    conn: Connection,
    spec: EntitySpec[Any],
    entity: Table,
    objs: Sequence[Any],
    *,
    replace: bool,
) -> None:
    """(Re)index ``objs`` (stored already): their old entries go, the live ones come back."""
    if not objs:
        return
    seqs: dict[str, int] = {}
    for chunk in id_chunks(conn, [o.id for o in objs]):
        for row in conn.execute(
            select(entity.c.id, entity.c.seq).where(one_of(conn, entity.c.id, chunk))
        ):
            seqs[row.id] = row.seq
    if replace:
        drop_index(conn, spec, entity, list(seqs.values()))
    live = [o for o in objs if not (spec.soft_delete and o.deleted_at is not None)]
    rows = [(seqs[o.id], grams(document(o, spec.fulltext))) for o in live if o.id in seqs]
    name = fulltext_name(spec)
    if conn.dialect.name == "sqlite":
        if rows:
            conn.exec_driver_sql(
                f"INSERT INTO {name}(rowid, grams) VALUES (?, ?)",
                [(seq, " ".join(found)) for seq, found in rows],
            )
        return
    table = fulltext_table(spec, entity.metadata, entity)
    insert_many(conn, table, [{"seq": seq, "grams": tsvector_literal(g)} for seq, g in rows])


def drop_index(conn: Connection, spec: EntitySpec[Any], entity: Table, seqs: Sequence[int]) -> None:
    """Remove the entries of the rows ``seqs``."""
    if not seqs:
        return
    name = fulltext_name(spec)
    if conn.dialect.name == "sqlite":
        for start in range(0, len(seqs), 500):
            part = seqs[start : start + 500]
            marks = ",".join("?" * len(part))
            conn.exec_driver_sql(f"DELETE FROM {name} WHERE rowid IN ({marks})", tuple(part))
        return
    table = fulltext_table(spec, entity.metadata, entity)
    conn.execute(delete(table).where(table.c.seq.in_(list(seqs))))


def drop_index_of_ids(
    conn: Connection, spec: EntitySpec[Any], entity: Table, ids: Sequence[str]
) -> None:
    """Remove the entries of the records ``ids`` (before they are purged)."""
    if conn.dialect.name != "sqlite":
        return  # the foreign key cascades
    seqs: list[int] = []
    for chunk in id_chunks(conn, list(ids)):
        seqs += conn.execute(select(entity.c.seq).where(one_of(conn, entity.c.id, chunk))).scalars()
    drop_index(conn, spec, entity, seqs)


# -- reading ------------------------------------------------------------------------------
def fts5_query(terms: Sequence[Term]) -> str:
    """SQLite: each term a phrase (``*``: its last gram by prefix), all of them required."""
    return " AND ".join('"' + " ".join(t.grams) + '"' + (" *" if t.prefix else "") for t in terms)


def tsquery_literal(terms: Sequence[Term]) -> str:
    """PostgreSQL: each term lexemes joined by ``<->`` (the last ``:*`` for a prefix), all
    of them required."""
    parts = []
    for t in terms:
        lexemes = [f"'{g}'" for g in t.grams]
        if t.prefix:
            lexemes[-1] += ":*"
        parts.append("(" + " <-> ".join(lexemes) + ")")
    return " & ".join(parts)


def search_rows(
    conn: Connection,
    spec: EntitySpec[Any],
    entity: Table,
    terms: Sequence[Term],
    where: Sequence[ColumnElement[bool]],
    limit: int,
) -> list[Any]:
    """The ``(seq, id, data, score)`` rows of the best matches passing ``where``, ranked
    within the newest :data:`~crmkit.storage.fulltext.RANK_WINDOW` matches, a window that
    widens while it holds too few that pass (see :func:`crmkit.storage.fulltext.windows`)."""
    for window in windows():
        stmt = search_statement(conn, spec, entity, terms, where, limit, window)
        rows = list(conn.execute(stmt).mappings())
        if len(rows) >= limit:
            return rows
        counted = select(func.count()).select_from(
            _window(conn, spec, entity, terms, window, ranked=False).subquery()
        )
        if (conn.execute(counted).scalar() or 0) < window:  # the window held every match
            return rows
    raise AssertionError("unreachable: windows grow without end")


def _window(
    conn: Connection,
    spec: EntitySpec[Any],
    entity: Table,
    terms: Sequence[Term],
    window: int,
    *,
    ranked: bool = True,
) -> Any:
    """The newest ``window`` matches (``seq`` and, when ``ranked``, their ``rank``, lower
    is better): one walk down the index in seq order, relevance computed for those only."""
    name = fulltext_name(spec)
    if conn.dialect.name == "sqlite":
        fts = table_clause(name, column("rowid", Integer))
        columns: list[Any] = [fts.c.rowid.label("seq")]
        if ranked:
            columns.append(func.bm25(literal_column(name)).label("rank"))
        return (
            select(*columns)
            .where(text(f"{name} MATCH :fulltext_q").bindparams(fulltext_q=fts5_query(terms)))
            .order_by(fts.c.rowid.desc())
            .limit(window)
        )
    side = fulltext_table(spec, entity.metadata, entity)
    query = cast(bindparam("fulltext_q", tsquery_literal(terms)), TSQUERY)
    columns = [side.c.seq]
    if ranked:
        columns.append((-func.ts_rank(side.c.grams, query)).label("rank"))
    return (
        select(*columns)
        .where(side.c.grams.bool_op("@@")(query))
        .order_by(side.c.seq.desc())
        .limit(window)
    )


def search_statement(
    conn: Connection,
    spec: EntitySpec[Any],
    entity: Table,
    terms: Sequence[Term],
    where: Sequence[ColumnElement[bool]],
    limit: int,
    window: int,
) -> Any:
    """``SELECT seq, id, data, score`` of the rows passing ``where`` among the newest
    ``window`` matches, best first."""
    found = _window(conn, spec, entity, terms, window).subquery("found")
    # The filters and the order on narrow rows first; the stored objects of the page only
    # (sorting 500 rows with their JSON cost SQLite 3 ms of a 4 ms search).
    ranked = (
        select(entity.c.seq, found.c.rank)
        .select_from(found.join(entity, entity.c.seq == found.c.seq))
        .where(*where)
        .order_by(found.c.rank, entity.c.seq.desc())
        .limit(limit)
        .subquery("ranked")
    )
    row = entity.alias("hit")
    return (
        select(row.c.seq, row.c.id, row.c.data, (-ranked.c.rank).label("score"))
        .select_from(ranked.join(row, row.c.seq == ranked.c.seq))
        .order_by(ranked.c.rank, row.c.seq.desc())
    )
