"""Service: tickets and their records, SLA policies, complaints, repairs, knowledge base

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 16:20:00

Kernel entities (crmkit.storage.catalog: TICKETS, SLA_POLICIES, COMPLAINTS, REPAIRS,
KB_ARTICLES, QA_RECORDS). A ticket's SLA due times have indexed columns, so that the tickets
breaching soon, or breached, are read as index ranges; contacts get indexes on their numbers
so that the service console finds a caller by any number in one lookup; on SQLite the
number indexes (customers' too) leave out empty numbers, which misled the planner.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from crmkit.storage.sql.tables import JSONType, SeqType, UTCDateTime

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_ID = sa.String(255)
_ENUM = sa.String(40)
_CHILDREN = {
    "ticket_records": ("tickets", ()),
    "complaint_actions": ("complaints", ()),
    "repair_parts": ("repairs", ("product_id",)),
}


def _table(
    name: str,
    columns: tuple[tuple[str, Any], ...],
    *,
    number: bool = False,
) -> None:
    op.create_table(
        name,
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("deleted_at", UTCDateTime),
        *([sa.Column("number", sa.String(32))] if number else []),
        *(sa.Column(column, kind) for column, kind in columns),
        sa.Column("data", JSONType(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{name}"),
        sa.UniqueConstraint("id", name=f"uq_{name}_id"),
        *([sa.UniqueConstraint("number", name=f"uq_{name}_number")] if number else []),
    )
    op.create_index(f"ix_{name}_deleted_at", name, ["deleted_at"])
    for column, _kind in columns:
        op.create_index(f"ix_{name}_{column}_seq", name, [column, "seq"])


def _child(name: str, parent: str, indexed: tuple[str, ...]) -> None:
    op.create_table(
        name,
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("parent_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        *(sa.Column(column, _ID) for column in indexed),
        sa.Column("data", JSONType(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{name}"),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            [f"{parent}.id"],
            name=f"fk_{name}_parent_id_{parent}",
            ondelete="CASCADE",
        ),
    )
    op.create_index(f"ix_{name}_parent", name, ["parent_id", "position"])
    for column in indexed:
        op.create_index(f"ix_{name}_{column}", name, [column])


def upgrade() -> None:
    _table(
        "tickets",
        (
            ("subject", _ID),
            ("contact_id", _ID),
            ("type", _ENUM),
            ("channel", _ENUM),
            ("priority", _ENUM),
            ("status", _ENUM),
            ("assignee_id", _ID),
            ("team", _ID),
            ("opened_at", UTCDateTime()),
            ("response_due_at", UTCDateTime()),
            ("resolution_due_at", UTCDateTime()),
            ("resolved_at", UTCDateTime()),
            ("resolution_breached", sa.Boolean()),
            ("satisfaction", sa.Integer()),
            ("customer_id", _ID),
        ),
        number=True,
    )
    _table(
        "sla_policies",
        (("name", _ID), ("type", _ENUM), ("priority", _ENUM), ("active", sa.Boolean())),
    )
    _table(
        "complaints",
        (
            ("ticket_id", _ID),
            ("owner_id", _ID),
            ("severity", _ENUM),
            ("status", _ENUM),
            ("customer_id", _ID),
        ),
        number=True,
    )
    _table(
        "repairs",
        (
            ("ticket_id", _ID),
            ("technician_id", _ID),
            ("status", _ENUM),
            ("product_id", _ID),
            ("serial_number", _ID),
            ("received_at", UTCDateTime()),
            ("customer_id", _ID),
        ),
        number=True,
    )
    _table("kb_articles", (("title", _ID), ("category", _ID), ("status", _ENUM)))
    _table(
        "qa_records",
        (
            ("ticket_id", _ID),
            ("article_id", _ID),
            ("asked_at", UTCDateTime()),
            ("answered_at", UTCDateTime()),
            ("customer_id", _ID),
        ),
    )
    for name, (parent, indexed) in _CHILDREN.items():
        _child(name, parent, indexed)
    # Numbers are looked up by value; on SQLite the indexes leave out the rows without one,
    # or ANALYZE counts all the empty numbers as one value and the planner scans instead.
    for table in ("customers", "contacts"):
        for column in ("mobile", "phone"):
            name = f"ix_{table}_{column}"
            if table == "customers":
                op.drop_index(name, table)
            op.create_index(name, table, [column], sqlite_where=sa.text(f"{column} IS NOT NULL"))


def downgrade() -> None:
    for table in ("customers", "contacts"):
        for column in ("mobile", "phone"):
            op.drop_index(f"ix_{table}_{column}", table)
            if table == "customers":
                op.create_index(f"ix_{table}_{column}", table, [column])
    for name in _CHILDREN:
        op.drop_table(name)
    for name in ("qa_records", "kb_articles", "repairs", "complaints", "sla_policies", "tickets"):
        op.drop_table(name)
