"""客户服务 · 知识库 in the admin: search in Chinese with the query's terms marked (and the
article's text escaped), published articles only outside the editors, an editor's form with
crmkit's field errors beside their fields, 关联 from a ticket's page (the ticket and the
article's use count), customers' questions recorded and answered from an article, and every
page in the reader's language."""

from __future__ import annotations

import re

import attrs
import pytest
from flask import Flask

import crmkit
from crmkit.domain.kb import Article
from tests.admin.conftest import PASSWORDS, Browser, make_customer
from tests.admin.messaging_desk import error_near
from tests.admin.pages import flashes, part, text_of
from tests.admin.test_translation_crawl import (
    CHROME,
    CJK,
    CODE,
    DATA,
    ENGLISH,
    HIDDEN,
    KEY,
    TAG,
    UUID,
    visible,
)

SERVICE_PASSWORD = "service-pass"
DATA_WORDS = ("智能门锁如何复位", "青岛金智电子科技有限公司", "客服小王", "门锁", "复位")


@attrs.frozen
class Base:
    service: crmkit.User
    jinzhi: crmkit.Customer
    reset: Article
    battery: Article
    draft: Article


@pytest.fixture
def base(crm: crmkit.CRM, users: dict[str, crmkit.User]) -> Base:
    """客服小王 (role service) wrote two published articles and a draft; 张三's customer
    青岛金智."""
    with crm.session(actor=users["admin"]) as s:
        service = s.users.create(name="客服小王", role="service", password=SERVICE_PASSWORD)
    with crm.session(actor=service) as s:
        reset = s.kb.create(
            title="智能门锁如何复位",
            body="先断开电源。\n长按门锁背面的 RESET 键 5 秒，听到提示音后松开。<b>注意</b>",
            category="门锁",
            tags="门锁, 复位",
        )
        battery = s.kb.create(
            title="LK-100 更换电池", body="打开电池盖，换上 4 节 5 号电池。", category="门锁"
        )
        draft = s.kb.create(title="指纹录入技巧", body="手指保持干燥。", status="draft")
    jinzhi = make_customer(crm, users["zhang"], mobile="13800138000")
    return Base(service, jinzhi, reset, battery, draft)


def signed_in(app: Flask, user: crmkit.User, password: str) -> Browser:
    return Browser.signed_in(app, user, password)


def html_of(page: str, id: str, end: str = "</table>") -> str:
    """The markup of one element of a page (a table by default), by its id."""
    start = page.index(f'id="{id}"')
    return page[start : page.index(end, start)]


def article(crm: crmkit.CRM, admin: crmkit.User, id: str) -> Article:
    with crm.session(actor=admin) as s:
        return s.kb.get(id)


# -- 知识库 --------------------------------------------------------------------------------------
def test_a_two_word_chinese_search_finds_the_article_and_marks_the_words(
    app: Flask, users: dict[str, crmkit.User], base: Base
) -> None:
    zhang = signed_in(app, users["zhang"], PASSWORDS["zhang"])
    menu = zhang.text("/")
    assert 'href="/kb/"' in menu and "知识库" in menu
    page = zhang.text("/kb/?q=门锁+复位")
    results = page[page.index('id="kb-results"') :]
    assert f'data-article="{base.reset.id}"' in results
    assert f'data-article="{base.battery.id}"' not in results  # every word must match
    assert "<mark>门锁</mark>" in results and "<mark>复位</mark>" in results
    assert "&lt;b&gt;注意&lt;/b&gt;" in results and "<b>注意" not in results  # escaped
    assert "门锁" in text_of(results) and "复位" in text_of(results)  # category, tags
    assert "引用次数" in text_of(results) and "有用数" in text_of(results)
    assert "门锁 (2)" in html_of(page, "kb-category", "</select>")  # categories with their counts
    latest = zhang.text("/kb/")  # no query: the latest articles
    assert base.reset.id in latest and base.battery.id in latest
    only = zhang.text("/kb/?q=电池&category=门锁")
    assert base.battery.id in only and base.reset.id not in only
    details = zhang.text(f"/kb/{base.reset.id}")
    body = html_of(details, "kb-article-body", "</div>")
    assert "先断开电源。\n长按" in body and "&lt;b&gt;注意&lt;/b&gt;" in body
    assert "复位" in part(details, "kb-article-tags")


def test_a_salesperson_reads_published_articles_only_and_cannot_edit(
    app: Flask, crm: crmkit.CRM, users: dict[str, crmkit.User], base: Base
) -> None:
    zhang = signed_in(app, users["zhang"], PASSWORDS["zhang"])
    page = zhang.text("/kb/")
    assert base.draft.id not in page and 'id="kb-new"' not in page
    assert base.draft.id not in zhang.text("/kb/?q=指纹")
    assert zhang.get(f"/kb/{base.draft.id}").status_code == 404
    details = zhang.text(f"/kb/{base.reset.id}")
    assert 'id="kb-edit"' not in details and 'id="kb-delete"' not in details
    assert zhang.get("/kb/new").status_code == 403
    form = {"title": "销售写的", "body": "内容", "status": "published"}
    assert zhang.post("/kb/new", form).status_code == 403
    assert zhang.get(f"/kb/{base.reset.id}/edit").status_code == 403
    assert zhang.post(f"/kb/{base.reset.id}/delete", {"version": "1"}).status_code == 403
    assert zhang.post(f"/kb/{base.reset.id}/helpful").status_code == 302  # anyone may
    assert article(crm, users["admin"], base.reset.id).helpful == 1
    assert article(crm, users["admin"], base.reset.id).title == "智能门锁如何复位"
    service = signed_in(app, base.service, SERVICE_PASSWORD)
    assert base.draft.id in service.text("/kb/")  # editors see drafts
    assert 'id="kb-edit"' in service.text(f"/kb/{base.draft.id}")


def test_an_editor_sees_each_refusal_beside_its_field_and_nothing_is_written(
    app: Flask, crm: crmkit.CRM, users: dict[str, crmkit.User], base: Base
) -> None:
    service = signed_in(app, base.service, SERVICE_PASSWORD)
    form = {"title": " ", "category": "门锁", "tags": "门锁", "status": "published",
            "body": "更换电池后重新配对"}  # fmt: skip
    page = service.post("/kb/new", form).get_data(as_text=True)
    assert "必填" in error_near(page, "kb-title") and "未保存" in flashes(page)
    assert "更换电池后重新配对" in page  # what was typed stays
    with crm.session(actor=users["admin"]) as s:
        assert len(s.kb.list(limit=50).items) == 3
    done = service.post("/kb/new", {**form, "title": "门锁配对"})
    assert done.status_code == 302
    with crm.session(actor=users["admin"]) as s:
        (made,) = [a for a in s.kb.list(limit=50).items if a.title == "门锁配对"]
    assert done.location.endswith(f"/kb/{made.id}")
    edit = {**form, "title": "门锁重新配对", "status": "archived", "version": "1"}
    assert service.post(f"/kb/{made.id}/edit", edit).status_code == 302
    changed = article(crm, users["admin"], made.id)
    assert changed.title == "门锁重新配对" and changed.status.value == "archived"
    page = service.post(f"/kb/{made.id}/edit", {**edit, "body": "", "version": "2"}).get_data(
        as_text=True
    )
    assert "必填" in error_near(page, "kb-body")
    assert article(crm, users["admin"], made.id).body == "更换电池后重新配对"
    service.post("/language", {"lang": "en"})
    page = service.post("/kb/new", form).get_data(as_text=True)
    assert error_near(page, "kb-title") and not CJK.search(error_near(page, "kb-title"))


# -- from a ticket -----------------------------------------------------------------------------
def test_linking_an_article_from_the_ticket_page_updates_the_ticket_and_counts_a_use(
    app: Flask, crm: crmkit.CRM, users: dict[str, crmkit.User], base: Base
) -> None:
    with crm.session(actor=base.service) as s:
        ticket = s.tickets.create(customer_id=base.jinzhi.id, type="repair", subject="门锁失灵")
    service = signed_in(app, base.service, SERVICE_PASSWORD)
    page = service.text(f"/tickets/{ticket.id}?kb_q=门锁+复位")
    box = page[page.index('id="ticket-kb"') :]
    assert 'id="ticket-kb-none"' in box and f'data-article="{base.reset.id}"' in box
    assert "关联" in box
    done = service.post(
        "/kb/link",
        {"ticket_id": ticket.id, "article_id": base.reset.id, "version": str(ticket.version)},
    )
    assert done.status_code == 302 and done.location.endswith(f"/tickets/{ticket.id}")
    with crm.session(actor=users["admin"]) as s:
        assert s.tickets.get(ticket.id).article_ids == (base.reset.id,)
    assert article(crm, users["admin"], base.reset.id).uses == 1
    page = service.text(f"/tickets/{ticket.id}")
    linked = html_of(page, "ticket-kb-linked", "</ul>")
    assert "智能门锁如何复位" in linked and f'href="/kb/{base.reset.id}"' in linked
    stale = service.post(  # the version the page showed is gone: crmkit's refusal
        "/kb/link",
        {"ticket_id": ticket.id, "article_id": base.battery.id, "version": str(ticket.version)},
    )
    assert stale.status_code == 302
    assert flashes(service.text(f"/tickets/{ticket.id}"))
    assert article(crm, users["admin"], base.battery.id).uses == 0


# -- 客户问答 ------------------------------------------------------------------------------------
def test_a_customers_question_is_recorded_and_answered_from_an_article(
    app: Flask, crm: crmkit.CRM, users: dict[str, crmkit.User], base: Base
) -> None:
    service = signed_in(app, base.service, SERVICE_PASSWORD)
    page = service.text("/kb/questions/")
    assert 'id="qa-form"' in page and "青岛金智电子科技有限公司" in html_of(
        page, "qa-form", "</form>"
    )
    refused = service.post("/kb/questions/", {"customer_id": base.jinzhi.id, "question": " "})
    text = refused.get_data(as_text=True)
    assert "必填" in error_near(text, "qa-question")
    with crm.session(actor=users["admin"]) as s:
        assert not s.questions.list().items
    done = service.post(
        "/kb/questions/", {"customer_id": base.jinzhi.id, "question": "门锁怎么恢复出厂设置？"}
    )
    assert done.status_code == 302
    with crm.session(actor=users["admin"]) as s:
        (record,) = s.questions.list().items
    assert done.location.endswith(f"/kb/questions/{record.id}")
    listed = service.text("/kb/questions/?unanswered=1")
    assert "门锁怎么恢复出厂设置？" in part(listed, "qa-list") and "未答复" in text_of(listed)
    page = service.text(f"/kb/questions/{record.id}?aq=复位")
    assert f'value="{base.reset.id}"' in html_of(page, "qa-article_id", "</select>")
    blank = service.post(f"/kb/questions/{record.id}", {"answer": "", "version": "1"})
    assert "必填" in error_near(blank.get_data(as_text=True), "qa-answer")
    answer = {"answer": "长按 RESET 键 5 秒", "article_id": base.reset.id, "version": "1"}
    assert service.post(f"/kb/questions/{record.id}", answer).status_code == 302
    with crm.session(actor=users["admin"]) as s:
        answered = s.questions.get(record.id)
    assert answered.answer == "长按 RESET 键 5 秒" and answered.article_id == base.reset.id
    assert answered.answered_by == base.service.id
    assert article(crm, users["admin"], base.reset.id).uses == 1
    listed = service.text("/kb/questions/")
    row = part(listed, "qa-list")
    assert "长按 RESET 键 5 秒" in row and "智能门锁如何复位" in row and "客服小王" in row
    assert record.id not in service.text("/kb/questions/?unanswered=1")
    zhang = signed_in(app, users["zhang"], PASSWORDS["zhang"])  # the customer's owner reads it
    assert "门锁怎么恢复出厂设置？" in zhang.text(f"/kb/questions/?customer_id={base.jinzhi.id}")


# -- every page in the reader's language ---------------------------------------------------
def test_the_knowledge_pages_read_in_chinese_and_in_english(
    app: Flask, crm: crmkit.CRM, users: dict[str, crmkit.User], base: Base
) -> None:
    with crm.session(actor=base.service) as s:
        ticket = s.tickets.create(customer_id=base.jinzhi.id, type="repair", subject="门锁")
        s.tickets.link_article(ticket.id, base.reset.id)
        asked = s.questions.ask(customer_id=base.jinzhi.id, question="门锁")
        s.questions.ask(customer_id=base.jinzhi.id, question="门锁", answer="门锁")
    admin = signed_in(app, users["admin"], PASSWORDS["admin"])
    pages = ("/kb/", "/kb/?q=门锁+复位", f"/kb/{base.reset.id}", "/kb/new",
             f"/kb/{base.reset.id}/edit", f"/tickets/{ticket.id}?kb_q=门锁",
             "/kb/questions/", "/kb/questions/?unanswered=1",
             f"/kb/questions/{asked.id}?aq=门锁")  # fmt: skip
    problems = []
    for url in pages:
        text = re.sub(r"TK-\d{4}-\d+|LK-100|RESET", " ", visible(admin.text(url)))
        for what, pattern in (("key", KEY), ("id", UUID), ("code", CODE), ("English", ENGLISH)):
            found = sorted({m.group(0) for m in pattern.finditer(text)} - {"crmkit", "English"})
            if found:
                problems.append(f"{url}: {what} {found[:5]}")
    admin.post("/language", {"lang": "en"})
    for url in pages:
        for match in CHROME.finditer(HIDDEN.sub(" ", admin.text(url))):
            raw = TAG.sub(" ", match.group(2) or match.group(3) or "")
            for word in DATA_WORDS:  # the data's own words, the longest first
                raw = raw.replace(word, " ")
            shown = DATA.sub(" ", " ".join(raw.split()))
            if CJK.search(shown):
                problems.append(f"{url} (en): {shown[:60]}")
    assert not problems, "\n".join(problems)
