"""Sales leads (线索)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 07:00:00

Leads are a kernel entity (crmkit.storage.catalog.LEADS): their table as
crmkit.storage.sql.entities builds it from the spec, with the numbers' E.164 forms indexed
for the duplicate look-up.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crmkit.storage.sql.tables import JSONType, SeqType, UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_TABLE = "leads"
_INDEXED = ("name", "owner_id", "status", "source", "mobile_e164", "phone_e164")


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("deleted_at", UTCDateTime),
        sa.Column("name", sa.String(255)),
        sa.Column("owner_id", sa.String(255)),
        sa.Column("status", sa.String(40)),
        sa.Column("source", sa.String(255)),
        sa.Column("mobile_e164", sa.String(255)),
        sa.Column("phone_e164", sa.String(255)),
        sa.Column("data", JSONType(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{_TABLE}"),
        sa.UniqueConstraint("id", name=f"uq_{_TABLE}_id"),
    )
    op.create_index(f"ix_{_TABLE}_deleted_at", _TABLE, ["deleted_at"])
    for name in _INDEXED:
        op.create_index(f"ix_{_TABLE}_{name}_seq", _TABLE, [name, "seq"])


def downgrade() -> None:
    op.drop_table(_TABLE)
