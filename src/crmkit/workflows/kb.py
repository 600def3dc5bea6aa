"""The knowledge base (QA问答库) on the kernel: ``session.kb`` and ``session.questions``.

Articles are written by service staff and managers (``kb_article.*``) and read by everyone;
outside the editors only published ones are found. :meth:`KbService.search` answers from
the articles' full-text index (``KB_ARTICLES.fulltext``; see :mod:`crmkit.storage.fulltext`
for what matches: Chinese by character bigrams, every term required), best first.

A customer's questions and the answers given (``qa_record.*``) live in the customer's
scope: whoever works the customer sees them. Answering from an article counts a use of it,
as linking an article to a ticket does (:meth:`KbService.record_use`).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any, ClassVar

from crmkit.domain.errors import FieldErrors, NotFound
from crmkit.domain.fields import InputField
from crmkit.domain.kb import ARTICLE_FIELDS, QA_FIELDS, Article, ArticleStatus, QaRecord, parse_tags
from crmkit.storage.catalog import KB_ARTICLES, QA_RECORDS, TICKETS
from crmkit.storage.fulltext import SearchHit
from crmkit.storage.ports import EntityQuery, Page
from crmkit.storage.spec import EntitySpec, Filter, Group, Measure, Op
from crmkit.workflows._common import page_limit
from crmkit.workflows.entity import EntityService

# ``status=`` of a search: every status (editors only).
ANY_STATUS = "any"


class KbService(EntityService[Article]):
    """``session.kb``: knowledge-base articles.

    ``create(title=, body=, category=, tags="门锁, 复位", status="published")``; ``tags``
    take text separated by commas, 、 or spaces, or a list, and keep each tag once. The
    author is the actor. Permissions ``kb_article.*``: service staff, managers and admins
    write; everyone reads.
    """

    spec = KB_ARTICLES
    fields: ClassVar[tuple[InputField, ...]] = ARTICLE_FIELDS

    def _extra_keys(self) -> frozenset[str]:
        return super()._extra_keys() | {"tags"}

    def parse_extra(
        self,
        raw: Mapping[str, Any],
        data: Mapping[str, Any],  # noqa: ARG002  (the hook's signature)
        errors: FieldErrors,
        current: Article | None,  # noqa: ARG002
    ) -> dict[str, Any]:
        if "tags" not in raw:
            return {}
        return {"tags": parse_tags(raw["tags"], errors)}

    def prepare(
        self,
        raw: Mapping[str, Any],  # noqa: ARG002  (the hook's signature)
        data: dict[str, Any],
        errors: FieldErrors,  # noqa: ARG002
        current: Article | None = None,
    ) -> dict[str, Any]:
        out = dict(data)
        if current is None:
            out["author_id"] = self._s.actor.id
            if out.get("status") is None:
                out.pop("status", None)  # the class default: published
        elif "status" in out and out["status"] is None:
            out.pop("status")
        return out

    # -- reading ----------------------------------------------------------------------------
    @property
    def is_editor(self) -> bool:
        """Whether the actor may edit articles (and so see those not published)."""
        return self._s.actor.can(f"{self.spec.name}.write")

    def search(
        self,
        text: str,
        *,
        category: str | None = None,
        status: ArticleStatus | str | None = ArticleStatus.PUBLISHED,
        limit: int = 20,
    ) -> builtins.list[SearchHit[Article]]:
        """Articles matching ``text``, best first: every term of it must match (``"门锁 复位"``
        finds articles with both), a Chinese term as a phrase, a one-character term
        anywhere it begins a word or stands in Chinese text.

        Args:
            text: the query; a blank one finds nothing.
            category: only articles of this category.
            status: published (default); editors may ask for ``"draft"``, ``"archived"``
                or ``"any"``.
            limit: at most this many (clamped to ``Settings.max_page_size``).

        Raises:
            PermissionDenied: the actor may not read articles.
            ValidationError: an unknown status, or one that is not published asked for by
                someone who is not an editor.
        """
        self.require("read")
        errors = FieldErrors()
        filters: list[Filter] = []
        wanted = self._status(status, errors)
        if wanted is not None:
            filters.append(Filter("status", Op.EQ, wanted))
        if category:
            filters.append(Filter("category", Op.EQ, category.strip()))
        errors.raise_if_any(self.spec.name)
        size = page_limit(limit, self._s.runtime.settings.max_page_size)
        return self.repo.search(text, self._s.actor.scope, limit=size, filters=filters)

    def _status(self, status: ArticleStatus | str | None, errors: FieldErrors) -> Any:
        if status is None or status == ANY_STATUS:
            if not self.is_editor:
                errors.add("status", "kb.status_not_visible", status)
            return None
        try:
            wanted = ArticleStatus(status)
        except ValueError:
            choices = ", ".join([*(s.value for s in ArticleStatus), ANY_STATUS])
            errors.add("status", "invalid_choice", status, choices=choices)
            return None
        if wanted is not ArticleStatus.PUBLISHED and not self.is_editor:
            errors.add("status", "kb.status_not_visible", status)
        return wanted

    def categories(self) -> builtins.list[tuple[str, int]]:
        """The categories of the live articles the actor may find (published ones, outside
        the editors) and how many each holds, by name."""
        self.require("read")
        filters: tuple[Filter, ...] = ()
        if not self.is_editor:
            filters = (Filter("status", Op.EQ, ArticleStatus.PUBLISHED),)
        rows = self.repo.aggregate(
            EntityQuery(filters=filters),
            self._s.actor.scope,
            by=(Group("category"),),
            measures=(Measure.count(),),
        )
        return [(r.key[0], r.values[0]) for r in rows if r.key[0] is not None]

    # -- counters ---------------------------------------------------------------------------
    def record_use(self, article_id: str) -> Article:
        """Count a use of the article (a ticket or an answer linked to it).

        Raises:
            NotFound: no such live article the actor may read.
        """
        return self._bump(article_id, "uses")

    def helpful(self, article_id: str) -> Article:
        """Count a reader who found the article helpful.

        Raises:
            NotFound: no such live article the actor may read.
        """
        return self._bump(article_id, "helpful")

    def _bump(self, article_id: str, field: str) -> Article:
        current = self.get(article_id)  # read permission, scope, not deleted
        updated: Article = self._stamped(
            current, self._s.now(), **{field: getattr(current, field) + 1}
        )
        self.save_change(current, updated)
        return updated


class QaRecordService(EntityService[QaRecord]):
    """``session.questions``: the questions a customer asked and the answers given.

    ``ask(customer_id=, question=, contact_id=…, ticket_id=…)``, ``answer(id, answer=,
    article_id=…)``, ``for_customer(customer_id)``. The scope is the customer's;
    permissions ``qa_record.*`` (sales, service staff, managers and admins write).
    """

    spec = QA_RECORDS
    fields: ClassVar[tuple[InputField, ...]] = QA_FIELDS
    references: ClassVar[Mapping[str, EntitySpec[Any]]] = {
        "article_id": KB_ARTICLES,
        "ticket_id": TICKETS,
    }

    def ask(self, **fields: Any) -> QaRecord:
        """Record a customer's question (and, if given, its answer): :meth:`create`."""
        return self.create(**fields)

    def answer(
        self,
        id: str,
        *,
        answer: str,
        article_id: str | None = None,
        version: int | None = None,
    ) -> QaRecord:
        """Answer a question, perhaps from an article (which counts a use of it).

        Raises:
            ValidationError: a blank answer, an article that does not exist.
            NotFound / ConcurrencyError / PermissionDenied: as :meth:`update`.
        """
        changes: dict[str, Any] = {"answer": answer}
        if article_id is not None:
            changes["article_id"] = article_id
        if answer is None or not str(answer).strip():
            errors = FieldErrors()
            errors.add("answer", "required", answer)
            errors.raise_if_any(self.spec.name)
        before = self.get(id)
        updated = self.update(id, version, **changes)
        if article_id is not None and article_id != before.article_id:
            self._s.kb.record_use(article_id)
        return updated

    def for_customer(
        self, customer_id: str, *, after: str | None = None, limit: int = 50
    ) -> Page[QaRecord]:
        """The customer's questions, newest first (a keyset page).

        Raises:
            NotFound: the customer does not exist or is outside the actor's scope.
        """
        self.require("read")
        customer = self._s._uow.customers.get(customer_id, self._s.actor.scope)
        if customer is None or customer.is_deleted:
            raise NotFound("customer", customer_id)
        return self.list(customer_id=customer_id, after=after, limit=limit)

    def check_references(
        self, data: Mapping[str, Any], errors: FieldErrors, current: QaRecord | None
    ) -> None:
        super().check_references(data, errors, current)
        s = self._s
        if current is None:
            self.check_customer(data.get("customer_id"), errors, "not_found_ref")
        customer_id = data.get("customer_id") or (current.customer_id if current else None)
        contact_id = data.get("contact_id")
        if contact_id and (current is None or contact_id != current.contact_id):
            contact = s._uow.contacts.get(contact_id)
            if contact is None or contact.is_deleted:
                errors.add("contact_id", "not_found_ref", contact_id)
            elif contact.customer_id != customer_id:
                errors.add("contact_id", "activity.other_customer", contact_id)

    def prepare(
        self,
        raw: Mapping[str, Any],  # noqa: ARG002  (the hook's signature)
        data: dict[str, Any],
        errors: FieldErrors,  # noqa: ARG002
        current: QaRecord | None = None,
    ) -> dict[str, Any]:
        s = self._s
        out = dict(data)
        if current is None:
            out["asked_at"] = out.get("asked_at") or s.now()
        elif "asked_at" in out and out["asked_at"] is None:
            out.pop("asked_at")
        answered = out.get("answer")
        if "answer" in out and answered != (current.answer if current else None):
            out["answered_by"] = s.actor.id if answered else None
            out["answered_at"] = s.now() if answered else None
        return out


__all__ = ["ANY_STATUS", "KbService", "QaRecordService"]
