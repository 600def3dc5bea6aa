"""The knowledge base (QA问答库) and customers' questions (客户提问与答复记录).

An :class:`Article` is a question and its answer, or a how-to, in a category with tags;
only published articles are found by search outside the editors. ``helpful`` and
``uses`` count how often it answered someone (a ticket linked to it counts as a use).

A :class:`QaRecord` is one question a customer asked and the answer they were given,
possibly from an article: the per-customer record seed 004 keeps beside the shared base.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from datetime import datetime
from typing import Any, Final

import attrs

from crmkit.domain import fields as f
from crmkit.domain.errors import FieldErrors


class ArticleStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


@attrs.frozen(kw_only=True)
class Article:
    """A knowledge-base article (知识库条目)."""

    id: str
    title: str
    body: str
    category: str | None = None
    tags: tuple[str, ...] = ()
    status: ArticleStatus = ArticleStatus.PUBLISHED
    author_id: str
    uses: int = 0
    helpful: int = 0
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str
    deleted_at: datetime | None = None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


@attrs.frozen(kw_only=True)
class QaRecord:
    """A customer's question and the answer given (客户提问与答复)."""

    id: str
    customer_id: str
    contact_id: str | None = None
    ticket_id: str | None = None
    article_id: str | None = None
    question: str
    answer: str | None = None
    asked_at: datetime
    answered_by: str | None = None
    answered_at: datetime | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str
    deleted_at: datetime | None = None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


ARTICLE_FIELDS: Final = (
    f.text("title", 200, required=True),
    f.multiline("body", 20000, required=True),
    f.text("category", 60),
    f.choice("status", ArticleStatus),
)

QA_FIELDS: Final = (
    f.ref("customer_id", required=True, editable=False),
    f.ref("contact_id"),
    f.ref("ticket_id"),
    f.ref("article_id"),
    f.multiline("question", 2000, required=True),
    f.multiline("answer", 4000),
    f.moment("asked_at"),
)


MAX_TAGS: Final = 20
MAX_TAG_LENGTH: Final = 30
# Tags are typed as "门锁, 复位" or "门锁、复位" or "门锁 复位": commas (either width), the
# enumeration comma and white space all separate.
_TAG_SEPARATORS: Final = re.compile(r"[,，、;；\s]+")


def parse_tags(raw: Any, errors: FieldErrors, field: str = "tags") -> tuple[str, ...]:
    """Tags from text or a list of texts: NFKC, trimmed, empty ones dropped, duplicates
    (in any case) kept once, in the order given. Every problem goes to ``errors`` under
    ``field``."""
    if raw is None:
        return ()
    if isinstance(raw, str):
        pieces: list[Any] = _TAG_SEPARATORS.split(raw)
    elif isinstance(raw, list | tuple | set | frozenset):
        pieces = []
        for item in raw:
            if not isinstance(item, str):
                errors.add(field, "invalid_type", item, expected="text")
                return ()
            pieces += _TAG_SEPARATORS.split(item)
    else:
        errors.add(field, "invalid_type", raw, expected="text")
        return ()
    seen: dict[str, str] = {}
    for piece in pieces:
        tag = unicodedata.normalize("NFKC", piece).strip()
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            errors.add(field, "too_long", tag, max=MAX_TAG_LENGTH)
            continue
        seen.setdefault(tag.casefold(), tag)
    if len(seen) > MAX_TAGS:
        errors.add(field, "kb.too_many_tags", raw, max=MAX_TAGS)
        return ()
    return tuple(seen.values())
