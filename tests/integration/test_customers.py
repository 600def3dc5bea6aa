"""Customer workflows on every backend: the foundation issue's acceptance scenarios."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

import crmkit
from crmkit import (
    Category,
    ConcurrencyError,
    CustomField,
    NotFound,
    PermissionDenied,
    ValidationError,
    WorkflowError,
)
from crmkit.domain.events import CustomerCreated, CustomerUpdated

COMPANY = "青岛金智电子科技有限公司"


def test_a_mobile_written_with_country_code_and_dashes_is_stored_as_e164(crm, admin):
    with crm.session(actor=admin) as s:
        c = s.customers.create(name=COMPANY, mobile="+86 138-0013-8000")
    with crm.session(actor=admin) as s:
        stored = s.customers.get(c.id)
    assert stored.mobile is not None
    assert stored.mobile.e164 == "+8613800138000"


def test_one_validation_error_names_the_empty_name_the_bad_mobile_and_the_bad_email(crm, admin):
    with crm.session(actor=admin) as s:
        with pytest.raises(ValidationError) as caught:
            s.customers.create(name="", mobile="12345", email="not-an-email")
    err = caught.value
    assert set(err.fields) == {"name", "mobile", "email"}
    by_field = err.by_field()
    assert by_field["name"][0].code == "required"
    assert by_field["mobile"][0].value == "12345"
    assert "必填" in by_field["name"][0].message_zh
    assert "required" in by_field["name"][0].message_en
    with crmkit.language("en"):
        assert "3 field(s) are invalid: name, mobile, email" in str(err)
    # People read labels, never keys (issue 16).
    assert err.message("zh").startswith("3 个字段有误：名称、手机、邮箱 — ")
    with crm.session(actor=admin) as s:
        assert s.customers.count() == 0


def test_nothing_is_half_written_when_a_session_fails(crm, admin):
    def create_two() -> None:
        with crm.session(actor=admin) as s:
            s.customers.create(name=COMPANY)
            s.customers.create(name="@@@")

    with pytest.raises(ValidationError):
        create_two()
    with crm.session(actor=admin) as s:
        assert s.customers.count() == 0
        assert s.audit.list(entity_type="customer").items == ()


def test_a_salesperson_sees_only_their_own_customers_and_their_managers_see_them(crm, team):
    with crm.session(actor=team["zhang"]) as s:
        mine = s.customers.create(name=COMPANY)
    with crm.session(actor=team["junior"]) as s:
        juniors = s.customers.create(name="上海钱多多贸易有限公司")
    with crm.session(actor=team["li"]) as s:
        with pytest.raises(NotFound):
            s.customers.get(mine.id)
        assert [c.id for c in s.customers.list()] == []
        with pytest.raises(NotFound):
            s.customers.update(mine.id, remarks="mine now")
    with crm.session(actor=team["boss"]) as s:  # two levels above the junior
        assert {c.id for c in s.customers.list()} == {mine.id, juniors.id}
        assert s.customers.get(juniors.id).name == "上海钱多多贸易有限公司"
    with crm.session(actor=team["lead"]) as s:
        assert [c.id for c in s.customers.list()] == [juniors.id]
    with crm.session(actor=team["admin"]) as s:
        assert s.customers.count() == 2
    with crm.session(actor=team["other"]) as s, pytest.raises(NotFound):
        s.customers.get(juniors.id)


def test_a_co_owner_sees_the_customer_but_only_a_manager_may_share_it(crm, team):
    with crm.session(actor=team["zhang"]) as s:
        c = s.customers.create(name=COMPANY)
        with pytest.raises(PermissionDenied):
            s.customers.update(c.id, co_owner_ids=[team["li"].id])
    with crm.session(actor=team["boss"]) as s:
        s.customers.update(c.id, co_owner_ids=[team["li"].id])
    with crm.session(actor=team["li"]) as s:
        assert s.customers.get(c.id).co_owner_ids == (team["li"].id,)
        assert [x.id for x in s.customers.list()] == [c.id]


def test_a_salesperson_cannot_create_a_customer_for_someone_else(crm, team):
    with crm.session(actor=team["zhang"]) as s, pytest.raises(PermissionDenied):
        s.customers.create(name=COMPANY, owner_id=team["li"].id)


def test_finance_reads_every_customer_but_cannot_create_one(crm, team):
    with crm.session(actor=team["admin"]) as s:
        fin = s.users.create(name="钱会计", role="finance", password="finance-pass")
    with crm.session(actor=team["zhang"]) as s:
        c = s.customers.create(name=COMPANY)
    with crm.session(actor=fin) as s:
        assert s.customers.get(c.id).id == c.id
        with pytest.raises(PermissionDenied):
            s.customers.create(name="另一家科技有限公司")


def test_two_sessions_updating_from_the_same_version_one_wins_and_nothing_is_lost(crm, team):
    with crm.session(actor=team["zhang"]) as s:
        c = s.customers.create(name=COMPANY)
    with crm.session(actor=team["zhang"]) as s:
        seen_by_first = s.customers.get(c.id)
    with crm.session(actor=team["boss"]) as s:
        seen_by_second = s.customers.get(c.id)
    assert seen_by_first.version == seen_by_second.version == 1
    with crm.session(actor=team["zhang"]) as s:
        s.customers.update(c.id, version=seen_by_first.version, remarks="first")
    with crm.session(actor=team["boss"]) as s, pytest.raises(ConcurrencyError) as caught:
        s.customers.update(c.id, version=seen_by_second.version, remarks="second")
    assert caught.value.expected == 1
    assert caught.value.actual == 2
    with crm.session(actor=team["admin"]) as s:
        final = s.customers.get(c.id)
    assert final.remarks == "first"
    assert final.version == 2


def test_concurrent_threads_writing_the_same_version_yield_exactly_one_success(crm, team):
    with crm.session(actor=team["zhang"]) as s:
        c = s.customers.create(name=COMPANY)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def worker(text: str) -> None:
        barrier.wait()
        try:
            with crm.session(actor=team["admin"]) as s:
                s.customers.update(c.id, version=1, remarks=text)
            outcomes.append("ok")
        except ConcurrencyError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=worker, args=(t,)) for t in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["conflict", "ok"]
    with crm.session(actor=team["admin"]) as s:
        assert s.customers.get(c.id).version == 2


def test_delete_then_restore_gives_back_the_customer_with_its_contacts(crm, team, clock):
    with crm.session(actor=team["zhang"]) as s:
        c = s.customers.create(name=COMPANY, region="山东省/青岛市/市南区")
        p1 = s.contacts.create(customer_id=c.id, name="李四", mobile="+86 139 0000 1234")
        p2 = s.contacts.create(customer_id=c.id, name="王五")
        s.contacts.delete(p2.id)  # deleted on its own: stays deleted after the restore
        p3 = s.contacts.create(customer_id=c.id, name="赵六", email="ZHAO@Example.COM")
    clock.advance(minutes=5)
    with crm.session(actor=team["zhang"]) as s:
        s.customers.delete(c.id)
    with crm.session(actor=team["zhang"]) as s:
        with pytest.raises(NotFound):
            s.customers.get(c.id)
        assert [x.id for x in s.customers.recycle_bin()] == [c.id]
        assert s.contacts.list(customer_id=c.id).items == ()
    clock.advance(minutes=5)
    with crm.session(actor=team["zhang"]) as s:
        back = s.customers.restore(c.id)
    with crm.session(actor=team["zhang"]) as s:
        again = s.customers.get(c.id)
        contacts = {x.id for x in s.contacts.list(customer_id=c.id)}
    assert again.name == COMPANY and again.region == back.region and again.deleted_at is None
    assert contacts == {p1.id, p3.id}


def test_the_audit_history_shows_each_change_with_its_actor_and_field_diffs(crm, team):
    with crm.session(actor=team["zhang"]) as s:
        c = s.customers.create(name=COMPANY, source="展会")
    with crm.session(actor=team["boss"]) as s:
        s.customers.update(c.id, source="网络", remarks="老客户介绍")
    with crm.session(actor=team["zhang"]) as s:
        s.customers.delete(c.id)
    with crm.session(actor=team["admin"]) as s:
        s.customers.restore(c.id)
        history = s.audit.history(c.id)
    assert [e.action.value for e in history] == ["create", "update", "delete", "restore"]
    assert [e.actor_id for e in history] == [
        team["zhang"].id,
        team["boss"].id,
        team["zhang"].id,
        team["admin"].id,
    ]
    assert history[0].changes["name"] == (None, COMPANY)
    assert history[1].changes["source"] == ("展会", "网络")
    assert history[1].changes["remarks"] == (None, "老客户介绍")
    assert "version" not in history[1].changes
    assert history[2].changes["deleted_at"][0] is None


def test_a_salesperson_cannot_read_the_history_of_a_customer_outside_their_scope(crm, team):
    with crm.session(actor=team["zhang"]) as s:
        c = s.customers.create(name=COMPANY)
    with crm.session(actor=team["li"]) as s, pytest.raises(NotFound):
        s.audit.history(c.id)


def test_the_category_lifecycle_is_enforced(crm, admin):
    with crm.session(actor=admin) as s:
        c = s.customers.create(name=COMPANY)
        with pytest.raises(WorkflowError) as caught:
            s.customers.change_category(c.id, "signed")
        assert caught.value.state == "potential"
        c = s.customers.change_category(c.id, "formal")
        c = s.customers.change_category(c.id, Category.SIGNED)
        assert c.category is Category.SIGNED


def test_a_channel_customer_needs_a_related_customer_before_becoming_formal(crm, admin):
    with crm.session(actor=admin) as s:
        end = s.customers.create(name="青岛终端用户有限公司")
        channel = s.customers.create(name="山东渠道商贸有限公司", channel_type="渠道")
        with pytest.raises(WorkflowError) as caught:
            s.customers.change_category(channel.id, "formal")
        assert "渠道客户必须至少关联一个客户" in caught.value.message("zh")
        moved = s.customers.update(channel.id, related_customer_ids=[end.id], category="正式")
    assert moved.category is Category.FORMAL


def test_a_parent_chain_may_not_loop(crm, admin):
    with crm.session(actor=admin) as s:
        a = s.customers.create(name="甲集团有限公司")
        b = s.customers.create(name="乙分公司", parent_id=a.id)
        with pytest.raises(ValidationError) as caught:
            s.customers.update(a.id, parent_id=b.id)
    assert caught.value.errors[0].code == "customer.parent_cycle"


def test_custom_fields_are_validated_against_the_schema_the_app_defines(crm, admin):
    crm.define_customer_field(
        CustomField("scale", "choice", required=True, choices=("小型", "中型", "大型"))
    )
    crm.define_customer_field(CustomField("staff", "number"))
    with crm.session(actor=admin) as s:
        with pytest.raises(ValidationError) as caught:
            s.customers.create(name=COMPANY, custom={"staff": "many", "colour": "red"})
        assert set(caught.value.fields) == {"custom.staff", "custom.colour", "custom.scale"}
        c = s.customers.create(name=COMPANY, custom={"scale": "中型", "staff": "120"})
    with crm.session(actor=admin) as s:
        stored = s.customers.get(c.id)
    assert stored.custom == {"scale": "中型", "staff": __import__("decimal").Decimal("120")}


def test_filters_and_text_search_find_customers_by_name_contact_and_phone(crm, admin):
    with crm.session(actor=admin) as s:
        a = s.customers.create(
            name=COMPANY, region="山东省/青岛市/市南区", tags=["VIP", "展会"], source="展会"
        )
        b = s.customers.create(name="北京华夏建材有限公司", region="北京市/朝阳区")
        s.contacts.create(customer_id=b.id, name="欧阳娜娜", mobile="13912345678")
    with crm.session(actor=admin) as s:
        assert [c.id for c in s.customers.list(region="山东省")] == [a.id]
        assert [c.id for c in s.customers.list(tag="VIP")] == [a.id]
        assert [c.id for c in s.customers.list(source="展会")] == [a.id]
        assert [c.id for c in s.customers.list(q="金智电子")] == [a.id]
        assert [c.id for c in s.customers.list(q="欧阳娜娜")] == [b.id]
        assert [c.id for c in s.customers.list(q="1391234")] == [b.id]
        with pytest.raises(ValidationError) as caught:
            s.customers.list(colour="red", category="vip")
        assert set(caught.value.fields) == {"colour", "category"}


def test_keyset_pages_cover_every_customer_once_newest_first(crm, admin, clock):
    with crm.session(actor=admin) as s:
        ids = []
        for i in range(7):
            clock.advance(seconds=1)
            ids.append(s.customers.create(name=f"测试{i}号科技有限公司").id)
    seen: list[str] = []
    after = None
    with crm.session(actor=admin) as s:
        while True:
            page = s.customers.list(limit=3, after=after)
            seen.extend(c.id for c in page)
            if page.next_after is None:
                break
            after = page.next_after
    assert seen == list(reversed(ids))


def test_events_reach_subscribers_only_after_commit(crm, admin):
    got: list[object] = []
    crm.subscribe(CustomerCreated, got.append)

    def create_then_fail() -> None:
        with crm.session(actor=admin) as s:
            s.customers.create(name=COMPANY)
            assert got == []
            s.customers.create(name="")

    with pytest.raises(ValidationError):
        create_then_fail()
    assert got == []
    with crm.session(actor=admin) as s:
        c = s.customers.create(name=COMPANY)
        s.customers.update(c.id, remarks="x")
    assert [type(e) for e in got] == [CustomerCreated]
    assert got[0].entity_id == c.id  # type: ignore[attr-defined]
    updates: list[CustomerUpdated] = []
    crm.subscribe(CustomerUpdated, updates.append)
    with crm.session(actor=admin) as s:
        s.customers.update(c.id, remarks="y")
    assert updates[0].fields == ("remarks",)


def test_the_recycle_bin_is_purged_after_the_retention_period(crm, team, clock):
    with crm.session(actor=team["zhang"]) as s:
        old = s.customers.create(name="旧客户有限公司")
        s.contacts.create(customer_id=old.id, name="李四")
        s.customers.delete(old.id)
    clock.advance(days=20)
    with crm.session(actor=team["zhang"]) as s:
        recent = s.customers.create(name="新客户有限公司")
        s.customers.delete(recent.id)
        with pytest.raises(PermissionDenied):
            s.customers.purge()
    clock.advance(days=11)
    with crm.session(actor=team["admin"]) as s:
        assert s.customers.purge() == 1
    with crm.session(actor=team["admin"]) as s:
        assert [c.id for c in s.customers.recycle_bin()] == [recent.id]
        assert s.audit.history(old.id)[-1].action.value == "purge"
        assert s.customers.purge(older_than=timedelta(0)) == 1
