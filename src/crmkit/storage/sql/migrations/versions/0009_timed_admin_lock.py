"""Credentials carry a timed lock

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 10:00:00

Ten failed logins locked any account until an admin unlocked it, so anyone could lock the
only admin out for good. The last active admin is now locked for a while instead
(``Settings.admin_lock_minutes``); when that lock ends is kept beside the failure counter.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crmkit.storage.sql.tables import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("user_credentials", sa.Column("locked_until", UTCDateTime(), nullable=True))


def downgrade() -> None:
    # Not batch mode, as in 0004 (SQLite has dropped columns in place since 3.35).
    op.execute("ALTER TABLE user_credentials DROP COLUMN locked_until")
