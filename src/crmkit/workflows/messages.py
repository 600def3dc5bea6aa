"""The SMS centre on the kernel: ``session.messages`` (短信中心, the message log) and its
templates (``session.messages.templates``).

Sending writes two rows in the caller's transaction: the :class:`Message` in the log
(against its customer, in their data scope) and the outbox row that ``crm.dispatch()``
sends once, under the key ``msg:<message id>`` (an SFA step's run key for its messages).
The outbox row is the delivery status: :meth:`MessageService.status` reads it.

Every SMS starts with the signature (``Settings.sms_signature``, 【公司】) and may take at most
``Settings.sms_max_segments`` segments (70 characters in one, 67 per segment when split).
A *marketing* message (its template says so, or the caller does) is not sent to a recipient
on the unsubscribe list (退订), ends with the opt-out line (回T退订), and waits out the quiet
hours (``Settings.quiet_hours``, local time). An inbound reply (:meth:`MessageService.receive`)
is stored against the customer whose mobile sent it; ``T``, ``TD``, ``退订`` … unsubscribe
its sender.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar, Final
from zoneinfo import ZoneInfo

import attrs

from crmkit.domain.common import parse_moment
from crmkit.domain.contact import Contact
from crmkit.domain.customer import Customer
from crmkit.domain.errors import FieldErrors, NotFound, ValidationError
from crmkit.domain.fields import InputField
from crmkit.domain.intake import new_id
from crmkit.domain.messaging import (
    OPT_OUT_REPLIES,
    OPT_OUT_TEXT,
    TEMPLATE_FIELDS,
    Channel,
    Direction,
    Message,
    MessageSource,
    OptOut,
    TemplateRecord,
)
from crmkit.domain.regions import Region
from crmkit.domain.settings import quiet_window
from crmkit.domain.templates import MessageTemplate, check_template, sms_segments
from crmkit.domain.values import Email, Phone
from crmkit.storage.catalog import MESSAGE_TEMPLATES, MESSAGES, OPT_OUTS
from crmkit.storage.ports import CustomerQuery, EntityQuery, Page
from crmkit.storage.queues import OutboxMessage, OutboxStatus
from crmkit.storage.spec import Filter, Op
from crmkit.workflows.dispatch import resolve_message
from crmkit.workflows.entity import EntityService

OFFERED_VARIABLES: Final = frozenset(
    {
        *("name", "customer", "contact", "owner", "owner_mobile", "company", "date"),
        *("客户名称", "联系人", "业务员", "业务员手机", "公司", "日期"),
    }
)
"""The variables every template may use; crmkit fills them from the customer, their primary
contact, their salesperson, the signature and today's date (a caller's values win)."""

_SAMPLE: Final = "测试" * 5  # a long-ish value: a template too long with it is refused early


class TemplateService(EntityService[TemplateRecord]):
    """``session.messages.templates``: the message templates (短信模板 / 邮件模板).

    ``create(code="birthday", name="生日祝福", body="{name}您好，祝您生日快乐！",
    marketing=False)``. A template names only :data:`OFFERED_VARIABLES`; an SMS template
    that would not fit ``Settings.sms_max_segments`` with typical values is refused.
    Permissions ``message_template.*``: everyone reads, admins and managers keep them.
    """

    spec = MESSAGE_TEMPLATES
    fields: ClassVar[tuple[InputField, ...]] = TEMPLATE_FIELDS

    def check(
        self,
        entity: TemplateRecord,
        current: TemplateRecord | None,  # noqa: ARG002
        errors: FieldErrors,
    ) -> None:
        before = len(errors)
        try:
            check_template(entity.template, OFFERED_VARIABLES)
        except ValidationError as exc:
            errors.extend(exc.errors)
        if len(errors) > before or entity.channel is not Channel.SMS:
            return
        text = _sms_text(
            self._s,
            entity.template.render(dict.fromkeys(OFFERED_VARIABLES, _SAMPLE), max_segments=99)[1],
            entity.marketing,
        )
        limit = self._s.runtime.settings.sms_max_segments
        used = sms_segments(text)
        if used > limit:
            errors.add("body", "template.too_long", used, segments=used, limit=limit)

    def by_code(self, code: str) -> TemplateRecord | None:
        """The live template with ``code`` (None if there is none)."""
        query = EntityQuery(filters=(Filter("code", Op.EQ, code),))
        page = self.repo.list(query, self._s.actor.scope, after=None, limit=1)
        return page.items[0] if page.items else None


@attrs.frozen
class Preview:
    """A message as it would go out: ``text`` with the signature and any opt-out line,
    its ``characters`` and billed ``segments``."""

    channel: Channel
    subject: str | None
    text: str
    characters: int
    segments: int
    marketing: bool


@attrs.frozen
class GroupSendReport:
    """What a group send queued: ``queued`` messages under ``batch_id``; customers left
    out for having no address (``no_address``) or having unsubscribed (``unsubscribed``)."""

    batch_id: str
    queued: int
    no_address: int
    unsubscribed: int


@attrs.frozen
class Composed:
    """A message ready to queue for one customer, or why there is none (``outcome``:
    ``"sent"``, ``"no_address"`` or ``"unsubscribed"``)."""

    outcome: str
    message: Message | None = None


class MessageService(EntityService[Message]):
    """``session.messages``: send SMS and email, group sends, the log, the unsent list,
    replies and the unsubscribe list (see the module docstring).

    Permissions: ``message.send`` (salespeople, service, managers, admins) for one
    customer's messages; ``message.group_send`` and ``message.resolve`` (managers,
    admins); ``message.read`` in the customer's scope.
    """

    spec = MESSAGES

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        # primary contacts read ahead for a batch (``prefetch``), by customer id
        self._primaries: dict[str, Contact | None] = {}

    @property
    def templates(self) -> TemplateService:
        """The message templates."""
        return TemplateService(self._s)

    # -- composing ----------------------------------------------------------------------
    def preview(
        self,
        *,
        template: str | None = None,
        text: str | None = None,
        subject: str | None = None,
        channel: str = "sms",
        customer_id: str | None = None,
        variables: Mapping[str, Any] | None = None,
        marketing: bool | None = None,
    ) -> Preview:
        """The message :meth:`send_sms` / :meth:`send_email` would send, nothing written.

        Raises:
            ValidationError: an unknown template, a variable it names that nothing fills,
                an SMS over the segment limit.
        """
        self.require("read")
        kind = _channel(channel)
        record, body, subj, is_marketing = self._source(kind, template, text, subject, marketing)
        customer = self._customer(customer_id) if customer_id else None
        values = self._variables(customer, variables)
        rendered_subject, rendered = self._render(kind, record, body, subj, values, is_marketing)
        return Preview(
            channel=kind,
            subject=rendered_subject,
            text=rendered,
            characters=len(rendered),
            segments=sms_segments(rendered) if kind is Channel.SMS else 0,
            marketing=is_marketing,
        )

    def send_sms(
        self,
        *,
        customer_id: str | None = None,
        to: str | None = None,
        template: str | None = None,
        text: str | None = None,
        variables: Mapping[str, Any] | None = None,
        marketing: bool | None = None,
        at: datetime | str | None = None,
    ) -> Message:
        """Text a customer (their mobile, else their primary contact's) or a number.

        Args:
            customer_id: the customer it concerns.
            to: the number (default: the customer's).
            template: a template's code; or ``text`` for a message written now.
            variables: values for the template (the customer's own are filled in).
            marketing: override the template's marketing flag.
            at: not before this time (a timed send, 定时短信).

        Raises:
            ValidationError: no recipient, a bad number, an unknown template or variable,
                too long, or the recipient unsubscribed from marketing (``to``).
            NotFound: the customer is not one the actor sees.
        """
        return self._send_one(
            Channel.SMS, customer_id, to, template, text, None, variables, marketing, at
        )

    def send_email(
        self,
        *,
        customer_id: str | None = None,
        to: str | None = None,
        template: str | None = None,
        subject: str | None = None,
        text: str | None = None,
        variables: Mapping[str, Any] | None = None,
        marketing: bool | None = None,
        at: datetime | str | None = None,
    ) -> Message:
        """Email a customer (their address, else their primary contact's) or an address;
        as :meth:`send_sms` otherwise."""
        return self._send_one(
            Channel.EMAIL, customer_id, to, template, text, subject, variables, marketing, at
        )

    def _send_one(
        self,
        channel: Channel,
        customer_id: str | None,
        to: str | None,
        template: str | None,
        text: str | None,
        subject: str | None,
        variables: Mapping[str, Any] | None,
        marketing: bool | None,
        at: datetime | str | None,
    ) -> Message:
        self._s.require("message.send")
        customer = self._customer(customer_id) if customer_id else None
        errors = FieldErrors()
        when = _when(self._s, at, errors)
        recipient = _address(channel, to, errors, self._s.runtime.region) if to else None
        if recipient is None and not errors:
            recipient = self._address_of(channel, customer)
            if recipient is None:
                errors.add("to", "message.no_recipient", to)
        errors.raise_if_any("message")
        assert recipient is not None
        composed = self.compose(
            channel,
            recipient,
            customer,
            template=template,
            text=text,
            subject=subject,
            variables=variables,
            marketing=marketing,
            source=MessageSource.MANUAL,
            at=when,
        )
        if composed.message is None:
            errors.add("to", "message.unsubscribed", recipient)
            errors.raise_if_any("message")
        assert composed.message is not None
        return composed.message

    def compose(
        self,
        channel: Channel,
        recipient: str | None,
        customer: Customer | None,
        *,
        template: str | None = None,
        text: str | None = None,
        subject: str | None = None,
        variables: Mapping[str, Any] | None = None,
        marketing: bool | None = None,
        source: MessageSource = MessageSource.MANUAL,
        batch_id: str | None = None,
        key: str | None = None,
        at: datetime | None = None,
        records: Mapping[str, TemplateRecord | None] | None = None,
        store: bool = True,
    ) -> Composed:
        """Render and queue one message (the log row and its outbox row) for ``customer``
        at ``recipient`` (None: the customer's address), unless it has no address or a
        marketing message's recipient unsubscribed. The SFA steps and group sends share
        it; ``records`` caches templates by code across many calls; with ``store``
        False the log row is returned for the caller to store with others (one insert).

        Raises:
            ValidationError: an unknown template or variable, an SMS too long.
        """
        s = self._s
        record, body, subj, is_marketing = self._source(
            channel, template, text, subject, marketing, records
        )
        if recipient is None:
            recipient = self._address_of(channel, customer)
            if recipient is None:
                return Composed("no_address")
        if is_marketing and self.is_unsubscribed(recipient):
            return Composed("unsubscribed")
        values = self._variables(customer, variables)
        rendered_subject, rendered = self._render(channel, record, body, subj, values, is_marketing)
        now = s.now()
        message_id = new_id()
        outbox_key = key or f"msg:{message_id}"
        message = Message(
            id=message_id,
            direction=Direction.OUT,
            channel=channel,
            source=source,
            customer_id=customer.id if customer else None,
            recipient=recipient,
            template=record.code if record else None,
            subject=rendered_subject,
            text=rendered,
            outbox_key=f"{outbox_key}:{recipient}",
            batch_id=batch_id,
            marketing=is_marketing,
            sent_by=s.actor.id,
            at=now,
            created_at=now,
            updated_at=now,
            created_by=s.actor.id,
        )
        payload: dict[str, Any] = {
            "template": record.code if record else None,
            "variables": {k: str(values[k]) for k in sorted(_named(record)) if k in values},
            "text": rendered,
        }
        if rendered_subject is not None:
            payload["subject"] = rendered_subject
        due = self._not_quiet(at or now) if is_marketing else (at or now)
        s.queue_notification(channel.value, recipient, payload, key=outbox_key, due_at=due)
        if store:
            self.repo.add(message)
        return Composed("sent", message)

    # -- group sends --------------------------------------------------------------------
    def group_send(
        self,
        *,
        template: str,
        region: str | None = None,
        tag: str | None = None,
        owner_id: str | None = None,
        birthday: date | None = None,
        customer_ids: Sequence[str] | None = None,
        channel: str = "sms",
        variables: Mapping[str, Any] | None = None,
        at: datetime | str | None = None,
    ) -> GroupSendReport:
        """Send ``template`` to every customer the actor sees that matches (群发短信): in a
        region (a province or city code), with a tag, of a salesperson, whose birthday
        falls on ``birthday``'s month and day, or among ``customer_ids``. A holiday
        greeting is a group send ``at`` the holiday.

        Raises:
            ValidationError: no criterion, an unknown template.
        """
        s = self._s
        s.require("message.group_send")
        errors = FieldErrors()
        if not any((region, tag, owner_id, birthday, customer_ids)):
            errors.add("customer_ids", "message.no_group", None)
        in_region = region_code(region, errors)
        when = _when(s, at, errors)
        errors.raise_if_any("message")
        kind = _channel(channel)
        records: dict[str, TemplateRecord | None] = {}
        self._source(kind, template, None, None, None, records)  # refuse a bad one first
        batch_id = new_id()
        queued = no_address = unsubscribed = 0
        for customer in self._group(in_region, tag, owner_id, birthday, customer_ids):
            composed = self.compose(
                kind,
                None,
                customer,
                template=template,
                variables=variables,
                source=MessageSource.GROUP,
                batch_id=batch_id,
                key=f"group:{batch_id}:{customer.id}",
                at=when,
                records=records,
            )
            if composed.outcome == "sent":
                queued += 1
            elif composed.outcome == "no_address":
                no_address += 1
            else:
                unsubscribed += 1
        return GroupSendReport(batch_id, queued, no_address, unsubscribed)

    def _group(
        self,
        region: str | None,
        tag: str | None,
        owner_id: str | None,
        birthday: date | None,
        customer_ids: Sequence[str] | None,
    ) -> Iterable[Customer]:
        s = self._s
        scope = s.actor.scope
        if customer_ids:
            found = s._uow.customers.get_many(list(customer_ids), scope)
            yield from (c for c in found if not c.is_deleted)
            return
        query = CustomerQuery(region=region, tag=tag, owner_id=owner_id)
        after: str | None = None
        while True:
            page = s._uow.customers.list(query, scope, after=after, limit=500)
            for customer in page.items:
                if birthday is not None and not _same_day(customer.birthday, birthday):
                    continue
                yield customer
            if page.next_after is None:
                return
            after = page.next_after

    # -- the log and delivery -------------------------------------------------------------
    def status(self, message: Message) -> OutboxStatus | None:
        """Where an outgoing message's delivery stands (None: an inbound one)."""
        row = self.delivery(message)
        return row.status if row is not None else None

    def delivery(self, message: Message) -> OutboxMessage | None:
        """The outbox row of an outgoing message: status, attempts, last error, when sent."""
        if message.outbox_key is None:
            return None
        queued = self._s._outbox.get(message.outbox_key)  # sent in this very session
        return queued or self._s._uow.outbox.get_by_key(message.outbox_key)

    def for_customer(self, customer_id: str, *, limit: int = 50) -> builtins.list[Message]:
        """A customer's messages, newest first."""
        self.require("read")
        query = EntityQuery(filters=(Filter("customer_id", Op.EQ, customer_id),))
        page = self.repo.list(query, self._s.actor.scope, after=None, limit=limit)
        return sorted(page.items, key=lambda m: m.at, reverse=True)

    def unsent(self, *, limit: int = 100) -> builtins.list[tuple[Message, OutboxMessage]]:
        """Messages the actor may see that have not gone out: waiting to retry, given up
        (``dead``) or in doubt (``unknown`` / ``review``), oldest first (未发送短信)."""
        self.require("read")
        uow = self._s._uow
        rows: list[OutboxMessage] = []
        for status in (OutboxStatus.DEAD, OutboxStatus.REVIEW, OutboxStatus.UNKNOWN):
            rows += uow.outbox.list(status=status, after=None, limit=limit).items
        retrying = uow.outbox.list(status=OutboxStatus.PENDING, after=None, limit=limit)
        rows += [m for m in retrying.items if m.attempts > 0]
        by_key = {m.key: m for m in rows}
        if not by_key:
            return []
        query = EntityQuery(filters=(Filter("outbox_key", Op.IN, tuple(by_key)),))
        found = self.repo.list(query, self._s.actor.scope, after=None, limit=len(by_key))
        pairs = [(m, by_key[m.outbox_key]) for m in found.items if m.outbox_key in by_key]
        return sorted(pairs, key=lambda p: p[0].at)[:limit]

    def retry(self, id: str) -> OutboxMessage:
        """Send a given-up (``dead``) message again, as soon as a worker dispatches.

        Raises:
            WorkflowError: the message is not given up.
            NotFound: no such message in the actor's scope.
        """
        self._s.require("message.send")
        row = self._row(id)
        if row.status is not OutboxStatus.DEAD:
            raise self.refusal(
                "retry",
                "重发",
                ("only a message given up is sent again", "只有发送失败的消息可重发"),
            )
        again = attrs.evolve(row, status=OutboxStatus.PENDING, due_at=self._s.now(), attempts=0)
        if not self._s._uow.outbox.decide(again, expected=OutboxStatus.DEAD):
            raise self.refusal("retry", "重发", ("it changed meanwhile", "该消息已被改动"))
        return again

    def resolve(self, id: str, *, sent: bool) -> OutboxMessage:
        """Decide about a message whose sending is in doubt: it went out (``sent=True``,
        never sent again) or it did not (sent again now).

        Raises:
            WorkflowError: the message is not in doubt.
        """
        self._s.require("message.resolve")
        row = self._row(id)
        return resolve_message(self._s.runtime, row.id, sent=sent)

    def _row(self, id: str) -> OutboxMessage:
        message = self.get(id)
        row = self.delivery(message)
        if row is None:
            raise NotFound("message", id)
        return row

    # -- inbound ------------------------------------------------------------------------
    def receive(
        self,
        sender: str,
        text: str,
        *,
        channel: str = "sms",
        at: datetime | None = None,
        source: MessageSource = MessageSource.REPLY,
    ) -> Message:
        """Store a reply (上行短信) or a call-back record against the customer whose mobile
        (or email) it came from; a reply ``T`` / ``TD`` / ``退订`` … unsubscribes its sender.

        Raises:
            ValidationError: a sender that is not a number (an address for email).
        """
        s = self._s
        s.require("message.receive")
        kind = _channel(channel)
        errors = FieldErrors()
        address = _address(kind, sender, errors, s.runtime.region)
        errors.raise_if_any("message")
        assert address is not None
        customer = self._customer_at(kind, address)
        now = s.now()
        message = Message(
            id=new_id(),
            direction=Direction.IN,
            channel=kind,
            source=source,
            customer_id=customer.id if customer else None,
            recipient=address,
            text=text.strip(),
            at=at or now,
            created_at=now,
            updated_at=now,
            created_by=s.actor.id,
        )
        self.repo.add(message)
        if source is MessageSource.REPLY and text.strip().upper() in OPT_OUT_REPLIES:
            self.unsubscribe(address, reason=text.strip(), channel=kind.value)
        elif source is MessageSource.REPLY and customer is not None:
            s.tickets.survey_reply(customer.id, text)  # "5": a satisfaction survey answered
        return message

    def unsubscribe(
        self, recipient: str, *, reason: str | None = None, channel: str = "sms"
    ) -> None:
        """Put ``recipient`` on the unsubscribe list (no more marketing to it)."""
        s = self._s
        s.require("opt_out.write")
        kind = _channel(channel)
        errors = FieldErrors()
        address = _address(kind, recipient, errors, s.runtime.region)
        errors.raise_if_any("opt_out")
        assert address is not None
        if self.is_unsubscribed(address):
            return
        now = s.now()
        repo = s._uow.repo(OPT_OUTS)
        repo.add(
            OptOut(
                id=new_id(),
                recipient=address,
                channel=kind,
                reason=reason,
                created_at=now,
                updated_at=now,
                created_by=s.actor.id,
            )
        )

    def resubscribe(self, recipient: str, *, channel: str = "sms") -> bool:
        """Take ``recipient`` off the unsubscribe list; True if it was on it."""
        s = self._s
        s.require("opt_out.write")
        errors = FieldErrors()
        address = _address(_channel(channel), recipient, errors, s.runtime.region)
        errors.raise_if_any("opt_out")
        repo = s._uow.repo(OPT_OUTS)
        found = self._opt_out(address or recipient)
        if found is None:
            return False
        repo.purge([found.id])
        return True

    def opt_outs(
        self, *, after: str | None = None, limit: int = 50, recipient: str | None = None
    ) -> Page[OptOut]:
        """A page of the unsubscribe list (退订名单), newest first; ``recipient`` narrows it
        to addresses containing that text."""
        s = self._s
        s.require("opt_out.read")
        filters = (Filter("recipient", Op.CONTAINS, recipient),) if recipient else ()
        repo = s._uow.repo(OPT_OUTS)
        return repo.list(EntityQuery(filters=filters), s.actor.scope, after=after, limit=limit)

    def is_unsubscribed(self, recipient: str) -> bool:
        """Whether ``recipient`` (as stored: E.164, or a normalised address) opted out."""
        return self._opt_out(recipient) is not None

    def _opt_out(self, recipient: str) -> OptOut | None:
        repo = self._s._uow.repo(OPT_OUTS)
        query = EntityQuery(filters=(Filter("recipient", Op.EQ, recipient),))
        page = repo.list(query, self._s.actor.scope, after=None, limit=1)
        return page.items[0] if page.items else None

    # -- helpers ------------------------------------------------------------------------
    def _customer(self, customer_id: str) -> Customer:
        s = self._s
        customer = s._uow.customers.get(customer_id, s.actor.scope)
        if customer is None or customer.is_deleted:
            raise NotFound("customer", customer_id)
        return customer

    def prefetch(self, customers: Sequence[Customer]) -> None:
        """Read the primary contacts of ``customers`` in one query, for the many messages
        about to be composed for them in this session (an SFA batch)."""
        found = self._s._uow.contacts.for_customers([c.id for c in customers])
        primaries = self._primaries
        for customer in customers:
            contacts = found.get(customer.id, [])
            primary = [c for c in contacts if c.is_primary] or contacts
            primaries[customer.id] = primary[0] if primary else None

    def _primary(self, customer: Customer) -> Contact | None:
        if customer.id in self._primaries:
            return self._primaries[customer.id]
        contacts = self._s._uow.contacts.for_customer(customer.id)
        primary = [c for c in contacts if c.is_primary] or contacts
        return primary[0] if primary else None

    def _address_of(self, channel: Channel, customer: Customer | None) -> str | None:
        if customer is None:
            return None
        if channel is Channel.SMS:
            if customer.mobile is not None:
                return customer.mobile.e164
            contact = self._primary(customer)
            return contact.mobile.e164 if contact and contact.mobile else None
        if customer.email is not None:
            return str(customer.email)
        contact = self._primary(customer)
        return str(contact.email) if contact and contact.email else None

    def _customer_at(self, channel: Channel, address: str) -> Customer | None:
        """The customer whose own mobile (email) is ``address``; None when none is: a text
        search hit on other digits is not the sender."""
        s = self._s
        digits = address.removeprefix("+86") if channel is Channel.SMS else address
        page = s._uow.customers.list(
            CustomerQuery(text=digits), s.actor.scope, after=None, limit=20
        )
        for customer in page.items:
            own = customer.mobile.e164 if customer.mobile else None
            if channel is Channel.EMAIL:
                own = str(customer.email) if customer.email else None
            if own == address:
                return customer
        return None

    def _variables(
        self, customer: Customer | None, given: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        s = self._s
        settings = s.runtime.settings
        today = s.now().astimezone(ZoneInfo(settings.timezone)).date().isoformat()
        company = settings.sms_signature.strip("【】")
        values: dict[str, Any] = {"company": company, "公司": company, "date": today, "日期": today}
        if customer is not None:
            contact = self._primary(customer)
            owner = s.user(customer.owner_id) if customer.owner_id else None
            values.update(
                {
                    "name": customer.name,
                    "customer": customer.name,
                    "客户名称": customer.name,
                    "contact": contact.name if contact else customer.name,
                    "联系人": contact.name if contact else customer.name,
                    "owner": owner.name if owner else "",
                    "业务员": owner.name if owner else "",
                    "owner_mobile": owner.mobile.e164 if owner and owner.mobile else "",
                    "业务员手机": owner.mobile.e164 if owner and owner.mobile else "",
                }
            )
        values.update(given or {})
        return values

    def _source(
        self,
        channel: Channel,
        template: str | None,
        text: str | None,
        subject: str | None,
        marketing: bool | None,
        records: dict[str, TemplateRecord | None]
        | Mapping[str, TemplateRecord | None]
        | None = None,
    ) -> tuple[TemplateRecord | None, str, str | None, bool]:
        errors = FieldErrors()
        if template:
            if records is not None and template in records:
                record = records[template]
            else:
                record = self.templates.by_code(template)
                if isinstance(records, dict):
                    records[template] = record
            if record is None or not record.active:
                errors.add("template", "message.unknown_template", template)
            elif record.channel is not channel:
                errors.add("template", "message.wrong_channel", template)
            errors.raise_if_any("message")
            assert record is not None
            flag = record.marketing if marketing is None else marketing
            return record, record.body, record.subject, flag
        if not text or not text.strip():
            errors.add("text", "required", text)
        if channel is Channel.EMAIL and not (subject and subject.strip()):
            errors.add("subject", "required", subject)
        errors.raise_if_any("message")
        assert text is not None
        return None, text.strip(), subject, bool(marketing)

    def _render(
        self,
        channel: Channel,
        record: TemplateRecord | None,
        body: str,
        subject: str | None,
        values: Mapping[str, Any],
        marketing: bool,
    ) -> tuple[str | None, str]:
        settings = self._s.runtime.settings
        template = MessageTemplate(
            code=record.code if record else "-", channel=channel.value, body=body, subject=subject
        )
        # a text written now is taken as it is: its braces are not placeholders
        if record is None:
            rendered_subject, rendered = subject, body
        else:
            rendered_subject, rendered = template.render(values, max_segments=99)
        if channel is not Channel.SMS:
            return rendered_subject, rendered
        full = _sms_text(self._s, rendered, marketing)
        used = sms_segments(full)
        if used > settings.sms_max_segments:
            errors = FieldErrors()
            field = "body" if record else "text"
            errors.add(
                field, "template.too_long", used, segments=used, limit=settings.sms_max_segments
            )
            errors.raise_if_any("message")
        return rendered_subject, full

    def _not_quiet(self, due: datetime) -> datetime:
        """``due``, or the end of the quiet hours it falls in."""
        setting = self._s.runtime.settings.quiet_hours
        window = quiet_window(setting) if setting and setting != "-" else None
        if window is None:
            return due
        zone = ZoneInfo(self._s.runtime.settings.timezone)
        return after_quiet(due, window, zone)


def _when(session: Any, at: datetime | str | None, errors: FieldErrors) -> datetime | None:
    """A send time as given: a datetime, or text ("2027-01-05 14:30"); naive is local."""
    if at is None or at == "":
        return None
    value = parse_moment(at, errors, "at")
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(session.runtime.settings.timezone))
    return value


def region_code(raw: str | None, errors: FieldErrors) -> str | None:
    """A region as typed (山东省青岛市, 370200 ...) as its code."""
    if not raw:
        return None
    try:
        return Region.parse(raw).code
    except ValidationError as exc:
        errors.extend(exc.errors)
        return None


def after_quiet(due: datetime, window: tuple[time, time], zone: ZoneInfo) -> datetime:
    """``due`` if it is outside the quiet ``window`` (local times, possibly across
    midnight), else the window's end."""
    start, end = window
    local = due.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if start < end:
        inside = start <= clock < end
        end_day = local.date()
    else:
        inside = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return due
    return datetime.combine(end_day, end, tzinfo=zone)


def _sms_text(session: Any, body: str, marketing: bool) -> str:
    signature = session.runtime.settings.sms_signature
    text = body if body.startswith(signature) else f"{signature}{body}"
    return f"{text} {OPT_OUT_TEXT}" if marketing and OPT_OUT_TEXT not in text else text


def _named(record: TemplateRecord | None) -> frozenset[str]:
    if record is None:
        return frozenset()
    return record.template.variables


def _channel(channel: str | Channel) -> Channel:
    try:
        return Channel(str(channel))
    except ValueError:
        errors = FieldErrors()
        errors.add("channel", "invalid_choice", channel, choices="sms, email")
        errors.raise_if_any("message")
        raise  # unreachable: raise_if_any raised


def _address(channel: Channel, raw: str, errors: FieldErrors, region: str) -> str | None:
    try:
        if channel is Channel.SMS:
            return Phone.parse(raw, region, field="to").e164
        return str(Email.parse(raw, field="to"))
    except ValidationError as exc:
        errors.extend(exc.errors)
        return None


def _same_day(birthday: date | None, day: date) -> bool:
    if birthday is None:
        return False
    if (birthday.month, birthday.day) == (day.month, day.day):
        return True
    # 29 February's customers are greeted on the 28th in other years
    leap = birthday.month == 2 and birthday.day == 29
    return leap and (day.month, day.day) == (2, 28) and not _is_leap(day.year)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
