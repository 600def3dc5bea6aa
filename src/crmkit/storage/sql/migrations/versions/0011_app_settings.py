"""Settings an admin changed

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 05:30:00

The policies an admin may change while the CRM runs (crmkit.domain.settings.EDITABLE) are
kept in one record of a kernel entity (crmkit.storage.catalog.APP_SETTINGS), so every
process using the store takes them up.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crmkit.storage.sql.tables import JSONType, SeqType, UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_settings",
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("data", JSONType(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_app_settings"),
        sa.UniqueConstraint("id", name="uq_app_settings_id"),
    )


def downgrade() -> None:
    op.drop_table("app_settings")
