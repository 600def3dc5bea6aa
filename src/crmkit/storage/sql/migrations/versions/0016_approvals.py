"""Approvals (审批单)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 09:30:00

Approvals are a kernel entity (crmkit.storage.catalog.APPROVALS), one per submitted
document revision, kept for good (no recycle bin). ``decider`` holds who may decide the
pending step (``role:finance``, ``user:<manager id>``), so an approval inbox is one index
range per token, in submission order.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crmkit.storage.sql.tables import JSONType, SeqType, UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_TABLE = "approvals"
_INDEXED = ("document_id", "document_type", "status", "decider", "submitter_id")


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("document_id", sa.String(255)),
        sa.Column("document_type", sa.String(255)),
        sa.Column("status", sa.String(40)),
        sa.Column("decider", sa.String(255)),
        sa.Column("submitter_id", sa.String(255)),
        sa.Column("data", JSONType(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{_TABLE}"),
        sa.UniqueConstraint("id", name=f"uq_{_TABLE}_id"),
    )
    for name in _INDEXED:
        op.create_index(f"ix_{_TABLE}_{name}_seq", _TABLE, [name, "seq"])


def downgrade() -> None:
    op.drop_table(_TABLE)
