"""The kernel's shared tables and the product catalogue

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 02:30:00

Entities declared by a spec (crmkit.storage.spec) keep their indexed fields in columns and
the whole object as JSON (``data``); member tokens (co-owners, group members) share
``entity_members``; document numbers count in ``doc_numbers``. Products, their categories
and visibility groups are the first entities on the kernel.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crmkit.storage.sql.tables import JSONType, SeqType, UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _entity(table: str, *columns: sa.Column[object]) -> None:
    """An entity table as crmkit.storage.sql.entities builds it from a soft-deleted spec."""
    op.create_table(
        table,
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("deleted_at", UTCDateTime),
        *columns,
        sa.Column("data", JSONType(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{table}"),
        sa.UniqueConstraint("id", name=f"uq_{table}_id"),
    )
    op.create_index(f"ix_{table}_deleted_at", table, ["deleted_at"])


def _indexed(table: str, *names: str) -> None:
    for name in names:
        op.create_index(f"ix_{table}_{name}_seq", table, [name, "seq"])


def upgrade() -> None:
    op.create_table(
        "entity_members",
        sa.Column("entity_table", sa.String(63), nullable=False),
        sa.Column("entity_id", sa.String(36), nullable=False),
        sa.Column("member", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("entity_table", "entity_id", "member", name="pk_entity_members"),
    )
    op.create_index(
        "ix_entity_members_member", "entity_members", ["entity_table", "member", "entity_id"]
    )
    op.create_table(
        "doc_numbers",
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("year", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("last", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("prefix", "year", name="pk_doc_numbers"),
    )
    _entity(
        "product_categories",
        sa.Column("name", sa.String(255)),
        sa.Column("parent_id", sa.String(255)),
    )
    _indexed("product_categories", "name", "parent_id")
    _entity("product_groups", sa.Column("name", sa.String(255)))
    _indexed("product_groups", "name")
    _entity(
        "products",
        sa.Column("name", sa.String(255)),
        sa.Column("code", sa.String(255)),
        sa.Column("specification", sa.String(255)),
        sa.Column("category_id", sa.String(255)),
        sa.Column("active", sa.Boolean),
        sa.Column("group_id", sa.String(255)),
    )
    _indexed("products", "name", "code", "specification", "category_id", "active", "group_id")
    live = sa.text("deleted_at IS NULL")
    op.create_index(
        "uq_products_code_live",
        "products",
        ["code"],
        unique=True,
        sqlite_where=live,
        postgresql_where=live,
    )


def downgrade() -> None:
    for table in ("products", "product_groups", "product_categories"):
        op.drop_table(table)
    op.drop_table("doc_numbers")
    op.drop_table("entity_members")
