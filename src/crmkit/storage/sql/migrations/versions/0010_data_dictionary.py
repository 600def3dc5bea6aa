"""The data dictionary (数据字典)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 05:00:00

Choice lists (来源, 行业, customer tags, lost reasons …) that forms offer and imports map
to: one kernel entity (crmkit.storage.catalog.DICTIONARY_ENTRIES), its table as
crmkit.storage.sql.entities builds it from the spec.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crmkit.storage.sql.tables import JSONType, SeqType, UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_TABLE = "dictionary_entries"


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("deleted_at", UTCDateTime),
        sa.Column("list", sa.String(255)),
        sa.Column("value", sa.String(255)),
        sa.Column("active", sa.Boolean),
        sa.Column("data", JSONType(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{_TABLE}"),
        sa.UniqueConstraint("id", name=f"uq_{_TABLE}_id"),
    )
    op.create_index(f"ix_{_TABLE}_deleted_at", _TABLE, ["deleted_at"])
    for name in ("list", "value", "active"):
        op.create_index(f"ix_{_TABLE}_{name}_seq", _TABLE, [name, "seq"])


def downgrade() -> None:
    op.drop_table(_TABLE)
