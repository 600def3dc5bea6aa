"""销售漏斗: the opportunities board, and an opportunity's stage history.

The board shows the open opportunities the user may see (crmkit's scope) as one column per
open stage of the CRM's pipeline (``s.opportunities.pipeline``), each column with its count,
amount and weighted amount. A card moves to another stage by a plain form (a stage select
and a button) that calls ``s.opportunities.move(id, stage=, version=)``; ``board.js`` lets a
card be dragged onto a column, which fills in that same form and sends it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import attrs
from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import expose
from flask_babel import gettext as _

import crmkit
from admin import context
from admin.base import user_name, user_names
from admin.forms import refusal
from admin.i18n import current_lang, duration, local_time, money, percent, show
from admin.views.customers import customer_names, owner_pairs

# The board reads at most this many open opportunities (keyset pages of PAGE): a column
# total over more would want a sum by stage in crmkit, which it does not offer yet.
BOARD_LIMIT = 2000
PAGE = 500


@attrs.frozen
class Card:
    """One opportunity on the board, as people read it."""

    id: str
    version: int
    title: str
    customer: str
    amount: str
    probability: str
    expected_close: str
    overdue: bool
    owner: str
    stage: str


@attrs.frozen
class Column:
    """One stage of the pipeline with its cards and totals."""

    code: str
    label: str
    probability: str
    cards: tuple[Card, ...]
    amount: str
    weighted: str


def open_opportunities(s: crmkit.Session, **filters: Any) -> tuple[list[crmkit.Opportunity], bool]:
    """The open opportunities the user sees (up to :data:`BOARD_LIMIT`), and whether there
    were more."""
    found: list[crmkit.Opportunity] = []
    after: str | None = None
    while len(found) < BOARD_LIMIT:
        page = s.opportunities.list(after=after, limit=PAGE, status="open", **filters)
        found.extend(page.items)
        if page.next_after is None:
            return found, False
        after = page.next_after
    return found[:BOARD_LIMIT], True


def sums(amounts: Iterable[crmkit.Money | None]) -> str:
    """A column's amounts added up, per currency (CNY alone in practice), to the fen."""
    totals: dict[str, crmkit.Money] = {}
    for amount in amounts:
        if amount is not None:
            held = totals.get(amount.currency) or crmkit.Money.zero(amount.currency)
            totals[amount.currency] = held + amount
    if not totals:
        return money(crmkit.Money.zero())
    return " + ".join(money(total.quantize()) for _c, total in sorted(totals.items()))


def columns(
    pipeline: crmkit.Pipeline,
    opportunities: Sequence[crmkit.Opportunity],
    customers: Mapping[str, str],
    today: date,
) -> list[Column]:
    """The board: one column per open stage, cards by expected close date (undated last)."""
    lang = current_lang()
    by_stage: dict[str, list[crmkit.Opportunity]] = {s.code: [] for s in pipeline.stages}
    for opp in opportunities:
        by_stage.setdefault(opp.stage, []).append(opp)
    out: list[Column] = []
    for stage in pipeline.stages:
        opps = sorted(
            by_stage[stage.code], key=lambda o: (o.expected_close or date.max, o.title, o.id)
        )
        cards = tuple(
            Card(
                id=o.id,
                version=o.version,
                title=o.title,
                customer=customers.get(o.customer_id, ""),
                amount=money(o.amount) if o.amount is not None else "",
                probability=percent(o.probability),
                expected_close=show(o.expected_close),
                overdue=o.expected_close is not None and o.expected_close < today,
                owner=user_name(o.owner_id),
                stage=o.stage,
            )
            for o in opps
        )
        out.append(
            Column(
                code=stage.code,
                label=stage.label(lang),
                probability=percent(stage.probability),
                cards=cards,
                amount=sums(o.amount for o in opps),
                weighted=sums(o.weighted_amount for o in opps),
            )
        )
    return out


@attrs.frozen
class StageRow:
    """One stage change on an opportunity's page."""

    stage: str
    entered: str
    by: str


@attrs.frozen
class StageTime:
    """The time spent in one stage, all visits added up."""

    stage: str
    spent: str
    current: bool


def stage_history(s: crmkit.Session, opp: crmkit.Opportunity) -> dict[str, Any]:
    """The page's stage history (newest last) and time per stage (crmkit's
    ``durations``, the current stage counted up to now), in words."""
    lang = current_lang()
    pipeline = s.opportunities.pipeline
    user_names(s)
    changes = [
        StageRow(pipeline.label(c.stage, lang), local_time(c.entered_at), user_name(c.by))
        for c in opp.stage_history
    ]
    times = [
        StageTime(pipeline.label(code, lang), duration(spent), code == opp.stage)
        for code, spent in s.opportunities.durations(opp.id).items()
    ]
    return {"stage_changes": changes, "stage_times": times}


class PipelineBoard:
    """The board's routes, mixed into the opportunities view (``/opportunities/board/``)."""

    def board_filters(self) -> dict[str, str]:
        owner = request.args.get("owner_id", "").strip()
        return {"owner_id": owner} if owner else {}

    @expose("/board/")
    def board(self) -> ResponseReturnValue:
        """The open opportunities in the user's scope, by stage."""
        filters = self.board_filters()
        cols: list[Column] = []
        more = False
        try:
            with context.work() as s:
                opps, more = open_opportunities(s, **filters)
                user_names(s)
                names = customer_names(s, [o.customer_id for o in opps])
                cols = columns(s.opportunities.pipeline, opps, names, s.today())
        except crmkit.ValidationError as exc:
            flash(exc.message(), "error")
        view: Any = self
        return view.render(
            "crm/opportunity_board.html",
            columns=cols,
            more=more,
            limit=BOARD_LIMIT,
            total=sum(len(c.cards) for c in cols),
            owners=owner_pairs() if not context.has_role(crmkit.Role.SALES) else [],
            active=filters,
            may_move=context.can("opportunity.write"),
            stages=[(c.code, c.label) for c in cols],
            back=request.full_path.rstrip("?"),
        )

    @expose("/board/move/", methods=("POST",))
    def move(self) -> ResponseReturnValue:
        """Move one card to another stage (``s.opportunities.move``); crmkit's refusal —
        a stale version, a stage it does not accept, a closed deal — is shown as a message
        in the user's language, nothing changed."""
        id = request.form.get("id", "")
        stage = request.form.get("stage", "")
        raw = request.form.get("version", "")
        title = request.form.get("title", "")[:100]
        try:
            with context.work() as s:
                moved = s.opportunities.move(
                    id, stage=stage, version=int(raw) if raw.isdigit() else None
                )
                label = s.opportunities.pipeline.label(moved.stage, current_lang())
        except crmkit.ValidationError as exc:
            flash(exc.message(), "error")
        except crmkit.CRMError as exc:
            flash(refusal(exc, title), "error")
        else:
            flash(_("“%(title)s” moved to %(stage)s.", title=moved.title, stage=label), "success")
        board = url_for(".board")
        back = request.form.get("back", "")
        return redirect(back if back.startswith(board) else board)
