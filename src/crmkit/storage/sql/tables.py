"""SQLAlchemy Core tables. The domain classes are never mapped: ``rows.py`` converts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects import postgresql

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT identity.
SeqType = BigInteger().with_variant(Integer(), "sqlite")


def PrefixKey(length: int) -> String:
    """A column searched by prefix ranges (``key >= q AND key < q || U+10FFFF``).

    Such a range is only a correct "starts with" test under code-point order. SQLite's
    default BINARY collation is that; PostgreSQL databases are often created with a
    linguistic collation (en_US.UTF-8), so the column is declared ``COLLATE "C"`` there.
    """
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class JSONType(TypeDecorator[Any]):
    """JSON: ``jsonb`` on PostgreSQL, text on SQLite.

    Most customers carry empty lists and mappings (no tags, co-owners, custom values); those
    skip the JSON parser, which otherwise dominates converting a page of rows.
    """

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.JSONB())
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if dialect.name == "postgresql" or value is None:
            return value
        if not value:
            return "[]" if isinstance(value, list) else "{}"
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if dialect.name == "postgresql" or value is None:
            return value
        if value == "[]":
            return []
        if value == "{}":
            return {}
        return json.loads(value)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes.

    PostgreSQL: ``timestamptz``. SQLite has no datetime type; values are kept as fixed-width
    ISO-8601 UTC text (``2026-01-01T08:30:00.000000+00:00``), which sorts chronologically and
    parses straight back to an aware datetime with ``datetime.fromisoformat`` (far cheaper than
    SQLAlchemy's generic SQLite parser).
    """

    impl = String(32)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(DateTime(timezone=True))
        return dialect.type_descriptor(String(32))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError("crmkit stores only timezone-aware datetimes")
        value = value.astimezone(UTC)
        if dialect.name == "postgresql":
            return value
        return value.isoformat(timespec="microseconds")

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return value.astimezone(UTC)  # type: ignore[no-any-return]
        return datetime.fromisoformat(value)


class ExactDecimal(TypeDecorator[Decimal]):
    """Money amounts, never a float.

    PostgreSQL: ``NUMERIC`` without a declared precision, which stores any decimal exactly
    and gives it back with the scale it went in with (``0.3`` stays ``0.3``, not
    ``0.300000``). SQLite has no decimal type: the amount is kept as its decimal text.
    Either way a ``Money`` read back equals, digit for digit, the one written, so the two
    backends cannot disagree about an amount (a fixed ``NUMERIC(18,4)`` would silently round
    a unit price of ``0.000125`` on PostgreSQL while SQLite kept it).
    """

    impl = String(40)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(asdecimal=True))
        return dialect.type_descriptor(String(40))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return value if dialect.name == "postgresql" else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:  # noqa: ARG002
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(value)


def _audit_columns() -> list[Column[Any]]:
    return [
        Column("version", Integer, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("updated_at", UTCDateTime, nullable=False),
        Column("created_by", String(36), nullable=False),
        Column("deleted_at", UTCDateTime),
    ]


customers = Table(
    "customers",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(100), nullable=False),
    Column("name_key", PrefixKey(100), nullable=False),
    Column("category", String(16), nullable=False),
    Column("channel_type", String(16), nullable=False),
    Column("related_customer_ids", JSONType(), nullable=False),
    Column("source", String(50)),
    Column("industry", String(50)),
    Column("region_code", String(6)),
    # The province and city parts of region_code, so that "everything in 山东省" is an
    # equality on an index that also yields rows in keyset order.
    Column("province_code", String(2)),
    Column("city_code", String(4)),
    Column("address", String(200)),
    Column("tags", JSONType(), nullable=False),
    Column("credit_rating", String(4)),
    Column("settlement", String(16), nullable=False),
    Column("credit_limit", ExactDecimal),
    Column("credit_currency", String(3)),
    Column("owner_id", String(36)),
    Column("co_owner_ids", JSONType(), nullable=False),
    Column("parent_id", String(36)),
    Column("uscc", String(18)),
    Column("gender", String(8)),
    Column("birthday", Date),
    Column("id_number", String(20)),  # the whole number (masked only when shown)
    Column("id_type", String(40)),  # its document type (IdType: resident, passport …)
    Column("mobile", String(20)),
    Column("phone", String(20)),
    Column("phone_ext", String(8)),  # its extension (转 8001; values.MAX_EXTENSION digits)
    Column("email", String(254)),
    Column("remarks", Text),
    Column("custom", JSONType(), nullable=False),
    Column("search_text", Text, nullable=False),
    *_audit_columns(),
    Column("merged_into", String(36)),
)
Index("ix_customers_owner_seq", customers.c.owner_id, customers.c.seq)
Index("ix_customers_category_seq", customers.c.category, customers.c.seq)
Index("ix_customers_region_seq", customers.c.region_code, customers.c.seq)
Index("ix_customers_province_seq", customers.c.province_code, customers.c.seq)
Index("ix_customers_city_seq", customers.c.city_code, customers.c.seq)
Index("ix_customers_source_seq", customers.c.source, customers.c.seq)
Index("ix_customers_industry_seq", customers.c.industry, customers.c.seq)
Index("ix_customers_created_at", customers.c.created_at)
Index("ix_customers_deleted_at", customers.c.deleted_at)
Index("ix_customers_name_key", customers.c.name_key)
# Numbers are looked up by value (duplicate checks, the service console). On SQLite the
# indexes leave out the customers without one: ANALYZE would otherwise count every empty
# number as one value and the planner would scan the table rather than use the index.
Index("ix_customers_mobile", customers.c.mobile, sqlite_where=customers.c.mobile.isnot(None))
Index("ix_customers_phone", customers.c.phone, sqlite_where=customers.c.phone.isnot(None))
# An identity number names one person: looked up by value like the numbers above, and held
# by individuals only, so most rows have none.
Index(
    "ix_customers_id_number",
    customers.c.id_number,
    sqlite_where=customers.c.id_number.isnot(None),
)
Index("ix_customers_parent_id", customers.c.parent_id)
Index(
    "ix_customers_search_trgm",
    customers.c.search_text,
    postgresql_using="gin",
    postgresql_ops={"search_text": "gin_trgm_ops"},
).ddl_if(dialect="postgresql")

customer_co_owners = Table(
    "customer_co_owners",
    metadata,
    Column(
        "customer_id", String(36), ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("user_id", String(36), primary_key=True),
)
Index("ix_customer_co_owners_user", customer_co_owners.c.user_id, customer_co_owners.c.customer_id)

customer_tags = Table(
    "customer_tags",
    metadata,
    Column(
        "customer_id", String(36), ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("tag", String(30), primary_key=True),
)
Index("ix_customer_tags_tag", customer_tags.c.tag, customer_tags.c.customer_id)

# ``contacts`` is the generic table of ``crmkit.storage.catalog.CONTACTS``
# (storage/sql/entities.py).
# ``users`` is the generic table of ``crmkit.storage.catalog.USERS`` (storage/sql/entities.py).
user_credentials = Table(
    "user_credentials",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("password_hash", String(200)),
    Column("failed_count", Integer, nullable=False),
    Column("failed_on", Date),
    Column("locked_until", UTCDateTime),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor_id", String(36), nullable=False),
    Column("entity_type", String(30), nullable=False),
    Column("entity_id", String(36), nullable=False),
    Column("action", String(20), nullable=False),
    Column("changes", JSONType(), nullable=False),
    Column("note", Text),
)
Index("ix_audit_log_entity", audit_log.c.entity_id, audit_log.c.seq)
Index("ix_audit_log_actor", audit_log.c.actor_id, audit_log.c.seq)
Index("ix_audit_log_type", audit_log.c.entity_type, audit_log.c.seq)
Index("ix_audit_log_at", audit_log.c.at)

# -- the duplicate index (see crmkit.storage.ports.DedupRepository) -------------------------
dedup_entries = Table(
    "dedup_entries",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("entity_id", String(36), primary_key=True),
    Column("record", Text, nullable=False),
)
# Blocking keys as 64-bit hashes (the kind is hashed in). The primary key is the lookup
# path (key -> ids); the second index serves re-indexing and removal by entity. ``place``
# is the record's (a region code, on every key row) so that a lookup returns where each
# holder is without reading its match record.
dedup_keys = Table(
    "dedup_keys",
    metadata,
    Column("key", BigInteger, primary_key=True, autoincrement=False),
    Column("entity_id", String(36), primary_key=True),
    Column("place", String(12), nullable=True),
    sqlite_with_rowid=False,
)
Index("ix_dedup_keys_entity", dedup_keys.c.entity_id)
dedup_pairs = Table(
    "dedup_pairs",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("left_id", String(36), primary_key=True),
    Column("right_id", String(36), primary_key=True),
    Column("score", Float, nullable=False),
    Column("reasons", JSONType(), nullable=False),
    Column("vetoed", Boolean, nullable=False),
)
Index("ix_dedup_pairs_right", dedup_pairs.c.kind, dedup_pairs.c.right_id)
dedup_decisions = Table(
    "dedup_decisions",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("left_id", String(36), primary_key=True),
    Column("right_id", String(36), primary_key=True),
    Column("verdict", String(16), nullable=False),
    Column("actor_id", String(36), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)
Index("ix_dedup_decisions_right", dedup_decisions.c.kind, dedup_decisions.c.right_id)
dedup_formats = Table(
    "dedup_formats",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("record_format", Integer, nullable=False),
)

import_jobs = Table(
    "import_jobs",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("source_name", String(255), nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("actor_id", String(36), nullable=False),
    Column("status", String(16), nullable=False),
    Column("options", JSONType(), nullable=False),
    Column("rows_done", Integer, nullable=False),
    Column("counts", JSONType(), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("reverted_at", UTCDateTime),
    Column("reverted_by", String(36)),
    Column("version", Integer, nullable=False),
)
Index("ix_import_jobs_actor", import_jobs.c.actor_id, import_jobs.c.seq)
Index("ix_import_jobs_file", import_jobs.c.file_sha256)
import_rows = Table(
    "import_rows",
    metadata,
    Column("job_id", String(36), primary_key=True),
    Column("row", Integer, primary_key=True, autoincrement=False),
    Column("result", JSONType(), nullable=False),
)

# The SQLite full-text index lives outside the metadata (a virtual table Alembic cannot
# describe): the migration creates it with triggers that keep it in step with
# customers.search_text. See ``search.py``.
SQLITE_FTS_TABLE = "customer_fts"
