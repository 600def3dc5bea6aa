"""Receivables (应收款)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 12:00:00

Receivables are a kernel entity (crmkit.storage.catalog.RECEIVABLES): one per instalment of
an order's payment plan, numbered AR-2027-000001, kept for good (no recycle bin).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crmkit.storage.sql.tables import JSONType, SeqType, UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_TABLE = "receivables"
_INDEXED = ("order_id", "owner_id", "status", "due", "customer_id")


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("number", sa.String(32)),
        sa.Column("order_id", sa.String(255)),
        sa.Column("owner_id", sa.String(255)),
        sa.Column("status", sa.String(40)),
        sa.Column("due", sa.Date),
        sa.Column("customer_id", sa.String(255)),
        sa.Column("data", JSONType(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{_TABLE}"),
        sa.UniqueConstraint("id", name=f"uq_{_TABLE}_id"),
        sa.UniqueConstraint("number", name=f"uq_{_TABLE}_number"),
    )
    for name in _INDEXED:
        op.create_index(f"ix_{_TABLE}_{name}_seq", _TABLE, [name, "seq"])


def downgrade() -> None:
    op.drop_table(_TABLE)
