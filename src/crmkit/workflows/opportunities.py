"""Sales opportunities on the kernel: ``session.opportunities`` (销售机会).

Everything but the opportunity's own rules comes from :class:`EntityService`:
permissions (``opportunity.*``), scope (an opportunity is seen by whoever sees its
customer), validation, versions, audit, events, the recycle bin. This module adds the
pipeline (stages from the CRM's :class:`~crmkit.domain.opportunity.Pipeline`, each with its
default probability), the explicit moves *win*, *lose* and *reopen* (the state machine
:data:`~crmkit.domain.opportunity.OPPORTUNITY_STATES`), the stage history with the time
spent in each stage, the forecast and the sales statistics (seed 004, 统计分析: the
pipeline by stage, opportunities by probability, win rates), each one GROUP BY in the
database through ``Repository.aggregate``, in the actor's scope.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import attrs

from crmkit.domain import events as ev
from crmkit.domain.common import parse_text
from crmkit.domain.errors import FieldErrors, ValidationError, WorkflowError
from crmkit.domain.fields import InputField
from crmkit.domain.opportunity import (
    DEFAULT_BANDS,
    OPPORTUNITY_FIELDS,
    OPPORTUNITY_STATES,
    ForecastLine,
    Opportunity,
    OpportunityStatus,
    Pipeline,
    ProbabilityBand,
    Stage,
    StageChange,
    StageTotal,
    WinRate,
    WinRates,
    band_of,
    check_opportunity,
    money_totals,
    next_month,
    parse_bands,
    parse_month,
    stage_durations,
)
from crmkit.domain.values import Money
from crmkit.storage.catalog import OPPORTUNITIES
from crmkit.storage.ports import EntityQuery
from crmkit.storage.spec import Filter, Group, Measure, Op
from crmkit.workflows.entity import EntityService

GROUPS = ("month", "owner", "team")


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
        month they are expected to close, by owner and/or by team.

        Args:
            group_by: ``"month"``, ``"owner"``, ``"team"`` or several
                (``("month", "owner")``). A team is the people reporting to one manager:
                an owner's team is their ``manager_id`` (None without one).
            from_month / to_month: the first and last expected-close months counted
                (``"2027-01"``), both included; None: no bound.
            month: one month (``from_month`` = ``to_month`` = ``month``).

        Opportunities without an amount or an expected close date are not counted. The
        sums are made in the database (``Repository.aggregate``), exactly; each line's
        weighted sum is rounded once, to the minor unit. Lines come in order of month,
        team, owner and currency.

        Raises:
            ValidationError: an unknown grouping or a malformed month.
        """
        self.require("read")
        errors = FieldErrors()
        keys = (group_by,) if isinstance(group_by, str) else tuple(group_by)
        if not keys or any(k not in GROUPS for k in keys):
            errors.add("group_by", "opportunity.group_by", str(group_by))
        start, end = _month_range(from_month, to_month, month, errors)
        errors.raise_if_any(self.spec.name)
        filters = [
            Filter("status", Op.EQ, OpportunityStatus.OPEN),
            Filter("expected_close", Op.NULL, False),
        ]
        if start is not None:
            filters.append(Filter("expected_close", Op.GE, start))
        if end is not None:
            filters.append(Filter("expected_close", Op.LT, next_month(end)))
        by_month, by_owner = "month" in keys, "owner" in keys or "team" in keys
        by = [
            *([Group.month("expected_close")] if by_month else []),
            *([Group("owner_id")] if by_owner else []),
            Group.currency("amount"),
        ]
        rows = self.repo.aggregate(
            EntityQuery(filters=tuple(filters)),
            self._s.actor.scope,
            by=by,
            measures=(
                Measure.count(),
                Measure.sum("amount"),
                Measure.sum("amount", times="probability"),
            ),
        )
        owner_at = 1 if by_month else 0  # the owner's place in a row's key
        teams = self._teams({row.key[owner_at] for row in rows}) if "team" in keys else {}
        sums: dict[tuple[str | None, str | None, str | None, str], list[Any]] = {}
        for row in rows:
            key = iter(row.key)
            close = next(key) if by_month else None
            owner = next(key) if by_owner else None
            currency = next(key)
            if currency is None:  # no amount
                continue
            team = teams.get(owner) if owner is not None else None
            line = (close, team, owner if "owner" in keys else None, currency)
            count, total, weighted = row.values
            found = sums.setdefault(line, [0, Decimal(0), Decimal(0)])
            found[0] += count
            found[1] += total
            found[2] += weighted
        return [
            ForecastLine(
                month=close,
                owner_id=owner,
                currency=currency,
                weighted=Money(weighted, currency).quantize(),
                total=Money(total, currency).quantize(),
                count=count,
                team_id=team,
            )
            for (close, team, owner, currency), (count, total, weighted) in sorted(
                sums.items(), key=lambda kv: tuple(k or "" for k in kv[0])
            )
        ]

    def by_stage(self, **filters: Any) -> builtins.list[StageTotal]:
        """The pipeline by stage (销售漏斗): how many opportunities the actor may see are in
        each stage, and their amounts, in the order of the CRM's pipeline (its open stages,
        then won and lost; stages it no longer has last, by code). Every stage of the
        pipeline is listed, an empty one with a count of 0.

        Args:
            **filters: as :meth:`list` (``owner_id=``, ``status="open"``,
                ``expected_close__ge=`` …).

        Raises:
            ValidationError: an unknown filter or a value of the wrong type.
        """
        self.require("read")
        rows = self.repo.aggregate(
            self.query(filters),
            self._s.actor.scope,
            by=(Group("stage"), Group.currency("amount")),
            measures=(Measure.count(), Measure.sum("amount")),
        )
        counts: dict[str, int] = {}
        amounts: dict[str, dict[str, Decimal]] = {}
        for row in rows:
            (stage, currency), (count, total) = row.key, row.values
            counts[stage] = counts.get(stage, 0) + count
            if currency is not None:
                per_currency = amounts.setdefault(stage, {})
                per_currency[currency] = per_currency.get(currency, Decimal(0)) + total
        known = [s.code for s in self.pipeline.all_stages]
        order = known + sorted(set(counts) - set(known))
        return [
            StageTotal(code, counts.get(code, 0), money_totals(amounts.get(code, {})))
            for code in order
        ]

    def by_probability(
        self, *, bands: Sequence[Any] = DEFAULT_BANDS, **filters: Any
    ) -> builtins.list[ProbabilityBand]:
        """Open opportunities the actor may see by win probability, in bands: how many
        are in each and their amounts.

        Args:
            bands: the bands' bounds, rising from 0 to 1 (``[0, "30%", "70%", 1]`` makes
                0–30%, 30–70%, 70–100%); each band holds its low bound, the last one its
                high bound too. Default: steps of 20%.
            **filters: as :meth:`list`.

        Raises:
            ValidationError: bounds that do not rise from 0 to 1 (field ``bands``), an
                unknown filter.
        """
        self.require("read")
        errors = FieldErrors()
        bounds = parse_bands(bands, errors)
        query = self._query_with(filters, errors)
        query = attrs.evolve(
            query, filters=(*query.filters, Filter("status", Op.EQ, OpportunityStatus.OPEN))
        )
        rows = self.repo.aggregate(
            query,
            self._s.actor.scope,
            by=(Group("probability"), Group.currency("amount")),
            measures=(Measure.count(), Measure.sum("amount")),
        )
        counts = [0] * (len(bounds) - 1)
        amounts: list[dict[str, Decimal]] = [{} for _ in counts]
        for row in rows:
            (probability, currency), (count, total) = row.key, row.values
            band = band_of(bounds, probability)
            counts[band] += count
            if currency is not None:
                amounts[band][currency] = amounts[band].get(currency, Decimal(0)) + total
        return [
            ProbabilityBand(bounds[i], bounds[i + 1], counts[i], money_totals(amounts[i]))
            for i in range(len(counts))
        ]

    def _query_with(self, filters: Mapping[str, Any], errors: FieldErrors) -> EntityQuery:
        """:meth:`query` of ``filters``, its errors reported with those in ``errors``."""
        query = EntityQuery()
        try:
            query = self.query(filters)
        except ValidationError as exc:
            errors.extend(exc.errors)
        errors.raise_if_any(self.spec.name)
        return query

    def win_rate(
        self,
        *,
        from_month: str | date | None = None,
        to_month: str | date | None = None,
        month: str | date | None = None,
        **filters: Any,
    ) -> WinRates:
        """Won / (won + lost) of the opportunities the actor may see that were closed in a
        period, for everyone and per owner.

        Args:
            from_month / to_month: the first and last months of the close date
                (``closed_on``) counted, both included; None: no bound.
            month: one month.
            **filters: as :meth:`list` (``owner_id=`` …).

        Raises:
            ValidationError: a malformed month, an unknown filter.
        """
        self.require("read")
        errors = FieldErrors()
        start, end = _month_range(from_month, to_month, month, errors)
        query = self._query_with(filters, errors)
        closed = (OpportunityStatus.WON, OpportunityStatus.LOST)
        period = [Filter("status", Op.IN, closed)]
        if start is not None:
            period.append(Filter("closed_on", Op.GE, start))
        if end is not None:
            period.append(Filter("closed_on", Op.LT, next_month(end)))
        query = attrs.evolve(query, filters=(*query.filters, *period))
        rows = self.repo.aggregate(
            query,
            self._s.actor.scope,
            by=(Group("owner_id"), Group("status")),
            measures=(Measure.count(),),
        )
        won: dict[str, int] = {}
        lost: dict[str, int] = {}
        for row in rows:
            (owner, status), (count,) = row.key, row.values
            tally = won if status == OpportunityStatus.WON.value else lost
            tally[owner] = tally.get(owner, 0) + count
        owners = sorted(set(won) | set(lost))
        return WinRates(
            total=WinRate(None, sum(won.values()), sum(lost.values())),
            owners=tuple(WinRate(o, won.get(o, 0), lost.get(o, 0)) for o in owners),
        )

    def _teams(self, owner_ids: set[str]) -> dict[str, str | None]:
        """Each owner's team: their manager's id (None without one, or for a user gone)."""
        users = self._s._uow.users
        found = {o: users.get(o) for o in owner_ids}
        return {o: (u.manager_id if u is not None else None) for o, u in found.items()}

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


def _month_range(
    from_month: str | date | None,
    to_month: str | date | None,
    month: str | date | None,
    errors: FieldErrors,
) -> tuple[date | None, date | None]:
    """The first days of the first and last months of a period (None: unbounded)."""
    if month is not None:
        from_month = to_month = month
    start = parse_month(from_month, "from_month", errors) if from_month is not None else None
    end = parse_month(to_month, "to_month", errors) if to_month is not None else None
    if start is not None and end is not None and end < start:
        errors.add("to_month", "opportunity.month_order", str(to_month))
    return start, end
