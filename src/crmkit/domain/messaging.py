"""The SMS centre (短信中心) and the message log: templates, messages out and in, opt-outs.

A :class:`TemplateRecord` is a stored :class:`~crmkit.domain.templates.MessageTemplate`
that admins keep (短信模板 / 邮件模板): a code the SFA steps and the SMS centre name, the
text, and whether it is *marketing* (营销): marketing SMS honour the unsubscribe list and
the quiet hours, and carry the opt-out line (回T退订).

A :class:`Message` is one message in the log, against the customer it concerns: out (sent
through the outbox under ``outbox_key``, whose row holds its delivery status) or in (a
reply, 上行短信, or a call-back record). An :class:`OptOut` is a recipient who asked for no
more marketing (退订).
"""

from __future__ import annotations

import enum
from datetime import datetime, time
from typing import Final

import attrs

from crmkit.domain import fields as f
from crmkit.domain.templates import MessageTemplate


class Channel(enum.StrEnum):
    SMS = "sms"
    EMAIL = "email"


class Direction(enum.StrEnum):
    OUT = "out"
    IN = "in"


class MessageSource(enum.StrEnum):
    """Where a message came from: written by a person (``manual``), a group send
    (``group``), an SFA step (``sfa``), an inbound reply (``reply``) or a call-back record
    (``callback``)."""

    MANUAL = "manual"
    GROUP = "group"
    SFA = "sfa"
    REPLY = "reply"
    CALLBACK = "callback"


@attrs.frozen(kw_only=True)
class TemplateRecord:
    """A message template as stored (see the module docstring)."""

    id: str
    code: str
    name: str
    channel: Channel = Channel.SMS
    subject: str | None = None
    body: str
    marketing: bool = False
    active: bool = True
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str
    deleted_at: datetime | None = None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def template(self) -> MessageTemplate:
        return MessageTemplate(
            code=self.code, channel=self.channel.value, body=self.body, subject=self.subject
        )


@attrs.frozen(kw_only=True)
class Message:
    """One message in the log.

    Attributes:
        customer_id: the customer it concerns (None: an inbound text from a number no
            customer has).
        recipient: the address it went to (out) or came from (in).
        outbox_key: the outbox row that sends it (out); its status is the delivery status.
        batch_id: the group send it belongs to.
        sent_by: who sent it (a user, or ``"system"`` for SFA steps).
        at: when it was queued (out) or received (in).
    """

    id: str
    direction: Direction = Direction.OUT
    channel: Channel = Channel.SMS
    source: MessageSource = MessageSource.MANUAL
    customer_id: str | None = None
    recipient: str
    template: str | None = None
    subject: str | None = None
    text: str
    outbox_key: str | None = None
    batch_id: str | None = None
    marketing: bool = False
    sent_by: str | None = None
    at: datetime
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str


@attrs.frozen(kw_only=True)
class OptOut:
    """A recipient (E.164 number or email address) who unsubscribed from marketing."""

    id: str
    recipient: str
    channel: Channel = Channel.SMS
    reason: str | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str


TEMPLATE_FIELDS: Final = (
    f.text("code", 60, required=True),
    f.text("name", 100, required=True),
    f.choice("channel", Channel, default=Channel.SMS),
    f.text("subject", 200),
    f.multiline("body", 2000, required=True),
    f.boolean("marketing", default=False),
    f.boolean("active", default=True),
)

OPT_OUT_TEXT: Final = "回T退订"
"""What a marketing SMS ends with (the operators require an opt-out)."""
OPT_OUT_REPLIES: Final = frozenset({"T", "TD", "N", "退订", "取消", "UNSUBSCRIBE", "STOP"})
"""Replies that unsubscribe their sender (compared trimmed and upper-cased)."""

QUIET_DEFAULT: Final = (time(21, 0), time(8, 0))
"""Marketing messages wait out 21:00–08:00 local time unless the settings say otherwise."""
