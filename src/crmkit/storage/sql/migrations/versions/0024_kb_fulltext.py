"""Knowledge base: a full-text side index for kb_articles

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 16:40:00

``KB_ARTICLES`` declares ``fulltext`` fields, so the generic repository keeps their grams
(CJK bigrams, lower-case words: ``crmkit.storage.fulltext``) in ``kb_articles_fulltext``:
an FTS5 table on SQLite (rowid = the article's seq), a tsvector with a GIN index on
PostgreSQL (see ``crmkit.storage.sql.fulltext``). Articles already stored are indexed here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

_TABLE = "kb_articles"
_SIDE = "kb_articles_fulltext"


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        from crmkit.storage.sql.fulltext import sqlite_fulltext_ddl

        for sql in sqlite_fulltext_ddl(_TABLE):
            op.execute(sql)
    else:
        op.create_table(
            _SIDE,
            sa.Column("seq", sa.BigInteger, autoincrement=False, nullable=False),
            sa.Column("grams", postgresql.TSVECTOR, nullable=False),
            sa.PrimaryKeyConstraint("seq", name=f"pk_{_SIDE}"),
            sa.ForeignKeyConstraint(
                ["seq"], [f"{_TABLE}.seq"], name=f"fk_{_SIDE}_seq_{_TABLE}", ondelete="CASCADE"
            ),
        )
        op.create_index(f"ix_{_SIDE}_grams", _SIDE, ["grams"], postgresql_using="gin")
    _index_existing(conn)


def _index_existing(conn: sa.Connection) -> None:
    """Index the live articles stored before this revision (none in a new store)."""
    if not conn.execute(sa.text(f"SELECT 1 FROM {_TABLE} LIMIT 1")).first():
        return
    from crmkit.storage.catalog import KB_ARTICLES
    from crmkit.storage.sql.entities import entity_table
    from crmkit.storage.sql.fulltext import write_index

    table = entity_table(KB_ARTICLES)
    rows = conn.execute(sa.select(table.c.data).where(table.c.deleted_at.is_(None))).all()
    articles = [KB_ARTICLES.decode(r.data) for r in rows]
    for start in range(0, len(articles), 1000):
        write_index(conn, KB_ARTICLES, table, articles[start : start + 1000], replace=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TABLE IF EXISTS {_SIDE}")
    else:
        op.drop_index(f"ix_{_SIDE}_grams", table_name=_SIDE)
        op.drop_table(_SIDE)
