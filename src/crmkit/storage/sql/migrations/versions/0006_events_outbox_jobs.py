"""Persisted events, the notification outbox and due jobs

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 09:00:00

Events are written in the business transaction and marked when their subscribers have run,
so a process killed in between loses none. Notifications wait in the outbox under a unique
idempotency key until a dispatcher claims them; jobs wait for their due time. Each table has
partial indexes on the rows still waiting (``WHERE status = 'pending'`` ...), so claiming
reads the due rows, not the history that accumulates (see ``storage/sql/queues.py``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import crmkit.storage.sql.tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = crmkit.storage.sql.tables.JSONType
_TIME = crmkit.storage.sql.tables.UTCDateTime


def _partial(name: str, table: str, column: str, where: str) -> None:
    condition = sa.text(where)
    op.create_index(
        name, table, [column], unique=False, sqlite_where=condition, postgresql_where=condition
    )


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=128), nullable=False),
        sa.Column("payload", _JSON(), nullable=False),
        sa.Column("actor_id", sa.String(length=36), nullable=False),
        sa.Column("at", _TIME(), nullable=False),
        sa.Column("published_at", _TIME(), nullable=True),
        sa.Column("lease_until", _TIME(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
        sa.UniqueConstraint("id", name=op.f("uq_events_id")),
    )
    _partial("ix_events_unpublished", "events", "seq", "published_at IS NULL")

    op.create_table(
        "outbox",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=255), nullable=False),
        sa.Column("payload", _JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("due_at", _TIME(), nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("lease_until", _TIME(), nullable=True),
        sa.Column("sent_at", _TIME(), nullable=True),
        sa.Column("reference", sa.String(length=255), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox")),
        sa.UniqueConstraint("id", name=op.f("uq_outbox_id")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_key")),
    )
    _partial("ix_outbox_pending_due", "outbox", "due_at", "status = 'pending'")
    _partial("ix_outbox_unknown_due", "outbox", "due_at", "status = 'unknown'")
    _partial("ix_outbox_sending_lease", "outbox", "lease_until", "status = 'sending'")
    op.create_index("ix_outbox_status_seq", "outbox", ["status", "seq"], unique=False)

    op.create_table(
        "jobs",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("due_at", _TIME(), nullable=False),
        sa.Column("payload", _JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME(), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("lease_until", _TIME(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("done_at", _TIME(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_jobs")),
        sa.UniqueConstraint("id", name=op.f("uq_jobs_id")),
        sa.UniqueConstraint("key", name=op.f("uq_jobs_key")),
    )
    _partial("ix_jobs_claimable_due", "jobs", "due_at", "status IN ('pending', 'failed')")
    _partial("ix_jobs_running_lease", "jobs", "lease_until", "status = 'running'")
    op.create_index("ix_jobs_status_seq", "jobs", ["status", "seq"], unique=False)


def downgrade() -> None:
    for table in ("jobs", "outbox", "events"):
        op.drop_table(table)
