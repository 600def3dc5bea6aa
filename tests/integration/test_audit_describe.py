"""The operation log as people read it: records and people by name, field labels, values
in display form, local times; searchable by customer."""

from __future__ import annotations

from datetime import timedelta

from crmkit.domain.messages import language


def _lines(crm, admin, **filters):
    with crm.session(actor=admin) as s, language("zh"):
        return s.audit.describe(s.audit.list(limit=100, **filters).items)


def test_an_entry_names_its_record_and_shows_values_not_codes(crm, admin, clock):
    with crm.session(actor=admin) as s:
        zhang = s.users.create(name="张三", role="sales", password="sales-pass")
        c = s.customers.create(
            name="青岛金智电子科技有限公司", region="山东省/青岛市/市南区", owner_id=zhang.id
        )
        s.customers.update(
            c.id, region="山东省/青岛市/崂山区", category="formal", mobile="13800138000"
        )
    update = next(line for line in _lines(crm, admin) if line.action == "修改")
    assert update.record == "青岛金智电子科技有限公司" and update.entity == "客户"
    assert update.actor == "管理员"
    changes = {label: (before, after) for _, label, before, after in update.changes}
    assert changes["地区"] == ("山东省/青岛市/市南区", "山东省/青岛市/崂山区")
    assert changes["客户类别"] == ("潜在客户", "正式客户")
    assert changes["手机"] == ("", "138 0013 8000")
    created = next(
        line
        for line in _lines(crm, admin)
        if line.record == "青岛金智电子科技有限公司" and line.action == "新建"
    )
    assert {label: after for _, label, _, after in created.changes}["负责人"] == "张三"
    # Beijing time, as the screens show it (the test clock starts at 01:00 UTC).
    assert update.at.endswith(":00") and "T" not in update.at


def test_the_log_is_searchable_by_customer_with_its_contacts(crm, admin):
    with crm.session(actor=admin) as s:
        jinzhi = s.customers.create(name="青岛金智电子科技有限公司")
        s.contacts.create(customer_id=jinzhi.id, name="李四")
        s.customers.create(name="上海四通贸易有限公司")
    lines = _lines(crm, admin, record="青岛金智")  # as the customer list finds it
    assert {line.record for line in lines} == {"青岛金智电子科技有限公司", "李四"}
    assert _lines(crm, admin, record="没有这家公司") == []
    only = _lines(crm, admin, entity_id=jinzhi.id)
    assert {line.record for line in only} == {"青岛金智电子科技有限公司"}


def test_a_purged_record_is_named_as_gone_not_by_its_id(crm, admin, clock):
    with crm.session(actor=admin) as s:
        gone = s.customers.create(name="已注销贸易有限公司")
        s.customers.delete(gone.id)
    clock.advance(timedelta(days=31))
    with crm.session(actor=admin) as s:
        s.customers.purge()
    lines = _lines(crm, admin, entity_id=gone.id)
    assert lines and all(gone.id not in line.record for line in lines)
    assert all(line.record == "客户" for line in lines)


def test_a_similar_customer_lookup_is_logged_with_the_names_it_showed(crm, admin):
    with crm.session(actor=admin) as s:
        s.customers.create(name="青岛金智电子科技有限公司")
        s.customers.find_similar(name="青岛金智电子")
    (line,) = _lines(crm, admin, action="lookup")
    changes = {label: after for _, label, _, after in line.changes}
    assert line.entity == "相似客户查询" and line.note == "显示了 1 个相似客户"
    assert changes["显示的客户"] == "青岛金智电子科技有限公司"


def test_a_co_ownership_request_is_named_by_its_customer(crm, team):
    with crm.session(actor=team["zhang"]) as s:
        c = s.customers.create(name="青岛金智电子科技有限公司")
    with crm.session(actor=team["li"]) as s:
        s.customers.request_co_ownership(c.id, note="老客户转介绍")
    lines = _lines(crm, team["admin"], entity_type="co_ownership_request")
    assert [line.record for line in lines] == ["青岛金智电子科技有限公司"]
    changes = {label: after for _, label, _, after in lines[0].changes}
    assert changes["说明"] == "老客户转介绍" and changes["申请人"] == "李小明"
