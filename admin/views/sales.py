"""销售: opportunities, leads and quotes, each a declaration on
:class:`admin.entity.EntityModelView` over ``session.opportunities``, ``leads`` and
``quotes``, with their moves (win, lose, convert, send …) as buttons on the detail page;
the opportunities' board (:mod:`admin.views.pipeline`) and the quote builder and print
view (:mod:`admin.views.quote_builder`) are mixed into their views; orders are
:mod:`admin.views.orders`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from flask import flash, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import Form

import crmkit
from admin import context
from admin.base import ListFilter, user_name
from admin.entity import EntityModelView, choice, long_text, money, rate, text
from admin.forms import refusal
from admin.i18n import current_lang, enum_label, show
from admin.printing import document_label
from admin.views.customers import customer_names, enum_pairs, offer_dictionary, owner_pairs
from admin.views.pipeline import PipelineBoard, stage_history
from admin.views.quote_builder import QuoteBuilder

# A select is no place for a whole customer base: the newest this many are offered (a
# salesperson's own book fits; a large store's admin opens a deal from the customer's page).
CUSTOMER_CHOICES = 500


def customer_choices(held: str | None = None) -> list[tuple[str, str]]:
    """``(id, name)`` of the newest live customers the user may see (at most
    :data:`CUSTOMER_CHOICES`), by name; with ``held`` (the customer a form already names),
    that customer too, if the user may see it."""
    if g.get("customer_choices") is None:
        with context.work() as s:
            found = s.customers.list(limit=CUSTOMER_CHOICES).items
        g.customer_choices = sorted(((c.id, c.name) for c in found), key=lambda p: p[1])
    choices = list(g.customer_choices)
    if held and held not in dict(choices):
        with context.work() as s:
            name = customer_names(s, [held]).get(held)
        if name is not None:
            choices.append((held, name))
    return choices


def customer_name(customer_id: str | None) -> str:
    """A customer's name, read in :meth:`SalesView.prepare_rows` (empty if out of sight)."""
    names: dict[str, str] = g.get("customer_names") or {}
    return names.get(customer_id or "", "")


# The pipeline is the CRM's configuration: read from it, not through a unit of work (the
# list shows a stage on every row).
def stage_choices() -> list[tuple[str, str]]:
    """The pipeline's open stages, labelled in the user's language."""
    return context.crm().pipeline.choices(current_lang())


def stage_label(code: str) -> str:
    return context.crm().pipeline.label(code, current_lang())


def owner_choices() -> list[tuple[str, str]]:
    return owner_pairs()


def kinds() -> list[tuple[str, Any]]:
    return enum_pairs(crmkit.CustomerKind)


class SalesView(EntityModelView):
    """What the sales screens share: customer and owner names in cells, a status filter."""

    statuses: ClassVar[Callable[[], Sequence[tuple[str, Any]]] | None] = None

    def prepare_rows(self, s: crmkit.Session, models: Sequence[Any]) -> None:
        super().prepare_rows(s, models)
        ids = [m.customer_id for m in models if getattr(m, "customer_id", None)]
        g.customer_names = {**(g.get("customer_names") or {}), **customer_names(s, ids)}

    def list_filters(self) -> list[ListFilter]:
        found = super().list_filters()
        statuses = type(self).statuses
        if statuses is not None:
            found.insert(0, ListFilter("status", self.label("status"), statuses))
        return found

    def show_customer_id(self, model: Any) -> str:
        return customer_name(model.customer_id)

    def show_owner_id(self, model: Any) -> str:
        return user_name(model.owner_id)

    def show_status(self, model: Any) -> str:
        return enum_label(model.status)

    def record_name(self, model: Any) -> str:
        return str(getattr(model, "title", None) or getattr(model, "name", None) or "")

    def act(
        self,
        call: Callable[[crmkit.Session], Any],
        done: str,
        *,
        opened: Callable[[Any], str | None] | None = None,
    ) -> ResponseReturnValue:
        """Run one move as the user; crmkit's refusal is shown as a message. Then back to
        the record's page, or to ``opened(result)`` when it names a page (a new revision,
        an order made from a quote)."""
        try:
            with context.work() as s:
                result = call(s)
        except crmkit.ValidationError as exc:
            flash(exc.message(), "error")
        except crmkit.CRMError as exc:
            flash(refusal(exc, request.form.get("name", "")[:100]), "error")
        else:
            flash(done, "success")
            target = opened(result) if opened is not None else None
            if target:
                return redirect(target)
        return redirect(url_for(".details_view", id=request.form.get("id", "")))

    def perform(
        self,
        name: str,
        done: str,
        *,
        opened: Callable[[Any], str | None] | None = None,
        **kwargs: Any,
    ) -> ResponseReturnValue:
        """``<service>.<name>(id, version=, **kwargs)`` on the posted record (its id and
        version from the form), run by :meth:`act`."""
        id, version = request.form.get("id", ""), self.version()

        def call(s: crmkit.Session) -> Any:
            service = context.service(s, self.service_name)
            return getattr(service, name)(id, version=version, **kwargs)

        return self.act(call, done, opened=opened)

    def version(self) -> int | None:
        raw = request.form.get("version", "")
        return int(raw) if raw.isdigit() else None


def opportunity_statuses() -> list[tuple[str, Any]]:
    return enum_pairs(crmkit.OpportunityStatus)


class OpportunityView(PipelineBoard, SalesView):
    """销售机会: deals through ``session.opportunities``; the board by stage
    (``/opportunities/board/``); 赢单 / 输单, the stage history and the deal's quotes on the
    detail page."""

    service_name = "opportunities"
    permission = "opportunity"
    searchable = True
    search_placeholder = _l("Opportunity name")
    statuses = opportunity_statuses
    list_fields = (
        "title", "customer_id", "stage", "probability", "amount", "expected_close",
        "owner_id", "status", "budget", "next_step", "created_at",
    )  # fmt: skip
    default_columns = list_fields[:8]
    detail_fields = (
        *list_fields[:8], "need", "budget", "competitors", "next_step", "lost_reason",
        "closed_on", "created_at", "updated_at",
    )  # fmt: skip
    filter_fields = ("stage", "owner_id")
    field_labels: ClassVar[Mapping[str, Any]] = {"title": _l("Opportunity name")}
    form_fields = (
        choice("customer_id", customer_choices, name_of=customer_name),
        text("title"),
        long_text("need"),
        money("budget"),
        money("amount"),
        text("expected_close", description=_l("e.g. 2026-06-30")),
        choice("stage", stage_choices, name_of=stage_label),
        rate("probability", description=_l("Empty: the stage's probability")),
        text("competitors", description=_l("Separate names with commas")),
        text("next_step"),
        choice("owner_id", owner_choices, name_of=user_name),
    )
    details_template = "crm/opportunity_details.html"

    def show_stage(self, opp: crmkit.Opportunity) -> str:
        return stage_label(opp.stage)

    def extra_list_links(self, filters: Mapping[str, str]) -> list[tuple[str, str]]:
        owner = filters.get("owner_id")
        board = url_for(".board", owner_id=owner) if owner else url_for(".board")
        return [(_("Pipeline board"), board)]

    def details_context(self, s: crmkit.Session, model: Any) -> dict[str, Any]:
        """The stage history with the time in each stage, and the deal's quotes."""
        quotes: list[dict[str, str]] = []
        if context.can("quote.read"):
            quotes = [
                {
                    "id": q.id,
                    "number": document_label(q),
                    "status": enum_label(q.status),
                    "gross": show(q.gross),
                    "valid_until": show(q.valid_until),
                }
                for q in s.quotes.list(opportunity_id=model.id, limit=50).items
            ]
        return {
            **stage_history(s, model),
            "quotes": quotes,
            "can_create_quote": context.can("quote.create"),
        }

    def show_competitors(self, opp: crmkit.Opportunity) -> str:
        return "、".join(opp.competitors)

    def form_data(self, model: Any) -> dict[str, Any]:
        data = super().form_data(model)
        data["competitors"] = "、".join(model.competitors)
        return data

    def edit_form(self, obj: Any = None) -> Form:
        form = super().edit_form(obj)
        form.customer_id.render_kw = {"disabled": True}  # crmkit keeps a deal's customer
        return form

    def changes(self, form: Form, model: Any | None) -> dict[str, Any]:
        fields = super().changes(form, model)
        if model is not None:
            fields.pop("customer_id", None)
        return fields

    @expose("/win/", methods=("POST",))
    def win(self) -> ResponseReturnValue:
        return self.perform("win", _("Marked won."))

    @expose("/lose/", methods=("POST",))
    def lose(self) -> ResponseReturnValue:
        reason = request.form.get("reason", "").strip()[:200]
        return self.perform("lose", _("Marked lost."), reason=reason or None)


def lead_statuses() -> list[tuple[str, Any]]:
    return enum_pairs(crmkit.LeadStatus)


class LeadView(SalesView):
    """线索: leads through ``session.leads``; 转化 on the detail page."""

    service_name = "leads"
    permission = "lead"
    searchable = True
    statuses = lead_statuses
    list_fields = (
        "name", "kind", "contact_name", "mobile", "email", "source", "region", "owner_id",
        "status", "created_at",
    )  # fmt: skip
    default_columns = list_fields[:9]
    detail_fields = (
        *list_fields, "phone", "remarks", "disqualified_reason", "customer_id", "converted_at",
    )  # fmt: skip
    filter_fields = ("owner_id",)
    form_fields = (
        choice("kind", kinds, default="company"),
        text("name"),
        text("contact_name"),
        text("mobile"),
        text("phone"),
        text("email"),
        text("source"),
        text("region", description=_l("Province/city/district, e.g. 山东省/青岛市/市南区")),
        choice("owner_id", owner_choices, name_of=user_name),
        long_text("remarks"),
    )
    details_template = "crm/lead_details.html"

    def show_kind(self, lead: crmkit.Lead) -> str:
        return enum_label(lead.kind)

    def form_data(self, model: Any) -> dict[str, Any]:
        data = super().form_data(model)
        for key in ("mobile", "phone"):
            number = getattr(model, key)
            data[key] = number.national if number is not None else ""
        data["region"] = model.region.path if model.region else ""
        return data

    def create_form(self, obj: Any = None) -> Form:
        form = super().create_form(obj)
        offer_dictionary(form, None, selects={"source": "source"})
        return form

    def edit_form(self, obj: Any = None) -> Form:
        form = super().edit_form(obj)
        offer_dictionary(form, obj, selects={"source": "source"})
        return form

    @expose("/convert/", methods=("POST",))
    def convert(self) -> ResponseReturnValue:
        return self.perform("convert", _("Converted: the customer and its contact are created."))


def quote_statuses() -> list[tuple[str, Any]]:
    return enum_pairs(crmkit.QuoteStatus)


class QuoteView(QuoteBuilder, SalesView):
    """报价: quotes through ``session.quotes``: the list, the builder (lines with live
    totals, :class:`~admin.views.quote_builder.QuoteBuilder`), the detail page with its
    moves (send, accept, reject, revise, lines from a spreadsheet) and the print view."""

    service_name = "quotes"
    permission = "quote"
    statuses = quote_statuses
    list_fields = (
        "number", "customer_id", "status", "gross", "valid_until", "owner_id", "net", "tax",
        "created_at",
    )  # fmt: skip
    default_columns = list_fields[:6]
    detail_fields = (
        *list_fields[:5], "opportunity_id", "owner_id", "prices_include_tax", "net", "tax",
        "cost", "margin", "remarks", "created_at", "updated_at",
    )  # fmt: skip
    field_labels: ClassVar[Mapping[str, Any]] = {
        "number": _l("Quote number"),
        "margin": _l("Gross profit"),
    }
    details_template = "crm/quote_details.html"
