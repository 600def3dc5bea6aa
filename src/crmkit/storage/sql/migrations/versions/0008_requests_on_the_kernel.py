"""Co-ownership requests move onto the kernel's generic entity table

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 03:05:00

The requests had a table, a row mapper and a repository of their own on each backend; they
are now an entity spec (``crmkit.storage.catalog.CO_OWNERSHIP_REQUESTS``) stored like every
kernel entity: indexed fields in columns, the whole request as JSON. Requests are few (one
per salesperson asking), so they are read, the table is rebuilt and they are written back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from crmkit.storage.sql.tables import JSONType, SeqType, UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_FIELDS = (
    "id",
    "customer_id",
    "requester_id",
    "owner_id",
    "note",
    "status",
    "created_at",
    "decided_by",
    "decided_at",
    "decision_note",
    "version",
)
_INDEXED = ("status", "customer_id", "requester_id", "owner_id")


def _instant(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return value.astimezone(UTC)  # type: ignore[no-any-return]


def _old_type(field: str) -> Any:
    if field.endswith("_at"):
        return UTCDateTime()
    return sa.Integer() if field == "version" else sa.String()


def upgrade() -> None:
    conn = op.get_bind()
    old = conn.execute(
        sa.text(f"SELECT {', '.join(_FIELDS)} FROM co_ownership_requests ORDER BY seq")
    ).mappings()
    kept = [dict(r) for r in old]
    op.drop_table("co_ownership_requests")
    op.create_table(
        "co_ownership_requests",
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        # As crmkit.storage.sql.entities types them: an enum's value, ids as text.
        *[sa.Column(name, sa.String(40 if name == "status" else 255)) for name in _INDEXED],
        sa.Column("data", JSONType(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_co_ownership_requests"),
        sa.UniqueConstraint("id", name="uq_co_ownership_requests_id"),
    )
    for name in _INDEXED:
        op.create_index(
            f"ix_co_ownership_requests_{name}_seq", "co_ownership_requests", [name, "seq"]
        )
    if not kept:
        return
    target = sa.table(
        "co_ownership_requests",
        sa.column("id", sa.String()),
        sa.column("version", sa.Integer()),
        sa.column("created_at", UTCDateTime()),
        *[sa.column(name, sa.String()) for name in _INDEXED],
        sa.column("data", JSONType()),
    )
    rows = []
    for r in kept:
        created, decided = _instant(r["created_at"]), _instant(r["decided_at"])
        data = {**r, "created_at": created.isoformat() if created else None}
        data["decided_at"] = decided.isoformat() if decided else None
        rows.append(
            {
                "id": r["id"],
                "version": r["version"],
                "created_at": created,
                **{name: r[name] for name in _INDEXED},
                "data": data,
            }
        )
    op.bulk_insert(target, rows)


def downgrade() -> None:
    """Back to 0002's own table, the requests with it."""
    conn = op.get_bind()
    data_type = JSONType()
    kept = [
        data_type.process_result_value(r.data, conn.dialect)
        for r in conn.execute(sa.text("SELECT data FROM co_ownership_requests ORDER BY seq"))
    ]
    op.drop_table("co_ownership_requests")
    op.create_table(
        "co_ownership_requests",
        sa.Column("seq", SeqType, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("requester_id", sa.String(36), nullable=False),
        sa.Column("owner_id", sa.String(36), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(36), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_co_ownership_requests"),
        sa.UniqueConstraint("id", name="uq_co_ownership_requests_id"),
    )
    for name, columns in (
        ("ix_co_ownership_requests_status", ["status", "seq"]),
        ("ix_co_ownership_requests_customer", ["customer_id"]),
        ("ix_co_ownership_requests_requester", ["requester_id", "seq"]),
        ("ix_co_ownership_requests_owner", ["owner_id", "seq"]),
    ):
        op.create_index(name, "co_ownership_requests", columns)
    if kept:
        target = sa.table(
            "co_ownership_requests",
            *[sa.column(f, _old_type(f)) for f in _FIELDS],
        )
        op.bulk_insert(
            target,
            [{f: _instant(d[f]) if f.endswith("_at") else d.get(f) for f in _FIELDS} for d in kept],
        )
