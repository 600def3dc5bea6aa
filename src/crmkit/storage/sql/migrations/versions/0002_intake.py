"""intake: duplicate index, co-ownership requests, merge pointers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import crmkit.storage.sql.tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into", sa.String(length=36), nullable=True))
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into", sa.String(length=36), nullable=True))

    op.create_table(
        "dedup_entries",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.String(length=36), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "entity_id", name=op.f("pk_dedup_entries")),
    )
    op.create_table(
        "dedup_keys",
        sa.Column("key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entity_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("key", "entity_id", name=op.f("pk_dedup_keys")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_dedup_keys_entity", "dedup_keys", ["entity_id"], unique=False)
    op.create_table(
        "dedup_pairs",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("left_id", sa.String(length=36), nullable=False),
        sa.Column("right_id", sa.String(length=36), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", crmkit.storage.sql.tables.JSONType(), nullable=False),
        sa.Column("vetoed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "left_id", "right_id", name=op.f("pk_dedup_pairs")),
    )
    op.create_index("ix_dedup_pairs_right", "dedup_pairs", ["kind", "right_id"], unique=False)
    op.create_table(
        "dedup_decisions",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("left_id", sa.String(length=36), nullable=False),
        sa.Column("right_id", sa.String(length=36), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=36), nullable=False),
        sa.Column("at", crmkit.storage.sql.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "left_id", "right_id", name=op.f("pk_dedup_decisions")),
    )
    op.create_index(
        "ix_dedup_decisions_right", "dedup_decisions", ["kind", "right_id"], unique=False
    )
    seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "co_ownership_requests",
        sa.Column("seq", seq, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("requester_id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=36), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", crmkit.storage.sql.tables.UTCDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column("decided_at", crmkit.storage.sql.tables.UTCDateTime(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_co_ownership_requests")),
        sa.UniqueConstraint("id", name=op.f("uq_co_ownership_requests_id")),
    )
    for name, columns in (
        ("ix_co_ownership_requests_status", ["status", "seq"]),
        ("ix_co_ownership_requests_customer", ["customer_id"]),
        ("ix_co_ownership_requests_requester", ["requester_id", "seq"]),
        ("ix_co_ownership_requests_owner", ["owner_id", "seq"]),
    ):
        op.create_index(name, "co_ownership_requests", columns, unique=False)

    op.create_table(
        "import_jobs",
        sa.Column("seq", seq, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("source_name", sa.String(length=255), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("actor_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("options", crmkit.storage.sql.tables.JSONType(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("counts", crmkit.storage.sql.tables.JSONType(), nullable=False),
        sa.Column("created_at", crmkit.storage.sql.tables.UTCDateTime(), nullable=False),
        sa.Column("finished_at", crmkit.storage.sql.tables.UTCDateTime(), nullable=True),
        sa.Column("reverted_at", crmkit.storage.sql.tables.UTCDateTime(), nullable=True),
        sa.Column("reverted_by", sa.String(length=36), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_import_jobs")),
        sa.UniqueConstraint("id", name=op.f("uq_import_jobs_id")),
    )
    op.create_index("ix_import_jobs_actor", "import_jobs", ["actor_id", "seq"], unique=False)
    op.create_index("ix_import_jobs_file", "import_jobs", ["file_sha256"], unique=False)
    op.create_table(
        "import_rows",
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("row", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("result", crmkit.storage.sql.tables.JSONType(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "row", name=op.f("pk_import_rows")),
    )


def downgrade() -> None:
    op.drop_table("import_rows")
    op.drop_table("import_jobs")
    op.drop_table("co_ownership_requests")
    op.drop_table("dedup_decisions")
    op.drop_table("dedup_pairs")
    op.drop_table("dedup_keys")
    op.drop_table("dedup_entries")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("merged_into")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("merged_into")
