"""Sales orders (销售订单)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 09:00:00

Orders are a kernel entity (crmkit.storage.catalog.ORDERS): their table as
crmkit.storage.sql.entities builds it from the spec (a unique number per revision, the
order number its revisions share indexed, the approval and fulfilment states indexed for
lists and the inbox), their lines and their delivery plan in child tables written in the
same transaction.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crmkit.storage.sql.tables import JSONType, SeqType, UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_TABLE = "orders"
_INDEXED = (
    "order_number",
    "owner_id",
    "opportunity_id",
    "quote_id",
    "status",
    "approval",
    "signed_on",
    "customer_id",
)
_CHILDREN = ("order_lines", "order_deliveries")


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("deleted_at", UTCDateTime),
        sa.Column("number", sa.String(32)),
        sa.Column("order_number", sa.String(255)),
        sa.Column("owner_id", sa.String(255)),
        sa.Column("opportunity_id", sa.String(255)),
        sa.Column("quote_id", sa.String(255)),
        sa.Column("status", sa.String(40)),
        sa.Column("approval", sa.String(40)),
        sa.Column("signed_on", sa.Date),
        sa.Column("customer_id", sa.String(255)),
        sa.Column("data", JSONType(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{_TABLE}"),
        sa.UniqueConstraint("id", name=f"uq_{_TABLE}_id"),
        sa.UniqueConstraint("number", name=f"uq_{_TABLE}_number"),
    )
    op.create_index(f"ix_{_TABLE}_deleted_at", _TABLE, ["deleted_at"])
    for name in _INDEXED:
        op.create_index(f"ix_{_TABLE}_{name}_seq", _TABLE, [name, "seq"])
    for child in _CHILDREN:
        columns = [sa.Column("product_id", sa.String(255))] if child == "order_lines" else []
        op.create_table(
            child,
            sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
            sa.Column("parent_id", sa.String(36), nullable=False),
            sa.Column("position", sa.Integer, nullable=False),
            *columns,
            sa.Column("data", JSONType(), nullable=False),
            sa.PrimaryKeyConstraint("seq", name=f"pk_{child}"),
            sa.ForeignKeyConstraint(
                ["parent_id"],
                [f"{_TABLE}.id"],
                name=f"fk_{child}_parent_id_{_TABLE}",
                ondelete="CASCADE",
            ),
        )
        op.create_index(f"ix_{child}_parent", child, ["parent_id", "position"])
    op.create_index("ix_order_lines_product_id", "order_lines", ["product_id"])


def downgrade() -> None:
    for child in _CHILDREN:
        op.drop_table(child)
    op.drop_table(_TABLE)
