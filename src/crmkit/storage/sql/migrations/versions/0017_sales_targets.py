"""Sales targets (销售目标)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 10:00:00

Sales targets are a kernel entity (crmkit.storage.catalog.SALES_TARGETS): one per
salesperson and month, ``key`` unique among live targets.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crmkit.storage.sql.tables import JSONType, SeqType, UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_TABLE = "sales_targets"


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("deleted_at", UTCDateTime),
        sa.Column("owner_id", sa.String(255)),
        sa.Column("month", sa.Date),
        sa.Column("key", sa.String(255)),
        sa.Column("data", JSONType(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{_TABLE}"),
        sa.UniqueConstraint("id", name=f"uq_{_TABLE}_id"),
    )
    op.create_index(f"ix_{_TABLE}_deleted_at", _TABLE, ["deleted_at"])
    for name in ("owner_id", "month", "key"):
        op.create_index(f"ix_{_TABLE}_{name}_seq", _TABLE, [name, "seq"])
    op.create_index(
        f"uq_{_TABLE}_key_live",
        _TABLE,
        ["key"],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table(_TABLE)
