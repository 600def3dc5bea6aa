"""Sales targets (销售目标) on every backend: one per salesperson and month, set by their
managers, read against what they won and their pipeline, within the actor's scope."""

from __future__ import annotations

from decimal import Decimal

import pytest

import crmkit
from crmkit import Money, PermissionDenied, ValidationError


def _deal(s, customer, title, amount, close, probability=None):
    fields = {"customer_id": customer.id, "title": title, "amount": amount}
    fields["expected_close"] = close
    if probability is not None:
        fields["probability"] = probability
    return s.opportunities.create(**fields)


def test_managers_set_their_teams_targets_once_a_month(crm, team):
    boss, zhang, other = team["boss"], team["zhang"], team["other"]
    with crm.session(actor=boss) as s:
        target = s.targets.create(owner_id=zhang.id, month="2026年3月", amount="300000")
        assert (target.month.isoformat(), str(target.amount)) == ("2026-03-01", "300000 CNY")
        with pytest.raises(ValidationError) as twice:
            s.targets.create(owner_id=zhang.id, month="2026-03", amount="1")
        assert [e.field for e in twice.value.errors] == ["month"]
        with pytest.raises(ValidationError) as outsider:
            s.targets.create(owner_id=other.id, month="2026-03", amount="1")
        assert [e.field for e in outsider.value.errors] == ["owner_id"]
        assert "目标金额" in _missing_amount(s, zhang).message("zh")
    with crm.session(actor=zhang) as s:
        assert [t.id for t in s.targets.list()] == [target.id]
        with pytest.raises(PermissionDenied):
            s.targets.create(owner_id=zhang.id, month="2026-04", amount="1")
    with crm.session(actor=other) as s:
        assert s.targets.count() == 0


def _missing_amount(s, owner) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        s.targets.create(owner_id=owner.id, month="2026-05")
    return caught.value


def test_progress_sets_targets_beside_won_and_pipeline(crm, team, clock):
    boss, zhang, li = team["boss"], team["zhang"], team["li"]
    with crm.session(actor=team["admin"]) as s:
        mine = s.customers.create(name="青岛金智电子科技有限公司", owner_id=zhang.id)
        his = s.customers.create(name="烟台海港物流有限公司", owner_id=li.id)
    with crm.session(actor=boss) as s:
        s.targets.create(owner_id=zhang.id, month="2026-03", amount="200000")
        s.targets.create(owner_id=li.id, month="2026-03", amount="100000")
    with crm.session(actor=zhang) as s:
        won = _deal(s, mine, "门禁改造", "120000", "2026-03-20")
        _deal(s, mine, "智能门锁", "50000", "2026-03-25", probability="40%")
        _deal(s, mine, "下月项目", "90000", "2026-04-10")
    with crm.session(actor=li) as s:
        _deal(s, his, "仓储系统", "30000", "2026-03-05", probability="50%")
    clock.set(clock.now().replace(month=3, day=10))
    with crm.session(actor=zhang) as s:
        s.opportunities.win(won.id)  # closed on 2026-03-10
    with crm.session(actor=boss) as s:
        rows = {r.owner_id: r for r in s.targets.progress(month="2026-03")}
    assert set(rows) == {zhang.id, li.id}
    z = rows[zhang.id]
    assert (z.target, z.won, z.pipeline) == (
        Money(Decimal("200000.00")),
        Money(Decimal("120000.00")),
        Money(Decimal("50000.00")),
    )
    assert z.weighted == Money(Decimal("20000.00")) and z.achieved == Decimal("0.6000")
    assert rows[li.id].won == Money(Decimal("0.00")) and rows[li.id].achieved == 0
    with crm.session(actor=li) as s:  # a salesperson sees their own line only
        assert [r.owner_id for r in s.targets.progress(month="2026-03")] == [li.id]
    with pytest.raises(ValidationError), crm.session(actor=boss) as s:
        s.targets.progress(from_month="2026-04", to_month="2026-03")


def test_a_month_without_a_target_still_shows_the_deals(crm, team):
    with crm.session(actor=team["admin"]) as s:
        c = s.customers.create(name="威海蓝海科技有限公司", owner_id=team["zhang"].id)
    with crm.session(actor=team["zhang"]) as s:
        _deal(s, c, "门禁", "10000", "2026-06-01", probability="10%")
        [row] = s.targets.progress(month="2026-06")
    assert row.target is None and row.achieved is None
    assert row.weighted == crmkit.Money(Decimal("1000.00"))
