"""销售统计: seed 004's statistics (统计分析) as charts, in the user's scope.

Every figure comes from crmkit, read as the logged-in user, so a salesperson sees their own
deals and orders and a manager their team's:

- 销售漏斗 — ``s.opportunities.by_stage()``, every stage of the pipeline in its order;
- 商机概率分布 — ``s.opportunities.by_probability()`` (open deals, in bands of 20%);
- 赢单率 — ``s.opportunities.win_rate(from_month=, to_month=)``, everyone's and each owner's;
- 订单统计 — ``s.orders.statistics(by, signed_from=, signed_to=)``, approved orders ranked
  by customer (订单金额客户排名), salesperson (签单统计), source, region or industry;
- 目标完成 — ``s.targets.progress(month=)`` for whoever may read sales targets.

The charts are drawn by the server as HTML bars (no scripts, no CDN): each is a table with a
caption whose rows carry a bar as wide as the row's share of the largest value, and the
figures beside it, so the numbers read without the bars. The period (``from_month`` and
``to_month``, months such as ``2027-01``) and the grouping (``by``) are GET parameters;
crmkit checks them, and its refusal shows as a message with the rest of the page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

import attrs
from flask import flash, g, request
from flask.typing import ResponseReturnValue
from flask_admin import BaseView, expose
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import crmkit
from admin import context
from admin.base import user_name, user_names
from admin.forms import refusal
from admin.i18n import current_lang, money, percent
from admin.views.customers import customer_names

TOP = 15  # the groups an order chart shows, the largest first
MONTH = re.compile(r"^\s*(\d{4})\D+(\d{1,2})\D*$")

# The order statistics' groupings, in the order of the selector.
GROUPINGS: tuple[tuple[crmkit.RankBy, LazyString], ...] = (
    (crmkit.RankBy.CUSTOMER, _l("Customer")),
    (crmkit.RankBy.OWNER, _l("Salesperson")),
    (crmkit.RankBy.SOURCE, _l("Source")),
    (crmkit.RankBy.REGION, _l("Region")),
    (crmkit.RankBy.INDUSTRY, _l("Industry")),
)


@attrs.frozen
class Bar:
    """One row of a chart: its label, its bar's width (percent of the largest value) and
    the figures printed beside it."""

    label: str
    width: float
    figures: tuple[str, ...]


@attrs.frozen
class Chart:
    """A bar chart with its caption and the headers of its figures."""

    id: str
    caption: str
    headers: tuple[str, ...]
    bars: tuple[Bar, ...]
    note: str = ""


def widths(values: Sequence[float]) -> list[float]:
    """Each value as a percentage of the largest (0 when all are 0), to one place."""
    top = max(values, default=0)
    return [round(100 * v / top, 1) if top > 0 else 0.0 for v in values]


def amounts_text(amounts: Sequence[crmkit.Money]) -> str:
    """Amounts per currency as people write them; "—" when there are none."""
    return " + ".join(money(m) for m in amounts) or "—"


def first_amount(amounts: Sequence[crmkit.Money]) -> float:
    """The largest amount (what a bar of amounts measures; one currency in practice)."""
    return float(max((m.amount for m in amounts), default=Decimal(0)))


def month_days(raw: str, last: bool) -> date | str | None:
    """The first (or last) day of a month (``2027-01``, ``2027/1``, ``2027年1月``); None
    when empty; what is not a month as it came, for crmkit to refuse."""
    found = MONTH.match(raw)
    if not raw:
        return None
    try:
        if found is None:
            raise ValueError(raw)
        first = date(int(found.group(1)), int(found.group(2)), 1)
    except ValueError:
        return raw
    if not last:
        return first
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return following - timedelta(days=1)


def stage_chart(s: crmkit.Session) -> Chart:
    pipeline = s.opportunities.pipeline
    lang = current_lang()
    rows = s.opportunities.by_stage()
    sizes = widths([r.count for r in rows])
    return Chart(
        id="chart-stages",
        caption=_("Pipeline by stage"),
        headers=(_("Stage"), _("Count"), _("Amount")),
        bars=tuple(
            Bar(pipeline.label(r.stage, lang), w, (f"{r.count:,}", amounts_text(r.amounts)))
            for r, w in zip(rows, sizes, strict=True)
        ),
    )


def probability_chart(s: crmkit.Session) -> Chart:
    rows = s.opportunities.by_probability()
    sizes = widths([r.count for r in rows])
    return Chart(
        id="chart-probability",
        caption=_("Open opportunities by probability"),
        headers=(_("Probability"), _("Count"), _("Amount")),
        bars=tuple(
            Bar(
                f"{percent(r.low)}–{percent(r.high)}",
                w,
                (f"{r.count:,}", amounts_text(r.amounts)),
            )
            for r, w in zip(rows, sizes, strict=True)
        ),
    )


def win_rate_chart(rates: crmkit.WinRates) -> Chart:
    rows = [rates.total, *rates.owners]
    sizes = [float(r.rate or 0) * 100 for r in rows]  # a rate's bar: its share of 100%
    return Chart(
        id="chart-win-rate",
        caption=_("Win rate"),
        headers=(_("Salesperson"), _("Win rate"), _("Won"), _("Lost")),
        bars=tuple(
            Bar(
                user_name(r.owner_id) if r.owner_id else _("All salespeople"),
                round(w, 1),
                (percent(r.rate) if r.rate is not None else "—", f"{r.won:,}", f"{r.lost:,}"),
            )
            for r, w in zip(rows, sizes, strict=True)
        ),
        note=(
            "" if rates.total.won + rates.total.lost else _("No opportunity closed in the period.")
        ),
    )


def group_label(s: crmkit.Session, by: crmkit.RankBy, keys: Sequence[str | None]) -> list[str]:
    """The groups' keys as people read them: names for customers and salespeople."""
    if by is crmkit.RankBy.CUSTOMER:
        names = customer_names(s, [k for k in keys if k])
        return [names.get(k, "—") if k else "—" for k in keys]
    if by is crmkit.RankBy.OWNER:
        return [user_name(k) or "—" for k in keys]
    return [k or _("(not set)") for k in keys]


def order_chart(s: crmkit.Session, by: crmkit.RankBy, totals: Sequence[crmkit.OrderTotal]) -> Chart:
    shown = list(totals[:TOP])
    labels = group_label(s, by, [t.key for t in shown])
    sizes = widths([first_amount(t.amounts) for t in shown])
    caption = dict(GROUPINGS)[by]
    return Chart(
        id="chart-orders",
        caption=_("Order amounts by %(group)s", group=str(caption).lower()),
        headers=(str(caption), _("Order count"), _("Amount")),
        bars=tuple(
            Bar(label, w, (f"{t.count:,}", amounts_text(t.amounts)))
            for label, t, w in zip(labels, shown, sizes, strict=True)
        ),
        note=(
            _("The largest %(n)s of %(total)s.", n=TOP, total=len(totals))
            if len(totals) > TOP
            else ("" if totals else _("No approved order in the period."))
        ),
    )


def target_chart(progress: Sequence[crmkit.TargetProgress]) -> Chart:
    sizes = [min(float(p.achieved or 0) * 100, 100.0) for p in progress]
    return Chart(
        id="chart-targets",
        caption=_("Targets this month"),
        headers=(_("Salesperson"), _("Achieved"), _("Won"), _("Target")),
        bars=tuple(
            Bar(
                user_name(p.owner_id),
                round(w, 1),
                (
                    percent(p.achieved) if p.achieved is not None else "—",
                    money(p.won),
                    money(p.target) if p.target is not None else "—",
                ),
            )
            for p, w in zip(progress, sizes, strict=True)
        ),
        note="" if progress else _("No target set for this month."),
    )


class StatisticsView(BaseView):
    """销售统计: the statistics of the user's deals and orders as charts."""

    def is_accessible(self) -> bool:
        return g.get("user") is not None and (
            context.can("opportunity.read") or context.can("order.read")
        )

    @expose("/")
    def index(self) -> ResponseReturnValue:
        from_month = request.args.get("from_month", "").strip()[:20]
        to_month = request.args.get("to_month", "").strip()[:20]
        raw_by = request.args.get("by", crmkit.RankBy.CUSTOMER.value)
        by = crmkit.RankBy(raw_by) if raw_by in {r.value for r in crmkit.RankBy} else None
        pipeline: list[Chart] = []
        period: list[Chart] = []
        try:
            with context.work() as s:
                user_names(s)
                if context.can("opportunity.read"):
                    pipeline += [stage_chart(s), probability_chart(s)]
                if context.can("sales_target.read"):
                    pipeline.append(target_chart(s.targets.progress()))
                period = self._period(s, from_month, to_month, by, raw_by)
        except crmkit.CRMError as exc:
            flash(refusal(exc), "error")
        return self.render(
            "crm/statistics.html",
            pipeline=pipeline,
            period=period,
            from_month=from_month,
            to_month=to_month,
            by=(by or crmkit.RankBy.CUSTOMER).value,
            groupings=[(r.value, str(label)) for r, label in GROUPINGS],
            may_orders=context.can("order.read"),
        )

    def _period(
        self,
        s: crmkit.Session,
        from_month: str,
        to_month: str,
        by: crmkit.RankBy | None,
        raw_by: str,
    ) -> list[Chart]:
        """The charts of a period: win rate and order statistics (none when crmkit refuses
        the period or the grouping; its message says why)."""
        charts: list[Chart] = []
        try:
            if context.can("opportunity.read"):
                rates = s.opportunities.win_rate(
                    from_month=from_month or None, to_month=to_month or None
                )
                charts.append(win_rate_chart(rates))
            if context.can("order.read"):
                totals = s.orders.statistics(
                    by or raw_by,  # crmkit names a grouping it does not know
                    signed_from=month_days(from_month, last=False),
                    signed_to=month_days(to_month, last=True),
                )
                charts.append(order_chart(s, by or crmkit.RankBy.CUSTOMER, totals))
        except crmkit.ValidationError as exc:
            flash(exc.message(), "error")
            return []
        return charts


__all__ = ["StatisticsView"]
