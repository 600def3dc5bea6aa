"""Activities (联系记录) and tasks (待办)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 14:00:00

Activities (crmkit.storage.catalog.ACTIVITIES) and tasks (TASKS) are kernel entities with
a recycle bin; a task's watchers (who assigned it) are member tokens in entity_members, and its
``created_by`` a column, so that "the tasks I assigned" is a filter.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from crmkit.storage.sql.tables import JSONType, SeqType, UTCDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_ACTIVITIES = (
    ("owner_id", sa.String(255)),
    ("kind", sa.String(40)),
    ("at", UTCDateTime()),
    ("next_follow_up", sa.Date()),
    ("followed_up", sa.Boolean()),
    ("contact_id", sa.String(255)),
    ("opportunity_id", sa.String(255)),
    ("customer_id", sa.String(255)),
)
_TASKS = (
    ("status", sa.String(40)),
    ("due_at", UTCDateTime()),
    ("remind_at", UTCDateTime()),
    ("customer_id", sa.String(255)),
    ("created_by", sa.String(255)),
    ("owner_id", sa.String(255)),
)


def _table(name: str, columns: tuple[tuple[str, Any], ...]) -> None:
    op.create_table(
        name,
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("deleted_at", UTCDateTime),
        *(sa.Column(column, kind) for column, kind in columns),
        sa.Column("data", JSONType(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{name}"),
        sa.UniqueConstraint("id", name=f"uq_{name}_id"),
    )
    op.create_index(f"ix_{name}_deleted_at", name, ["deleted_at"])
    for column, _kind in columns:
        op.create_index(f"ix_{name}_{column}_seq", name, [column, "seq"])


def upgrade() -> None:
    _table("activities", _ACTIVITIES)
    _table("tasks", _TASKS)


def downgrade() -> None:
    op.drop_table("tasks")
    op.drop_table("activities")
