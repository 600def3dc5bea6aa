"""商机看板: the open opportunities in the user's scope by stage, with column totals; moving
a card goes through ``s.opportunities.move`` and a stale card shows crmkit's refusal; an
opportunity's page shows its stage history and the time spent in each stage."""

from __future__ import annotations

import re
from datetime import timedelta

import crmkit
from crmkit.testing import ManualClock
from tests.admin.conftest import Browser, make_customer

TAG = re.compile(r"<[^>]+>")


def column(page: str, stage: str) -> str:
    """One column of the board as text."""
    start = page.index(f'id="stage-{stage}"')
    end = page.index("</section>", start)
    return re.sub(r"\s+", " ", TAG.sub(" ", page[start:end]))


def flashes(page: str) -> str:
    return " ".join(re.findall(r'class="alert[^"]*"[^>]*>(.*?)</div>', page, re.S))


def seed_deals(crm: crmkit.CRM, users: dict[str, crmkit.User]) -> dict[str, crmkit.Opportunity]:
    zhang, li = users["zhang"], users["li"]
    mine = make_customer(crm, zhang)
    theirs = make_customer(crm, li, name="上海四通贸易有限公司")
    with crm.session(actor=zhang) as s:
        door = s.opportunities.create(
            customer_id=mine.id, title="门禁改造", amount="120000", stage="proposal"
        )
        lock = s.opportunities.create(
            customer_id=mine.id, title="门锁采购", amount="30000.50", stage="proposal"
        )
        early = s.opportunities.create(customer_id=mine.id, title="监控咨询", stage="contact")
        won = s.opportunities.create(customer_id=mine.id, title="已成交项目", amount="9999")
        s.opportunities.win(won.id)
    with crm.session(actor=li) as s:
        other = s.opportunities.create(
            customer_id=theirs.id, title="李的仓库项目", amount="500000", stage="proposal"
        )
    return {"door": door, "lock": lock, "early": early, "won": won, "other": other}


def test_the_board_shows_a_salespersons_open_deals_by_stage_with_totals(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    seed_deals(crm, users)
    page = as_zhang.text("/opportunities/board/")
    for label in ("初步接洽", "需求确认", "方案报价", "谈判审批"):  # the pipeline's open stages
        assert label in page
    proposal = column(page, "proposal")
    assert "门禁改造" in proposal and "门锁采购" in proposal
    assert "青岛金智电子科技有限公司" in proposal and "张三" in proposal
    # count, amount and weighted amount (× the stage's 50%), in yuan
    assert "数量 2" in proposal
    assert "¥150,000.50" in proposal and "¥75,000.25" in proposal
    assert "李的仓库项目" not in page  # another salesperson's deal is out of scope
    assert "已成交项目" not in page  # closed deals are not on the board
    assert "监控咨询" in column(page, "contact")
    assert "数量 0" in column(page, "needs")
    assert "proposal" not in TAG.sub(" ", page)  # stage codes are never shown


def test_a_manager_sees_the_team_and_filters_the_board_by_owner(
    browser: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    deals = seed_deals(crm, users)
    browser.login(users["boss"].login, "manager-pass")
    page = browser.text("/opportunities/board/")
    assert "李的仓库项目" in page and "门禁改造" in page
    assert "¥650,000.50" in column(page, "proposal")
    only_li = browser.text(f"/opportunities/board/?owner_id={users['li'].id}")
    assert "李的仓库项目" in only_li and "门禁改造" not in only_li
    assert deals["other"].id in only_li


def test_the_list_and_the_board_link_to_each_other(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    seed_deals(crm, users)
    assert 'href="/opportunities/board/"' in as_zhang.text("/opportunities/")
    board = as_zhang.text("/opportunities/board/")
    assert 'id="list-link"' in board and 'href="/opportunities/"' in board
    assert "商机看板" in as_zhang.text("/")  # in the 销售 menu


def test_moving_a_card_changes_its_stage_through_crmkit(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    door = seed_deals(crm, users)["door"]
    done = as_zhang.post(
        "/opportunities/board/move/",
        {"id": door.id, "version": str(door.version), "stage": "negotiation", "title": door.title},
    )
    assert done.status_code == 302 and done.location.startswith("/opportunities/board/")
    with crm.session(actor=users["zhang"]) as s:
        moved = s.opportunities.get(door.id)
    assert (
        moved.stage == "negotiation"
        and moved.probability == crmkit.Pipeline.default().stages[3].probability
    )
    page = as_zhang.text(done.location)
    assert "“门禁改造”已移到谈判审批" in page
    assert "门禁改造" in column(page, "negotiation")


def test_a_stale_card_shows_crmkits_conflict_and_changes_nothing(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    door = seed_deals(crm, users)["door"]
    with crm.session(actor=users["zhang"]) as s:  # someone moved it meanwhile
        s.opportunities.move(door.id, stage="needs", version=door.version)
    done = as_zhang.post(
        "/opportunities/board/move/",
        {"id": door.id, "version": str(door.version), "stage": "negotiation", "title": door.title},
    )
    page = as_zhang.text(done.location)
    message = flashes(page)
    assert "已被他人修改" in message and "“门禁改造”" in message
    assert door.id not in message  # named, not keyed
    with crm.session(actor=users["zhang"]) as s:
        assert s.opportunities.get(door.id).stage == "needs"
    as_zhang.post("/language", {"lang": "en"})
    done = as_zhang.post(
        "/opportunities/board/move/",
        {"id": door.id, "version": str(door.version), "stage": "negotiation", "title": door.title},
    )
    assert "was changed by someone else" in flashes(as_zhang.text(done.location))


def test_moving_another_salespersons_card_is_refused(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    other = seed_deals(crm, users)["other"]
    done = as_zhang.post(
        "/opportunities/board/move/", {"id": other.id, "stage": "negotiation", "title": ""}
    )
    page = as_zhang.text(done.location)
    assert other.id not in flashes(page)
    with crm.session(actor=users["li"]) as s:
        assert s.opportunities.get(other.id).stage == "proposal"


def test_the_opportunity_page_shows_its_stage_history_and_time_in_each_stage(
    browser: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], clock: ManualClock
) -> None:
    customer = make_customer(crm, users["zhang"])
    with crm.session(actor=users["zhang"]) as s:
        opp = s.opportunities.create(customer_id=customer.id, title="门禁改造")
    clock.advance(timedelta(days=3, hours=5))
    with crm.session(actor=users["zhang"]) as s:
        s.opportunities.move(opp.id, stage="needs")
    clock.advance(timedelta(hours=2, minutes=30))
    as_zhang = browser  # logged in now: days on the clock would end an older login
    as_zhang.login(users["zhang"].login, "sales-pass")
    page = as_zhang.text(f"/opportunities/details/?id={opp.id}")
    start = page.index('id="stage-history"')
    history = re.sub(r"\s+", " ", TAG.sub(" ", page[start : page.index("</table>", start)]))
    assert "初步接洽" in history and "需求确认" in history and "张三" in history
    start = page.index('id="stage-times"')
    times = re.sub(r"\s+", " ", TAG.sub(" ", page[start : page.index("</table>", start)]))
    assert "初步接洽 3天5小时" in times
    assert "需求确认 (当前) 2小时30分钟" in times
    as_zhang.post("/language", {"lang": "en"})
    page = as_zhang.text(f"/opportunities/details/?id={opp.id}")
    assert "3 days 5 hours" in page and "Needs confirmed" in page


def test_a_stale_win_names_the_deal_not_its_id(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    door = seed_deals(crm, users)["door"]
    with crm.session(actor=users["zhang"]) as s:
        s.opportunities.move(door.id, stage="needs", version=door.version)
    done = as_zhang.post(
        "/opportunities/win/", {"id": door.id, "version": str(door.version), "name": door.title}
    )
    message = flashes(as_zhang.text(done.location))
    assert "“门禁改造”" in message and door.id not in message
    with crm.session(actor=users["zhang"]) as s:
        assert s.opportunities.get(door.id).is_open
