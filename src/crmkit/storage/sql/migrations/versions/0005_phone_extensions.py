"""Customers' and contacts' phones keep their extension

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 08:50:00

A switchboard number with an extension (0532-88886666转8001) failed its row, and one
written ``ext. 8001`` lost the extension. The E.164 column stays the number's identity
(duplicate checks and lookups compare it alone); the extension sits beside it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TABLES = ("customers", "contacts")


def upgrade() -> None:
    for table in _TABLES:
        op.add_column(table, sa.Column("phone_ext", sa.String(8), nullable=True))


def downgrade() -> None:
    # Not batch mode, as in 0004 (SQLite has dropped columns in place since 3.35).
    for table in _TABLES:
        op.execute(f"ALTER TABLE {table} DROP COLUMN phone_ext")
