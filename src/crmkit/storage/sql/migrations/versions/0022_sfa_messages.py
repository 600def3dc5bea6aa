"""SFA plans, enrolments and runs; message templates, the message log and opt-outs

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 15:00:00

Kernel entities (crmkit.storage.catalog: SFA_PLANS, SFA_ENROLMENTS, SFA_RUNS,
MESSAGE_TEMPLATES, MESSAGES, OPT_OUTS). An SFA run's ``key`` is unique: the database itself
refuses to record one occurrence of a plan twice. Tasks get a ``source`` column, so that the
workbench lists the manual SFA tasks (SFA手动事务) through an index.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from crmkit.storage.sql.tables import JSONType, SeqType, UTCDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_ID = sa.String(255)
_ENUM = sa.String(40)


def _table(
    name: str,
    columns: tuple[tuple[str, Any], ...],
    *,
    soft_delete: bool,
    unique: tuple[str, ...] = (),
) -> None:
    op.create_table(
        name,
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        *([sa.Column("deleted_at", UTCDateTime)] if soft_delete else []),
        *(sa.Column(column, kind) for column, kind in columns),
        sa.Column("data", JSONType(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{name}"),
        sa.UniqueConstraint("id", name=f"uq_{name}_id"),
    )
    if soft_delete:
        op.create_index(f"ix_{name}_deleted_at", name, ["deleted_at"])
    for column, _kind in columns:
        op.create_index(f"ix_{name}_{column}_seq", name, [column, "seq"])
    live = sa.text("deleted_at IS NULL") if soft_delete else None
    for column in unique:
        op.create_index(
            f"uq_{name}_{column}_live",
            name,
            [column],
            unique=True,
            sqlite_where=live,
            postgresql_where=live,
        )


def upgrade() -> None:
    _table(
        "message_templates",
        (("code", _ID), ("name", _ID), ("channel", _ENUM), ("active", sa.Boolean())),
        soft_delete=True,
        unique=("code",),
    )
    _table(
        "messages",
        (
            ("direction", _ENUM),
            ("channel", _ENUM),
            ("source", _ENUM),
            ("recipient", _ID),
            ("at", UTCDateTime()),
            ("batch_id", _ID),
            ("outbox_key", _ID),
            ("customer_id", _ID),
        ),
        soft_delete=False,
    )
    _table(
        "opt_outs",
        (("recipient", _ID), ("channel", _ENUM)),
        soft_delete=False,
        unique=("recipient",),
    )
    _table(
        "sfa_plans",
        (("name", _ID), ("kind", _ENUM), ("enabled", sa.Boolean())),
        soft_delete=True,
    )
    _table(
        "sfa_enrolments",
        (
            ("plan_id", _ID),
            ("status", _ENUM),
            ("next_due_at", UTCDateTime()),
            ("customer_id", _ID),
        ),
        soft_delete=False,
    )
    _table(
        "sfa_runs",
        (
            ("key", _ID),
            ("enrolment_id", _ID),
            ("plan_id", _ID),
            ("outcome", _ENUM),
            ("due_at", UTCDateTime()),
            ("customer_id", _ID),
        ),
        soft_delete=False,
        unique=("key",),
    )
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("source", _ID))
    op.create_index("ix_tasks_source_seq", "tasks", ["source", "seq"])


def downgrade() -> None:
    op.drop_index("ix_tasks_source_seq", "tasks")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("source")
    for table in (
        "sfa_runs",
        "sfa_enrolments",
        "sfa_plans",
        "opt_outs",
        "messages",
        "message_templates",
    ):
        op.drop_table(table)
