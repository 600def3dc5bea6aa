"""Contacts move onto the kernel's generic entity table

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 01:40:00

Contacts had a table, a row mapper and a repository of their own on each backend; they are
now an entity spec (``crmkit.storage.catalog.CONTACTS``) stored like every kernel entity:
the indexed fields (customer, name, surname letter, numbers) in columns, the whole contact
as JSON, and ``name_key`` (the name as searches compare it), which customer search reads by
prefix. The foreign key to customers goes (kernel tables have none; purging a customer
deletes its contacts in the same transaction, as before).

A store may hold millions of contacts, so they are converted a batch at a time in key
order into a scratch table, and copied into the new table by the database itself, which
keeps their order.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from crmkit.storage.sql.tables import JSONType, SeqType, UTCDateTime

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

_BATCH = 5000
_INDEXED = ("customer_id", "name", "surname_letter", "mobile", "phone")
# Every column of the contacts table 0027 left, in the order of the Contact class.
_OLD = (
    "id",
    "customer_id",
    "name",
    "gender",
    "title",
    "mobile",
    "phone",
    "phone_ext",
    "email",
    "birthday",
    "is_primary",
    "remarks",
    "surname",
    "surname_letter",
    "initials",
    "version",
    "created_at",
    "updated_at",
    "created_by",
    "deleted_at",
    "deleted_with",
    "merged_into",
)
_TIMES = ("created_at", "updated_at", "deleted_at")


def _prefix_key(length: int) -> sa.String:
    """As ``crmkit.storage.sql.tables.PrefixKey``: code-point order on PostgreSQL too."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _instant(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return value.astimezone(UTC)  # type: ignore[no-any-return]


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def _batches(table: str, columns: str, *, by: str = "seq") -> Iterator[list[dict[str, Any]]]:
    """The rows of ``table`` a batch at a time, in ``by`` order (keyset: no OFFSET)."""
    conn = op.get_bind()
    select = f"SELECT {by} AS _key, {columns} FROM {table}"
    first = sa.text(f"{select} ORDER BY {by} LIMIT {_BATCH}")
    then = sa.text(f"{select} WHERE {by} > :last ORDER BY {by} LIMIT {_BATCH}")
    found = conn.execute(first)
    while True:
        rows = [dict(r) for r in found.mappings()]
        if not rows:
            return
        yield rows
        found = conn.execute(then, {"last": rows[-1]["_key"]})


def _scratch() -> sa.Table:
    """The converted contacts, keyed by their old seq, before they move into place."""
    return op.create_table(
        "contacts_scratch",
        sa.Column("old_seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("deleted_at", UTCDateTime),
        *[sa.Column(name, sa.String(255)) for name in _INDEXED],
        sa.Column("name_key", sa.String(255)),
        sa.Column("data", JSONType(), nullable=False),
    )


def _stored_phone(e164: str | None, extension: str | None) -> str | None:
    """``Phone.stored``: RFC 3966's ``;ext=`` after the number."""
    if e164 is None:
        return None
    return e164 if not extension else f"{e164};ext={extension}"


def _converted(r: dict[str, Any]) -> dict[str, Any]:
    times = {name: _instant(r[name]) for name in _TIMES}
    birthday = _day(r["birthday"])
    data = {name: r[name] for name in _OLD if name != "phone_ext"}
    data.update(
        {name: t.isoformat() if t else None for name, t in times.items()},
        phone=_stored_phone(r["phone"], r["phone_ext"]),
        birthday=birthday.isoformat() if birthday else None,
        is_primary=bool(r["is_primary"]),
    )
    return {
        "old_seq": r["_key"],
        "id": r["id"],
        "version": r["version"],
        "created_at": times["created_at"],
        "deleted_at": times["deleted_at"],
        **{name: r[name] for name in _INDEXED},  # numbers: the E.164 alone, as before
        "name_key": r["name_key"],
        "data": data,
    }


def upgrade() -> None:
    scratch = _scratch()
    for rows in _batches("contacts", ", ".join((*_OLD, "name_key"))):
        op.bulk_insert(scratch, [_converted(r) for r in rows])
    op.drop_table("contacts")
    op.create_table(
        "contacts",
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("deleted_at", UTCDateTime),
        *[sa.Column(name, sa.String(255)) for name in _INDEXED],
        sa.Column("name_key", _prefix_key(255)),
        sa.Column("data", JSONType(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_contacts"),
        sa.UniqueConstraint("id", name="uq_contacts_id"),
    )
    moved = ", ".join(("id", "version", "created_at", "deleted_at", *_INDEXED, "name_key", "data"))
    # One statement, in the old order: the new seqs keep the contacts' keyset order.
    op.execute(
        f"INSERT INTO contacts ({moved}) SELECT {moved} FROM contacts_scratch ORDER BY old_seq"
    )
    op.drop_table("contacts_scratch")
    op.create_index("ix_contacts_deleted_at", "contacts", ["deleted_at"])
    for name in _INDEXED:
        op.create_index(f"ix_contacts_{name}_seq", "contacts", [name, "seq"])
    op.create_index("ix_contacts_name_key", "contacts", ["name_key"])


def downgrade() -> None:
    """Back to the contacts table 0027 left (its foreign key to customers with it)."""
    conn = op.get_bind()
    data_type = JSONType()
    op.rename_table("contacts", "contacts_generic")
    for name in (
        *[f"ix_contacts_{n}_seq" for n in _INDEXED],
        "ix_contacts_name_key",
        "ix_contacts_deleted_at",
    ):
        op.drop_index(name, "contacts_generic")
    if conn.dialect.name == "postgresql":  # constraint names are the schema's, not the table's
        op.execute(
            "ALTER TABLE contacts_generic RENAME CONSTRAINT pk_contacts TO pk_contacts_generic"
        )
        op.execute(
            "ALTER TABLE contacts_generic"
            " RENAME CONSTRAINT uq_contacts_id TO uq_contacts_generic_id"
        )
    old = op.create_table(
        "contacts",
        sa.Column("seq", SeqType, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("name_key", _prefix_key(50), nullable=False),
        sa.Column("gender", sa.String(8), nullable=True),
        sa.Column("title", sa.String(50), nullable=True),
        sa.Column("mobile", sa.String(20), nullable=True),
        sa.Column("phone", sa.String(20), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("birthday", sa.Date(), nullable=True),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("remarks", sa.Text(), nullable=True),
        sa.Column("surname", sa.String(20), nullable=False),
        sa.Column("surname_letter", sa.String(1), nullable=False),
        sa.Column("initials", sa.String(50), nullable=False),
        sa.Column("deleted_with", sa.String(36), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(36), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.Column("merged_into", sa.String(36), nullable=True),
        sa.Column("phone_ext", sa.String(8), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name="fk_contacts_customer_id_customers",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name="pk_contacts"),
        sa.UniqueConstraint("id", name="uq_contacts_id"),
    )
    for rows in _batches("contacts_generic", "name_key, data"):
        back = []
        for r in rows:
            d = data_type.process_result_value(r["data"], conn.dialect)
            e164, _, extension = (d["phone"] or "").partition(";ext=")
            back.append(
                {
                    **{name: d[name] for name in _OLD if name in d},
                    **{name: _instant(d[name]) for name in _TIMES},
                    "birthday": _day(d["birthday"]),
                    "phone": e164 or None,
                    "phone_ext": extension or None,
                    "name_key": r["name_key"],
                }
            )
        op.bulk_insert(old, back)
    op.drop_table("contacts_generic")
    op.create_index("ix_contacts_customer_seq", "contacts", ["customer_id", "seq"])
    op.create_index("ix_contacts_name_key", "contacts", ["name_key"])
    op.create_index("ix_contacts_surname_letter", "contacts", ["surname_letter", "seq"])
    for column in ("mobile", "phone"):
        op.create_index(
            f"ix_contacts_{column}",
            "contacts",
            [column],
            sqlite_where=sa.text(f"{column} IS NOT NULL"),
        )
