"""Users move onto the kernel's generic entity table

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 01:10:00

Users had a table, a row mapper and a repository of their own on each backend; they are now
an entity spec (``crmkit.storage.catalog.USERS``) stored like every kernel entity: indexed
fields in columns, the whole user as JSON. A login is unique among live users (as every
``unique`` field of a spec), where it was unique among all. Credentials keep their table,
which is rebuilt only because its foreign key names the users table. Users are few (the
staff of one company), so they are read, both tables are rebuilt and they are written back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from crmkit.storage.sql.tables import JSONType, SeqType, UTCDateTime

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

_FIELDS = (
    "id",
    "name",
    "login",
    "role",
    "manager_id",
    "email",
    "mobile",
    "active",
    "locked",
    "version",
    "created_at",
    "updated_at",
    "created_by",
    "deleted_at",
)
_INDEXED = ("login", "name", "role", "manager_id", "active")
_TIMES = ("created_at", "updated_at", "deleted_at")
_CREDENTIALS = ("user_id", "password_hash", "failed_count", "failed_on", "locked_until")


def _instant(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return value.astimezone(UTC)  # type: ignore[no-any-return]


def _read(sql: str) -> list[dict[str, Any]]:
    return [dict(r) for r in op.get_bind().execute(sa.text(sql)).mappings()]


def _credentials_table() -> None:
    """user_credentials as 0001 and 0009 left it (rebuilt: its foreign key names users)."""
    op.create_table(
        "user_credentials",
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=True),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("failed_on", sa.Date(), nullable=True),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_user_credentials_user_id_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name="pk_user_credentials"),
    )


def _put_credentials(kept: list[dict[str, Any]]) -> None:
    if not kept:
        return
    target = sa.table(
        "user_credentials",
        sa.column("user_id", sa.String()),
        sa.column("password_hash", sa.String()),
        sa.column("failed_count", sa.Integer()),
        sa.column("failed_on", sa.Date()),
        sa.column("locked_until", UTCDateTime()),
    )
    rows = []
    for r in kept:
        failed_on = r["failed_on"]
        if isinstance(failed_on, str):  # SQLite hands dates back as text
            failed_on = datetime.fromisoformat(failed_on).date()
        rows.append({**r, "failed_on": failed_on, "locked_until": _instant(r["locked_until"])})
    op.bulk_insert(target, rows)


def upgrade() -> None:
    users = _read(f"SELECT {', '.join(_FIELDS)} FROM users ORDER BY seq")
    credentials = _read(f"SELECT {', '.join(_CREDENTIALS)} FROM user_credentials")
    op.drop_table("user_credentials")
    op.drop_table("users")
    op.create_table(
        "users",
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("deleted_at", UTCDateTime),
        # As crmkit.storage.sql.entities types them: text, an enum's value, a flag.
        sa.Column("login", sa.String(255)),
        sa.Column("name", sa.String(255)),
        sa.Column("role", sa.String(40)),
        sa.Column("manager_id", sa.String(255)),
        sa.Column("active", sa.Boolean),
        sa.Column("data", JSONType(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_users"),
        sa.UniqueConstraint("id", name="uq_users_id"),
    )
    op.create_index("ix_users_deleted_at", "users", ["deleted_at"])
    for name in _INDEXED:
        op.create_index(f"ix_users_{name}_seq", "users", [name, "seq"])
    live = sa.text("deleted_at IS NULL")
    op.create_index(
        "uq_users_login_live",
        "users",
        ["login"],
        unique=True,
        sqlite_where=live,
        postgresql_where=live,
    )
    _credentials_table()
    if users:
        target = sa.table(
            "users",
            sa.column("id", sa.String()),
            sa.column("version", sa.Integer()),
            sa.column("created_at", UTCDateTime()),
            sa.column("deleted_at", UTCDateTime()),
            *[
                sa.column(name, sa.Boolean() if name == "active" else sa.String())
                for name in _INDEXED
            ],
            sa.column("data", JSONType()),
        )
        rows = []
        for r in users:
            times = {name: _instant(r[name]) for name in _TIMES}
            data = {
                **r,
                "active": bool(r["active"]),
                "locked": bool(r["locked"]),
                **{name: t.isoformat() if t else None for name, t in times.items()},
            }
            rows.append(
                {
                    "id": r["id"],
                    "version": r["version"],
                    "created_at": times["created_at"],
                    "deleted_at": times["deleted_at"],
                    **{name: data[name] for name in _INDEXED},
                    "data": data,
                }
            )
        op.bulk_insert(target, rows)
    _put_credentials(credentials)


def downgrade() -> None:
    """Back to the users table of 0001, the users and their credentials with it."""
    conn = op.get_bind()
    data_type = JSONType()
    users = [
        data_type.process_result_value(r.data, conn.dialect)
        for r in conn.execute(sa.text("SELECT data FROM users ORDER BY seq"))
    ]
    credentials = _read(f"SELECT {', '.join(_CREDENTIALS)} FROM user_credentials")
    op.drop_table("user_credentials")
    op.drop_table("users")
    op.create_table(
        "users",
        sa.Column("seq", SeqType, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column(
            "login",
            sa.String(40).with_variant(sa.String(40, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("manager_id", sa.String(36), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("mobile", sa.String(20), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(36), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_users"),
        sa.UniqueConstraint("id", name="uq_users_id"),
        sa.UniqueConstraint("login", name="uq_users_login"),
    )
    op.create_index("ix_users_manager_id", "users", ["manager_id"])
    _credentials_table()
    if users:
        target = sa.table(
            "users",
            *[
                sa.column(
                    f,
                    UTCDateTime()
                    if f in _TIMES
                    else sa.Boolean()
                    if f in ("active", "locked")
                    else sa.Integer()
                    if f == "version"
                    else sa.String(),
                )
                for f in _FIELDS
            ],
        )
        op.bulk_insert(
            target,
            [{f: _instant(d[f]) if f in _TIMES else d.get(f) for f in _FIELDS} for d in users],
        )
    _put_credentials(credentials)
