"""Sales targets on the kernel: ``session.targets`` (销售目标), and how salespeople stand
against them (seed 002 Yuhong: targets per salesperson and month against pipeline and won
amounts).

Managers set their team's targets (the owner must be in their data scope), admins anyone's;
everyone reads their own and their team's. :meth:`TargetService.progress` sets each target
beside the owner's won amount that month (opportunities won, by the day they closed) and
their pipeline (open opportunities expected to close that month, in full and weighted by
probability), summed by the store (``Repository.aggregate``) within the actor's scope.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

import attrs

from crmkit.domain.errors import FieldErrors
from crmkit.domain.fields import InputField
from crmkit.domain.opportunity import OpportunityStatus, month_of, next_month, parse_month
from crmkit.domain.target import TARGET_FIELDS, SalesTarget, target_key
from crmkit.domain.values import Money
from crmkit.storage.catalog import OPPORTUNITIES, SALES_TARGETS
from crmkit.storage.ports import EVERYTHING, EntityQuery
from crmkit.storage.spec import Filter, Group, Measure, Op
from crmkit.workflows.entity import EntityService


@attrs.frozen(kw_only=True)
class TargetProgress:
    """One salesperson's month (in one currency): the target (None: none set), what
    they won, their pipeline in full and weighted, and the share of the target won
    (None without a target)."""

    owner_id: str
    month: str
    target: Money | None
    won: Money
    pipeline: Money
    weighted: Money

    @property
    def achieved(self) -> Decimal | None:
        """won / target, to 4 places (None without a target or with a zero one)."""
        if self.target is None or self.target.amount == 0:
            return None
        return (self.won.amount / self.target.amount).quantize(Decimal("0.0001"))


class TargetService(EntityService[SalesTarget]):
    """``session.targets``: monthly sales targets per salesperson.

    ``create(owner_id=, month="2027-01", amount="300000")``; one per salesperson and month
    (a second is refused on ``month``… as ``key`` is taken). Permissions
    ``sales_target.*``: managers and admins write, everyone reads in their scope.
    """

    spec = SALES_TARGETS
    fields: ClassVar[tuple[InputField, ...]] = TARGET_FIELDS

    def check_references(
        self, data: Mapping[str, Any], errors: FieldErrors, current: SalesTarget | None
    ) -> None:
        """The owner is an active user the actor manages (or the actor)."""
        owner = data.get("owner_id")
        if self.check_owner(data, current, errors) and not self._s.actor.scope.allows(owner):
            errors.add("owner_id", "lead.owner_not_yours", owner)

    def prepare(
        self,
        raw: Mapping[str, Any],  # noqa: ARG002  (the hook's signature)
        data: dict[str, Any],
        errors: FieldErrors,  # noqa: ARG002
        current: SalesTarget | None = None,
    ) -> dict[str, Any]:
        out = dict(data)
        owner = data.get("owner_id") or (current.owner_id if current else None)
        month = data.get("month") or (current.month if current else None)
        if owner is not None and month is not None:
            out["key"] = target_key(owner, month)
        return out

    def check_unique(self, data: Mapping[str, Any], current: Any, errors: FieldErrors) -> None:
        """A second target for the same salesperson and month is reported on ``month``."""
        owner = data.get("owner_id") or (current.owner_id if current else None)
        month = data.get("month") or (current.month if current else None)
        if owner is None or month is None:
            return
        key = target_key(owner, month)
        if current is not None and key == current.key:
            return
        query = EntityQuery(filters=(Filter("key", Op.EQ, key),))
        if self.repo.count(query, EVERYTHING, cap=1):
            errors.add("month", "taken", month_of(month))

    def progress(
        self,
        *,
        month: str | date | None = None,
        from_month: str | date | None = None,
        to_month: str | date | None = None,
    ) -> builtins.list[TargetProgress]:
        """Each salesperson in the actor's scope with a target or a deal in the months
        asked (``month``, or ``from_month`` to ``to_month``; default this month): target,
        won, pipeline and weighted pipeline, by month then owner.

        Raises:
            ValidationError: a malformed month, or the last month before the first.
        """
        self.require("read")
        s = self._s
        errors = FieldErrors()
        if month is not None:
            from_month = to_month = month
        start = parse_month(from_month, "from_month", errors) if from_month else None
        end = parse_month(to_month, "to_month", errors) if to_month else None
        today = s.today().replace(day=1)
        start, end = start or end or today, end or start or today
        if end < start:
            errors.add("to_month", "opportunity.month_order", str(to_month))
        errors.raise_if_any(self.spec.name)
        stop = next_month(end)
        scope = s.actor.scope
        targets = self.repo.aggregate(
            EntityQuery(filters=(Filter("month", Op.GE, start), Filter("month", Op.LT, stop))),
            scope,
            by=(Group.month("month"), Group("owner_id"), Group.currency("amount")),
            measures=(Measure.sum("amount"),),
        )
        deals = s._uow.repo(OPPORTUNITIES)

        def by_month(status: OpportunityStatus, day: str, *measures: Measure) -> Any:
            """The owner's deals of ``status`` summed by the month of ``day``."""
            period = (Filter(day, Op.GE, start), Filter(day, Op.LT, stop))
            return deals.aggregate(
                EntityQuery(filters=(Filter("status", Op.EQ, status), *period)),
                scope,
                by=(Group.month(day), Group("owner_id"), Group.currency("amount")),
                measures=measures,
            )

        won = by_month(OpportunityStatus.WON, "closed_on", Measure.sum("amount"))
        pipeline = by_month(
            OpportunityStatus.OPEN,
            "expected_close",
            Measure.sum("amount"),
            Measure.sum("amount", times="probability"),
        )
        table: dict[tuple[str, str, str], dict[str, Decimal]] = {}
        for name, rows in (("target", targets), ("won", won)):
            for row in rows:
                table.setdefault(row.key, {})[name] = row.values[0]
        for row in pipeline:
            cell = table.setdefault(row.key, {})
            cell["pipeline"], cell["weighted"] = row.values
        zero = Decimal(0)
        return [
            TargetProgress(
                owner_id=owner,
                month=key_month,
                target=Money(cell["target"], cur).quantize() if "target" in cell else None,
                won=Money(cell.get("won", zero), cur).quantize(),
                pipeline=Money(cell.get("pipeline", zero), cur).quantize(),
                weighted=Money(cell.get("weighted", zero), cur).quantize(),
            )
            for (key_month, owner, cur), cell in sorted(table.items(), key=_order)
            if key_month is not None and owner is not None and cur is not None
        ]


def _order(item: tuple[tuple[Any, ...], Any]) -> tuple[str, ...]:
    return tuple(str(part or "") for part in item[0])
