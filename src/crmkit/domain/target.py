"""Sales targets (销售目标): what a salesperson is to sell in a month (seed 002 Yuhong), set
by their manager and read against their pipeline and what they won.

One target per salesperson and month: its ``key`` (``<owner id>:<2027-01>``) is unique among
live targets, so a second one for the same month is refused with the other errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final

import attrs

from crmkit.domain import fields as f
from crmkit.domain.errors import FieldErrors
from crmkit.domain.opportunity import parse_month
from crmkit.domain.values import Money


@attrs.frozen(kw_only=True)
class SalesTarget:
    """A salesperson's target for one month.

    Attributes:
        owner_id: the salesperson.
        month: the month's first day.
        amount: what they are to sell (价税合计 of deals won).
        key: ``<owner id>:<YYYY-MM>``, unique among live targets.
    """

    id: str
    owner_id: str
    month: date
    amount: Money
    key: str | None = attrs.field(
        default=attrs.Factory(lambda self: target_key(self.owner_id, self.month), takes_self=True)
    )
    remarks: str | None = None
    custom: Mapping[str, Any] = attrs.field(factory=dict)
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str
    deleted_at: datetime | None = None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


def target_key(owner_id: str, month: date) -> str:
    """``<owner id>:<YYYY-MM>``: one target per salesperson and month."""
    return f"{owner_id}:{month:%Y-%m}"


def _parse_month(raw: Any, errors: FieldErrors, path: str) -> date | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, datetime):
        raw = raw.date()
    return parse_month(raw if isinstance(raw, date) else str(raw), path, errors)


TARGET_FIELDS: Final = (
    f.ref("owner_id", required=True),
    f.InputField("month", _parse_month, required=True, kind="month"),
    f.money("amount", required=True),
    f.multiline("remarks", 500),
)
