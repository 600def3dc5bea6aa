"""The knowledge base on every backend: articles written by service staff and read by
everyone, searched in Chinese from the full-text index (published ones only outside the
editors), counted when used or found helpful; customers' questions and answers in the
customer's scope; bad input named in zh and en."""

from __future__ import annotations

import pytest

from crmkit import NotFound, PermissionDenied, ValidationError
from crmkit.domain.kb import ArticleStatus


@pytest.fixture
def service(crm, admin):
    with crm.session(actor=admin) as s:
        return s.users.create(name="周客服", role="service", password="service-pass")


@pytest.fixture
def articles(crm, service):
    with crm.session(actor=service) as s:
        reset = s.kb.create(
            title="智能门锁如何复位",
            body="长按门锁背面的 RESET 键 5 秒，听到提示音后松开，门锁即恢复出厂设置。",
            category="门锁",
            tags="门锁, 复位、出厂设置 门锁",
        )
        battery = s.kb.create(
            title="LK-100 更换电池",
            body="打开电池盖，换上 4 节 5 号碱性电池。电量低时门锁会鸣叫提示。",
            category="门锁",
            tags=["电池", "LK-100"],
        )
        card = s.kb.create(
            title="门禁卡丢失怎么办",
            body="请联系物业挂失，再到前台补办新卡。",
            category="门禁",
        )
        draft = s.kb.create(
            title="指纹录入失败（草稿）",
            body="手指保持干燥，多角度录入指纹。",
            category="门锁",
            status="draft",
        )
    return {"reset": reset, "battery": battery, "card": card, "draft": draft}


def test_tags_are_parsed_and_kept_once(articles):
    assert articles["reset"].tags == ("门锁", "复位", "出厂设置")
    assert articles["battery"].tags == ("电池", "LK-100")
    assert articles["reset"].status is ArticleStatus.PUBLISHED


def test_search_finds_chinese_terms_best_first(crm, team, articles):
    with crm.session(actor=team["zhang"]) as s:  # a salesperson reads the base

        def found(text, **options):
            return [h.item.id for h in s.kb.search(text, **options)]

        assert found("门锁 复位") == [articles["reset"].id]
        assert set(found("门锁")) == {articles["reset"].id, articles["battery"].id}
        assert found("lk-100") == [articles["battery"].id]  # a model number, any case
        assert found("丢失") == [articles["card"].id]
        assert found("指纹") == []  # a draft: editors only
        assert found("门锁", category="门禁") == []
        assert found("卡", category="门禁") == [articles["card"].id]  # one character: a prefix
        assert found("   ") == []
        hits = s.kb.search("门锁")
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        assert s.kb.categories() == [("门禁", 1), ("门锁", 2)]
        with pytest.raises(ValidationError) as hidden:
            s.kb.search("指纹", status="draft")
        assert "仅知识库编辑" in hidden.value.message("zh")
        assert "only editors" in hidden.value.message("en")


def test_editors_search_drafts_and_any_status(crm, service, articles):
    with crm.session(actor=service) as s:
        assert [h.item.id for h in s.kb.search("指纹", status="draft")] == [articles["draft"].id]
        assert len(s.kb.search("门锁", status="any")) == 3
        assert s.kb.categories() == [("门禁", 1), ("门锁", 3)]
        with pytest.raises(ValidationError) as bad:
            s.kb.search("门锁", status="secret")
        assert {e.field for e in bad.value.errors} == {"status"}


def test_a_salesperson_reads_but_does_not_write(crm, team, articles):
    with crm.session(actor=team["zhang"]) as s:
        assert s.kb.get(articles["card"].id).title == "门禁卡丢失怎么办"
        with pytest.raises(PermissionDenied):
            s.kb.create(title="新条目", body="内容")
        with pytest.raises(PermissionDenied):
            s.kb.update(articles["card"].id, title="改标题")
        with pytest.raises(PermissionDenied):
            s.kb.delete(articles["card"].id)
        assert s.kb.helpful(articles["card"].id).helpful == 1  # reading is enough


def test_updates_deletes_and_restores_follow_the_index(crm, service, articles):
    card = articles["card"]
    with crm.session(actor=service) as s:
        moved = s.kb.update(card.id, version=card.version, body="请携带身份证到物业中心补办。")
        assert [h.item.id for h in s.kb.search("身份证")] == [card.id]
        assert s.kb.search("挂失") == []
        s.kb.delete(card.id, version=moved.version)
        assert s.kb.search("身份证") == []
        with pytest.raises(NotFound):
            s.kb.get(card.id)
    with crm.session(actor=service) as s:
        s.kb.restore(card.id)
        assert [h.item.id for h in s.kb.search("身份证")] == [card.id]


def test_uses_and_helpful_are_counted(crm, service, articles):
    reset = articles["reset"]
    with crm.session(actor=service) as s:
        s.kb.record_use(reset.id)
        s.kb.record_use(reset.id)
        after = s.kb.helpful(reset.id)
        assert (after.uses, after.helpful, after.version) == (2, 1, reset.version + 3)
        with pytest.raises(NotFound):
            s.kb.record_use("no-such-article")


def test_bad_article_input_is_named_in_both_languages(crm, service):
    with crm.session(actor=service) as s:
        with pytest.raises(ValidationError) as bad:
            s.kb.create(title="", body="x" * 20001, status="hidden", tags=["ok", 3])
        assert {e.field for e in bad.value.errors} == {"title", "body", "status", "tags"}
        zh, en = bad.value.message("zh"), bad.value.message("en")
        assert "标题" in zh and "内容" in zh and "标签" in zh
        assert "title" in en and "tags" in en
        with pytest.raises(ValidationError) as long_tag:
            s.kb.create(title="标题", body="内容", tags="很" * 31)
        assert [e.field for e in long_tag.value.errors] == ["tags"]
        assert s.kb.count() == 0


def test_questions_live_in_the_customers_scope_and_answers_count_uses(crm, team, service, articles):
    with crm.session(actor=team["admin"]) as s:
        mine = s.customers.create(name="青岛金智电子科技有限公司", owner_id=team["zhang"].id)
    with crm.session(actor=team["zhang"]) as s:
        asked = s.questions.ask(customer_id=mine.id, question="门锁怎么恢复出厂设置？")
        assert (asked.asked_at, asked.answer, asked.answered_by) == (s.now(), None, None)
        answered = s.questions.answer(
            asked.id, answer="长按 RESET 键 5 秒。", article_id=articles["reset"].id
        )
        assert (answered.answered_by, answered.article_id) == (
            team["zhang"].id,
            articles["reset"].id,
        )
        assert s.kb.get(articles["reset"].id).uses == 1
        assert [q.id for q in s.questions.for_customer(mine.id)] == [asked.id]
        with pytest.raises(ValidationError) as bad:
            s.questions.answer(asked.id, answer="  ")
        assert [e.field for e in bad.value.errors] == ["answer"]
        with pytest.raises(ValidationError) as missing:
            s.questions.ask(customer_id=mine.id, question="", article_id="nope")
        assert {e.field for e in missing.value.errors} == {"question", "article_id"}
        assert "问题" in missing.value.message("zh")
        assert "question" in missing.value.message("en")
    with crm.session(actor=team["other"]) as s:  # not their customer
        with pytest.raises(NotFound):
            s.questions.get(asked.id)
        with pytest.raises(NotFound):
            s.questions.for_customer(mine.id)
        with pytest.raises(ValidationError):
            s.questions.ask(customer_id=mine.id, question="我也想问")
    with crm.session(actor=service) as s:  # service staff see every customer
        assert s.questions.get(asked.id).answer == "长按 RESET 键 5 秒。"
