"""客户服务 · 知识库: the knowledge base (QA问答库) over ``session.kb`` and customers' questions
over ``session.questions``.

**知识库** (``/kb/``, :class:`KnowledgeView`): a search box (``s.kb.search``: Chinese by
character bigrams, every term required, best first) whose hits show their title, category,
tags, an excerpt of the body with the query's terms marked, and their use and helpful
counts; a category filter from ``s.kb.categories()`` with its counts; without a query the
latest articles. **条目** (``/kb/<id>``): the body as typed (line breaks kept), its tags and
a 有帮助 button (``s.kb.helpful``). Editors (``kb_article.create`` / ``kb_article.write``:
service staff, managers, admins) get 新建 / 编辑 / 删除 with crmkit's field errors beside
their fields; everyone else reads published articles only (others are 404 to them).

**From a ticket**: ``crm/kb_ticket_box.html``, included by the ticket's page, searches the
base and offers 关联 on each hit (``POST /kb/link``: ``s.tickets.link_article``, which counts
a use of the article), and lists the articles already linked (:func:`ticket_kb_box`).

**客户问答** (``/kb/questions/``): the questions customers asked and the answers given
(customer, question, answer, article, asked at, answered by), 未答复 only on demand, and a
form to record a question for a customer; **答复** (``/kb/questions/<id>``): an answer,
optionally from an article found by a search on the same page (``s.questions.answer``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import attrs
from flask import abort, flash, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from markupsafe import Markup, escape

import crmkit
from admin import context
from admin.base import user_name, user_names
from admin.i18n import entity_labels, enum_label, local_time
from admin.views.aftersales import field_errors, form_version, require
from admin.views.customers import customer_names, enum_pairs
from admin.views.sales import customer_choices
from admin.views.service import flash_refusal
from crmkit import Article, ArticleStatus, QaRecord

RESULTS = 20  # hits one search shows
LATEST = 30  # articles shown without a query
QUESTIONS = 200  # questions one list page shows
BOX_HITS = 5  # hits the ticket's box offers
EXCERPT = 120  # characters of body around the first match
ARTICLE_FIELDS = ("title", "category", "tags", "status", "body")

LABELS: dict[str, Any] = {
    **entity_labels(
        "kb_article", "title", "body", "category", "tags", "status", "author_id", "uses",
        "helpful",
    ),
    **entity_labels(
        "qa_record", "customer_id", "ticket_id", "article_id", "question", "answer",
        "asked_at", "answered_by", "answered_at",
    ),
}  # fmt: skip


def may_read() -> bool:
    return g.get("user") is not None and context.can("kb_article.read")


def is_editor() -> bool:
    return context.can("kb_article.write")


# -- marking the query's terms ---------------------------------------------------------------
def query_terms(text: str) -> list[str]:
    """The query's terms as typed (NFKC), longest first so a longer one is marked whole."""
    terms = {t for t in unicodedata.normalize("NFKC", text).split() if t}
    return sorted(terms, key=len, reverse=True)


def _pattern(terms: Sequence[str]) -> re.Pattern[str] | None:
    if not terms:
        return None
    return re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)


def marked(text: str, terms: Sequence[str]) -> Markup:
    """``text`` escaped, each of ``terms`` in it wrapped in ``<mark>``."""
    pattern = _pattern(terms)
    if pattern is None:
        return Markup(escape(text))
    out: list[str] = []
    at = 0
    for m in pattern.finditer(text):
        out.append(str(escape(text[at : m.start()])))
        out.append(f"<mark>{escape(m.group(0))}</mark>")
        at = m.end()
    out.append(str(escape(text[at:])))
    return Markup("".join(out))


def marked_excerpt(body: str, terms: Sequence[str], size: int = EXCERPT) -> Markup:
    """A one-line excerpt of ``body`` around the first term found, the terms marked."""
    one_line = " ".join(unicodedata.normalize("NFKC", body).split())
    pattern = _pattern(terms)
    found = pattern.search(one_line) if pattern else None
    start = max(0, found.start() - size // 3) if found else 0
    piece = one_line[start : start + size]
    lead = "…" if start > 0 else ""
    tail = "…" if start + size < len(one_line) else ""
    return Markup(escape(lead)) + marked(piece, terms) + Markup(escape(tail))


# -- rows ------------------------------------------------------------------------------------
@attrs.frozen
class ArticleRow:
    id: str
    title: Markup
    category: str
    tags: tuple[str, ...]
    status: str
    status_code: str  # a CSS class only
    excerpt: Markup
    uses: int
    helpful: int
    updated: str


def article_row(a: Article, terms: Sequence[str] = ()) -> ArticleRow:
    return ArticleRow(
        id=a.id,
        title=marked(a.title, terms),
        category=a.category or "",
        tags=a.tags,
        status=enum_label(a.status),
        status_code=a.status.value,
        excerpt=marked_excerpt(a.body, terms),
        uses=a.uses,
        helpful=a.helpful,
        updated=local_time(a.updated_at),
    )


def visible(a: Article) -> bool:
    """Whether the reader may see the article: editors all, others the published ones."""
    return is_editor() or a.status is ArticleStatus.PUBLISHED


def article_titles(s: crmkit.Session, ids: Sequence[str | None]) -> dict[str, str]:
    """Titles of the articles ``ids`` the reader may see (others are left out)."""
    out: dict[str, str] = {}
    for id in dict.fromkeys(i for i in ids if i):
        try:
            found = s.kb.get(id, include_deleted=True)
        except crmkit.NotFound:
            continue
        if visible(found):
            out[id] = found.title
    return out


def search_hits(s: crmkit.Session, q: str, limit: int, category: str = "") -> list[ArticleRow]:
    """The articles the reader may find for ``q``, best first (published ones for readers,
    every status for editors)."""
    status = "any" if is_editor() else ArticleStatus.PUBLISHED.value
    hits = s.kb.search(q, category=category or None, status=status, limit=limit)
    terms = query_terms(q)
    return [article_row(h.item, terms) for h in hits]


# -- the ticket's box ------------------------------------------------------------------------
def ticket_kb_box(ticket: Any) -> dict[str, Any]:
    """What the ticket page's 知识库 box shows: the articles linked to ``ticket`` and, for
    the query ``kb_q`` of the request, the hits that may be linked (a jinja global)."""
    q = request.args.get("kb_q", "").strip()[:100]
    linked: list[tuple[str, str]] = []
    hits: list[ArticleRow] = []
    if not may_read():
        return {"q": q, "linked": linked, "hits": hits, "may_link": False}
    try:
        with context.work() as s:
            titles = article_titles(s, ticket.article_ids)
            linked = [(id, titles[id]) for id in ticket.article_ids if id in titles]
            if q:
                hits = [h for h in search_hits(s, q, BOX_HITS) if h.id not in titles]
    except crmkit.CRMError as exc:
        flash_refusal(exc)
    return {"q": q, "linked": linked, "hits": hits, "may_link": context.can("ticket.write")}


# -- questions -------------------------------------------------------------------------------
@attrs.frozen
class QuestionRow:
    id: str
    customer_id: str
    customer: str
    question: str
    answer: str
    article_id: str
    article: str
    asked: str
    answered_by: str
    answered: str


def question_rows(s: crmkit.Session, found: Sequence[QaRecord]) -> list[QuestionRow]:
    user_names(s)
    names = customer_names(s, [q.customer_id for q in found])
    titles = article_titles(s, [q.article_id for q in found])
    return [
        QuestionRow(
            id=q.id,
            customer_id=q.customer_id,
            customer=names.get(q.customer_id, ""),
            question=q.question,
            answer=q.answer or "",
            article_id=q.article_id or "",
            article=titles.get(q.article_id or "", ""),
            asked=local_time(q.asked_at),
            answered_by=user_name(q.answered_by) if q.answered_by else "",
            answered=local_time(q.answered_at) if q.answered_at else "",
        )
        for q in found
    ]


class KnowledgeView(BaseView):
    """知识库, its articles, linking one to a ticket, and 客户问答."""

    def is_accessible(self) -> bool:
        return may_read()

    # -- the base -----------------------------------------------------------------------------
    @expose("/")
    def index(self) -> ResponseReturnValue:
        q = request.args.get("q", "").strip()[:100]
        category = request.args.get("category", "").strip()[:60]
        rows: list[ArticleRow] = []
        categories: list[tuple[str, int]] = []
        try:
            with context.work() as s:
                categories = s.kb.categories()
                if q:
                    rows = search_hits(s, q, RESULTS, category)
                else:
                    filters: dict[str, Any] = {}
                    if category:
                        filters["category"] = category
                    if not is_editor():
                        filters["status"] = ArticleStatus.PUBLISHED.value
                    found = s.kb.list(limit=200, **filters).items
                    latest = sorted(found, key=lambda a: a.updated_at, reverse=True)[:LATEST]
                    rows = [article_row(a) for a in latest]
        except crmkit.CRMError as exc:
            flash_refusal(exc)
        return self.render(
            "crm/kb_list.html",
            q=q,
            category=category,
            categories=categories,
            rows=rows,
            labels=LABELS,
            editor=is_editor(),
            may_create=context.can("kb_article.create"),
        )

    def article(self, s: crmkit.Session, id: str) -> Article:
        """The live article ``id`` the reader may see (404 otherwise)."""
        try:
            found = s.kb.get(id[:60])
        except crmkit.NotFound:
            abort(404)
        if not visible(found):
            abort(404)
        return found

    @expose("/<id>")
    def details(self, id: str) -> ResponseReturnValue:
        with context.work() as s:
            a = self.article(s, id)
            user_names(s)
        return self.render(
            "crm/kb_details.html",
            a=a,
            status=enum_label(a.status),
            author=user_name(a.author_id),
            updated=local_time(a.updated_at),
            labels=LABELS,
            may_edit=context.can("kb_article.write"),
            may_delete=context.can("kb_article.delete"),
        )

    @expose("/<id>/helpful", methods=("POST",))
    def helpful(self, id: str) -> ResponseReturnValue:
        try:
            with context.work() as s:
                self.article(s, id)
                s.kb.helpful(id[:60])
        except crmkit.CRMError as exc:
            flash_refusal(exc)
        else:
            flash(_("Thank you: the article is marked as helpful."), "success")
        return redirect(url_for(".details", id=id[:60]))

    # -- editing ------------------------------------------------------------------------------
    def typed_article(self) -> dict[str, str]:
        return {f: request.form.get(f, "").strip()[:20000] for f in ARTICLE_FIELDS}

    def form(
        self, values: dict[str, str], errors: dict[str, list[str]], a: Article | None
    ) -> ResponseReturnValue:
        return self.render(
            "crm/kb_form.html",
            a=a,
            values=values,
            errors=errors,
            labels=LABELS,
            statuses=enum_pairs(ArticleStatus),
        )

    @expose("/new", methods=("GET", "POST"))
    def new(self) -> ResponseReturnValue:
        require("kb_article.create")
        values = {**dict.fromkeys(ARTICLE_FIELDS, ""), "status": ArticleStatus.PUBLISHED.value}
        errors: dict[str, list[str]] = {}
        if request.method == "POST":
            values = self.typed_article()
            fields: dict[str, Any] = {k: v for k, v in values.items() if v}
            fields["title"], fields["body"] = values["title"], values["body"]
            try:
                with context.work() as s:
                    made = s.kb.create(**fields)
            except crmkit.ValidationError as exc:
                errors = field_errors(exc)
                flash(_("The article was not saved: correct the marked fields."), "error")
            except crmkit.CRMError as exc:
                flash_refusal(exc, values["title"])
            else:
                flash(_("Article “%(title)s” saved.", title=made.title), "success")
                return redirect(url_for(".details", id=made.id))
        return self.form(values, errors, None)

    @expose("/<id>/edit", methods=("GET", "POST"))
    def edit(self, id: str) -> ResponseReturnValue:
        require("kb_article.write")
        with context.work() as s:
            a = self.article(s, id)
        values = {
            "title": a.title,
            "category": a.category or "",
            "tags": ", ".join(a.tags),
            "status": a.status.value,
            "body": a.body,
        }
        errors: dict[str, list[str]] = {}
        if request.method == "POST":
            values = self.typed_article()
            fields: dict[str, Any] = {**values, "category": values["category"] or None}
            if not fields["status"]:
                fields.pop("status")
            try:
                with context.work() as s:
                    s.kb.update(a.id, form_version(), **fields)
            except crmkit.ValidationError as exc:
                errors = field_errors(exc)
                flash(_("The article was not saved: correct the marked fields."), "error")
            except crmkit.CRMError as exc:
                flash_refusal(exc, a.title)
            else:
                flash(_("Article “%(title)s” saved.", title=values["title"]), "success")
                return redirect(url_for(".details", id=a.id))
        return self.form(values, errors, a)

    @expose("/<id>/delete", methods=("POST",))
    def delete(self, id: str) -> ResponseReturnValue:
        require("kb_article.delete")
        try:
            with context.work() as s:
                a = self.article(s, id)
                s.kb.delete(a.id, form_version())
        except crmkit.CRMError as exc:
            flash_refusal(exc)
            return redirect(url_for(".details", id=id[:60]))
        flash(
            _("Article “%(title)s” deleted (it is in the recycle bin).", title=a.title), "success"
        )
        return redirect(url_for(".index"))

    # -- from a ticket ------------------------------------------------------------------------
    @expose("/link", methods=("POST",))
    def link(self) -> ResponseReturnValue:
        """关联: the article answered the ticket (``s.tickets.link_article``); back to the
        ticket's page, the refusal as a message."""
        require("ticket.write")
        ticket_id = request.form.get("ticket_id", "").strip()[:60]
        article_id = request.form.get("article_id", "").strip()[:60]
        if not ticket_id:
            abort(400)
        try:
            with context.work() as s:
                self.article(s, article_id)
                s.tickets.link_article(ticket_id, article_id, version=form_version())
        except crmkit.NotFound:
            abort(404)
        except crmkit.CRMError as exc:
            flash_refusal(exc)
        else:
            flash(_("The article is linked to the ticket."), "success")
        return redirect(url_for("tickets.details", id=ticket_id))

    # -- 客户问答 --------------------------------------------------------------------------------
    @expose("/questions/", methods=("GET", "POST"))
    def questions(self) -> ResponseReturnValue:
        require("qa_record.read")
        unanswered = request.args.get("unanswered") == "1"
        chosen = request.args.get("customer_id", "").strip()[:60]
        values = {"customer_id": chosen, "question": ""}
        errors: dict[str, list[str]] = {}
        if request.method == "POST":
            require("qa_record.create")
            values = {
                "customer_id": request.form.get("customer_id", "").strip()[:60],
                "question": request.form.get("question", "").strip()[:2000],
            }
            try:
                with context.work() as s:
                    made = s.questions.ask(**values)
            except crmkit.ValidationError as exc:
                errors = field_errors(exc)
                flash(_("The question was not recorded: correct the marked fields."), "error")
            except crmkit.CRMError as exc:
                flash_refusal(exc)
            else:
                flash(_("The question is recorded."), "success")
                return redirect(url_for(".answer", id=made.id))
        rows: list[QuestionRow] = []
        try:
            with context.work() as s:
                filters: dict[str, Any] = {"answered_at__null": True} if unanswered else {}
                if chosen:
                    filters["customer_id"] = chosen
                found = s.questions.list(limit=QUESTIONS, **filters).items
                newest = sorted(found, key=lambda q: q.asked_at, reverse=True)
                rows = question_rows(s, newest)
        except crmkit.CRMError as exc:
            flash_refusal(exc)
        customers = customer_choices(values["customer_id"])
        return self.render(
            "crm/kb_questions.html",
            rows=rows,
            unanswered=unanswered,
            chosen=chosen,
            values=values,
            errors=errors,
            customers=customers,
            labels=LABELS,
            may_create=context.can("qa_record.create"),
        )

    @expose("/questions/<id>", methods=("GET", "POST"))
    def answer(self, id: str) -> ResponseReturnValue:
        """A question, and its answer (perhaps from an article found by ``aq``)."""
        require("qa_record.read")
        aq = request.args.get("aq", "").strip()[:100]
        errors: dict[str, list[str]] = {}
        typed = {"answer": "", "article_id": ""}
        if request.method == "POST":
            require("qa_record.write")
            typed = {
                "answer": request.form.get("answer", "").strip()[:4000],
                "article_id": request.form.get("article_id", "").strip()[:60],
            }
            try:
                with context.work() as s:
                    s.questions.answer(
                        id[:60],
                        answer=typed["answer"],
                        article_id=typed["article_id"] or None,
                        version=form_version(),
                    )
            except crmkit.NotFound:
                abort(404)
            except crmkit.ValidationError as exc:
                errors = field_errors(exc)
                flash(_("The answer was not saved: correct the marked fields."), "error")
            except crmkit.CRMError as exc:
                flash_refusal(exc)
            else:
                flash(_("The answer is saved."), "success")
                return redirect(url_for(".answer", id=id[:60]))
        hits: list[ArticleRow] = []
        try:
            with context.work() as s:
                record = s.questions.get(id[:60])
                (row,) = question_rows(s, [record])
                if aq:
                    hits = search_hits(s, aq, RESULTS)
        except crmkit.NotFound:
            abort(404)
        if request.method == "GET":
            typed = {"answer": record.answer or "", "article_id": record.article_id or ""}
        chosen = typed["article_id"]
        if chosen and chosen not in {h.id for h in hits}:
            with context.work() as s:
                title = article_titles(s, [chosen]).get(chosen)
            if title:
                hits.insert(0, ArticleRow(chosen, Markup(escape(title)), "", (), "", "",
                                          Markup(), 0, 0, ""))  # fmt: skip
        return self.render(
            "crm/kb_answer.html",
            record=record,
            row=row,
            aq=aq,
            hits=hits,
            typed=typed,
            errors=errors,
            labels=LABELS,
            may_answer=context.can("qa_record.write"),
        )


__all__ = ["KnowledgeView", "marked", "marked_excerpt", "ticket_kb_box"]
