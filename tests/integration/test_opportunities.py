"""Sales opportunities (销售机会) through the library, on every backend: the pipeline, the
explicit win/lose/reopen moves, stage history and durations, the forecast, scope, errors."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crmkit
from crmkit.domain import events as ev
from crmkit.domain.messages import language
from crmkit.testing import ManualClock


def _customer(s: crmkit.Session, name: str = "青岛金智电子科技有限公司", **fields: object):
    base: dict[str, object] = {"name": name, "kind": "company"}
    return s.customers.create(**{**base, **fields})


def _deal(s: crmkit.Session, customer_id: str, **fields: object) -> crmkit.Opportunity:
    base: dict[str, object] = {
        "customer_id": customer_id,
        "title": "门禁改造",
        "amount": "120000.00",
        "expected_close": "2026-03-31",
    }
    return s.opportunities.create(**{**base, **fields})


def test_a_new_opportunity_starts_at_the_first_stage_owned_by_its_creator(crm, team):
    zhang = team["zhang"]
    with crm.session(actor=zhang) as s:
        c = _customer(s, owner_id=zhang.id)
        opp = _deal(
            s,
            c.id,
            need="全楼门禁\n含访客系统",
            budget="150,000",
            competitors="浙科、 海康；浙科",
            next_step="下周现场勘查",
        )
    with crm.session(actor=zhang) as s:
        got = s.opportunities.get(opp.id)
    assert got == opp
    assert (got.owner_id, got.stage, got.probability) == (zhang.id, "contact", Decimal("0.10"))
    assert got.status is crmkit.OpportunityStatus.OPEN
    assert got.competitors == ("浙科", "海康")
    assert got.budget == crmkit.Money(Decimal("150000"))
    assert got.need == "全楼门禁\n含访客系统"
    assert [(h.stage, h.by) for h in got.stage_history] == [("contact", zhang.id)]


def test_moving_the_stage_takes_its_probability_unless_one_is_given(crm, admin):
    with crm.session(actor=admin) as s:
        c = _customer(s)
        opp = _deal(s, c.id, stage="需求确认")
        assert opp.probability == Decimal("0.30")
        opp = s.opportunities.move(opp.id, stage="proposal", version=opp.version)
        assert (opp.stage, opp.probability) == ("proposal", Decimal("0.50"))
        opp = s.opportunities.update(opp.id, stage="Negotiation and approval", probability="65%")
        assert (opp.stage, opp.probability) == ("negotiation", Decimal("0.65"))
        opp = s.opportunities.update(opp.id, probability="0.8")  # same stage, own guess
        assert opp.probability == Decimal("0.8")
        explicit = _deal(s, c.id, title="二期", stage="proposal", probability="0.2")
        assert explicit.probability == Decimal("0.2")
    assert [h.stage for h in opp.stage_history] == ["needs", "proposal", "negotiation"]


def test_every_wrong_field_is_named_in_both_languages_and_nothing_is_written(crm, admin):
    with crm.session(actor=admin) as s:
        c = _customer(s)
    with pytest.raises(crmkit.ValidationError) as caught, crm.session(actor=admin) as s:
        s.opportunities.create(
            customer_id="nope",
            title="",
            amount="abc",
            expected_close="2025-12-31",
            stage="报价中",
            probability="1.5",
            owner_id="ghost",
            colour="红",
        )
    err = caught.value
    assert set(err.fields) == {
        "customer_id",
        "title",
        "amount",
        "expected_close",
        "stage",
        "probability",
        "owner_id",
        "colour",
    }
    by = err.by_field()
    assert "不能早于今天" in by["expected_close"][0].message("zh")
    assert "past" in by["expected_close"][0].message("en")
    assert "方案报价(proposal)" in by["stage"][0].message("zh")
    assert "not a stage" in by["stage"][0].message("en")
    assert "概率" in by["probability"][0].message("zh")
    with language("en"):
        assert "expected close date" in err.message()
    with language("zh"):
        assert "预计成交日期" in err.message()
    with pytest.raises(crmkit.ValidationError) as caught, crm.session(actor=admin) as s:
        _deal(s, c.id, stage="won")  # an end is reached by win(), not by a stage
    assert caught.value.by_field()["stage"][0].code == "opportunity.stage_end"
    with crm.session(actor=admin) as s:
        assert s.opportunities.count() == 0


def test_win_lose_and_reopen_follow_the_state_machine(crm, admin, clock: ManualClock):
    seen: list[object] = []
    crm.subscribe(ev.OpportunityWon, seen.append)
    crm.subscribe(ev.OpportunityLost, seen.append)
    with crm.session(actor=admin) as s:
        c = _customer(s)
        opp = _deal(s, c.id, stage="proposal")
        won = s.opportunities.win(opp.id, version=opp.version)
    assert (won.status, won.stage, won.probability) == (
        crmkit.OpportunityStatus.WON,
        "won",
        Decimal(1),
    )
    assert won.closed_on is not None
    with pytest.raises(crmkit.WorkflowError) as caught, crm.session(actor=admin) as s:
        s.opportunities.win(opp.id)
    assert (caught.value.state, caught.value.move) == ("won", "win")
    assert "赢单" in caught.value.message("zh")
    with pytest.raises(crmkit.WorkflowError) as caught, crm.session(actor=admin) as s:
        s.opportunities.move(opp.id, stage="needs")
    assert (caught.value.state, caught.value.move) == ("won", "move")
    with crm.session(actor=admin) as s:
        back = s.opportunities.reopen(opp.id, version=won.version)
    assert (back.status, back.stage, back.probability) == (
        crmkit.OpportunityStatus.OPEN,
        "proposal",
        Decimal("0.50"),
    )
    assert back.closed_on is None
    with pytest.raises(crmkit.WorkflowError) as caught, crm.session(actor=admin) as s:
        s.opportunities.reopen(opp.id)
    assert (caught.value.state, caught.value.move) == ("open", "reopen")
    with pytest.raises(crmkit.ConcurrencyError), crm.session(actor=admin) as s:
        s.opportunities.lose(opp.id, reason="价格", version=won.version)
    with crm.session(actor=admin) as s:
        lost = s.opportunities.lose(opp.id, reason=" 价格太高 ")
    assert (lost.status, lost.stage, lost.lost_reason, lost.probability) == (
        crmkit.OpportunityStatus.LOST,
        "lost",
        "价格太高",
        Decimal(0),
    )
    assert [type(e).__name__ for e in seen] == ["OpportunityWon", "OpportunityLost"]
    with crm.session(actor=admin) as s:
        moves = [e.changes.get("status") for e in s.audit.history(opp.id)]
    assert ("open", "won") in [tuple(str(x) for x in m) for m in moves if m]


def test_a_lost_reason_is_required_and_held_to_the_dictionary(crm, admin):
    with crm.session(actor=admin) as s:
        c = _customer(s)
        opp = _deal(s, c.id)
    with pytest.raises(crmkit.ValidationError) as caught, crm.session(actor=admin) as s:
        s.opportunities.lose(opp.id, reason="  ")
    assert caught.value.fields == ("lost_reason",)
    assert caught.value.by_field()["lost_reason"][0].code == "required"
    with crm.session(actor=admin) as s:
        s.dictionary.create(list="lost_reason", value="价格过高", aliases=["太贵"])
        s.dictionary.create(list="lost_reason", value="选择了竞品")
    with pytest.raises(crmkit.ValidationError) as caught, crm.session(actor=admin) as s:
        s.opportunities.lose(opp.id, reason="天气不好")
    assert "价格过高" in caught.value.by_field()["lost_reason"][0].message("zh")
    with crm.session(actor=admin) as s:
        assert s.opportunities.get(opp.id).status is crmkit.OpportunityStatus.OPEN
        lost = s.opportunities.lose(opp.id, reason="太贵")
    assert lost.lost_reason == "价格过高"


def test_stage_durations_count_the_current_stage_up_to_now(crm, admin, clock: ManualClock):
    with crm.session(actor=admin) as s:
        c = _customer(s)
        opp = _deal(s, c.id)
    clock.advance(timedelta(days=3))
    with crm.session(actor=admin) as s:
        opp = s.opportunities.move(opp.id, stage="needs")
    clock.advance(timedelta(days=2))
    with crm.session(actor=admin) as s:
        opp = s.opportunities.move(opp.id, stage="contact")
    clock.advance(timedelta(days=1))
    with crm.session(actor=admin) as s:
        opp = s.opportunities.move(opp.id, stage="proposal")
    clock.advance(timedelta(hours=5))
    with crm.session(actor=admin) as s:
        spent = s.opportunities.durations(opp.id)
    assert spent == {
        "contact": timedelta(days=4),
        "needs": timedelta(days=2),
        "proposal": timedelta(hours=5),
    }
    assert list(spent) == ["contact", "needs", "proposal"]


def test_an_opportunity_is_seen_by_whoever_sees_its_customer(crm, team):
    zhang, li, boss, other = team["zhang"], team["li"], team["boss"], team["other"]
    with crm.session(actor=zhang) as s:
        mine = _customer(s, owner_id=zhang.id)
        opp = _deal(s, mine.id)
    with crm.session(actor=li) as s:
        theirs = _customer(s, name="上海远景贸易有限公司", owner_id=li.id)
        _deal(s, theirs.id, title="仓库门锁", amount="5000")
    with crm.session(actor=boss) as s:
        assert s.opportunities.count() == 2
    with crm.session(actor=zhang) as s:
        assert [o.id for o in s.opportunities.list()] == [opp.id]
    with crm.session(actor=other) as s, pytest.raises(crmkit.NotFound):
        s.opportunities.get(opp.id)
    with pytest.raises(crmkit.ValidationError) as caught, crm.session(actor=other) as s:
        _deal(s, mine.id)  # a customer one cannot see takes no opportunity from one
    assert caught.value.by_field()["customer_id"][0].code == "opportunity.customer_unseen"


def test_several_per_customer_soft_delete_and_restore(crm, admin):
    with crm.session(actor=admin) as s:
        c = _customer(s)
        first = _deal(s, c.id)
        _deal(s, c.id, title="二期扩容")
        assert s.opportunities.count(customer_id=c.id) == 2
        s.opportunities.delete(first.id)
    with crm.session(actor=admin) as s:
        assert s.opportunities.count(customer_id=c.id) == 1
        assert [o.id for o in s.opportunities.list(deleted="only")] == [first.id]
        back = s.opportunities.restore(first.id)
    assert back.stage_history == first.stage_history
    with crm.session(actor=admin) as s:
        assert s.opportunities.count(customer_id=c.id) == 2


def test_forecast_weighs_open_amounts_by_month_and_owner_in_scope(crm, team):
    zhang, li, boss = team["zhang"], team["li"], team["boss"]
    with crm.session(actor=zhang) as s:
        c = _customer(s, owner_id=zhang.id)
        _deal(s, c.id, amount="100000", expected_close="2026-01-20", stage="proposal")
        _deal(s, c.id, amount="33333.33", expected_close="2026-01-31", stage="needs")
        _deal(s, c.id, amount="50000", expected_close="2026-02-10", probability="0.25")
        gone = _deal(s, c.id, amount="999999", expected_close="2026-02-11")
        s.opportunities.lose(gone.id, reason="预算取消")
        _deal(s, c.id, amount="7", expected_close=None)  # no date: not forecast
    with crm.session(actor=li) as s:
        d = _customer(s, name="上海远景贸易有限公司", owner_id=li.id)
        _deal(s, d.id, amount="20000", expected_close="2026-01-05", stage="negotiation")
    with crm.session(actor=boss) as s:
        by_month = s.opportunities.forecast(group_by="month")
        by_owner = s.opportunities.forecast(
            group_by="owner", from_month="2026-01", to_month="2026-01"
        )
        january = s.opportunities.forecast(month="2026-01")
    assert [(f.month, f.weighted.amount, f.count) for f in by_month] == [
        ("2026-01", Decimal("74000.00"), 3),  # 50000 + 10000.00 (33333.33 × 0.3) + 14000
        ("2026-02", Decimal("12500.00"), 1),
    ]
    assert by_month[0].total.amount == Decimal("153333.33")
    assert {(f.owner_id, f.weighted.amount) for f in by_owner} == {
        (zhang.id, Decimal("60000.00")),
        (li.id, Decimal("14000.00")),
    }
    assert january == by_month[:1]
    with crm.session(actor=zhang) as s:  # only what the actor may see
        mine = s.opportunities.forecast(group_by=("month", "owner"), to_month="2026-01")
    assert [(f.month, f.owner_id, f.weighted.amount) for f in mine] == [
        ("2026-01", zhang.id, Decimal("60000.00"))
    ]
    with pytest.raises(crmkit.ValidationError) as caught, crm.session(actor=boss) as s:
        s.opportunities.forecast(group_by="week", from_month="2026-13", to_month="x")
    assert set(caught.value.fields) == {"group_by", "from_month", "to_month"}


# -- statistics (seed 004, 统计分析) -----------------------------------------------------
def test_the_pipeline_by_stage_lists_every_stage_in_order_with_counts_and_amounts(crm, team):
    zhang, li, boss = team["zhang"], team["li"], team["boss"]
    with crm.session(actor=zhang) as s:
        c = _customer(s, owner_id=zhang.id)
        _deal(s, c.id, amount="100000")
        _deal(s, c.id, amount="50000.50")
        _deal(s, c.id, amount="30000", stage="needs")
        _deal(s, c.id, amount=None, stage="proposal")
        s.opportunities.win(_deal(s, c.id, amount="20000").id)
        s.opportunities.lose(_deal(s, c.id, amount="10000").id, reason="价格")
        s.opportunities.delete(_deal(s, c.id, amount="99999", stage="proposal").id)
    with crm.session(actor=li) as s:
        d = _customer(s, name="上海远景贸易有限公司", owner_id=li.id)
        _deal(s, d.id, amount="7000", stage="negotiation")
    cny = crmkit.Money
    with crm.session(actor=boss) as s:
        every = s.opportunities.by_stage()
    assert every == [
        crmkit.StageTotal("contact", 2, (cny(Decimal("150000.50")),)),
        crmkit.StageTotal("needs", 1, (cny(Decimal("30000.00")),)),
        crmkit.StageTotal("proposal", 1, ()),  # an amount is not needed to be counted
        crmkit.StageTotal("negotiation", 1, (cny(Decimal("7000.00")),)),
        crmkit.StageTotal("won", 1, (cny(Decimal("20000.00")),)),
        crmkit.StageTotal("lost", 1, (cny(Decimal("10000.00")),)),
    ]
    with crm.session(actor=zhang) as s:  # only what the actor may see, filtered as list()
        mine = s.opportunities.by_stage(status="open")
        with pytest.raises(crmkit.ValidationError) as caught:
            s.opportunities.by_stage(colour="红")
    assert [(t.stage, t.count) for t in mine] == [
        ("contact", 2),
        ("needs", 1),
        ("proposal", 1),
        ("negotiation", 0),
        ("won", 0),
        ("lost", 0),
    ]
    assert caught.value.fields == ("colour",)


def test_open_opportunities_fall_in_probability_bands(crm, team):
    zhang, other = team["zhang"], team["other"]
    with crm.session(actor=zhang) as s:
        c = _customer(s, owner_id=zhang.id)
        for p, amount in (("0", "1"), ("10%", "2"), ("0.2", "4"), ("0.5", "8"), ("0.8", "16")):
            _deal(s, c.id, amount=amount, probability=p)
        _deal(s, c.id, amount=None, probability="1")
        s.opportunities.win(_deal(s, c.id, amount="999").id)  # closed: not counted
    with crm.session(actor=other) as s:
        d = _customer(s, name="上海远景贸易有限公司", owner_id=other.id)
        _deal(s, d.id, amount="777", probability="0.5")  # not zhang's to see
    with crm.session(actor=zhang) as s:
        default = s.opportunities.by_probability()
        halves = s.opportunities.by_probability(bands=[0, "50%", 1])
        with pytest.raises(crmkit.ValidationError) as caught:
            s.opportunities.by_probability(bands=["0.5", 1])
        with pytest.raises(crmkit.ValidationError) as wrong_value:
            s.opportunities.by_probability(bands=[0, "x", 1], colour="红")
    assert [(b.low, b.high, b.count, b.amounts) for b in default] == [
        (Decimal(0), Decimal("0.2"), 2, (crmkit.Money(Decimal("3.00")),)),
        (Decimal("0.2"), Decimal("0.4"), 1, (crmkit.Money(Decimal("4.00")),)),
        (Decimal("0.4"), Decimal("0.6"), 1, (crmkit.Money(Decimal("8.00")),)),
        (Decimal("0.6"), Decimal("0.8"), 0, ()),
        (Decimal("0.8"), Decimal(1), 2, (crmkit.Money(Decimal("16.00")),)),  # 1 included
    ]
    assert [(b.high, b.count) for b in halves] == [(Decimal("0.5"), 3), (Decimal(1), 3)]
    assert caught.value.fields == ("bands",)
    assert set(wrong_value.value.fields) == {"bands[1]", "colour"}


def test_win_rates_per_owner_and_in_total_count_the_deals_closed_in_the_period(crm, team, clock):
    zhang, li, boss = team["zhang"], team["li"], team["boss"]
    with crm.session(actor=zhang) as s:
        c = _customer(s, owner_id=zhang.id)
        jan = [_deal(s, c.id) for _ in range(4)]
        later = _deal(s, c.id)
    with crm.session(actor=li) as s:
        d = _customer(s, name="上海远景贸易有限公司", owner_id=li.id)
        lost_by_li = _deal(s, d.id)
        still_open = _deal(s, d.id)
    with crm.session(actor=boss) as s:  # closed in January 2026 (the clock's)
        for opp in jan[:3]:
            s.opportunities.win(opp.id)
        s.opportunities.lose(jan[3].id, reason="价格")
        s.opportunities.lose(lost_by_li.id, reason="价格")
    clock.advance(days=40)
    with crm.session(actor=boss) as s:  # and one in February
        s.opportunities.win(later.id)
        january = s.opportunities.win_rate(month="2026-01")
        both = s.opportunities.win_rate(from_month="2026-01", to_month="2026-02")
        march = s.opportunities.win_rate(month="2026-03")
        ever = s.opportunities.win_rate()
    with crm.session(actor=zhang) as s:
        his = s.opportunities.win_rate()
    assert january.total == crmkit.WinRate(None, 3, 2)
    assert january.total.rate == Decimal("0.6000")
    assert [w.owner_id for w in january.owners] == sorted([zhang.id, li.id])
    assert {w.owner_id: (w.won, w.lost, w.rate) for w in january.owners} == {
        zhang.id: (3, 1, Decimal("0.7500")),
        li.id: (0, 1, Decimal("0.0000")),
    }
    assert both.total == ever.total == crmkit.WinRate(None, 4, 2)
    assert (march.total.rate, march.owners) == (None, ())
    assert his.owners == (crmkit.WinRate(zhang.id, 4, 1),)
    assert still_open.status is crmkit.OpportunityStatus.OPEN


def test_a_crm_may_define_its_own_pipeline(crm, admin):
    own = crmkit.Pipeline(
        stages=[
            crmkit.Stage("lead", "Lead", "线索", Decimal("0.05")),
            crmkit.Stage("demo", "Demo", "演示", Decimal("0.4")),
        ],
        won=crmkit.Stage("signed", "Signed", "签约", Decimal(1)),
        lost=crmkit.Stage("dropped", "Dropped", "放弃", Decimal(0)),
    )
    with crm.session(actor=admin) as s:
        c = _customer(s)
        before = _deal(s, c.id)
    crm.define_pipeline(own)
    assert crm.pipeline is own
    with crm.session(actor=admin) as s:
        opp = _deal(s, c.id, title="演示项目")
        assert (opp.stage, opp.probability) == ("lead", Decimal("0.05"))
        opp = s.opportunities.move(opp.id, stage="演示")
        assert opp.probability == Decimal("0.4")
        assert s.opportunities.win(opp.id).stage == "signed"
        # the old stage stays on the old opportunity; edits that do not move it still work
        kept = s.opportunities.update(before.id, next_step="再联系")
        assert kept.stage == "contact"
    with pytest.raises(crmkit.ValidationError), crm.session(actor=admin) as s:
        s.opportunities.move(before.id, stage="proposal")


# -- the forecast against a brute-force sum, on random data, on every backend ------------
_ROWS = st.lists(
    st.tuples(
        st.integers(0, 2),  # whose customer: 甲's, 乙's (both under 王经理) or 丙's
        st.integers(0, 3),  # owner: 甲, 乙, 丙 or the admin
        st.none() | st.decimals(0, 1_000_000, places=2),
        st.integers(0, 5),  # expected close: months after January
        st.decimals(0, 1, places=2),
        st.sampled_from(["open", "open", "won", "lost", "deleted"]),
    ),
    max_size=10,
)
_GROUPINGS = st.sampled_from(
    ["month", "owner", "team", ("month", "owner"), ("month", "team"), ("team", "owner")]
)
# Each example closes its deals in a year of its own, so the CRM a test shares between its
# examples holds the earlier ones' deals without their being counted.
_YEARS = itertools.count(2030)


@pytest.fixture
def sellers(crm, admin):
    """A manager with two salespeople (甲, 乙), a salesperson without a manager (丙), and a
    customer of each of the three."""
    with crm.session(actor=admin) as s:
        boss = s.users.create(name="王经理", role="manager", password="manager-pass")
        jia, yi = (
            s.users.create(name=n, role="sales", manager_id=boss.id, password="sales-pass")
            for n in ("甲", "乙")
        )
        bing = s.users.create(name="丙", role="sales", password="sales-pass")
        customers = [
            _customer(s, name=name, owner_id=u.id)
            for name, u in (
                ("青岛金智电子科技有限公司", jia),
                ("上海远景贸易有限公司", yi),
                ("深圳华夏物流有限公司", bing),
            )
        ]
    return {"boss": boss, "jia": jia, "yi": yi, "bing": bing, "customers": customers}


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(_ROWS, _GROUPINGS, st.integers(0, 5), st.sampled_from(["sales", "manager", "admin"]))
def test_forecast_equals_a_brute_force_sum_in_the_actors_scope(
    crm, admin, sellers, rows, group_by, last, viewer
):
    year = next(_YEARS)
    boss, jia, yi, bing = (sellers[k] for k in ("boss", "jia", "yi", "bing"))
    owners = [jia, yi, bing, admin]
    team_of = {jia.id: boss.id, yi.id: boss.id, bing.id: None, admin.id: None}
    sees = {"sales": {0}, "manager": {0, 1}, "admin": {0, 1, 2}}[viewer]
    expected: dict[tuple[str | None, ...], list[Decimal]] = {}
    with crm.session(actor=admin) as s:
        for customer, owner, amount, months, p, status in rows:
            opp = _deal(
                s,
                sellers["customers"][customer].id,
                owner_id=owners[owner].id,
                amount=amount,
                expected_close=date(year, 1 + months, 28),
                probability=p,
            )
            if status == "won":
                s.opportunities.win(opp.id)
            elif status == "lost":
                s.opportunities.lose(opp.id, reason="价格")
            elif status == "deleted":
                s.opportunities.delete(opp.id)
            if customer in sees and status == "open" and amount is not None and months <= last:
                who = owners[owner].id
                key = (
                    f"{year}-{1 + months:02d}" if "month" in group_by else None,
                    team_of[who] if "team" in group_by else None,
                    who if "owner" in group_by else None,
                )
                sums = expected.setdefault(key, [Decimal(0), Decimal(0), Decimal(0)])
                sums[0] += amount * p
                sums[1] += amount
                sums[2] += 1
    actor = {"sales": jia, "manager": boss, "admin": admin}[viewer]
    with crm.session(actor=actor) as s:
        lines = s.opportunities.forecast(
            group_by=group_by, from_month=f"{year}-01", to_month=f"{year}-{1 + last:02d}"
        )
    assert [(f.month, f.team_id, f.owner_id) for f in lines] == sorted(
        expected, key=lambda k: tuple(v or "" for v in k)
    )
    assert {(f.month, f.team_id, f.owner_id): (f.weighted, f.total, f.count) for f in lines} == {
        k: (crmkit.Money(w).quantize(), crmkit.Money(t).quantize(), n)
        for k, (w, t, n) in expected.items()
    }


def test_a_customer_merge_moves_the_losers_opportunities_and_unmerge_moves_them_back(crm, admin):
    with crm.session(actor=admin) as s:
        winner = _customer(s)
        loser = _customer(s, name="上海远景贸易有限公司")
        kept = _deal(s, winner.id)
        moved = _deal(s, loser.id, title="二期")
        result = s.customers.merge(winner.id, [loser.id])
    with crm.session(actor=admin) as s:
        assert {o.id for o in s.opportunities.list(customer_id=winner.id)} == {kept.id, moved.id}
        s.customers.unmerge(result.merge_id)
    with crm.session(actor=admin) as s:
        assert s.opportunities.get(moved.id).customer_id == loser.id


def test_an_opportunitys_title_error_names_its_own_label(crm, admin):
    from crmkit import ValidationError

    with crm.session(actor=admin) as s:
        c = s.customers.create(name="青岛金智电子科技有限公司")
        with pytest.raises(ValidationError) as caught:
            s.opportunities.create(customer_id=c.id, title="")
    assert "机会名称" in caught.value.message("zh") and "职务" not in caught.value.message("zh")
