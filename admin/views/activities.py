"""联系记录 and 跟进统计, under 跟进: activities through ``session.activities``.

**联系记录** (``/activities/``): the contacts made with customers, in the user's scope as
crmkit reads it (whoever sees a customer sees its activities: a salesperson their own
customers', a manager the team's, admins all). Columns: time, customer, 联系方式, content,
contact, opportunity, who made it, next follow-up (with where it stands: 今日跟进, 逾期 N 天,
已跟进) and 已跟进. Filters: customer, 联系方式, salesperson, 跟进状态 (``follow_up=due``:
today's and overdue, as ``s.activities.due()`` finds them; ``waiting``: every follow-up
nobody made yet; ``done``) and a date range on the time (``at_from`` / ``at_to``, days in
the CRM's zone). The form — customer, 联系方式, time (now unless typed), contact and
opportunity (the customer's; ``activity_form.js`` reloads them when the customer changes,
from :meth:`ActivityView.choices`), content, next follow-up — goes to crmkit as typed:
every refusal comes back beside its field, nothing written. A customer stays its
activity's customer (crmkit's rule): the edit form shows it, disabled.

**跟进统计** (``/follow-up-statistics/``): ``s.activities.statistics`` over a period —
follow-ups per salesperson, customers ranked by the contacts made, per 联系方式 and per
month — as the shared bar charts (``crm/bar_chart.html``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any, ClassVar

from flask import flash, g, request
from flask.typing import ResponseReturnValue
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import Form

import crmkit
from admin import context
from admin.base import ListFilter, user_name, user_names
from admin.entity import choice, long_text, text
from admin.forms import options, refusal
from admin.i18n import entity_labels, enum_label, show
from admin.views.customers import customer_names, json_response
from admin.views.follow_up import (
    aside,
    contact_names,
    customer_opportunities,
    day_start,
    excerpt,
    follow_up_state,
    form_time,
    kind_pairs,
    now_text,
    opportunity_titles,
    typed_day,
)
from admin.views.receivables import salesperson_pairs
from admin.views.sales import SalesView, customer_choices, customer_name
from admin.views.statistics import TOP, Bar, Chart, widths

# The date range of the list: URL filter → which end of the ``at`` range it sets.
RANGE = {"at_from": "at__ge", "at_to": "at__lt"}


def follow_up_pairs() -> list[tuple[str, Any]]:
    """跟进状态 for the list's filter."""
    return [
        ("due", _l("Due today or overdue")),
        ("waiting", _l("Waiting for a follow-up")),
        ("done", _l("Followed up")),
    ]


def no_choices() -> list[tuple[str, str]]:
    """Filled per form: the chosen customer's contacts and opportunities."""
    return []


def contact_pairs(s: crmkit.Session, customer_id: str) -> list[tuple[str, str]]:
    """``(id, name)`` of a customer's contacts (their title beside the name)."""
    if not customer_id:
        return []
    try:
        found = s.contacts.list(customer_id=customer_id, limit=100).items
    except crmkit.CRMError:
        return []
    return [(c.id, f"{c.name}（{c.title}）" if c.title else c.name) for c in found]


def bad_day(raw: str) -> None:
    flash(_("“%(day)s” is not a date (e.g. 2026-06-30).", day=raw[:30]), "error")


class ActivityView(SalesView):
    """联系记录: the list with its filters, the form, an activity's page."""

    service_name = "activities"
    permission = "activity"
    list_fields = (
        "at", "customer_id", "kind", "content", "contact_id", "opportunity_id", "owner_id",
        "next_follow_up", "followed_up", "created_at",
    )  # fmt: skip
    default_columns = (
        "at", "customer_id", "kind", "content", "owner_id", "next_follow_up", "followed_up",
    )  # fmt: skip
    detail_fields = (
        "customer_id", "at", "kind", "contact_id", "opportunity_id", "content", "owner_id",
        "next_follow_up", "followed_up", "created_at", "updated_at",
    )  # fmt: skip
    field_labels: ClassVar[Mapping[str, Any]] = entity_labels(
        "activity", "kind", "owner_id", "at", "content", "contact_id", "next_follow_up",
        "followed_up",
    )  # fmt: skip
    form_fields = (
        choice("customer_id", customer_choices, name_of=customer_name),
        choice("kind", kind_pairs, default=crmkit.ActivityKind.CALL.value),
        text("at", description=_l("e.g. 2026-06-30 14:30; empty: now")),
        choice("contact_id", no_choices),
        choice("opportunity_id", no_choices),
        long_text("content"),
        text("next_follow_up", description=_l("e.g. 2026-06-30; empty: none")),
    )
    details_template = "crm/activity_details.html"
    create_template = "crm/activity_create.html"

    # -- the list ---------------------------------------------------------------------------
    def list_filters(self) -> list[ListFilter]:
        return [
            ListFilter("customer_id", self.label("customer_id"), customer_choices),
            ListFilter("kind", self.label("kind"), kind_pairs),
            ListFilter("owner_id", _l("Salesperson"), salesperson_pairs),
            ListFilter("follow_up", _l("Follow-up status"), follow_up_pairs),
            ListFilter("at_from", _l("From"), placeholder="2026-01-01"),
            ListFilter("at_to", _l("To"), placeholder="2026-01-31"),
        ]

    def service_filters(self, s: crmkit.Session, filters: Mapping[str, str]) -> dict[str, Any]:
        """跟进状态 and the date range as crmkit's keywords (a day that is not one is left
        out: :meth:`list_context` says so)."""
        found: dict[str, Any] = {
            k: v for k, v in filters.items() if k not in RANGE and k != "follow_up"
        }
        state = filters.get("follow_up")
        if state == "due":
            found.update(followed_up=False, next_follow_up__le=s.today())
        elif state == "waiting":
            found.update(followed_up=False, next_follow_up__null=False)
        elif state == "done":
            found["followed_up"] = True
        for name, keyword in RANGE.items():
            day = typed_day(filters.get(name, ""))
            if day is not None:  # the end day counts whole: before the next day starts
                found[keyword] = day_start(day + timedelta(days=1 if name == "at_to" else 0))
        return found

    def list_context(self, s: crmkit.Session, filters: Mapping[str, str]) -> dict[str, Any]:
        for name in RANGE:
            if filters.get(name) and typed_day(filters[name]) is None:
                bad_day(filters[name])
        return {}

    def create_args(self, filters: Mapping[str, str]) -> dict[str, str]:
        return {"customer_id": filters["customer_id"]} if "customer_id" in filters else {}

    def prepare_rows(self, s: crmkit.Session, models: Sequence[Any]) -> None:
        super().prepare_rows(s, models)
        contact_names(s, [m.contact_id for m in models])
        opportunity_titles(s, [m.opportunity_id for m in models])
        g.today = s.today()

    def show_kind(self, model: crmkit.Activity) -> str:
        return enum_label(model.kind)

    def show_content(self, model: crmkit.Activity) -> str:
        return excerpt(model.content)

    def show_contact_id(self, model: crmkit.Activity) -> str:
        names: dict[str, str] = g.get("contact_names") or {}
        return names.get(model.contact_id or "", "")

    def show_opportunity_id(self, model: crmkit.Activity) -> str:
        titles: dict[str, str] = g.get("opportunity_titles") or {}
        return titles.get(model.opportunity_id or "", "")

    def show_next_follow_up(self, model: crmkit.Activity) -> str:
        state = follow_up_state(model, g.get("today") or context.now().date())
        if state is None:
            return ""
        return show(model.next_follow_up) + aside(state.text)

    def record_name(self, model: Any) -> str:
        a: crmkit.Activity = model
        return f"{customer_name(a.customer_id)} {enum_label(a.kind)} {show(a.at)}".strip()

    # -- the page ---------------------------------------------------------------------------
    def details_context(self, s: crmkit.Session, model: Any) -> dict[str, Any]:
        a: crmkit.Activity = model
        state = follow_up_state(a, s.today())
        return {"customer_id": a.customer_id, "state": state}

    # -- the forms --------------------------------------------------------------------------
    def form_data(self, model: Any) -> dict[str, Any]:
        data = super().form_data(model)
        data["at"] = form_time(model.at)
        return data

    def create_form(self, obj: Any = None) -> Form:
        form = super().create_form(obj)
        if request.method == "GET":
            form.at.data = now_text()
            customer = request.args.get("customer_id", "")[:60]
            if customer:
                form.customer_id.data = customer
        return form

    def edit_form(self, obj: Any = None) -> Form:
        form = super().edit_form(obj)
        form.customer_id.render_kw = {"disabled": True}  # crmkit keeps an activity's customer
        return form

    def fill_choices(self, form: Form, model: Any | None) -> None:
        """The customer's contacts and opportunities (the one edited, posted or asked for
        in the URL); a value held that is no longer among them stays offered."""
        super().fill_choices(form, model)
        if model is not None:
            customer = model.customer_id
        elif request.method == "POST":
            customer = request.form.get("customer_id", "")[:60]
        else:
            customer = request.args.get("customer_id", "")[:60]
        with context.work() as s:
            contacts = contact_pairs(s, customer)
            deals = customer_opportunities(s, customer) if customer else []
            if model is not None:
                held_contact = contact_names(s, [model.contact_id]).get(model.contact_id or "")
                held_deal = opportunity_titles(s, [model.opportunity_id]).get(
                    model.opportunity_id or ""
                )
                if model.contact_id and model.contact_id not in dict(contacts):
                    contacts.append((model.contact_id, held_contact or "—"))
                if model.opportunity_id and model.opportunity_id not in dict(deals):
                    deals.append((model.opportunity_id, held_deal or "—"))
        form.contact_id.choices = options(contacts, blank=True)
        form.opportunity_id.choices = options(deals, blank=True)

    def changes(self, form: Form, model: Any | None) -> dict[str, Any]:
        fields = super().changes(form, model)
        if model is not None:
            fields.pop("customer_id", None)
        return fields

    @expose("/choices/")
    def choices(self) -> ResponseReturnValue:
        """A customer's contacts and opportunities (JSON for ``activity_form.js``)."""
        customer = request.args.get("customer_id", "").strip()[:60]
        with context.work() as s:
            contacts = contact_pairs(s, customer)
            deals = customer_opportunities(s, customer) if customer else []
        return json_response(
            {
                "contacts": [{"id": i, "name": n} for i, n in contacts],
                "opportunities": [{"id": i, "name": n} for i, n in deals],
            }
        )


# -- 跟进统计 ---------------------------------------------------------------------------------
def count_chart(
    id: str, caption: str, header: str, rows: Sequence[crmkit.ActivityCount], name: Any
) -> Chart:
    shown = list(rows)
    sizes = widths([float(r.count) for r in shown])
    return Chart(
        id=id,
        caption=caption,
        headers=(header, _("Contacts made")),
        bars=tuple(
            Bar(name(r.key), w, (f"{r.count:,}",)) for r, w in zip(shown, sizes, strict=True)
        ),
        note="" if shown else _("No contact in the period."),
    )


class FollowUpStatisticsView(BaseView):
    """跟进统计: follow-ups per salesperson, customers ranked by contacts made, per
    联系方式 and per month, over a period (days; empty: all time)."""

    def is_accessible(self) -> bool:
        return g.get("user") is not None and context.can("activity.read")

    @expose("/")
    def index(self) -> ResponseReturnValue:
        raw_start = request.args.get("start", "").strip()[:20]
        raw_end = request.args.get("end", "").strip()[:20]
        start, end = typed_day(raw_start), typed_day(raw_end)
        for raw, day in ((raw_start, start), (raw_end, end)):
            if raw and day is None:
                bad_day(raw)
        charts: list[Chart] = []
        ranked_note = ""
        try:
            with context.work() as s:
                charts, ranked_note = self.charts(s, start, end)
        except crmkit.CRMError as exc:
            flash(refusal(exc), "error")
        return self.render(
            "crm/follow_up_statistics.html",
            charts=charts,
            ranked_note=ranked_note,
            start=raw_start,
            end=raw_end,
        )

    def charts(
        self, s: crmkit.Session, start: date | None, end: date | None
    ) -> tuple[list[Chart], str]:
        user_names(s)
        stats = s.activities.statistics
        by_owner = stats("owner", start=start, end=end)
        by_customer = stats("customer", start=start, end=end)
        shown = by_customer[:TOP]
        names = customer_names(s, [r.key for r in shown if r.key])
        note = (
            _("The first %(n)s of %(total)s.", n=TOP, total=len(by_customer))
            if len(by_customer) > TOP
            else ""
        )
        return [
            count_chart(
                "chart-follow-up-owners",
                _("Follow-ups by salesperson"),
                _("Salesperson"),
                by_owner,
                lambda key: user_name(key) or "—",
            ),
            count_chart(
                "chart-follow-up-customers",
                _("Customers by contacts made"),
                _("Customer"),
                shown,
                lambda key: names.get(key or "", "") or "—",
            ),
            count_chart(
                "chart-follow-up-kinds",
                _("Contacts by type"),
                _("Contact type"),
                stats("kind", start=start, end=end),
                lambda key: enum_label(crmkit.ActivityKind(key)) if key else "—",
            ),
            count_chart(
                "chart-follow-up-months",
                _("Contacts by month"),
                _("Month"),
                stats("month", start=start, end=end),
                lambda key: key or "—",
            ),
        ], note


__all__ = ["ActivityView", "FollowUpStatisticsView"]
