"""Individual customers keep their identity document number and type

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 09:00:00

``customers.id_number``: the whole number, up to 20 characters (crmkit masks it only when a
person sees it), set on individuals only; ``customers.id_type``: its document type
(``resident`` for a resident identity card, ``passport`` …), set with the number. The
number's index, like the phone numbers', leaves out the rows without one on SQLite, where
ANALYZE would otherwise count every empty number as one value.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("customers", sa.Column("id_number", sa.String(20), nullable=True))
    op.add_column("customers", sa.Column("id_type", sa.String(40), nullable=True))
    op.create_index(
        "ix_customers_id_number",
        "customers",
        ["id_number"],
        sqlite_where=sa.text("id_number IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_customers_id_number", "customers")
    # Not batch mode, as in 0005 (SQLite has dropped columns in place since 3.35).
    op.execute("ALTER TABLE customers DROP COLUMN id_type")
    op.execute("ALTER TABLE customers DROP COLUMN id_number")
