"""Customer text search in SQL, answered from an index on both dialects.

What matches is defined once, for every backend, in :mod:`crmkit.storage.textsearch`; this
module turns it into SQL.

**The indexed document.** Each customer row carries ``search_text``: its name, its live
contacts' names and the digits of every phone number of both (E.164 digits, ``86138…``,
which end with the national number, so ``138…`` matches too), NFKC-normalised, case-folded
and joined with U+0001 (a character no query contains, so no match spans two terms).
``add``/``add_many``/``update`` write it with the customer; contact writes and purges mark
their customer *dirty* and the unit of work rewrites those documents (in one executemany)
before the next customer list or count in the same unit of work and at commit.

**SQLite.** An FTS5 external-content table ``customer_fts`` (``tokenize='trigram'``,
``content='customers'``, ``content_rowid='seq'``) indexes ``search_text``. The store's
``add_many`` indexes a batch of new customers in one ``INSERT … SELECT`` (a trigger's
statement per row cost twice as much); triggers on ``customers`` keep it in step on a change
of ``search_text`` and on delete, so purging a customer removes its entry in the same
statement. A query becomes an FTS5 phrase,
``seq IN (SELECT rowid FROM customer_fts WHERE customer_fts MATCH '"q"')``.

**PostgreSQL.** A GIN index with ``gin_trgm_ops`` (extension ``pg_trgm``) on
``search_text``, queried with ``search_text LIKE '%q%'`` (the document and the query are
both case-folded already, so ``LIKE`` is ``ILIKE`` here and avoids ILIKE's per-row
lowering).

**Short queries.** A trigram index cannot answer a query of one or two characters (it has
no trigram to look up), and scanning every row for "张" would be slow on a large table.
Such a query therefore matches only the *start* of the customer's name or of a live
contact's name, as a B-tree range on ``name_key``
(``name_key >= q AND name_key < q || U+10FFFF``). "青岛" finds 青岛金智…, "张" finds
customers with a contact named 张…, but "智电" (the middle of a name) or "80" (part of a
phone number) find nothing. That is a deliberate limit, not an accident: it is the same in
the in-memory store.

**Deleted customers** are excluded by the query's ``deleted`` filter like any other row,
so the bin stays searchable with ``Deleted.ONLY`` and out of ordinary results.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, column, or_, select, text

from crmkit.storage.sql.tables import SQLITE_FTS_TABLE, customers, metadata
from crmkit.storage.textsearch import SHORT_QUERY, prepare_query

TOP = "\U0010ffff"  # sorts after every other character: the upper bound of a prefix range


def prefix(col: Any, value: str) -> ColumnElement[bool]:
    """``col`` starts with ``value``, as an index-friendly range (see ``tables.PrefixKey``)."""
    return and_(col >= value, col < value + TOP)


def like_escape(value: str) -> str:
    """``value`` with LIKE's wildcards escaped (use with ``escape="\\\\"``)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def fts_phrase(query: str) -> str:
    """An FTS5 phrase matching ``query`` literally (quotes doubled, no operators)."""
    return '"' + query.replace('"', '""') + '"'


def customer_text_clause(dialect: str, raw: str) -> ColumnElement[bool] | None:
    """The WHERE clause for ``CustomerQuery.text``; None if the query is blank."""
    q = prepare_query(raw)
    if not q:
        return None
    if len(q) < SHORT_QUERY:
        contacts = metadata.tables["contacts"]  # the kernel's (entities.py imports this)
        by_contact = select(contacts.c.customer_id).where(
            prefix(contacts.c.name_key, q), contacts.c.deleted_at.is_(None)
        )
        return or_(prefix(customers.c.name_key, q), customers.c.id.in_(by_contact))
    if dialect == "sqlite":
        hits = text(f"SELECT rowid FROM {SQLITE_FTS_TABLE} WHERE {SQLITE_FTS_TABLE} MATCH :fts_q")
        return customers.c.seq.in_(
            hits.bindparams(fts_q=fts_phrase(q)).columns(column("rowid", Integer))
        )
    return customers.c.search_text.like(f"%{like_escape(q)}%", escape="\\")
