"""SQLite: new customers enter the text index in one statement per batch, not by trigger

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 15:00:00

A row-level trigger added each new customer to the FTS5 index with a statement of its own,
which cost SQLite twice the work of indexing the batch in one ``INSERT … SELECT`` (the
store's ``add_many`` now does that). The triggers for updates and deletes stay: those
change one customer at a time. PostgreSQL's trigram index needs no trigger.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INSERT_TRIGGER = (
    "CREATE TRIGGER customers_fts_insert AFTER INSERT ON customers BEGIN "
    "INSERT INTO customer_fts(rowid, search_text) VALUES (new.seq, new.search_text); END"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS customers_fts_insert")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(INSERT_TRIGGER)
