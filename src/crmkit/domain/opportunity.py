"""Sales opportunities (销售机会) and the pipeline they move through.

An opportunity is a deal in the making with one customer: what the customer needs, the
budget, the expected value (``amount``) and close date, the competitors, and where it
stands in the sales pipeline (``stage``). Each stage carries a default win probability
(初步接洽 10% … 谈判审批 70%); the pipeline's two ends, 赢单 and 输单, are reached only by the
explicit moves *win* and *lose* (see :data:`OPPORTUNITY_STATES`), and *reopen* brings a
closed opportunity back.

Every stage change is kept in :attr:`Opportunity.stage_history` (stage, when, by whom), so
the time spent in each stage (seed 004, 销售机会持续时间) is :func:`stage_durations`.

A :class:`Pipeline` belongs to a CRM (``crmkit.open(pipeline=...)``,
``crm.define_pipeline(...)``), never to the process: two CRMs may sell differently.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import Any, Final

import attrs

from crmkit.domain import fields as f
from crmkit.domain.common import is_blank
from crmkit.domain.errors import FieldErrors
from crmkit.domain.states import StateMachine
from crmkit.domain.values import Money, normalize_text

_STAGE_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class OpportunityStatus(enum.StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


OPPORTUNITY_STATES: Final[StateMachine[OpportunityStatus]] = StateMachine(
    "opportunity",
    {
        OpportunityStatus.OPEN: frozenset({OpportunityStatus.WON, OpportunityStatus.LOST}),
        OpportunityStatus.WON: frozenset({OpportunityStatus.OPEN}),
        OpportunityStatus.LOST: frozenset({OpportunityStatus.OPEN}),
    },
    {
        OpportunityStatus.OPEN: "进行中",
        OpportunityStatus.WON: "赢单",
        OpportunityStatus.LOST: "输单",
    },
)
"""open -> won | lost; won | lost -> open (reopen). A wrong move raises ``WorkflowError``."""


# -- the pipeline -------------------------------------------------------------------------
def _stage_tuple(stages: Iterable[Stage]) -> tuple[Stage, ...]:
    return tuple(stages)


@attrs.frozen
class Stage:
    """One stage of a pipeline.

    Attributes:
        code: stored on opportunities (``proposal``): lower-case letters, digits and ``_``.
        label_en / label_zh: what people read.
        probability: the win probability an opportunity takes on entering the stage
            (from 0 to 1), unless one is given.
    """

    code: str
    label_en: str
    label_zh: str
    probability: Decimal

    def label(self, lang: str = "zh") -> str:
        return self.label_en if lang == "en" else self.label_zh


@attrs.frozen
class Pipeline:
    """The stages opportunities move through, in order, and the two ends.

    Args:
        stages: the open stages, in the order a deal usually goes.
        won: the end reached by *win* (probability 1 by convention).
        lost: the end reached by *lose* (probability 0 by convention).

    Raises:
        ValueError: no open stage, a repeated or malformed code, a probability outside
            0 to 1.
    """

    stages: tuple[Stage, ...] = attrs.field(converter=_stage_tuple)
    won: Stage
    lost: Stage

    def __attrs_post_init__(self) -> None:
        if not self.stages:
            raise ValueError("a pipeline needs at least one open stage")
        seen: set[str] = set()
        for stage in self.all_stages:
            if not _STAGE_CODE.match(stage.code):
                raise ValueError(f"stage code {stage.code!r}: use lower-case letters, digits, _")
            if stage.code in seen:
                raise ValueError(f"stage code {stage.code!r} appears twice")
            seen.add(stage.code)
            if not isinstance(stage.probability, Decimal) or not (
                Decimal(0) <= stage.probability <= Decimal(1)
            ):
                raise ValueError(f"stage {stage.code!r}: probability must be a Decimal 0..1")

    @classmethod
    def default(cls) -> Pipeline:
        """crmkit's pipeline: 初步接洽 10%, 需求确认 30%, 方案报价 50%, 谈判审批 70%;
        赢单 100%, 输单 0%."""
        return cls(
            stages=(
                Stage("contact", "Initial contact", "初步接洽", Decimal("0.10")),
                Stage("needs", "Needs confirmed", "需求确认", Decimal("0.30")),
                Stage("proposal", "Proposal and quote", "方案报价", Decimal("0.50")),
                Stage("negotiation", "Negotiation and approval", "谈判审批", Decimal("0.70")),
            ),
            won=Stage("won", "Won", "赢单", Decimal(1)),
            lost=Stage("lost", "Lost", "输单", Decimal(0)),
        )

    @property
    def all_stages(self) -> tuple[Stage, ...]:
        return (*self.stages, self.won, self.lost)

    @property
    def first(self) -> Stage:
        """Where a new opportunity starts unless told."""
        return self.stages[0]

    def get(self, code: str) -> Stage | None:
        """The stage with ``code`` (open or an end), if the pipeline has it."""
        return next((s for s in self.all_stages if s.code == code), None)

    def find(self, raw: str) -> Stage | None:
        """The stage ``raw`` names: its code or either label, any case or width."""
        wanted = _key(raw)
        return next(
            (
                s
                for s in self.all_stages
                if wanted in {_key(s.code), _key(s.label_en), _key(s.label_zh)}
            ),
            None,
        )

    def is_open(self, code: str) -> bool:
        return any(s.code == code for s in self.stages)

    def label(self, code: str, lang: str = "zh") -> str:
        """A stage's label (the code itself for a stage this pipeline no longer has)."""
        stage = self.get(code)
        return stage.label(lang) if stage is not None else code

    def choices(self, lang: str = "zh") -> list[tuple[str, str]]:
        """``(code, label)`` of the open stages, for a select."""
        return [(s.code, s.label(lang)) for s in self.stages]


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", str(text)).casefold().split())


# -- the entity ---------------------------------------------------------------------------
@attrs.frozen(kw_only=True)
class StageChange:
    """An opportunity entered ``stage`` at ``entered_at``, moved there by user ``by``."""

    stage: str
    entered_at: datetime
    by: str


@attrs.frozen(kw_only=True)
class Opportunity:
    """A sales opportunity (销售机会).

    Attributes:
        customer_id: the customer (its data scope is the opportunity's).
        owner_id: the salesperson working it (default: whoever created it).
        title: what the deal is called (门禁改造).
        need: 需求, the customer's need as told.
        budget: the customer's budget.
        amount: the expected deal value; the forecast weighs it by ``probability``.
        expected_close: the expected close date (预计成交日期).
        stage: a stage code of the CRM's pipeline.
        probability: the win probability, 0 to 1.
        competitors: 竞争对手, by name.
        next_step: 下一步 (what happens next).
        status: open, won or lost; changed only by win, lose and reopen.
        lost_reason: why it was lost (丢单原因; the ``lost_reason`` dictionary list).
        closed_on: the date it was won or lost.
        stage_history: every stage entered, oldest first.
    """

    id: str
    customer_id: str
    owner_id: str
    title: str
    need: str | None = None
    budget: Money | None = None
    amount: Money | None = None
    expected_close: date | None = None
    stage: str
    probability: Decimal
    competitors: tuple[str, ...] = ()
    next_step: str | None = None
    status: OpportunityStatus = OpportunityStatus.OPEN
    lost_reason: str | None = None
    closed_on: date | None = None
    stage_history: tuple[StageChange, ...] = ()
    custom: Mapping[str, Any] = attrs.field(factory=dict)
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
        return self.status is OpportunityStatus.OPEN

    @property
    def weighted_amount(self) -> Money | None:
        """``amount × probability``, exact (not rounded); None without an amount."""
        if self.amount is None:
            return None
        return Money(self.amount.amount * self.probability, self.amount.currency)


# -- input ---------------------------------------------------------------------------------
def parse_probability(raw: Any, errors: FieldErrors, path: str) -> Decimal | None:
    """A probability from 0 to 1 inclusive: ``"0.3"``, ``"30%"``, ``Decimal``, ``1``."""
    return f.parse_fraction(raw, errors, path, code="probability.invalid", upto_one=True)


_SEPARATORS = re.compile(r"[,，、;；\n]")
MAX_COMPETITORS: Final = 20


def parse_competitors(raw: Any, errors: FieldErrors, path: str) -> tuple[str, ...]:
    """Names from a list or a text separated by , ， 、 ; or new lines (repeats dropped)."""
    if is_blank(raw):
        return ()
    if isinstance(raw, str):
        items: list[Any] = _SEPARATORS.split(raw)
    elif isinstance(raw, Iterable):
        items = list(raw)
    else:
        errors.add(path, "invalid_type", raw, expected="list")
        return ()
    out: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, str):
            errors.add(f"{path}[{i}]", "invalid_type", item, expected="text")
            continue
        name = " ".join(normalize_text(item).split())
        if not name:
            continue
        if len(name) > 100:
            errors.add(f"{path}[{i}]", "too_long", item, max=100)
        elif name not in out:
            out.append(name)
    if len(out) > MAX_COMPETITORS:
        errors.add(path, "opportunity.too_many", len(out), max=MAX_COMPETITORS)
    return tuple(out)


OPPORTUNITY_FIELDS: Final = (
    f.ref("customer_id", required=True, editable=False),
    f.ref("owner_id"),
    f.text("title", 100, required=True),
    f.multiline("need", 2000),
    f.money("budget"),
    f.money("amount"),
    f.day("expected_close"),
    f.text("stage", 50),
    f.InputField("probability", parse_probability, kind="rate"),
    f.InputField("competitors", parse_competitors, default=(), kind="tokens"),
    f.text("next_step", 200),
)


def check_opportunity(opp: Opportunity, errors: FieldErrors) -> None:
    """Rules across an opportunity's fields."""
    if (
        opp.budget is not None
        and opp.amount is not None
        and opp.budget.currency != opp.amount.currency
    ):
        errors.add("budget", "opportunity.currency_mismatch", str(opp.budget))


# -- stage durations ----------------------------------------------------------------------
def stage_durations(history: Sequence[StageChange], now: datetime) -> dict[str, timedelta]:
    """Time spent in each stage: each change lasts until the next, the last one until
    ``now``; a stage entered several times adds up. Stages in order of first entry."""
    out: dict[str, timedelta] = {}
    ends = [c.entered_at for c in history[1:]] + [now]
    for change, end in zip(history, ends[: len(history)], strict=True):
        spent = max(end - change.entered_at, timedelta(0))
        out[change.stage] = out.get(change.stage, timedelta(0)) + spent
    return out


# -- forecast -----------------------------------------------------------------------------
@attrs.frozen
class ForecastLine:
    """One group of a forecast.

    Attributes:
        month: the expected-close month (``"2027-01"``), or None when not grouped by month.
        owner_id: the owner, or None when not grouped by owner.
        currency: the amounts' currency (opportunities in other currencies group apart).
        weighted: Σ amount × probability, rounded once to the minor unit (ROUND_HALF_UP).
        total: Σ amount (unweighted).
        count: how many opportunities.
        team_id: when grouped by team, the owners' manager (``User.manager_id``; None for
            owners without one); else None.
    """

    month: str | None
    owner_id: str | None
    currency: str
    weighted: Money
    total: Money
    count: int
    team_id: str | None = None


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def parse_month(raw: str | date, path: str, errors: FieldErrors) -> date | None:
    """The first day of the month ``raw`` names (``"2027-01"``, ``"2027/1"``, a date)."""
    if isinstance(raw, date):
        return raw.replace(day=1)
    text = normalize_text(str(raw)).strip().replace("/", "-").replace("年", "-").rstrip("月")
    parts = text.split("-")
    try:
        if len(parts) != 2:
            raise ValueError(text)
        return date(int(parts[0]), int(parts[1]), 1)
    except ValueError:
        errors.add(path, "month.invalid", raw)
        return None


def next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def forecast_lines(
    opportunities: Iterable[Opportunity], group_by: Sequence[str]
) -> list[ForecastLine]:
    """Open opportunities with an amount and an expected close date, summed by
    ``group_by`` (``"month"``, ``"owner"`` or both) and currency, in key order."""
    sums: dict[tuple[str | None, str | None, str], tuple[Decimal, Decimal, int]] = {}
    for opp in opportunities:
        if not opp.is_open or opp.amount is None or opp.expected_close is None:
            continue
        key = (
            month_of(opp.expected_close) if "month" in group_by else None,
            opp.owner_id if "owner" in group_by else None,
            opp.amount.currency,
        )
        weighted, total, count = sums.get(key, (Decimal(0), Decimal(0), 0))
        sums[key] = (
            weighted + opp.amount.amount * opp.probability,
            total + opp.amount.amount,
            count + 1,
        )
    return [
        ForecastLine(
            month=month,
            owner_id=owner,
            currency=currency,
            weighted=Money(weighted, currency).quantize(),
            total=Money(total, currency).quantize(),
            count=count,
        )
        for (month, owner, currency), (weighted, total, count) in sorted(
            sums.items(), key=lambda kv: tuple(k or "" for k in kv[0])
        )
    ]


# -- statistics (seed 004, 统计分析) --------------------------------------------------------
def money_totals(sums: Mapping[str, Decimal]) -> tuple[Money, ...]:
    """Exact sums per currency as :class:`Money`, by currency code, each rounded once to
    its minor unit."""
    return tuple(Money(sums[c], c).quantize() for c in sorted(sums))


@attrs.frozen
class StageTotal:
    """The opportunities in one stage of the pipeline (销售漏斗).

    Attributes:
        stage: the stage's code (``Pipeline.label`` gives its name).
        count: how many opportunities are in it.
        amounts: Σ amount of those with an amount, one :class:`Money` per currency (by
            currency code), each rounded once to the minor unit; empty when none has one.
    """

    stage: str
    count: int
    amounts: tuple[Money, ...] = ()


@attrs.frozen
class ProbabilityBand:
    """The open opportunities whose probability lies in ``[low, high)`` (the last band of
    a list includes ``high``: a probability of 1 counts in it).

    Attributes:
        low / high: the band's bounds, from 0 to 1.
        count: how many opportunities.
        amounts: Σ amount per currency, as :attr:`StageTotal.amounts`.
    """

    low: Decimal
    high: Decimal
    count: int
    amounts: tuple[Money, ...] = ()


DEFAULT_BANDS: Final = tuple(Decimal(b) for b in ("0", "0.2", "0.4", "0.6", "0.8", "1"))
"""The bounds of the default probability bands: 0–20%, 20–40%, 40–60%, 60–80%, 80–100%."""


def parse_bands(
    raw: Sequence[Any], errors: FieldErrors, path: str = "bands"
) -> tuple[Decimal, ...]:
    """Band bounds rising strictly from 0 to 1 (``[0, "25%", "0.5", 1]``): at least two."""
    bounds: list[Decimal] = []
    for i, item in enumerate(raw):
        value = parse_probability(item, errors, f"{path}[{i}]")
        if value is not None:
            bounds.append(value)
    if len(bounds) == len(raw) and (
        len(bounds) < 2
        or bounds[0] != 0
        or bounds[-1] != 1
        or any(a >= b for a, b in pairwise(bounds))
    ):
        errors.add(path, "opportunity.bands", ", ".join(str(b) for b in bounds))
    return tuple(bounds)


def band_of(bounds: Sequence[Decimal], probability: Decimal) -> int:
    """The index of the band holding ``probability`` among those ``bounds`` make (the
    last band includes its top)."""
    for i in range(len(bounds) - 2, -1, -1):
        if probability >= bounds[i]:
            return i
    return 0


@attrs.frozen
class WinRate:
    """Closed opportunities of one owner (or of everyone: ``owner_id`` None).

    Attributes:
        owner_id: the owner, or None for the total.
        won / lost: how many were won and lost.
    """

    owner_id: str | None
    won: int
    lost: int

    @property
    def rate(self) -> Decimal | None:
        """won / (won + lost), to four places (``Decimal("0.6667")``); None when nothing
        was closed."""
        closed = self.won + self.lost
        if not closed:
            return None
        return (Decimal(self.won) / Decimal(closed)).quantize(
            Decimal("0.0001"), rounding=ROUND_HALF_UP
        )


@attrs.frozen
class WinRates:
    """Win rates in a period: everyone's (``total``) and each owner's, by owner id."""

    total: WinRate
    owners: tuple[WinRate, ...] = ()
