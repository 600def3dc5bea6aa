"""The duplicate index records the match-record format it was built with

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 10:00:00

``dedup_formats``: for each kind (``customer``, ``contact``), the
``crmkit.domain.dedup.codec.RECORD_FORMAT`` its index was built with, so that a store
indexed by an earlier crmkit is known to need ``session.dedup.rebuild`` instead of silently
matching new records against stale keys. A store upgraded to this revision with an index
already in it has no row: its index predates the record, hence needs the rebuild.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dedup_formats",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("record_format", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dedup_formats")
