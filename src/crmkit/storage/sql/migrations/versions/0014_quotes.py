"""Quotes (报价单)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 08:00:00

Quotes are a kernel entity (crmkit.storage.catalog.QUOTES): their table as
crmkit.storage.sql.entities builds it from the spec (a unique document number per revision,
the quote number its revisions share indexed), and their lines in a child table written in
the same transaction, indexed by product for reports.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crmkit.storage.sql.tables import JSONType, SeqType, UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_TABLE = "quotes"
_LINES = "quote_lines"
_INDEXED = ("quote_number", "owner_id", "opportunity_id", "status", "valid_until", "customer_id")


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("deleted_at", UTCDateTime),
        sa.Column("number", sa.String(32)),
        sa.Column("quote_number", sa.String(255)),
        sa.Column("owner_id", sa.String(255)),
        sa.Column("opportunity_id", sa.String(255)),
        sa.Column("status", sa.String(40)),
        sa.Column("valid_until", sa.Date),
        sa.Column("customer_id", sa.String(255)),
        sa.Column("data", JSONType(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{_TABLE}"),
        sa.UniqueConstraint("id", name=f"uq_{_TABLE}_id"),
        sa.UniqueConstraint("number", name=f"uq_{_TABLE}_number"),
    )
    op.create_index(f"ix_{_TABLE}_deleted_at", _TABLE, ["deleted_at"])
    for name in _INDEXED:
        op.create_index(f"ix_{_TABLE}_{name}_seq", _TABLE, [name, "seq"])
    op.create_table(
        _LINES,
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("parent_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("product_id", sa.String(255)),
        sa.Column("data", JSONType(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{_LINES}"),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            [f"{_TABLE}.id"],
            name=f"fk_{_LINES}_parent_id_{_TABLE}",
            ondelete="CASCADE",
        ),
    )
    op.create_index(f"ix_{_LINES}_parent", _LINES, ["parent_id", "position"])
    op.create_index(f"ix_{_LINES}_product_id", _LINES, ["product_id"])


def downgrade() -> None:
    op.drop_table(_LINES)
    op.drop_table(_TABLE)
