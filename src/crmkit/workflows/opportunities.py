"""Sales opportunities on the kernel: ``session.opportunities`` (销售机会).

Everything but the opportunity's own rules comes from :class:`EntityService`:
permissions (``opportunity.*``), scope (an opportunity is seen by whoever sees its
customer), validation, versions, audit, events, the recycle bin. This module adds the
pipeline (stages from the CRM's :class:`~crmkit.domain.opportunity.Pipeline`, each with its
default probability), the explicit moves *win*, *lose* and *reopen* (the state machine
:data:`~crmkit.domain.opportunity.OPPORTUNITY_STATES`), the stage history with the time
spent in each stage, and the forecast.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from crmkit.domain import events as ev
from crmkit.domain.common import parse_text
from crmkit.domain.errors import FieldErrors, WorkflowError
from crmkit.domain.fields import InputField
from crmkit.domain.opportunity import (
    OPPORTUNITY_FIELDS,
    OPPORTUNITY_STATES,
    ForecastLine,
    Opportunity,
    OpportunityStatus,
    Pipeline,
    Stage,
    StageChange,
    check_opportunity,
    forecast_lines,
    next_month,
    parse_month,
    stage_durations,
)
from crmkit.storage.catalog import OPPORTUNITIES
from crmkit.storage.ports import EntityQuery
from crmkit.storage.spec import Filter, Op
from crmkit.workflows.entity import EntityService

if TYPE_CHECKING:
    pass

GROUPS = ("month", "owner")


class OpportunityService(EntityService[Opportunity]):
    """``session.opportunities``: deals in the making, by customer.

    ``create(customer_id=, title=, …)``: the stage defaults to the pipeline's first, the
    probability to the stage's, the owner to the actor. ``update`` (or :meth:`move`)
    changes the stage of an open opportunity, taking the new stage's probability unless
    one is given; :meth:`win`, :meth:`lose` and :meth:`reopen` close and reopen it.

    ``list`` filters: ``customer_id``, ``owner_id``, ``stage``, ``status``,
    ``expected_close`` (with ``__ge``/``__lt`` … ranges), ``title``; ``q``: text in the
    title.
    """

    spec = OPPORTUNITIES
    fields: ClassVar[tuple[InputField, ...]] = OPPORTUNITY_FIELDS
    custom = True

    @property
    def pipeline(self) -> Pipeline:
        """The CRM's pipeline (``crm.define_pipeline``)."""
        return self._s.runtime.pipeline

    # -- the kernel's hooks ---------------------------------------------------------------
    def check_references(
        self, data: Mapping[str, Any], errors: FieldErrors, current: Opportunity | None
    ) -> None:
        """Every rule on the input itself, reported with the parsing errors: the customer
        is one the actor sees, the owner an active user, the stage one of the pipeline's
        open stages, the expected close date not past (on create)."""
        s = self._s
        customer_id = data.get("customer_id")
        if customer_id is not None:
            self.check_customer(customer_id, errors, "opportunity.customer_unseen")
        self.check_owner(data, current, errors)
        raw_stage = data.get("stage")
        if raw_stage is not None:
            stage = self.pipeline.find(raw_stage)
            if stage is None:
                errors.add("stage", "opportunity.stage_unknown", raw_stage, choices=self._choices())
            elif not self.pipeline.is_open(stage.code) and (
                current is None or stage.code != current.stage
            ):
                errors.add("stage", "opportunity.stage_end", raw_stage)
        elif current is not None and "stage" in data:
            errors.add("stage", "required", None)
        if current is not None and "probability" in data and data["probability"] is None:
            errors.add("probability", "required", None)
        close = data.get("expected_close")
        if current is None and close is not None and close < s.today():
            errors.add("expected_close", "date.past", close.isoformat())

    def prepare(
        self,
        raw: Mapping[str, Any],  # noqa: ARG002  (the hook's signature)
        data: dict[str, Any],
        errors: FieldErrors,  # noqa: ARG002
        current: Opportunity | None = None,
    ) -> dict[str, Any]:
        s = self._s
        out = dict(data)
        given = data.get("probability")
        if current is None:
            out["owner_id"] = data.get("owner_id") or s.actor.id
            stage = self._stage(data.get("stage")) or self.pipeline.first
            out["stage"] = stage.code
            out["probability"] = given if given is not None else stage.probability
            out["stage_history"] = (
                StageChange(stage=stage.code, entered_at=s.now(), by=s.actor.id),
            )
            return out
        if data.get("stage") is None:
            return out
        moved = self._stage(data["stage"])
        assert moved is not None  # checked in check_references
        out["stage"] = moved.code
        if moved.code == current.stage:
            return out
        if current.status is not OpportunityStatus.OPEN:
            raise self._refused(current.status, "move", "变更阶段")
        if given is None:
            out["probability"] = moved.probability
        out["stage_history"] = (
            *current.stage_history,
            StageChange(stage=moved.code, entered_at=s.now(), by=s.actor.id),
        )
        return out

    def check(
        self,
        entity: Opportunity,
        current: Opportunity | None,  # noqa: ARG002  (the hook's signature)
        errors: FieldErrors,
    ) -> None:
        check_opportunity(entity, errors)

    # -- moves ----------------------------------------------------------------------------
    def move(
        self,
        id: str,
        *,
        stage: str,
        version: int | None = None,
        probability: Any = None,
    ) -> Opportunity:
        """Move an open opportunity to another stage of the pipeline (``update`` with
        ``stage``): its probability becomes the stage's unless ``probability`` is given.

        Raises:
            ValidationError: a stage the pipeline lacks, or one of its ends.
            WorkflowError: the opportunity is won or lost (reopen it first).
        """
        changes: dict[str, Any] = {"stage": stage}
        if probability is not None:
            changes["probability"] = probability
        return self.update(id, version, **changes)

    def win(self, id: str, *, version: int | None = None) -> Opportunity:
        """Mark an open opportunity won: the pipeline's won stage, its probability (100%
        by default), closed today.

        Raises:
            WorkflowError: it is not open.
            ConcurrencyError / NotFound / PermissionDenied: as :meth:`update`.
        """
        return self._close(id, version, OpportunityStatus.WON, self.pipeline.won, None)

    def lose(self, id: str, *, reason: Any, version: int | None = None) -> Opportunity:
        """Mark an open opportunity lost, saying why (丢单原因; once the data dictionary's
        ``lost_reason`` list has entries, one of them or an alias).

        Raises:
            ValidationError: no reason, or one the ``lost_reason`` list does not hold
                (field ``lost_reason``).
            WorkflowError: it is not open.
        """
        return self._close(id, version, OpportunityStatus.LOST, self.pipeline.lost, reason)

    def reopen(
        self, id: str, *, version: int | None = None, stage: str | None = None
    ) -> Opportunity:
        """Bring a won or lost opportunity back to an open stage: ``stage``, else the
        open stage it was last in (the pipeline's first if the pipeline lacks it).

        Raises:
            ValidationError: ``stage`` is not an open stage of the pipeline.
            WorkflowError: it is open already.
        """
        s = self._s
        self.require("write")
        current = self.get(id)
        self._check_version(current, version)
        OPPORTUNITY_STATES.check(
            current.status, OpportunityStatus.OPEN, move="reopen", move_zh="重新打开"
        )
        target: Stage | None
        if stage is not None:
            errors = FieldErrors()
            target = self._stage(stage)
            if target is None or not self.pipeline.is_open(target.code):
                errors.add("stage", "opportunity.stage_unknown", stage, choices=self._choices())
            errors.raise_if_any(self.spec.name)
        else:
            last = [c.stage for c in current.stage_history if self.pipeline.is_open(c.stage)]
            target = self.pipeline.get(last[-1]) if last else None
        target = target or self.pipeline.first
        now = s.now()
        updated: Opportunity = self._stamped(
            current,
            now,
            status=OpportunityStatus.OPEN,
            stage=target.code,
            probability=target.probability,
            closed_on=None,
            lost_reason=None,
            stage_history=(
                *current.stage_history,
                StageChange(stage=target.code, entered_at=now, by=s.actor.id),
            ),
        )
        self.save_change(current, updated)
        return updated

    # -- reports --------------------------------------------------------------------------
    def durations(self, id: str) -> dict[str, timedelta]:
        """Time spent in each stage (seed 004, 销售机会持续时间), in order of first entry:
        a stage entered twice adds up; the current stage counts up to now (the CRM's
        clock)."""
        opp = self.get(id)
        return stage_durations(opp.stage_history, self._s.now())

    def forecast(
        self,
        *,
        group_by: str | Sequence[str] = "month",
        from_month: str | date | None = None,
        to_month: str | date | None = None,
        month: str | date | None = None,
    ) -> builtins.list[ForecastLine]:
        """Σ amount × probability of the open opportunities the actor may see, by the
        month they are expected to close and/or by owner.

        Args:
            group_by: ``"month"``, ``"owner"`` or both (``("month", "owner")``).
            from_month / to_month: the first and last expected-close months counted
                (``"2027-01"``), both included; None: no bound.
            month: one month (``from_month`` = ``to_month`` = ``month``).

        Opportunities without an amount or an expected close date are not counted. Each
        line's weighted sum is exact until it is rounded once to the minor unit.

        It is computed in the library over the repository's pages (in the actor's
        scope); summing in SQL is a later benchmark goal.

        Raises:
            ValidationError: an unknown grouping or a malformed month.
        """
        self.require("read")
        errors = FieldErrors()
        keys = (group_by,) if isinstance(group_by, str) else tuple(group_by)
        if not keys or any(k not in GROUPS for k in keys):
            errors.add("group_by", "opportunity.group_by", str(group_by))
        if month is not None:
            from_month = to_month = month
        start = parse_month(from_month, "from_month", errors) if from_month is not None else None
        end = parse_month(to_month, "to_month", errors) if to_month is not None else None
        if start is not None and end is not None and end < start:
            errors.add("to_month", "opportunity.month_order", str(to_month))
        errors.raise_if_any(self.spec.name)
        filters = [
            Filter("status", Op.EQ, OpportunityStatus.OPEN),
            Filter("expected_close", Op.NULL, False),
        ]
        if start is not None:
            filters.append(Filter("expected_close", Op.GE, start))
        if end is not None:
            filters.append(Filter("expected_close", Op.LT, next_month(end)))
        query = EntityQuery(filters=tuple(filters))
        found: builtins.list[Opportunity] = []
        after: str | None = None
        while True:
            page = self.repo.list(query, self._s.actor.scope, after=after, limit=500)
            found += page.items
            if page.next_after is None:
                return forecast_lines(found, keys)
            after = page.next_after

    # -- helpers --------------------------------------------------------------------------
    def _stage(self, raw: str | None) -> Stage | None:
        return self.pipeline.find(raw) if raw is not None else None

    def _choices(self) -> str:
        return "、".join(f"{label}({code})" for code, label in self.pipeline.choices())

    def _refused(self, state: OpportunityStatus, move: str, move_zh: str) -> WorkflowError:
        return WorkflowError(
            self.spec.name,
            state.value,
            move,
            state_zh=OPPORTUNITY_STATES.labels_zh.get(state),
            move_zh=move_zh,
        )

    def _close(
        self,
        id: str,
        version: int | None,
        target: OpportunityStatus,
        end: Stage,
        reason: Any,
    ) -> Opportunity:
        s = self._s
        self.require("write")
        current = self.get(id)
        self._check_version(current, version)
        won = target is OpportunityStatus.WON
        OPPORTUNITY_STATES.check(
            current.status,
            target,
            move="win" if won else "lose",
            move_zh="赢单" if won else "输单",
        )
        lost_reason: str | None = None
        if not won:
            errors = FieldErrors()
            text = parse_text(reason, errors, "lost_reason", 200)
            if text is None and not errors:
                errors.add("lost_reason", "required", reason)
            elif text is not None:
                lost_reason = s.vocabulary().resolve("lost_reason", text, errors, "lost_reason")
            errors.raise_if_any(self.spec.name)
        now = s.now()
        updated: Opportunity = self._stamped(
            current,
            now,
            status=target,
            stage=end.code,
            probability=end.probability,
            closed_on=s.today(),
            lost_reason=lost_reason,
            stage_history=(
                *current.stage_history,
                StageChange(stage=end.code, entered_at=now, by=s.actor.id),
            ),
        )
        self.save_change(current, updated)
        who = {"customer_id": current.customer_id, "owner_id": current.owner_id}
        s.publish(
            ev.OpportunityWon(actor_id=s.actor.id, at=now, entity_id=id, **who)
            if won
            else ev.OpportunityLost(
                actor_id=s.actor.id, at=now, entity_id=id, reason=lost_reason or "", **who
            )
        )
        return updated
