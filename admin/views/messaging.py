"""短信中心 and 消息记录: SMS and email to customers through ``session.messages``.

**短信中心** (``/sms/``, :class:`SmsCentreView`):

- 发送短信 (``/sms/``): to one customer (their mobile, else their primary contact's) or a
  number typed, from a template or a text written now, now or at a time (定时短信). The
  preview — the text as it goes out, with the signature and any opt-out line, its
  characters and billed segments — is crmkit's (``s.messages.preview``): ``sms_compose.js``
  asks ``POST /sms/preview`` as the user types, and 预览 shows it without scripts.
- 群发 (``/sms/group/``, ``message.group_send``: managers and admins): a template to the
  customers of a region, a tag, a salesperson, or whose birthday is today; the result counts
  what was queued and who was left out (no number, unsubscribed).
- 未发送 (``/sms/unsent/``): the messages that have not gone out — retrying, given up
  (重发) or in doubt (已发送 / 未发送, ``message.resolve``).
- 回复 (``/sms/replies/``): the replies customers sent (上行短信), and the form that records
  one (``message.receive``); ``T`` / ``退订`` unsubscribes its sender.
- 退订名单 (``/sms/opt-outs/``): the whole list in pages (``s.messages.opt_outs``), each
  number with its customer, searched by a number or part of one; add a number, take one off.

模板 (``/message_templates/``, :class:`MessageTemplateView`) and 消息记录 (``/messages/``,
:class:`MessageView`) are kernel-entity screens: the log with its delivery status from the
outbox (``s.messages.delivery``), attempts and the provider's last error.

Every refusal comes back beside its field, in the user's language; nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time
from typing import Any, ClassVar

import attrs
from flask import abort, flash, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import BaseView, expose
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import crmkit
from admin import context
from admin.auth import safe_next
from admin.base import ListFilter, query_args, user_name, user_names
from admin.entity import EntityModelView, choice, flag, long_text, text
from admin.forms import refusal
from admin.i18n import current_lang, entity_labels, enum_label, local_time, show
from admin.views.customers import customer_names, enum_pairs, json_response
from admin.views.follow_up import aside, crm_zone, excerpt, form_time, typed_day
from admin.views.receivables import salesperson_pairs
from admin.views.sales import SalesView, customer_choices, customer_name

REPLIES_PAGE = 50
OPT_OUT_PAGE = 50
UNSENT_ROWS = 200
SCAN_PAGES = 10  # a delivery-status filter reads at most this many pages of the log
# The variables a template may name (crmkit fills them), in each language's spelling.
TEMPLATE_VARIABLES = {
    "zh": "{客户名称} {联系人} {业务员} {业务员手机} {公司} {日期}",
    "en": "{name} {contact} {owner} {owner_mobile} {company} {date}",
}


# -- what several screens share --------------------------------------------------------------
def typed_time(raw: str) -> datetime | None:
    """A local time typed as ``2027-01-05 14:30`` (the CRM's zone); None if it is not one.

    crmkit's ``send_sms(at=)`` reads ISO text itself; the form keeps its own reading for
    what people type that ISO does not (``2027/1/5 9:30``), for the preview (which sends
    nothing, so crmkit never sees the time) and for the confirmation that names the time."""
    words = raw.strip().replace("T", " ").split()
    if len(words) != 2:
        return None
    day = typed_day(words[0])
    parts = words[1].split(":")
    if day is None or len(parts) != 2 or not all(p.isdigit() and len(p) <= 2 for p in parts):
        return None
    hour, minute = int(parts[0]), int(parts[1])
    if hour > 23 or minute > 59:
        return None
    return datetime.combine(day, time(hour, minute), tzinfo=crm_zone())


def address(recipient: str | None) -> str:
    """A number as people write it (``138 0013 8000``), an email address as it is."""
    if not recipient:
        return ""
    if recipient.startswith("+"):
        try:
            return show(crmkit.Phone.parse(recipient, "CN"))
        except crmkit.ValidationError:
            return recipient
    return recipient


def search_term(raw: str) -> tuple[str | None, crmkit.Phone | None]:
    """What the unsubscribe list is searched for: a whole number as crmkit stores it
    (E.164, and the number), an address or part of one in lower case, else the digits typed
    (part of a number: ``0013 8000``)."""
    typed = raw.strip()
    if not typed:
        return None, None
    try:
        number = crmkit.Phone.parse(typed, "CN")
    except crmkit.ValidationError:
        number = None
    if number is not None:
        return number.e164, number
    if "@" in typed:
        return typed.lower(), None
    digits = "".join(c for c in typed if c.isdigit())
    return (digits or typed.lower()), None


def sender_name(user_id: str | None) -> str:
    """Who sent a message: a user's name, or 系统 for what crmkit's jobs sent."""
    if user_id == crmkit.SYSTEM.id:
        return crmkit.display.system_actor(current_lang())
    return user_name(user_id)


def delivery_text(row: crmkit.OutboxMessage | None, now: datetime) -> str:
    """Where a message's delivery stands: 待发送 (with 重试中, or the time it waits for),
    已发送, 发送失败 …; empty for a message received."""
    if row is None:
        return ""
    label = enum_label(row.status)
    if row.status is crmkit.OutboxStatus.PENDING:
        if row.attempts:
            return label + aside(_("retrying"))
        if row.due_at is not None and row.due_at > now:
            return label + aside(_("from %(time)s", time=local_time(row.due_at)))
    return label


def variables_hint() -> str:
    """The template form's note on its variables, spelt in the user's language."""
    return _(
        "Variables: %(names)s. SMS start with the signature; marketing ones end with the "
        "opt-out line.",
        names=TEMPLATE_VARIABLES[current_lang()],
    )


def channel_pairs() -> list[tuple[str, Any]]:
    return enum_pairs(crmkit.Channel)


def source_pairs() -> list[tuple[str, Any]]:
    return enum_pairs(crmkit.MessageSource)


def direction_pairs() -> list[tuple[str, Any]]:
    return enum_pairs(crmkit.Direction)


def delivery_pairs() -> list[tuple[str, Any]]:
    return enum_pairs(crmkit.OutboxStatus)


def template_names(s: crmkit.Session) -> dict[str, str]:
    """Every template's code → name (cached per request: a log names many)."""
    cached: dict[str, str] | None = g.get("template_names")
    if cached is None:
        found = s.messages.templates.list(limit=500, deleted="include").items
        cached = {t.code: t.name for t in found}
        g.template_names = cached
    return cached


def template_pairs(
    s: crmkit.Session, channel: crmkit.Channel | None = None
) -> list[tuple[str, str]]:
    """``(code, name)`` of the live, active templates (of one channel)."""
    found = s.messages.templates.list(limit=500).items
    return [
        (t.code, t.name)
        for t in sorted(found, key=lambda t: t.name)
        if t.active and (channel is None or t.channel is channel)
    ]


def template_options(s: crmkit.Session) -> list[dict[str, str]]:
    """The active templates for a select that follows the channel: code, name, channel."""
    found = s.messages.templates.list(limit=500).items
    return [
        {"code": t.code, "name": t.name, "channel": t.channel.value}
        for t in sorted(found, key=lambda t: t.name)
        if t.active
    ]


def errors_by_field(
    exc: crmkit.ValidationError, fields: Sequence[str], aliases: Mapping[str, str] | None = None
) -> tuple[dict[str, list[str]], list[str]]:
    """crmkit's field errors on the form's fields (``aliases``: crmkit's name → the form's),
    and the rest described with their labels."""
    placed: dict[str, list[str]] = {}
    rest: list[str] = []
    for e in exc.errors:
        name = (aliases or {}).get(e.field, e.field)
        if name in fields:
            placed.setdefault(name, []).append(e.message())
        else:
            rest.append(e.describe())
    return placed, rest


def back_to(default: str) -> str:
    """The page a form came from (``next``), else ``default``."""
    target = request.values.get("next") or ""
    return safe_next(target) if target.startswith("/") else default


# -- 模板 --------------------------------------------------------------------------------
class MessageTemplateView(EntityModelView):
    """模板: SMS and email templates through ``session.messages.templates`` (admins and
    managers keep them, everyone reads them)."""

    service_name = "messages.templates"
    permission = "message_template"
    searchable = True
    search_placeholder = _l("Name or code")
    list_fields = (
        "name", "code", "channel", "marketing", "active", "body", "subject", "created_at",
        "updated_at",
    )  # fmt: skip
    default_columns = list_fields[:6]
    filter_fields = ("channel", "marketing", "active")
    field_labels: ClassVar[Mapping[str, Any]] = entity_labels("message_template", *list_fields)
    form_fields = (
        text(
            "code", description=_l("Letters, digits and dashes: SFA steps name the template by it")
        ),
        text("name"),
        choice("channel", channel_pairs, default="sms"),
        text("subject", description=_l("Email only")),
        long_text("body", description=LazyString(variables_hint)),
        flag(
            "marketing", description=_l("Marketing: not sent to unsubscribed numbers, nor at night")
        ),
        flag("active", default=True),
    )

    def show_body(self, model: crmkit.TemplateRecord) -> str:
        return excerpt(model.body)

    def show_channel(self, model: crmkit.TemplateRecord) -> str:
        return enum_label(model.channel)


# -- 消息记录 --------------------------------------------------------------------------
class MessageView(SalesView):
    """消息记录: every message the user may see (in their customers' scope), newest first,
    with its delivery status; a message's page has 重发 (given up) and 已发送 / 未发送 (in
    doubt)."""

    service_name = "messages"
    permission = "message"
    list_fields = (
        "at", "direction", "channel", "source", "customer_id", "recipient", "text", "delivery",
        "attempts", "last_error", "sent_at", "template", "subject", "marketing", "sent_by",
    )  # fmt: skip
    default_columns = list_fields[:10]
    detail_fields = list_fields
    field_labels: ClassVar[Mapping[str, Any]] = {
        **entity_labels("message", *list_fields),
        "delivery": _l("Delivery status"),
        "attempts": _l("Attempts"),
        "last_error": _l("Last error"),
    }
    details_template = "crm/message_details.html"

    def list_filters(self) -> list[ListFilter]:
        return [
            ListFilter("direction", self.label("direction"), direction_pairs),
            ListFilter("channel", self.label("channel"), channel_pairs),
            ListFilter("source", self.label("source"), source_pairs),
            ListFilter("status", _l("Delivery status"), delivery_pairs),
            ListFilter("customer_id", self.label("customer_id"), customer_choices),
        ]

    def extra_list_links(self, filters: Mapping[str, str]) -> list[tuple[str, str]]:
        links = []
        if context.can("message.send"):
            links.append(
                (_("Send SMS"), url_for("sms.index", customer_id=filters.get("customer_id")))
            )
        return links

    def count_is_cheap(self, s: crmkit.Session, filters: Mapping[str, str]) -> bool:
        return "status" in filters or super().count_is_cheap(s, filters)

    def count(self, s: crmkit.Session, **filters: Any) -> int | None:
        if "status" in filters:
            return None  # the status is the outbox's: the log cannot count by it
        return super().count(s, **filters)

    def fetch(
        self, s: crmkit.Session, *, after: str | None, limit: int, **filters: Any
    ) -> crmkit.Page[Any]:
        """A page of the log; with a delivery status, the messages of the next pages that
        have it (a few pages at most: the status lives in the outbox, not in the log)."""
        wanted = filters.pop("status", None)
        if not wanted:
            return super().fetch(s, after=after, limit=limit, **filters)
        found: list[crmkit.Message] = []
        cursor = after
        for _page in range(SCAN_PAGES):
            page = super().fetch(s, after=cursor, limit=limit, **filters)
            found += [m for m in page.items if s.messages.status(m) == wanted]
            cursor = page.next_after
            if cursor is None or len(found) >= limit:
                break
        return crmkit.Page(tuple(found), cursor)

    def prepare_rows(self, s: crmkit.Session, models: Sequence[Any]) -> None:
        super().prepare_rows(s, models)
        deliveries: dict[str, crmkit.OutboxMessage | None] = g.setdefault("deliveries", {})
        for m in models:
            deliveries[m.id] = s.messages.delivery(m)
        template_names(s)
        g.now = s.now()

    def delivery(self, model: crmkit.Message) -> crmkit.OutboxMessage | None:
        found: dict[str, crmkit.OutboxMessage | None] = g.get("deliveries") or {}
        return found.get(model.id)

    def show_direction(self, model: crmkit.Message) -> str:
        return enum_label(model.direction)

    def show_channel(self, model: crmkit.Message) -> str:
        return enum_label(model.channel)

    def show_source(self, model: crmkit.Message) -> str:
        return enum_label(model.source)

    def show_recipient(self, model: crmkit.Message) -> str:
        return address(model.recipient)

    def show_text(self, model: crmkit.Message) -> str:
        return excerpt(model.text, 120)

    def show_delivery(self, model: crmkit.Message) -> str:
        return delivery_text(self.delivery(model), g.get("now") or context.now())

    def show_attempts(self, model: crmkit.Message) -> str:
        row = self.delivery(model)
        return str(row.attempts) if row is not None and row.attempts else ""

    def show_last_error(self, model: crmkit.Message) -> str:
        row = self.delivery(model)
        if row is None or row.status is crmkit.OutboxStatus.SENT:
            return ""
        return excerpt(row.last_error or "", 80)

    def show_sent_at(self, model: crmkit.Message) -> str:
        row = self.delivery(model)
        return local_time(row.sent_at) if row is not None and row.sent_at else ""

    def show_template(self, model: crmkit.Message) -> str:
        names: dict[str, str] = g.get("template_names") or {}
        return names.get(model.template or "", model.template or "")

    def show_sent_by(self, model: crmkit.Message) -> str:
        return sender_name(model.sent_by)

    def record_name(self, model: Any) -> str:
        return f"{address(model.recipient)} {local_time(model.at)}"

    def details_context(self, s: crmkit.Session, model: Any) -> dict[str, Any]:
        row = self.delivery(model)
        status = row.status if row is not None else None
        in_doubt = status in (crmkit.OutboxStatus.UNKNOWN, crmkit.OutboxStatus.REVIEW)
        return {
            "customer_link": model.customer_id if customer_name(model.customer_id) else "",
            "may": {
                "retry": status is crmkit.OutboxStatus.DEAD and context.can("message.send"),
                "resolve": in_doubt and context.can("message.resolve"),
            },
            "full_error": row.last_error
            if row is not None and status is not crmkit.OutboxStatus.SENT
            else "",
        }


# -- 短信中心 --------------------------------------------------------------------------
COMPOSE_FIELDS = ("customer_id", "to", "template", "text", "at", "marketing")
GROUP_FIELDS = ("template", "region", "tag", "owner_id", "birthday", "at")


@attrs.frozen
class PreviewText:
    """crmkit's preview as the page shows it."""

    text: str
    characters: int
    segments: int
    marketing: bool


@attrs.frozen
class UnsentRow:
    """A message that has not gone out, and what may be done about it."""

    id: str
    at: str
    customer_id: str
    customer: str
    recipient: str
    channel: str
    text: str
    status: str
    attempts: int
    last_error: str
    retry: bool
    resolve: bool


@attrs.frozen
class OptOutRow:
    """A number (or address) on the unsubscribe list, as the page shows it."""

    recipient: str  # as stored: what 移出 posts
    shown: str
    channel: str
    channel_label: str
    customer_id: str
    customer: str
    reason: str
    at: str
    by: str


@attrs.frozen
class ReplyRow:
    id: str
    at: str
    customer_id: str
    customer: str
    sender: str
    channel: str
    text: str
    unsubscribed: bool


def compose_values(form: Mapping[str, str] | None = None) -> dict[str, str]:
    """The compose form's values: as posted (trimmed), else empty."""
    if form is None:
        return dict.fromkeys(COMPOSE_FIELDS, "")
    values = {f: str(form.get(f, "")).strip()[:2000] for f in COMPOSE_FIELDS}
    values["marketing"] = "1" if form.get("marketing") else ""
    return values


def message_args(values: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """``send_sms`` / ``preview`` keywords from the form, and the errors of what crmkit
    cannot be given (a time that is not one)."""
    args: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if values.get("customer_id"):
        args["customer_id"] = values["customer_id"]
    if values.get("template"):
        args["template"] = values["template"]
    else:
        args["text"] = values.get("text") or None
    if values.get("marketing"):
        args["marketing"] = True
    raw = values.get("at", "")
    if raw:
        at = typed_time(raw)
        if at is None:
            errors["at"] = [_("“%(time)s” is not a time (e.g. 2026-06-30 14:30).", time=raw[:30])]
        else:
            args["at"] = at
    return args, errors


class SmsCentreView(BaseView):
    """短信中心: 发送短信, its preview, 群发, 未发送, 回复 and 退订名单 (see the module
    docstring); the menu's other entries are links to its pages."""

    def is_accessible(self) -> bool:
        return g.get("user") is not None and context.can("message.read")

    # -- 发送短信 -----------------------------------------------------------------------------
    @expose("/", methods=("GET", "POST"))
    def index(self) -> ResponseReturnValue:
        """The compose form; 预览 shows crmkit's preview, 发送 queues the message."""
        if request.method == "GET":
            values = compose_values()
            values["customer_id"] = request.args.get("customer_id", "")[:60]
            return self.compose(values)
        if not context.can("message.send"):
            abort(403)
        values = compose_values(request.form)
        args, errors = message_args(values)
        if request.form.get("action") == "preview":
            return self.compose(values, errors=errors, preview=True)
        if errors:
            flash(_("The message is not sent: correct the marked fields."), "error")
            return self.compose(values, errors=errors)
        if values.get("to"):
            args["to"] = values["to"]
        try:
            with context.work() as s:
                message = s.messages.send_sms(**args)
        except crmkit.ValidationError as exc:
            flash(exc.message(), "error")
            placed, rest = errors_by_field(exc, COMPOSE_FIELDS, {"body": "template"})
            for line in rest:
                flash(line, "error")
            return self.compose(values, errors=placed, preview=True)
        except crmkit.NotFound:
            errors["customer_id"] = [_("Not a customer you may text.")]
            return self.compose(values, errors=errors)
        except crmkit.CRMError as exc:
            flash(refusal(exc), "error")
            return self.compose(values)
        when = args.get("at")
        if when is not None and when > context.now():
            flash(
                _(
                    "The SMS to %(to)s is queued for %(time)s.",
                    to=address(message.recipient),
                    time=form_time(when),
                ),
                "success",
            )
        else:
            flash(_("The SMS to %(to)s is queued.", to=address(message.recipient)), "success")
        return redirect(back_to(url_for("messages.details_view", id=message.id)))

    def compose(
        self,
        values: Mapping[str, str],
        *,
        errors: Mapping[str, list[str]] | None = None,
        preview: bool = False,
    ) -> ResponseReturnValue:
        shown: PreviewText | None = None
        problems = dict(errors or {})
        with context.work() as s:
            templates = template_pairs(s, crmkit.Channel.SMS)
            customers = customer_choices()
            customer = values.get("customer_id", "")
            if customer and customer not in dict(customers):
                name = customer_names(s, [customer]).get(customer)
                if name:
                    customers = [(customer, name), *customers]
            if preview and not problems:
                shown, problems = self.preview_of(s, values)
            number = ""
            if customer and customer in dict(customers):
                number = self.number_of(s, customer)
        return self.render(
            "crm/sms_send.html",
            values=values,
            errors=problems,
            customers=customers,
            templates=templates,
            preview=shown,
            customer_number=number,
            labels=entity_labels("message", "customer_id", "to", "template", "text", "marketing"),
            may_send=context.can("message.send"),
            next_url=back_to(""),
        )

    def number_of(self, s: crmkit.Session, customer_id: str) -> str:
        """The number a customer is texted at, as the form's hint (empty if none)."""
        try:
            customer = s.customers.get(customer_id)
        except crmkit.CRMError:
            return ""
        if customer.mobile is not None:
            return show(customer.mobile)
        contacts = s.contacts.list(customer_id=customer_id, limit=20).items
        primary = [c for c in contacts if c.is_primary] or list(contacts)
        return show(primary[0].mobile) if primary and primary[0].mobile else ""

    def preview_of(
        self, s: crmkit.Session, values: Mapping[str, str]
    ) -> tuple[PreviewText | None, dict[str, list[str]]]:
        args, errors = message_args(values)
        if errors:
            return None, errors
        args.pop("at", None)
        try:
            found = s.messages.preview(**args)
        except crmkit.ValidationError as exc:
            placed, rest = errors_by_field(exc, COMPOSE_FIELDS, {"body": "template"})
            if rest:
                placed.setdefault("text", []).extend(rest)
            return None, placed
        except crmkit.NotFound:
            return None, {"customer_id": [_("Not a customer you may text.")]}
        return PreviewText(found.text, found.characters, found.segments, found.marketing), {}

    @expose("/preview", methods=("POST",))
    def preview(self) -> ResponseReturnValue:
        """crmkit's preview of the compose form, as JSON for ``sms_compose.js``: the text,
        its characters and segments, or each field's errors."""
        values = compose_values(request.form)
        if not values.get("template") and not values.get("text"):
            return json_response({"empty": True})
        with context.work() as s:
            shown, errors = self.preview_of(s, values)
        if shown is None:
            return json_response({"errors": errors})
        return json_response(
            {
                "text": shown.text,
                "characters": shown.characters,
                "segments": shown.segments,
                "summary": _(
                    "%(characters)s characters, %(segments)s SMS",
                    characters=shown.characters,
                    segments=shown.segments,
                ),
                "marketing": _("Marketing: ends with the opt-out line") if shown.marketing else "",
            }
        )

    # -- 群发 ---------------------------------------------------------------------------------
    @expose("/group/", methods=("GET", "POST"))
    def group(self) -> ResponseReturnValue:
        """群发: a template to the customers a criterion picks (crmkit says who is left
        out); managers and admins."""
        if not context.can("message.group_send"):
            abort(403)
        values = {f: request.form.get(f, "").strip()[:200] for f in GROUP_FIELDS}
        errors: dict[str, list[str]] = {}
        report: crmkit.GroupSendReport | None = None
        if request.method == "POST":
            args: dict[str, Any] = {"template": values["template"]}
            for name in ("region", "tag", "owner_id"):  # a region as typed: crmkit reads it
                if values[name]:
                    args[name] = values[name]
            if values["at"]:
                at = typed_time(values["at"])
                if at is None:
                    errors["at"] = [
                        _(
                            "“%(time)s” is not a time (e.g. 2026-06-30 14:30).",
                            time=values["at"][:30],
                        )
                    ]
                args["at"] = at
            if not errors:
                try:
                    with context.work() as s:
                        if values["birthday"]:
                            args["birthday"] = s.today()
                        channel = self.channel_of(s, values["template"])
                        report = s.messages.group_send(channel=channel, **args)
                except crmkit.ValidationError as exc:
                    flash(exc.message(), "error")
                    errors, rest = errors_by_field(
                        exc, GROUP_FIELDS, {"customer_ids": "region", "text": "template"}
                    )
                    for line in rest:
                        flash(line, "error")
                except crmkit.CRMError as exc:
                    flash(refusal(exc), "error")
                else:
                    flash(
                        _("Group send: %(n)s messages queued.", n=report.queued),
                        "success" if report.queued else "warning",
                    )
            else:
                flash(_("Nothing is sent: correct the marked fields."), "error")
        with context.work() as s:
            templates = [
                (t["code"], t["name"] + aside(enum_label(crmkit.Channel(t["channel"]))))
                for t in template_options(s)
            ]
        return self.render(
            "crm/sms_group.html",
            values=values,
            errors=errors,
            templates=templates,
            salespeople=salesperson_pairs(),
            report=report,
            labels=entity_labels("message", "template", "region", "tag"),
        )

    def channel_of(self, s: crmkit.Session, code: str) -> str:
        """A template's channel (crmkit refuses an unknown template itself)."""
        found = s.messages.templates.by_code(code) if code else None
        return found.channel.value if found is not None else "sms"

    # -- 未发送 -------------------------------------------------------------------------------
    @expose("/unsent/")
    def unsent(self) -> ResponseReturnValue:
        """What has not gone out: retrying, given up (重发), in doubt (已发送 / 未发送)."""
        with context.work() as s:
            pairs = s.messages.unsent(limit=UNSENT_ROWS)
            names = customer_names(s, [m.customer_id for m, _row in pairs if m.customer_id])
        may_retry, may_resolve = context.can("message.send"), context.can("message.resolve")
        doubt = (crmkit.OutboxStatus.UNKNOWN, crmkit.OutboxStatus.REVIEW)
        rows = [
            UnsentRow(
                id=m.id,
                at=local_time(m.at),
                customer_id=m.customer_id or "",
                customer=names.get(m.customer_id or "", ""),
                recipient=address(m.recipient),
                channel=enum_label(m.channel),
                text=excerpt(m.text, 70),
                status=enum_label(row.status)
                + (aside(_("retrying")) if row.status is crmkit.OutboxStatus.PENDING else ""),
                attempts=row.attempts,
                last_error=row.last_error or "",
                retry=may_retry and row.status is crmkit.OutboxStatus.DEAD,
                resolve=may_resolve and row.status in doubt,
            )
            for m, row in pairs
        ]
        return self.render("crm/sms_unsent.html", rows=rows)

    @expose("/unsent/retry/", methods=("POST",))
    def retry(self) -> ResponseReturnValue:
        """重发 a message given up: due again now."""
        id = request.form.get("id", "")[:60]
        return self.move(lambda s: s.messages.retry(id), _("The message will be sent again."))

    @expose("/unsent/resolve/", methods=("POST",))
    def resolve(self) -> ResponseReturnValue:
        """A person's word on a message in doubt: it went out, or send it again."""
        id = request.form.get("id", "")[:60]
        sent = request.form.get("sent") == "1"
        done = _("Marked as sent.") if sent else _("Marked as not sent: it will be sent again.")
        return self.move(lambda s: s.messages.resolve(id, sent=sent), done)

    def move(self, call: Any, done: str) -> ResponseReturnValue:
        try:
            with context.work() as s:
                call(s)
        except crmkit.CRMError as exc:
            flash(refusal(exc, request.form.get("name", "")[:100]), "error")
        else:
            flash(done, "success")
        return redirect(back_to(url_for(".unsent")))

    # -- 回复 ---------------------------------------------------------------------------------
    @expose("/replies/", methods=("GET", "POST"))
    def replies(self) -> ResponseReturnValue:
        """The replies received, newest first, and 登记回复 (``message.receive``)."""
        values = {"sender": "", "text": ""}
        errors: dict[str, list[str]] = {}
        if request.method == "POST":
            if not context.can("message.receive"):
                abort(403)
            values = {k: request.form.get(k, "").strip()[:1000] for k in values}
            try:
                with context.work() as s:
                    s.messages.receive(values["sender"], values["text"])
            except crmkit.ValidationError as exc:
                flash(exc.message(), "error")
                errors, rest = errors_by_field(exc, ("sender", "text"), {"to": "sender"})
                for line in rest:
                    flash(line, "error")
            else:
                flash(_("The reply is recorded."), "success")
                return redirect(url_for(".replies"))
        after = request.args.get("after") or None
        with context.work() as s:
            page = s.messages.list(direction="in", after=after, limit=REPLIES_PAGE)
            names = customer_names(s, [m.customer_id for m in page.items if m.customer_id])
            rows = [
                ReplyRow(
                    id=m.id,
                    at=local_time(m.at),
                    customer_id=m.customer_id or "",
                    customer=names.get(m.customer_id or "", ""),
                    sender=address(m.recipient),
                    channel=enum_label(m.channel),
                    text=m.text,
                    unsubscribed=s.messages.is_unsubscribed(m.recipient),
                )
                for m in page.items
            ]
        return self.render(
            "crm/sms_replies.html",
            rows=rows,
            values=values,
            errors=errors,
            may_receive=context.can("message.receive"),
            next_url=url_for(".replies", after=page.next_after) if page.next_after else None,
            first_url=url_for(".replies") if after else None,
        )

    # -- 退订名单 -------------------------------------------------------------------------------
    @expose("/opt-outs/", methods=("GET", "POST"))
    def opt_outs(self) -> ResponseReturnValue:
        """退订名单: the whole list in pages (``s.messages.opt_outs``, newest first), searched
        by a number or part of one; add a number (``unsubscribe``), take one off
        (``resubscribe``)."""
        if not context.can("opt_out.read"):
            abort(403)
        values = {"recipient": "", "reason": "", "lookup": request.args.get("lookup", "")[:60]}
        errors: dict[str, list[str]] = {}
        may_write = context.can("opt_out.write")
        if request.method == "POST":
            if not may_write:
                abort(403)
            values["recipient"] = request.form.get("recipient", "").strip()[:200]
            values["reason"] = request.form.get("reason", "").strip()[:200]
            channel = "email" if request.form.get("channel") == "email" else "sms"
            remove = request.form.get("remove") == "1"
            try:
                with context.work() as s:
                    if remove:
                        taken = s.messages.resubscribe(values["recipient"], channel=channel)
                    else:
                        s.messages.unsubscribe(values["recipient"], reason=values["reason"] or None)
            except crmkit.ValidationError as exc:
                flash(exc.message(), "error")
                errors, rest = errors_by_field(exc, ("recipient",), {"to": "recipient"})
                for line in rest:
                    flash(line, "error")
            else:
                shown = address(values["recipient"]) or values["recipient"]
                if not remove:
                    flash(_("%(number)s is on the unsubscribe list.", number=shown), "success")
                elif taken:
                    flash(_("%(number)s is off the unsubscribe list.", number=shown), "success")
                else:
                    flash(_("%(number)s was not on the unsubscribe list.", number=shown), "warning")
                return redirect(back_to(url_for(".opt_outs")))
        after = request.args.get("after") or None
        term, number = search_term(values["lookup"])
        lookup: dict[str, Any] | None = None
        with context.work() as s:
            if number is not None:
                lookup = {
                    "number": number.e164,
                    "shown": show(number),
                    "listed": s.messages.is_unsubscribed(number.e164),
                }
            page, narrowed = self.opt_out_page(s, term, after)
            rows = self.opt_out_rows(s, page.items)
        here = query_args({"lookup": values["lookup"]} if values["lookup"] else {})
        return self.render(
            "crm/sms_opt_outs.html",
            values=values,
            errors=errors,
            lookup=lookup,
            searched=bool(term),
            narrowed=narrowed,
            rows=rows,
            labels=entity_labels(
                "opt_out", "recipient", "channel", "reason", "created_at", "created_by"
            ),
            may_write=may_write,
            next_url=url_for(".opt_outs", after=page.next_after, **here)
            if page.next_after
            else None,
            first_url=url_for(".opt_outs", **here) if after else None,
        )

    def opt_out_page(
        self, s: crmkit.Session, term: str | None, after: str | None
    ) -> tuple[crmkit.Page[crmkit.OptOut], bool]:
        """A page of the list, narrowed to ``term`` (and whether it was)."""
        page = s.messages.opt_outs(after=after, limit=OPT_OUT_PAGE, recipient=term)
        return page, True

    def opt_out_rows(self, s: crmkit.Session, found: Sequence[crmkit.OptOut]) -> list[OptOutRow]:
        """The page's rows, each number with the customer who last texted from it or was
        texted at it (among those the user may see)."""
        owners: dict[str, str] = {}
        if found and context.can("message.read"):
            recipients = [o.recipient for o in found]
            log = s.messages.list(
                recipient__in=recipients, customer_id__null=False, limit=OPT_OUT_PAGE * 4
            )
            for m in log.items:
                if m.customer_id:
                    owners.setdefault(m.recipient, m.customer_id)
        names = customer_names(s, list(owners.values()))
        user_names(s)
        return [
            OptOutRow(
                recipient=o.recipient,
                shown=address(o.recipient),
                channel=o.channel.value,
                channel_label=enum_label(o.channel),
                customer_id=owners.get(o.recipient, ""),
                customer=names.get(owners.get(o.recipient, ""), ""),
                reason=o.reason or "",
                at=local_time(o.created_at),
                by=sender_name(o.created_by),
            )
            for o in found
        ]


# -- a customer's messages (the customer page) ---------------------------------------------
@attrs.frozen
class CustomerMessage:
    id: str
    at: str
    direction: str
    direction_code: str  # a CSS class only
    source: str
    recipient: str
    text: str
    status: str


CUSTOMER_MESSAGES = 20


def customer_messages(s: crmkit.Session, customer_id: str) -> list[CustomerMessage]:
    """The customer's latest messages, newest first (``s.messages.for_customer``)."""
    if not context.can("message.read"):
        return []
    now = s.now()
    return [
        CustomerMessage(
            id=m.id,
            at=local_time(m.at),
            direction=enum_label(m.direction),
            direction_code=m.direction.value,
            source=enum_label(m.source),
            recipient=address(m.recipient),
            text=m.text,
            status=delivery_text(s.messages.delivery(m), now),
        )
        for m in s.messages.for_customer(customer_id, limit=CUSTOMER_MESSAGES)
    ]


__all__ = [
    "MessageTemplateView",
    "MessageView",
    "SmsCentreView",
    "address",
    "customer_messages",
    "delivery_text",
    "typed_time",
]
