"""Payments (回款), their allocations, 抹零 write-offs, and receivable balances in a column

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 13:00:00

Payments (crmkit.storage.catalog.PAYMENTS, numbered RC-2027-000001) with their allocation
lines (payment_allocations, by receivable), and write-offs (WRITE_OFFS, WO-…) are kernel
entities kept for good. A receivable's ``balance`` gets a column (with its currency) so that
aging (账龄) and customer balances are summed by the database; existing rows take it from
their stored object.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crmkit.storage.sql.tables import ExactDecimal, JSONType, SeqType, UTCDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def _entity_table(name: str, columns: list[sa.Column[object]], indexed: tuple[str, ...]) -> None:
    op.create_table(
        name,
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("number", sa.String(32)),
        *columns,
        sa.Column("data", JSONType(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{name}"),
        sa.UniqueConstraint("id", name=f"uq_{name}_id"),
        sa.UniqueConstraint("number", name=f"uq_{name}_number"),
    )
    for field in indexed:
        op.create_index(f"ix_{name}_{field}_seq", name, [field, "seq"])


def _money(field: str) -> list[sa.Column[object]]:
    return [sa.Column(field, ExactDecimal()), sa.Column(f"{field}_currency", sa.String(3))]


def upgrade() -> None:
    with op.batch_alter_table("receivables") as batch:
        batch.add_column(sa.Column("balance", ExactDecimal()))
        batch.add_column(sa.Column("balance_currency", sa.String(3)))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE receivables SET balance = (data->'balance'->>'amount')::numeric,"
            " balance_currency = data->'balance'->>'currency'"
        )
    else:
        op.execute(
            "UPDATE receivables SET balance = json_extract(data, '$.balance.amount'),"
            " balance_currency = json_extract(data, '$.balance.currency')"
        )
    op.create_index("ix_receivables_balance_seq", "receivables", ["balance", "seq"])

    _entity_table(
        "payments",
        [
            sa.Column("owner_id", sa.String(255)),
            sa.Column("received_on", sa.Date),
            sa.Column("method", sa.String(40)),
            sa.Column("category", sa.String(40)),
            sa.Column("status", sa.String(40)),
            *_money("amount"),
            *_money("unapplied"),
            sa.Column("customer_id", sa.String(255)),
        ],
        (
            "owner_id",
            "received_on",
            "method",
            "category",
            "status",
            "amount",
            "unapplied",
            "customer_id",
        ),
    )
    op.create_table(
        "payment_allocations",
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("parent_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("receivable_id", sa.String(255)),
        sa.Column("data", JSONType(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_payment_allocations"),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["payments.id"],
            name="fk_payment_allocations_parent_id_payments",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_payment_allocations_parent", "payment_allocations", ["parent_id", "position"]
    )
    op.create_index(
        "ix_payment_allocations_receivable_id", "payment_allocations", ["receivable_id"]
    )
    _entity_table(
        "write_offs",
        [
            sa.Column("receivable_id", sa.String(255)),
            sa.Column("owner_id", sa.String(255)),
            sa.Column("reverses", sa.String(255)),
            *_money("amount"),
            sa.Column("customer_id", sa.String(255)),
        ],
        ("receivable_id", "owner_id", "reverses", "amount", "customer_id"),
    )


def downgrade() -> None:
    op.drop_table("write_offs")
    op.drop_table("payment_allocations")
    op.drop_table("payments")
    op.drop_index("ix_receivables_balance_seq", "receivables")
    with op.batch_alter_table("receivables") as batch:
        batch.drop_column("balance_currency")
        batch.drop_column("balance")
