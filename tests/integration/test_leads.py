"""Sales leads (线索) through the library, on every backend: create with names and numbers
normalised, the duplicate warning against customers and leads, assignment and scope,
conversion into customer + contact + opportunity (all or nothing), disqualification."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crmkit
from crmkit import ApprovalPolicy, ChainRule, Step
from crmkit.domain.messages import language


def test_a_new_lead_is_normalised_and_owned_by_its_creator(crm, team):
    zhang = team["zhang"]
    with crm.session(actor=zhang) as s:
        lead = s.leads.create(
            name="青岛金智电子科技(青岛)有限公司",
            contact_name="李四",
            mobile="138 0013 8000",
            email="Li.Si@Example.CN",
            source="展会",
            region="山东省/青岛市/市南区",
        )
    with crm.session(actor=zhang) as s:
        got = s.leads.get(lead.id)
    assert got == lead
    assert (got.owner_id, got.status) == (zhang.id, crmkit.LeadStatus.NEW)
    assert got.name == "青岛金智电子科技（青岛）有限公司"
    assert got.mobile_e164 == "+8613800138000"
    assert got.email is not None and got.email.value == "Li.Si@example.cn"


def test_a_lead_repeating_a_customer_and_a_lead_warns_naming_them_and_their_owners(crm, team):
    zhang, li = team["zhang"], team["li"]
    with crm.session(actor=zhang) as s:
        customer = s.customers.create(
            name="青岛金智电子科技有限公司", kind="company", mobile="138 0013 8000"
        )
    with crm.session(actor=li) as s:
        first = s.leads.create(name="烟台海港物流有限公司", phone="0532 8888 6666")
    with crm.session(actor=team["boss"]) as s:
        lead = s.leads.create(name="青岛金智电子科技有限公司", mobile="13800138000")
        other = s.leads.create(name="威海远航船舶有限公司", phone="0532-88886666")
        warnings = {w.entity_id: w for w in s.warnings}
        similar = s.leads.find_similar(mobile="+86 138 0013 8000", phone="053288886666")
    assert [(m.id, m.owner_name) for m in warnings[lead.id].matches] == [(customer.id, "张三")]
    assert [(m.id, m.owner_name, m.reasons) for m in warnings[other.id].matches] == [
        (first.id, "李小明", ("phone",))
    ]
    assert {(r.entity, r.match.id) for r in similar} >= {
        ("customer", customer.id),
        ("lead", lead.id),
        ("lead", first.id),
    }


def test_a_lead_with_nothing_in_common_warns_of_nothing(crm, admin):
    with crm.session(actor=admin) as s:
        s.leads.create(name="青岛金智电子科技有限公司")
        s.leads.create(name="烟台海港物流有限公司", kind="company")
        assert s.warnings == []


def test_managers_assign_leads_within_their_team_and_scope_follows_the_owner(crm, team):
    zhang, li, boss = team["zhang"], team["li"], team["boss"]
    with crm.session(actor=zhang) as s:
        lead = s.leads.create(name="青岛金智电子科技有限公司")
    with pytest.raises(crmkit.PermissionDenied), crm.session(actor=zhang) as s:
        s.leads.assign(lead.id, li.id)
    with pytest.raises(crmkit.ValidationError) as caught, crm.session(actor=boss) as s:
        s.leads.assign(lead.id, team["other"].id)
    assert caught.value.errors[0].field == "owner_id"
    with crm.session(actor=boss) as s:
        moved = s.leads.assign(lead.id, li.id, version=lead.version)
        history = s.audit.history(lead.id)
        assert any(e.changes.get("owner_id") == (zhang.id, li.id) for e in history)
    assert moved.owner_id == li.id
    with pytest.raises(crmkit.NotFound), crm.session(actor=zhang) as s:
        s.leads.get(lead.id)
    with crm.session(actor=li) as s:
        assert [x.id for x in s.leads.list().items] == [lead.id]


def test_converting_creates_customer_contact_and_opportunity_and_links_them(crm, team):
    zhang = team["zhang"]
    with crm.session(actor=zhang) as s:
        lead = s.leads.create(
            name="青岛金智电子科技有限公司",
            contact_name="李四",
            mobile="13800138000",
            phone="0532-88886666",
            source="展会",
        )
        lead = s.leads.start(lead.id)
        done = s.leads.convert(
            lead.id,
            version=lead.version,
            opportunity={"title": "门禁改造", "amount": "120000.00"},
        )
    assert done.status is crmkit.LeadStatus.CONVERTED
    with crm.session(actor=zhang) as s:
        assert done.customer_id is not None and done.contact_id is not None
        customer = s.customers.get(done.customer_id)
        contact = s.contacts.get(done.contact_id)
        assert done.opportunity_id is not None
        opp = s.opportunities.get(done.opportunity_id)
    assert (customer.name, customer.owner_id, customer.source) == (lead.name, zhang.id, "展会")
    assert (contact.customer_id, contact.name) == (customer.id, "李四")
    assert (opp.customer_id, opp.owner_id, opp.title) == (customer.id, zhang.id, "门禁改造")
    with pytest.raises(crmkit.WorkflowError) as again, crm.session(actor=zhang) as s:
        s.leads.convert(lead.id)
    with language("en"):
        assert "converted" in again.value.message()
    assert "已转化" in again.value.message("zh")


def test_a_conversion_that_fails_writes_nothing(crm, team):
    zhang, li = team["zhang"], team["li"]
    with crm.session(actor=li) as s:
        s.customers.create(name="青岛金智电子科技有限公司", kind="company")
    with crm.session(actor=zhang) as s:
        lead = s.leads.create(name="烟台海港物流有限公司", contact_name="李四")
        blocked = s.leads.create(name="青岛金智电子科技有限公司")
    with pytest.raises(crmkit.ValidationError), crm.session(actor=zhang) as s:
        # the opportunity's stage is no stage: refused after nothing or everything ran
        s.leads.convert(lead.id, opportunity={"title": "门禁改造", "stage": "nope"})
    with pytest.raises(crmkit.DuplicateError), crm.session(actor=zhang) as s:
        s.leads.convert(blocked.id)  # someone else works the customer
    with crm.session(actor=team["admin"]) as s:
        assert s.customers.count() == 1
        assert len(s.contacts.list().items) == 0
        assert s.opportunities.count() == 0
        assert {x.status for x in s.leads.list().items} == {crmkit.LeadStatus.NEW}


def test_a_conversion_policy_rule_makes_conversions_need_an_approval(crm, team):
    crm.define_approvals(
        ApprovalPolicy((ChainRule("lead_conversion", (Step("上级审批", manager=True),)),))
    )
    zhang, boss = team["zhang"], team["boss"]
    deal = {"title": "门禁改造", "amount": "80000"}
    with crm.session(actor=zhang) as s:
        lead = s.leads.create(name="青岛金智电子科技有限公司")
    with pytest.raises(crmkit.WorkflowError) as caught, crm.session(actor=zhang) as s:
        s.leads.convert(lead.id, opportunity=deal)
    assert "审批" in caught.value.message("zh")
    with crm.session(actor=zhang) as s:
        asked = s.leads.submit_conversion(lead.id, opportunity=deal)
        assert asked.conversion_approval is crmkit.ApprovalStatus.PENDING
        with pytest.raises(crmkit.WorkflowError):
            s.leads.convert(lead.id)  # still pending
    with crm.session(actor=boss) as s:
        [step] = s.approvals.inbox()
        assert (step.document_type, step.document_id) == ("lead_conversion", lead.id)
        s.approvals.approve(step.step_id, comment="可以跟进")
    with crm.session(actor=zhang) as s:
        with pytest.raises(crmkit.WorkflowError) as other:
            s.leads.convert(lead.id, opportunity={"title": "别的项目", "amount": "900000"})
        assert "另一个" in other.value.message("zh")
        done = s.leads.convert(lead.id)  # with the approved deal
        assert done.status is crmkit.LeadStatus.CONVERTED
        opp = s.opportunities.get(done.opportunity_id)
        assert (opp.title, opp.amount) == ("门禁改造", crmkit.Money(Decimal(80000)))


def test_a_rejected_conversion_can_be_asked_again(crm, team):
    crm.define_approvals(
        ApprovalPolicy((ChainRule("lead_conversion", (Step("上级审批", manager=True),)),))
    )
    with crm.session(actor=team["zhang"]) as s:
        lead = s.leads.create(name="烟台海港物流有限公司")
        s.leads.submit_conversion(lead.id)
    with crm.session(actor=team["boss"]) as s:
        s.approvals.reject(s.approvals.inbox().items[0].step_id, reason="客户资质不明")
    with crm.session(actor=team["zhang"]) as s:
        assert s.leads.get(lead.id).conversion_approval is crmkit.ApprovalStatus.REJECTED
        again = s.leads.submit_conversion(lead.id)
        assert again.conversion_approval is crmkit.ApprovalStatus.PENDING
        assert len(s.approvals.for_document(lead.id)) == 2


def test_disqualifying_needs_a_reason_and_ends_the_lead(crm, admin):
    with crm.session(actor=admin) as s:
        lead = s.leads.create(name="张伟", kind="individual", mobile="13900001234")
    with pytest.raises(crmkit.ValidationError) as caught, crm.session(actor=admin) as s:
        s.leads.disqualify(lead.id, "  ")
    assert caught.value.errors[0].field == "disqualified_reason"
    with crm.session(actor=admin) as s:
        done = s.leads.disqualify(lead.id, "空号", version=lead.version)
    assert (done.status, done.disqualified_reason) == (crmkit.LeadStatus.DISQUALIFIED, "空号")
    for move in ("convert", "start"):
        with pytest.raises(crmkit.WorkflowError), crm.session(actor=admin) as s:
            getattr(s.leads, move)(lead.id)
    with pytest.raises(crmkit.WorkflowError), crm.session(actor=admin) as s:
        s.leads.update(lead.id, remarks="再试")


def test_a_closed_source_list_holds_the_lead_source(crm, admin):
    with crm.session(actor=admin) as s:
        s.dictionary.create(list="source", value="展会", aliases=["会展"])
    with crm.session(actor=admin) as s:
        assert s.leads.create(name="青岛金智电子科技有限公司", source="会展").source == "展会"
    with pytest.raises(crmkit.ValidationError) as caught, crm.session(actor=admin) as s:
        s.leads.create(name="烟台海港物流有限公司", source="网络")
    assert caught.value.errors[0].field == "source"


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(moves=st.lists(st.sampled_from(["start", "disqualify", "convert"]), max_size=4))
def test_leads_follow_the_state_machine(crm, admin, moves):
    with crm.session(actor=admin) as s:
        lead = s.leads.create(name="张伟", kind="individual")
    state = crmkit.LeadStatus.NEW
    allowed = {
        crmkit.LeadStatus.NEW: {"start", "disqualify", "convert"},
        crmkit.LeadStatus.WORKING: {"disqualify", "convert"},
    }
    targets = {
        "start": crmkit.LeadStatus.WORKING,
        "disqualify": crmkit.LeadStatus.DISQUALIFIED,
        "convert": crmkit.LeadStatus.CONVERTED,
    }
    for move in moves:
        args = ("无意向",) if move == "disqualify" else ()
        if move in allowed.get(state, set()):
            with crm.session(actor=admin) as s:
                assert getattr(s.leads, move)(lead.id, *args).status is targets[move]
            state = targets[move]
        else:
            with pytest.raises(crmkit.WorkflowError), crm.session(actor=admin) as s:
                getattr(s.leads, move)(lead.id, *args)
    with crm.session(actor=admin) as s:
        assert s.leads.get(lead.id).status is state
