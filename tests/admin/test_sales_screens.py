"""The 销售 screens: opportunities, leads and quotes, configuration on the generic entity
view, every write through ``session.opportunities``, ``leads`` and ``quotes``."""

from __future__ import annotations

import re

import crmkit
from tests.admin.conftest import Browser, make_customer

TAG = re.compile(r"<[^>]+>")


def table(page: str) -> str:
    """The list's table as text (not the filters' and forms' options)."""
    start = page.index('id="model-list"')
    return re.sub(r"\s+", " ", TAG.sub(" ", page[start : page.index("</table>", start)]))


def opportunity_form(**fields: str) -> dict[str, str]:
    form = {
        "customer_id": "", "title": "", "need": "", "budget": "", "amount": "",
        "expected_close": "", "stage": "", "probability": "", "competitors": "",
        "next_step": "", "owner_id": "",
    }  # fmt: skip
    form.update(fields)
    return form


def lead_form(**fields: str) -> dict[str, str]:
    form = {
        "kind": "company", "name": "", "contact_name": "", "mobile": "", "phone": "",
        "email": "", "source": "", "region": "", "owner_id": "", "remarks": "",
    }  # fmt: skip
    form.update(fields)
    return form


def test_an_opportunity_created_on_the_form_is_listed_with_its_stage_label(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    customer = make_customer(crm, users["zhang"])
    form = as_zhang.text("/opportunities/new/")
    assert "青岛金智电子科技有限公司" in form  # the customers the user sees are offered
    assert "方案报价" in form  # the pipeline's stages, by label
    done = as_zhang.post(
        "/opportunities/new/",
        opportunity_form(
            customer_id=customer.id,
            title="门禁改造",
            amount="120000",
            stage="proposal",
            competitors="海康、大华",
        ),
    )
    assert done.status_code == 302
    with crm.session(actor=users["zhang"]) as s:
        (opp,) = s.opportunities.list(limit=10).items
    assert opp.stage == "proposal" and opp.competitors == ("海康", "大华")
    row = table(as_zhang.text("/opportunities/"))
    assert "门禁改造" in row and "青岛金智电子科技有限公司" in row
    assert "方案报价" in row and "50%" in row and "张三" in row and "进行中" in row
    assert "proposal" not in row
    details = as_zhang.text(f"/opportunities/details/?id={opp.id}")
    assert "海康、大华" in details and "方案报价" in details


def test_an_opportunity_is_won_and_lost_from_its_page(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    customer = make_customer(crm, users["zhang"])
    with crm.session(actor=users["zhang"]) as s:
        won = s.opportunities.create(customer_id=customer.id, title="门锁采购")
        lost = s.opportunities.create(customer_id=customer.id, title="门禁项目")
    as_zhang.post("/opportunities/win/", {"id": won.id, "version": str(won.version)})
    as_zhang.post("/opportunities/lose/", {"id": lost.id, "reason": ""})  # no reason: refused
    with crm.session(actor=users["zhang"]) as s:
        assert s.opportunities.get(won.id).status is crmkit.OpportunityStatus.WON
        assert s.opportunities.get(lost.id).status is crmkit.OpportunityStatus.OPEN
    as_zhang.post("/opportunities/lose/", {"id": lost.id, "reason": "价格太高"})
    with crm.session(actor=users["zhang"]) as s:
        assert s.opportunities.get(lost.id).lost_reason == "价格太高"
    assert "输单" in table(as_zhang.text("/opportunities/?status=lost"))


def test_a_lead_is_created_and_converted_to_a_customer(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    done = as_zhang.post(
        "/leads/new/",
        lead_form(name="青岛海纳科技有限公司", contact_name="赵六", mobile="13912345678"),
    )
    assert done.status_code == 302
    with crm.session(actor=users["zhang"]) as s:
        (lead,) = s.leads.list(limit=10).items
    row = table(as_zhang.text("/leads/"))
    assert "青岛海纳科技有限公司" in row and "新线索" in row and "赵六" in row
    page = as_zhang.text(f"/leads/details/?id={lead.id}")
    assert 'id="convert"' in page
    as_zhang.post("/leads/convert/", {"id": lead.id, "version": str(lead.version)})
    with crm.session(actor=users["zhang"]) as s:
        converted = s.leads.get(lead.id)
        assert converted.status is crmkit.LeadStatus.CONVERTED
        customer = s.customers.get(converted.customer_id or "")
    assert customer.name == "青岛海纳科技有限公司"
    page = as_zhang.text(f"/leads/details/?id={lead.id}")
    assert 'id="convert"' not in page and "已转化" in page


def test_the_lead_source_is_a_select_once_the_dictionary_has_sources(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    with crm.session(actor=users["admin"]) as s:
        s.dictionary.create(list="source", value="网络推广")
    form = as_admin.text("/leads/new/")
    assert re.search(r'<select[^>]*name="source"', form)


def test_a_quote_is_listed_and_shows_its_lines_and_totals(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    customer = make_customer(crm, users["zhang"])
    with crm.session(actor=users["zhang"]) as s:
        quote = s.quotes.create(
            customer_id=customer.id,
            lines=[
                {
                    "name": "智能门锁",
                    "unit": "套",
                    "quantity": "2",
                    "unit_price": "1999",
                    "tax_rate": "13%",
                }
            ],
        )
    row = table(as_zhang.text("/quotes/"))
    assert quote.quote_number in row and "草稿" in row and "¥3,998.00" in row
    details = as_zhang.text(f"/quotes/details/?id={quote.id}")
    assert "智能门锁" in details and "¥1,999.00" in details and "13%" in details
    assert 'id="quote-builder"' in as_zhang.text("/quotes/new/")  # the builder writes them
