"""Sales leads (线索): a company or a person who may become a customer.

A lead is what a salesperson has before there is a customer: a name (a company's or a
person's, held to the same name rules as customers), whom to speak to, how to reach them,
where the lead came from (``source``, the data dictionary's list once it has entries) and
who works it. It moves *new → working → converted | disqualified* (the state machine
:data:`LEAD_STATES`); converting it creates the customer, its contact and, if asked, an
opportunity, and the lead keeps links to them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import attrs

from crmkit.domain import fields as f
from crmkit.domain.approvals import ApprovalStatus
from crmkit.domain.common import is_blank, parse_value
from crmkit.domain.customer import KIND_ALIASES, CustomerKind
from crmkit.domain.errors import FieldErrors
from crmkit.domain.regions import Region
from crmkit.domain.states import StateMachine
from crmkit.domain.values import Email, Phone


class LeadStatus(enum.StrEnum):
    NEW = "new"
    WORKING = "working"
    CONVERTED = "converted"
    DISQUALIFIED = "disqualified"


LEAD_STATES: Final[StateMachine[LeadStatus]] = StateMachine(
    "lead",
    {
        LeadStatus.NEW: frozenset(
            {LeadStatus.WORKING, LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED}
        ),
        LeadStatus.WORKING: frozenset({LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED}),
        LeadStatus.CONVERTED: frozenset(),
        LeadStatus.DISQUALIFIED: frozenset(),
    },
    {
        LeadStatus.NEW: "新线索",
        LeadStatus.WORKING: "跟进中",
        LeadStatus.CONVERTED: "已转化",
        LeadStatus.DISQUALIFIED: "无效",
    },
)
"""new -> working -> converted | disqualified (new may skip working); the two ends are
final. A wrong move raises ``WorkflowError``."""

# The document type an approval policy names to make conversions need an approval.
LEAD_CONVERSION: Final = "lead_conversion"


@attrs.frozen(kw_only=True)
class Lead:
    """A sales lead (线索). Read-only: change it through ``session.leads``.

    Attributes:
        kind: a company or an individual (how ``name`` is normalised).
        name: the company's or the person's name, in its one stored form.
        contact_name: whom to speak to (the contact a conversion creates).
        mobile / phone / email: how to reach them (value objects, stored normalised).
        mobile_e164 / phone_e164: the numbers' E.164 forms, indexed for duplicate look-ups.
        source: where the lead came from (来源; the dictionary's ``source`` list).
        region: 省/市/区县.
        owner_id: the salesperson working it (default: whoever created it).
        status: new, working, converted or disqualified.
        disqualified_reason: why it was disqualified.
        customer_id / contact_id / opportunity_id: what converting it created.
        converted_at: when it was converted.
        conversion_approval / conversion_approval_id / conversion_deal: where the approval
            of its conversion stands (when the CRM's policy asks for one), that approval,
            and the opportunity fields the approvers saw (the conversion uses them).
    """

    id: str
    kind: CustomerKind = CustomerKind.COMPANY
    name: str
    contact_name: str | None = None
    mobile: Phone | None = None
    phone: Phone | None = None
    email: Email | None = None
    mobile_e164: str | None = None
    phone_e164: str | None = None
    source: str | None = None
    region: Region | None = None
    remarks: str | None = None
    owner_id: str
    status: LeadStatus = LeadStatus.NEW
    disqualified_reason: str | None = None
    customer_id: str | None = None
    contact_id: str | None = None
    opportunity_id: str | None = None
    converted_at: datetime | None = None
    conversion_approval: ApprovalStatus | None = None
    conversion_approval_id: str | None = None
    conversion_deal: Mapping[str, Any] | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str
    deleted_at: datetime | None = None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_open(self) -> bool:
        """Still to be worked: new or working."""
        return self.status in (LeadStatus.NEW, LeadStatus.WORKING)


def _as_given(raw: Any, errors: FieldErrors, path: str) -> Any:  # noqa: ARG001
    """Kept as given: the service parses it (phones need the CRM's region)."""
    return None if is_blank(raw) else raw


def parse_region(raw: Any, errors: FieldErrors, path: str) -> Region | None:
    if isinstance(raw, Region):
        return raw
    return parse_value(Region.parse, raw, errors, path)


LEAD_FIELDS: Final = (
    f.choice("kind", CustomerKind, aliases=dict(KIND_ALIASES), default=CustomerKind.COMPANY),
    f.text("name", 100, required=True),
    f.text("contact_name", 50),
    f.InputField("mobile", _as_given, kind="text"),
    f.InputField("phone", _as_given, kind="text"),
    f.InputField("email", _as_given, kind="text"),
    f.text("source", 50),
    f.InputField("region", parse_region),
    f.multiline("remarks", 2000),
    f.ref("owner_id"),
)
"""What callers may set; ``status`` and the conversion links change only through the
service's moves."""
