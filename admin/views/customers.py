"""Customers: list with search, filters and saved queries; forms; detail; export."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from flask import Response, abort, flash, g, redirect, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_admin import expose
from flask_admin.helpers import get_redirect_target
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import Form, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

import crmkit
from admin import context, limits
from admin.base import (
    ListFilter,
    ServiceModelView,
    all_pages,
    query_args,
    user_name,
    user_names,
)
from admin.forms import RenderedByHiddenTag, Section, SecureForm, options, refusal
from admin.history import history_rows
from admin.i18n import current_lang, entity_labels, enum_label, labels, show
from crmkit import display


def enum_pairs(values: Any) -> list[tuple[str, Any]]:
    """``(value, label)`` for an enum, labels translated when rendered."""
    return [(v.value, LazyString(enum_label, v)) for v in values]


def lazy_choices(values: Any, *, blank: bool = False) -> list[SelectChoice]:
    """Select options for an enum whose labels translate when rendered."""
    return options(enum_pairs(values), blank=blank)


class CustomerForm(SecureForm):
    """Every field a person edits; crmkit validates them all (``validate_choice=False``)."""

    kind = SelectField(_l("Kind"), choices=lazy_choices(crmkit.CustomerKind), validate_choice=False)
    name = StringField(_l("Name"))
    category = SelectField(
        _l("Customer category"), choices=lazy_choices(crmkit.Category), validate_choice=False
    )
    channel_type = SelectField(
        _l("Channel type"), choices=lazy_choices(crmkit.ChannelType), validate_choice=False
    )
    owner_id = SelectField(_l("Owner"), choices=[], validate_choice=False)
    mobile = StringField(_l("Mobile"))
    phone = StringField(_l("Phone"))
    email = StringField(_l("Email"))
    region = StringField(
        _l("Region"), description=_l("Province/city/district, e.g. 山东省/青岛市/市南区")
    )
    address = StringField(_l("Address"))
    source = StringField(_l("Source"))
    industry = StringField(_l("Industry"))
    tags = StringField(_l("Tags"), description=_l("Separate tags with commas"))
    credit_rating = SelectField(
        _l("Credit rating"),
        choices=options([(r.value, r.value) for r in crmkit.CreditRating], blank=True),
        validate_choice=False,
    )
    settlement = SelectField(
        _l("Settlement"), choices=lazy_choices(crmkit.Settlement), validate_choice=False
    )
    credit_limit = StringField(_l("Credit limit"))
    uscc = StringField(_l("Unified social credit code"))
    id_type = SelectField(
        _l("ID type"),
        choices=lazy_choices(crmkit.IdType, blank=True),
        validate_choice=False,
        description=_l("Resident identity card unless another is chosen"),
    )
    id_number = StringField(
        _l("ID number"),
        description=_l(
            "The identity document's number (resident identity card number), individuals only"
        ),
    )
    remarks = TextAreaField(_l("Remarks"))
    version = HiddenField()


# The long form in four sections (Flask-Admin form rules); every field of CustomerForm is
# in exactly one of them (Flask-Admin drops a field no rule names).
FORM_SECTIONS = (
    Section(
        "basic",
        _l("Basic information"),
        (
            "kind",
            "name",
            "uscc",
            "id_type",
            "id_number",
            "category",
            "channel_type",
            "owner_id",
        ),
    ),
    Section("contact", _l("Contact details"), ("mobile", "phone", "email", "region", "address")),
    Section(
        "business",
        _l("Business information"),
        ("source", "industry", "tags", "credit_rating", "settlement", "credit_limit"),
    ),
    Section("other", _l("Other"), ("remarks",)),
    RenderedByHiddenTag("csrf_token", "version"),
)

COLUMNS = labels(
    "name", "kind", "category", "channel_type", "owner_id", "co_owner_ids", "region", "mobile",
    "phone", "email", "source", "industry", "tags", "credit_rating", "settlement",
    "credit_limit", "uscc", "id_type", "id_number", "address", "remarks", "created_at",
    "updated_at",
)  # fmt: skip


def owner_pairs() -> list[tuple[str, str]]:
    """Users the logged-in user may hand a customer to: admins anyone, managers their team,
    salespeople themselves (crmkit enforces it; the list just avoids offering the rest)."""
    user = context.current_user()
    seen: tuple[crmkit.User, ...] | None = g.get("all_users")  # the list read them already
    if user.role is crmkit.Role.ADMIN and seen is not None:
        users = [u for u in seen if not u.is_deleted]
    elif user.role is crmkit.Role.SALES:
        users = [user]
    else:
        with context.work() as s:
            if user.role is crmkit.Role.ADMIN:
                users = _all_users(s)
            elif user.role is crmkit.Role.MANAGER:
                users = [user, *s.users.subordinates(user.id)]
            else:
                users = [user]
    return [(u.id, f"{u.name} ({u.login})") for u in users if u.active]


def _all_users(s: crmkit.Session) -> list[crmkit.User]:
    users: list[crmkit.User] = all_pages(lambda after: s.users.list(after=after, limit=200))
    return users


class CustomerView(ServiceModelView):
    """客户: every read and write through ``session.customers``."""

    service_name = "customers"
    model_class = crmkit.Customer
    columns = COLUMNS
    default_columns = ("name", "category", "owner_id", "region", "mobile", "source", "created_at")
    searchable = True
    form = CustomerForm
    details_template = "crm/customer_details.html"
    create_template = "crm/customer_create.html"
    edit_template = "crm/customer_edit.html"
    form_rules = FORM_SECTIONS

    def scaffold_form(self) -> type[Form]:
        return CustomerForm

    def render(self, template: str, **kwargs: Any) -> str:
        kwargs.setdefault("reason_texts", lambda codes: [reason_text(c) for c in codes])
        return str(super().render(template, **kwargs))

    def list_filters(self) -> list[ListFilter]:
        filters = [
            ListFilter("category", _l("Customer category"), lambda: enum_pairs(crmkit.Category)),
            ListFilter("kind", _l("Kind"), lambda: enum_pairs(crmkit.CustomerKind)),
            ListFilter("channel_type", _l("Channel type"), lambda: enum_pairs(crmkit.ChannelType)),
            ListFilter("region", _l("Region"), placeholder="山东省/青岛市"),
            ListFilter("source", _l("Source")),
            ListFilter("tag", _l("Tag")),
            ListFilter("created_from", _l("Created from"), placeholder="2026-01-01"),
            ListFilter("created_to", _l("Created before"), placeholder="2026-02-01"),
        ]
        if context.current_user().role is not crmkit.Role.SALES:
            filters.insert(3, ListFilter("owner_id", _l("Owner"), owner_pairs))
        return filters

    def create_form(self, obj: Any = None) -> Form:
        form = super().create_form(obj)
        form.owner_id.choices = options(owner_pairs())
        if request.method == "GET":
            form.owner_id.data = context.current_user().id
        offer_dictionary(form, None)
        return form

    def edit_form(self, obj: Any = None) -> Form:
        form = super().edit_form(obj)
        pairs = owner_pairs()
        if obj is not None and obj.owner_id and obj.owner_id not in dict(pairs):
            pairs.append((obj.owner_id, user_name(obj.owner_id)))  # keep showing who owns it
        form.owner_id.choices = options(pairs, blank=True)
        offer_dictionary(form, obj)
        return form

    def form_data(self, model: Any) -> dict[str, Any]:
        c: crmkit.Customer = model
        return {
            "kind": c.kind.value,
            "name": c.name,
            "category": c.category.value,
            "channel_type": c.channel_type.value,
            "owner_id": c.owner_id or "",
            "mobile": c.mobile.national if c.mobile else "",
            "phone": c.phone.national if c.phone else "",
            "email": c.email.value if c.email else "",
            "region": c.region.path if c.region else "",
            "address": c.address or "",
            "source": c.source or "",
            "industry": c.industry or "",
            "tags": ", ".join(c.tags),
            "credit_rating": c.credit_rating.value if c.credit_rating else "",
            "settlement": c.settlement.value,
            "credit_limit": str(c.credit_limit.amount) if c.credit_limit else "",
            "uscc": c.uscc.value if c.uscc else "",
            # the whole number to edit (the list, the details and exports show it masked)
            "id_number": c.id_number.value if c.id_number else "",
            "id_type": c.id_type.value if c.id_type else "",
            "remarks": c.remarks or "",
            "version": c.version,
        }

    def changes(self, form: Form, model: Any | None) -> dict[str, Any]:
        fields = super().changes(form, model)
        if "tags" in fields:
            tags = fields["tags"] or ""
            fields["tags"] = [t.strip() for t in tags.replace("，", ",").split(",") if t.strip()]
        return fields

    def guard(self, write: Callable[[crmkit.Session], Any]) -> Callable[[crmkit.Session], Any]:
        """A blocked save keeps crmkit's matches for the form's panel."""
        return keep_duplicates(write)

    @expose("/similar")
    def similar(self) -> ResponseReturnValue:
        """Customers like the form's fields so far (JSON for ``similar.js``), best first.

        crmkit searches the whole store so a salesperson learns who already works a
        company; of a customer the user may not open, only its name, owner, score and
        reasons are sent (no id, no link, no other field). So that nobody pages through the
        whole store this way, crmkit audits every lookup and each user has a rate limit
        (``ADMIN_SIMILAR_RATE_PER_USER``): over it, 429 and no matches.
        """
        if not limits.allow(
            "ADMIN_SIMILAR_RATE_PER_USER", context.current_user().id, context.now()
        ):
            limited = json_response(
                {"matches": [], "error": _("Too many lookups. Please wait a while and try again.")}
            )
            limited.status_code = 429
            return limited
        fields = {
            k: v.strip()[:200] for k in SIMILAR_FIELDS if (v := request.args.get(k, "")).strip()
        }
        exclude = request.args.get("exclude") or None  # the customer being edited
        found: list[crmkit.DuplicateMatch] = []
        if set(fields) - {"kind"}:
            try:
                with context.work() as s:
                    found = s.customers.find_similar(
                        limit=SIMILAR_LIMIT + (1 if exclude else 0), **fields
                    )
            except crmkit.CRMError:
                found = []  # a hint only: the save itself reports every problem
        matches = [similar_json(m) for m in found if m.id != exclude][:SIMILAR_LIMIT]
        return json_response({"matches": matches})

    @expose("/regions")
    def regions(self) -> ResponseReturnValue:
        """The divisions below ``?code=`` (the provinces without one) as ``[{code, name}]``,
        for the form's 省/市/区县 selects (``region.js``); 404 for a code not in the table.

        The GB/T 2260 table ships with crmkit and does not change while the app runs, so
        browsers keep each answer for a day (private: it is behind the login).
        """
        try:
            found = crmkit.Region.children(request.args.get("code", "").strip()[:12] or None)
        except crmkit.ValidationError as exc:
            missing = json_response({"error": exc.errors[0].message(current_lang())})
            missing.status_code = 404
            return missing
        response = json_response([{"code": r.code, "name": r.name} for r in found])
        response.headers["Cache-Control"] = f"private, max-age={REGIONS_MAX_AGE}"
        return response

    def show_owner_id(self, c: crmkit.Customer) -> str:
        return user_name(c.owner_id)

    def show_co_owner_ids(self, c: crmkit.Customer) -> str:
        return ", ".join(user_name(u) for u in c.co_owner_ids)

    def extra_list_links(self, filters: Mapping[str, str]) -> list[tuple[str, str]]:
        return [
            (str(_l("Export CSV")), url_for(".export", fmt="csv", **query_args(filters))),
            (str(_l("Export XLSX")), url_for(".export", fmt="xlsx", **query_args(filters))),
        ]

    @expose("/export/<fmt>")
    def export(self, fmt: str) -> ResponseReturnValue:
        """The customers of the current filters that the user may see, formula-safe."""
        if fmt not in {"csv", "xlsx"}:
            abort(404)
        kind: Literal["csv", "xlsx"] = "xlsx" if fmt == "xlsx" else "csv"
        buffer = io.BytesIO()
        try:
            with context.work() as s:
                filters: dict[str, Any] = dict(self.current_filters())
                s.customers.export(buffer, format=kind, **filters)
        except crmkit.ValidationError as exc:
            flash(exc.message(), "error")
            return redirect(url_for(".index_view"))
        buffer.seek(0)
        mimetype = (
            "text/csv"
            if fmt == "csv"
            else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        return send_file(
            buffer, mimetype=mimetype, as_attachment=True, download_name=f"customers.{fmt}"
        )

    @expose("/details/")
    def details_view(self) -> ResponseReturnValue:
        """One customer with its contacts, co-owners, activity timeline and history."""
        id = request.args.get("id") or abort(404)
        return self.page(id)

    def page(
        self,
        id: str,
        *,
        activity_values: Mapping[str, str] | None = None,
        activity_errors: Mapping[str, list[str]] | None = None,
    ) -> ResponseReturnValue:
        """The customer's page; ``activity_values`` and ``activity_errors``: a 记录联系
        crmkit refused, shown again with each message under its field."""
        from admin.views import follow_up, messaging, sfa

        model = self.get_one(id)
        with context.work() as s:
            contacts = s.contacts.list(customer_id=id, limit=100).items
            history = history_rows(s, s.audit.history(id))
            user_names(s)
            pending = s.customers.co_ownership_requests(
                status=crmkit.RequestStatus.PENDING, customer_id=id, limit=100
            ).items
            activities = follow_up.timeline(s, id)
            deals = follow_up.customer_opportunities(s, id)
            enrolments = sfa.customer_enrolments(s, id)
            may_enrol = context.can("sfa_enrolment.create")
            plans = sfa.plan_pairs(s, enabled_only=True) if may_enrol else []
            messages = messaging.customer_messages(s, id)
        return self.render(
            self.details_template,
            model=model,
            details_columns=list(COLUMNS.items()),
            get_value=lambda m, c: self.display(m, c),
            contacts=contacts,
            history=history,
            pending_requests=len(pending),
            show=show,
            delete_form=self.delete_form(),
            return_url=get_redirect_target() or url_for(".index_view"),
            timeline=activities,
            may_read_activities=context.can("activity.read"),
            may_record=context.can("activity.create"),
            may_task=context.can("task.create"),
            activity_kinds=[(v, str(label)) for v, label in follow_up.kind_pairs()],
            activity_contacts=[(c.id, c.name) for c in contacts],
            activity_deals=deals,
            activity_values=activity_values or follow_up.quick_values(),
            activity_errors=activity_errors or {},
            activity_labels=entity_labels("activity", *follow_up.QUICK_FIELDS),
            enrolments=enrolments,
            may_read_enrolments=context.can("sfa_enrolment.read"),
            may_enrol=may_enrol,
            sfa_plans=plans,
            enrolment_labels=entity_labels("sfa_enrolment", *ENROLMENT_COLUMNS),
            messages=messages,
            may_read_messages=context.can("message.read"),
            may_text=context.can("message.send"),
        )

    @expose("/activity/", methods=("POST",))
    def record_activity(self) -> ResponseReturnValue:
        """记录联系 from the customer's page: ``s.activities.create`` with the quick form's
        fields (the time empty: now). A refusal comes back on the page, every message under
        its field and the input kept; nothing is written."""
        from admin.views import follow_up

        id = request.form.get("customer_id", "")[:60] or abort(404)
        values = follow_up.quick_values(request.form)
        fields = {k: v for k, v in values.items() if v}
        try:
            with context.work() as s:
                s.activities.create(customer_id=id, **fields)
        except crmkit.ValidationError as exc:
            flash(exc.message(), "error")
            errors: dict[str, list[str]] = {}
            for e in exc.errors:
                key = e.field if e.field in follow_up.QUICK_FIELDS else "content"
                errors.setdefault(key, []).append(e.message() if key == e.field else e.describe())
            return self.page(id, activity_values=values, activity_errors=errors)
        except crmkit.NotFound:
            abort(404)
        except crmkit.CRMError as exc:
            flash(refusal(exc), "error")
        else:
            flash(_("The contact is recorded."), "success")
        return redirect(url_for(".details_view", id=id) + "#timeline")


# A customer's enrolments on its page: the columns, by crmkit's labels.
ENROLMENT_COLUMNS = (
    "plan_id", "status", "next_due_at", "executed", "skipped", "anchor", "start_step",
)  # fmt: skip

# Customer fields whose choices the data dictionary (数据字典) may fix: field -> list.
DICTIONARY_SELECTS = {"source": "source", "industry": "industry"}


def offer_dictionary(
    form: Form, customer: Any | None, selects: Mapping[str, str] = DICTIONARY_SELECTS
) -> None:
    """Source and industry become selects of the data dictionary's choices once an admin
    gave their list any (crmkit then refuses other values); a customer's older value stays
    offered. Open lists stay free text."""
    with context.work() as s:
        vocabulary = s.vocabulary()
    for name, list_code in selects.items():
        values = list(vocabulary.values.get(list_code, ()))
        if not values:
            continue
        held = getattr(customer, name, None)
        if held and held not in values:
            values.append(held)
        old = form[name]
        select = SelectField(
            old.label.text,
            choices=options([(v, v) for v in values], blank=True),
            validate_choice=False,
            description=old.description,
        ).bind(form=form, name=name, prefix=form._prefix)
        select.process(request.form if request.method == "POST" else None, old.data)
        form._fields[name] = select
        setattr(form, name, select)


def customer_names(s: crmkit.Session, ids: Sequence[str]) -> dict[str, str]:
    """Names of the customers ``ids`` the user may see (others are left out)."""
    names: dict[str, str] = {}
    for cid in dict.fromkeys(ids):
        try:
            names[cid] = s.customers.get(cid, include_deleted=True).name
        except crmkit.NotFound:
            continue
    return names


# -- similar customers and blocked saves -----------------------------------------------------

SIMILAR_LIMIT = 5  # the seeds: up to five similar customers while typing
SIMILAR_FIELDS = ("kind", "name", "mobile", "phone", "email", "uscc", "address", "region")
REGIONS_MAX_AGE = 86400  # seconds a browser keeps one level of the region picker


def reason_text(code: str) -> str:
    """A matcher reason (``name≈0.90``, ``phone=``) in words, by crmkit's display layer."""
    return display.reason(code, current_lang())


def similar_json(m: crmkit.DuplicateMatch) -> dict[str, Any]:
    """What the live panel shows of one match; the id and link only if the user may open it."""
    out: dict[str, Any] = {
        "name": m.name,
        "owner": m.owner_name or "",
        "score": round(m.score, 2),
        "score_text": display.score(m.score),
        "reasons": [reason_text(r) for r in m.reasons],
        "visible": m.visible,
    }
    if m.visible:
        out["id"] = m.id
        out["url"] = url_for("customers.details_view", id=m.id)
    return out


def json_response(data: Any) -> Response:
    """JSON with ``<``, ``>`` and ``&`` escaped (customer names are user input: the body
    can never be read as markup), not cached (it holds customer data)."""
    body = (
        json.dumps(data, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def keep_duplicates(write: Callable[[crmkit.Session], Any]) -> Callable[[crmkit.Session], Any]:
    """``write``, keeping a ``DuplicateError``'s matches in ``g.duplicate`` for the form
    (the error still ends the unit of work: nothing is written)."""

    def run(s: crmkit.Session) -> Any:
        try:
            return write(s)
        except crmkit.DuplicateError as exc:
            g.duplicate = exc
            raise

    return run
