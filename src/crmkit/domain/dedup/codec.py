"""Match records as text, and blocking keys as integers, for a store to keep.

A store keeps each customer's (and contact's) match record beside its blocking keys, written
when the customer is written. Looking up a new record's candidates then costs an index probe
and decoding a few stored records, instead of re-normalising every candidate's name, phones
and address on each check (building a record costs ~100 µs; decoding one, a few).

The text is JSON with tagged values, stable across versions of crmkit that share
:data:`RECORD_FORMAT`; a store holding records of another format needs its index rebuilt
(``session.dedup.rebuild``), which the upgrade notes say.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from typing import Any, Final

from crmkit.domain.dedup.company import CompanyKey
from crmkit.domain.dedup.keys import AddressKey
from crmkit.domain.dedup.records import Record

__all__ = ["RECORD_FORMAT", "decode_record", "encode_record", "key_hash"]

RECORD_FORMAT: Final = 3
"""Bumped whenever the encoding or the normalisation behind it changes (2: people's fields,
spelling and contact keys, traditional characters folded; 3: an individual's birth date
taken from a checked 居民身份证 when none is typed, pinyin keys that meet names written in
Latin letters; re-index with ``session.dedup.rebuild``)."""


def key_hash(key: str) -> int:
    """A blocking key as a signed 64-bit integer (what stores index).

    Two keys sharing a hash only make two records *candidates*; the matcher still compares
    them, so a collision (about one in 2^64 per pair of keys) can cost a comparison but
    never a wrong verdict.
    """
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _encode(value: Any) -> Any:
    if isinstance(value, CompanyKey):
        return {
            "c": [
                value.brand,
                value.trade_name,
                value.industry_word,
                value.legal_form,
                value.location,
                value.branch,
                value.branch_location,
                value.brand_with_place,
                list(value.words),
            ]
        }
    if isinstance(value, AddressKey):
        return {"a": [value.region, value.rest]}
    if isinstance(value, frozenset | set):
        return {"s": sorted((_encode(v) for v in value), key=repr)}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot encode a match value of type {type(value).__name__}")


def _decode(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    ((tag, payload),) = value.items()
    if tag == "c":
        return CompanyKey(
            brand=payload[0],
            trade_name=payload[1],
            industry_word=payload[2],
            legal_form=payload[3],
            location=payload[4],
            branch=payload[5],
            branch_location=payload[6],
            brand_with_place=payload[7],
            words=tuple(payload[8]),
        )
    if tag == "a":
        return AddressKey(payload[0], payload[1])
    if tag == "s":
        return frozenset(_decode(v) for v in payload)
    if tag == "d":
        return date.fromisoformat(payload)
    if tag == "n":
        return Decimal(payload)
    raise ValueError(f"unknown match value tag {tag!r}")


def encode_record(record: Record) -> str:
    """The record's values as compact JSON (the id is stored beside it, not inside).

    Raises:
        TypeError: a value of a type the codec does not know (a custom field holding an
            object); custom field values are text, numbers, booleans, dates or sets of them.
    """
    return json.dumps(
        {k: _encode(v) for k, v in record.values.items()},
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )


def decode_record(id: str, text: str) -> Record:
    """The :class:`Record` that :func:`encode_record` encoded, with ``id``."""
    return Record(id, {k: _decode(v) for k, v in json.loads(text).items()})
