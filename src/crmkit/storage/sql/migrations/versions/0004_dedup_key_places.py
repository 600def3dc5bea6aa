"""The duplicate index keeps each record's place beside its blocking keys

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 17:40:00

A bulk lookup (an import, a rebuild) can then leave out the holders of a key that the
place veto rules out without reading their match records: at 1M customers two thirds of
an import row's candidates were the same trade name in another city. Keys indexed before
this revision have no place and are never left out; ``session.dedup.rebuild()`` fills
them in.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("dedup_keys", sa.Column("place", sa.String(12), nullable=True))


def downgrade() -> None:
    # Not batch mode: rebuilding the table would lose SQLite's WITHOUT ROWID (SQLite has
    # dropped columns in place since 3.35).
    op.execute("ALTER TABLE dedup_keys DROP COLUMN place")
