"""Sales opportunities (销售机会)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 06:00:00

Opportunities are a kernel entity (crmkit.storage.catalog.OPPORTUNITIES): their table as
crmkit.storage.sql.entities builds it from the spec, and their stage changes (stage, when,
by whom) in a child table written in the same transaction.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crmkit.storage.sql.tables import JSONType, SeqType, UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_TABLE = "opportunities"
_CHANGES = "opportunity_stage_changes"


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("deleted_at", UTCDateTime),
        sa.Column("title", sa.String(255)),
        sa.Column("owner_id", sa.String(255)),
        sa.Column("stage", sa.String(255)),
        sa.Column("status", sa.String(40)),
        sa.Column("expected_close", sa.Date),
        sa.Column("customer_id", sa.String(255)),
        sa.Column("data", JSONType(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{_TABLE}"),
        sa.UniqueConstraint("id", name=f"uq_{_TABLE}_id"),
    )
    op.create_index(f"ix_{_TABLE}_deleted_at", _TABLE, ["deleted_at"])
    for name in ("title", "owner_id", "stage", "status", "expected_close", "customer_id"):
        op.create_index(f"ix_{_TABLE}_{name}_seq", _TABLE, [name, "seq"])
    op.create_table(
        _CHANGES,
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("parent_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("data", JSONType(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{_CHANGES}"),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            [f"{_TABLE}.id"],
            name=f"fk_{_CHANGES}_parent_id_{_TABLE}",
            ondelete="CASCADE",
        ),
    )
    op.create_index(f"ix_{_CHANGES}_parent", _CHANGES, ["parent_id", "position"])


def downgrade() -> None:
    op.drop_table(_CHANGES)
    op.drop_table(_TABLE)
