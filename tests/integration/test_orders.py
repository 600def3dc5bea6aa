"""Orders (销售订单) and their approvals through the library, on every backend: a quote made
into an order, the approval chain by amount, the lock on pending and approved orders,
revisions, the credit check, cost adjustments, the delivery plan with freight, sign-off,
reminders through due jobs and the outbox, bad input, and two approvers deciding at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal

import attrs
import pytest

import crmkit
from crmkit import (
    ApprovalStatus,
    NotFound,
    OrderStatus,
    PermissionDenied,
    ValidationError,
    WorkflowError,
    display,
)
from crmkit.storage.catalog import ORDERS
from crmkit.testing import open_test_crm, store_of
from crmkit.testing.notifiers import RecordingNotifier


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def crm(backend_url, clock, notifier):
    """An empty CRM on each backend whose deliveries are charged freight by region and
    whose notifications are recorded."""
    crm = open_test_crm(
        backend_url,
        clock=clock,
        notifier=notifier,
        freight=crmkit.FreightRule.by_region(
            {"山东": "20.00", "新疆": "80.00"}, default="40.00", free_from="100000"
        ),
    )
    yield crm
    crm.close()


@pytest.fixture
def people(crm, team):
    """The team plus two finance clerks."""
    with crm.session(actor=team["admin"]) as s:
        fin = s.users.create(
            name="李会计", role="finance", password="finance-pass", email="li@example.cn"
        )
        fin2 = s.users.create(name="周出纳", role="finance", password="finance-pass")
        s.users.update(team["zhang"].id, email="zhang@example.cn", mobile="13800138001")
    return {**team, "fin": fin, "fin2": fin2}


@pytest.fixture
def shop(crm, people):
    """A customer of 张三's (cash terms), a credit-terms one with a ¥100,000 limit, and two
    products with weights."""
    with crm.session(actor=people["admin"]) as s:
        cash = s.customers.create(
            name="青岛金智电子科技有限公司",
            owner_id=people["zhang"].id,
            region="山东省/青岛市/市南区",
        )
        credit = s.customers.create(
            name="烟台华瑞贸易有限公司",
            owner_id=people["zhang"].id,
            region="山东省/烟台市/芝罘区",
            settlement="credit",
            credit_limit="100000",
        )
        lock = s.products.create(
            name="智能门锁",
            code="LK-100",
            unit="套",
            price="1999.00",
            cost="1200.00",
            tax_rate="0.13",
            weight="2.5",
        )
        gate = s.products.create(
            name="门禁控制器",
            code="AC-1",
            unit="台",
            price="800.00",
            cost="500.00",
            tax_rate="0.13",
        )
    return {"cash": cash, "credit": credit, "lock": lock, "gate": gate}


def _order(s, shop, quantity=10, price="1899.00", customer="cash", **fields):
    lines = [{"product_id": shop["lock"].id, "quantity": quantity, "unit_price": price}]
    return s.orders.create(customer_id=shop[customer].id, lines=lines, **fields)


def _submitted(crm, people, shop, **kw):
    with crm.session(actor=people["zhang"]) as s:
        order = _order(s, shop, **kw)
        return s.orders.submit(order.id, version=order.version)


def _inbox(crm, user):
    with crm.session(actor=user) as s:
        return list(s.approvals.inbox())


# -- from quote to approved order ----------------------------------------------------------
def test_a_quote_becomes_an_order_that_the_manager_approves_and_that_is_then_locked(
    crm, people, shop
):
    with crm.session(actor=people["zhang"]) as s:
        quote = s.quotes.create(
            customer_id=shop["cash"].id,
            lines=[{"product_id": shop["lock"].id, "quantity": 10, "unit_price": "1899.00"}],
        )
        order = s.quotes.to_order(quote.id, signed_on="2026-01-05")
        assert order.number.startswith("SO-2026-") and order.quote_id == quote.id
        assert (order.net + order.tax) == order.gross == quote.gross
        assert order.approval is ApprovalStatus.DRAFT and order.status is OrderStatus.OPEN
        assert s.quotes.get(quote.id).status is crmkit.QuoteStatus.ACCEPTED
        with pytest.raises(WorkflowError) as twice:
            s.quotes.to_order(quote.id)
        assert order.number in twice.value.message("zh")
        order = s.orders.submit(order.id, version=order.version)
        assert order.approval is ApprovalStatus.PENDING
        with pytest.raises(WorkflowError) as locked:
            s.orders.update(order.id, remarks="改一下")
        assert "锁定" in locked.value.message("zh")
        assert _inbox(crm, people["zhang"]) == []  # nobody approves their own
    box = _inbox(crm, people["boss"])
    assert [a.document_id for a in box] == [order.id]
    assert _inbox(crm, people["fin"]) == []  # ≤ ¥50,000: the manager alone
    with crm.session(actor=people["boss"]) as s:
        decided = s.approvals.approve(box[0].step_id, comment="同意")
    assert decided.status is ApprovalStatus.APPROVED
    with crm.session(actor=people["zhang"]) as s:
        approved = s.orders.get(order.id)
        assert approved.approval is ApprovalStatus.APPROVED and approved.approved_at
        for attempt in (
            lambda: s.orders.update(order.id, remarks="改"),
            lambda: s.orders.delete(order.id),
        ):
            with pytest.raises(WorkflowError):
                attempt()
        trail = s.approvals.for_document(order.id)
        assert [a.status for a in trail] == [ApprovalStatus.APPROVED]
        assert trail[0].decisions[0].comment == "同意"


def test_a_large_order_needs_the_manager_then_finance_and_only_they_may_decide(crm, people, shop):
    order = _submitted(crm, people, shop, quantity=30)  # ¥56,970
    assert order.gross.amount > Decimal(50000)
    step = _inbox(crm, people["boss"])[0].step_id
    for outsider in (people["other"], people["li"], people["fin"]):
        with crm.session(actor=outsider) as s, pytest.raises((PermissionDenied, NotFound)):
            s.approvals.approve(step)
    with crm.session(actor=people["boss"]) as s:
        after = s.approvals.approve(step)
    assert after.status is ApprovalStatus.PENDING and after.decider == "role:finance"
    assert _inbox(crm, people["boss"]) == []
    box = _inbox(crm, people["fin"])
    assert [a.step_id for a in box] == [after.step_id]
    with crm.session(actor=people["fin"]) as s:
        assert s.approvals.approve(after.step_id).status is ApprovalStatus.APPROVED
    with crm.session(actor=people["zhang"]) as s:
        assert s.orders.get(order.id).approval is ApprovalStatus.APPROVED


def test_a_manager_above_the_manager_decides_too(crm, people, shop):
    with crm.session(actor=people["junior"]) as s:
        customer = s.customers.create(name="威海蓝海科技有限公司")
        order = s.orders.create(
            customer_id=customer.id,
            lines=[{"product_id": shop["gate"].id, "quantity": 1}],
        )
        s.orders.submit(order.id)
    assert [a.document_id for a in _inbox(crm, people["lead"])] == [order.id]
    assert [a.document_id for a in _inbox(crm, people["boss"])] == [order.id]
    assert _inbox(crm, people["other"]) == []


def test_a_rejection_needs_a_reason_and_sends_the_order_back_for_resubmission(crm, people, shop):
    order = _submitted(crm, people, shop)
    step = _inbox(crm, people["boss"])[0].step_id
    with crm.session(actor=people["boss"]) as s:
        with pytest.raises(ValidationError) as no_reason:
            s.approvals.reject(step, reason="  ")
        assert "理由" in no_reason.value.message("zh")
        assert "reason" in no_reason.value.message("en")
        s.approvals.reject(step, reason="价格太低")
    with crm.session(actor=people["zhang"]) as s:
        back = s.orders.get(order.id)
        assert back.approval is ApprovalStatus.REJECTED
        fixed = s.orders.update(back.id, lines=[{"product_id": shop["lock"].id, "quantity": 10}])
        again = s.orders.submit(fixed.id, version=fixed.version)
        assert again.approval is ApprovalStatus.PENDING and again.approval_id != back.approval_id
    with crm.session(actor=people["boss"]) as s:
        with pytest.raises(WorkflowError):  # the old step: decided already
            s.approvals.approve(step)
        assert [a.status for a in s.approvals.for_document(order.id)] == [
            ApprovalStatus.REJECTED,
            ApprovalStatus.PENDING,
        ]


def test_only_the_submitter_withdraws_and_a_withdrawn_step_cannot_be_approved(crm, people, shop):
    order = _submitted(crm, people, shop)
    step = _inbox(crm, people["boss"])[0].step_id
    with crm.session(actor=people["boss"]) as s, pytest.raises(PermissionDenied):
        s.orders.withdraw(order.id)
    with crm.session(actor=people["zhang"]) as s:
        back = s.orders.withdraw(order.id)
        assert back.approval is ApprovalStatus.WITHDRAWN
        s.orders.update(order.id, remarks="补充交货地址")
        s.orders.submit(order.id)
    with crm.session(actor=people["boss"]) as s:
        with pytest.raises(WorkflowError) as stale:
            s.approvals.approve(step)  # a step of the revision as first submitted
        assert stale.value.message("en")
        fresh = list(s.approvals.inbox())
        assert len(fresh) == 1 and fresh[0].step_id != step
        s.approvals.approve(fresh[0].step_id)


def test_a_decision_on_a_document_changed_since_submission_is_refused(crm, people, shop):
    order = _submitted(crm, people, shop)
    step = _inbox(crm, people["boss"])[0].step_id
    # A change that went round the lock (an integrator writing through the store's port,
    # a data migration) makes the submitted revision stale.
    with store_of(crm).unit_of_work() as uow:
        repo = uow.repo(ORDERS)
        stored = repo.get(order.id)
        repo.update(attrs.evolve(stored, version=stored.version + 1, remarks="改"), stored.version)
        uow.commit()
    with crm.session(actor=people["boss"]) as s, pytest.raises(WorkflowError) as stale:
        s.approvals.approve(step)
    assert "重新提交" in stale.value.message("zh")
    assert "submit it again" in stale.value.message("en")


# -- revisions ---------------------------------------------------------------------------
def test_an_approved_order_is_changed_by_a_revision_with_its_own_approval(crm, people, shop):
    order = _submitted(crm, people, shop)
    with crm.session(actor=people["boss"]) as s:
        s.approvals.approve(s.approvals.inbox().items[0].step_id)
    with crm.session(actor=people["zhang"]) as s:
        v2 = s.orders.revise(order.id, lines=[{"product_id": shop["lock"].id, "quantity": 12}])
        assert v2.number == f"{order.number}-V2" and v2.previous_id == order.id
        assert v2.approval is ApprovalStatus.DRAFT and v2.label.endswith("第2版")
        with pytest.raises(WorkflowError):
            s.orders.revise(order.id)  # a newer revision exists
        assert s.orders.get(order.id).approval is ApprovalStatus.APPROVED  # still in force
        s.orders.submit(v2.id)
    with crm.session(actor=people["boss"]) as s:
        s.approvals.approve(s.approvals.inbox().items[0].step_id)
    with crm.session(actor=people["zhang"]) as s:
        assert s.orders.get(order.id).status is OrderStatus.SUPERSEDED
        assert [o.revision for o in s.orders.revisions(order.number)] == [1, 2]
        created = [e for e in s.audit.history(v2.id) if e.action is crmkit.AuditAction.CREATE]
        assert created[0].changes["previous_id"] == (None, order.id)  # the trail links them


# -- credit ------------------------------------------------------------------------------
def test_a_credit_customer_past_their_limit_needs_finance_cash_customers_do_not(crm, people, shop):
    first = _submitted(crm, people, shop, quantity=40, customer="credit")  # ¥75,960
    with crm.session(actor=people["boss"]) as s:
        s.approvals.approve(s.approvals.inbox().items[0].step_id)
    with crm.session(actor=people["fin"]) as s:
        s.approvals.approve(s.approvals.inbox().items[0].step_id)
    with crm.session(actor=people["zhang"]) as s:
        exposure, limit = s.orders.credit(shop["credit"].id)
        assert exposure == first.gross and limit.amount == Decimal(100000)
    second = _submitted(crm, people, shop, quantity=15, customer="credit")  # ¥28,485: past it
    with crm.session(actor=people["zhang"]) as s:
        (approval,) = s.approvals.for_document(second.id)
        assert [step.label for step in approval.steps] == ["上级审批", "信用额度审批"]
    cash = _submitted(crm, people, shop, quantity=15)
    with crm.session(actor=people["zhang"]) as s:
        (approval,) = s.approvals.for_document(cash.id)
        assert len(approval.steps) == 1


# -- cost and margin ---------------------------------------------------------------------
def test_cost_adjustments_are_for_permitted_roles_and_move_the_margin(crm, people, shop):
    with crm.session(actor=people["zhang"]) as s:
        order = _order(s, shop)
        with pytest.raises(PermissionDenied):
            s.orders.adjust_cost(order.id, "-100", reason="返利")
    with crm.session(actor=people["fin"]) as s:
        with pytest.raises(ValidationError) as bad:
            s.orders.adjust_cost(order.id, "0", reason="")
        assert {e.field for e in bad.value.errors} == {"amount", "reason"}
        adjusted = s.orders.adjust_cost(order.id, "-500.00", reason="供应商返利")
        assert adjusted.cost_adjustment.amount == Decimal("-500.00")
        assert adjusted.margin == adjusted.net - adjusted.cost - adjusted.cost_adjustment
        assert adjusted.margin == order.margin + crmkit.Money(Decimal(500))
        assert adjusted.cost_adjustments[0].by == people["fin"].id


# -- delivery, freight, sign-off, reminders ------------------------------------------------
def _approved(crm, people, shop, **kw):
    order = _submitted(crm, people, shop, **kw)
    with crm.session(actor=people["boss"]) as s:
        s.approvals.approve(s.approvals.inbox().items[0].step_id)
    return order


def test_a_delivery_plan_is_checked_and_deliveries_are_charged_freight_by_weight(crm, people, shop):
    crm.define_freight(crmkit.FreightRule.by_weight(first_fee="12.00", extra_per_kg="5.00"))
    with crm.session(actor=people["zhang"]) as s:
        order = s.orders.create(
            customer_id=shop["cash"].id,
            lines=[
                {"product_id": shop["lock"].id, "quantity": 10},  # 2.5 kg each
                {"product_id": shop["gate"].id, "quantity": 2},  # no weight
            ],
        )
        with pytest.raises(ValidationError) as bad:
            s.orders.plan_delivery(
                order.id,
                planned_on="2026-02-01",
                items=[{"line": 0, "quantity": 11}, {"line": 5, "quantity": 1}],
            )
        assert {e.field for e in bad.value.errors} == {"items[0].quantity", "items[1].line"}
        assert "剩余" in bad.value.message("zh")
        assert s.orders.get(order.id).deliveries == ()  # nothing half-written
        items = [{"line": 0, "quantity": 4}]
        s.orders.plan_delivery(order.id, planned_on="2026-02-01", items=items)
        s.orders.plan_delivery(order.id, planned_on="2026-02-10")  # the rest
        with pytest.raises(ValidationError):
            s.orders.plan_delivery(order.id, planned_on="2026-02-11")  # nothing left
        s.orders.submit(order.id)
    with crm.session(actor=people["boss"]) as s:
        s.approvals.approve(s.approvals.inbox().items[0].step_id)
    with crm.session(actor=people["zhang"]) as s:
        first = s.orders.deliver(order.id, 1)
        assert first.deliveries[0].weight == Decimal("10.0")
        assert first.deliveries[0].freight.amount == Decimal("57.00")  # 12 + 9 × 5
        with pytest.raises(ValidationError) as unweighed:
            s.orders.deliver(order.id, 2)  # the gates have no weight
        assert "重量" in unweighed.value.message("zh")


def test_deliveries_freight_sign_off_and_reminders(crm, people, shop, notifier):
    with crm.session(actor=people["zhang"]) as s:
        order = _order(
            s,
            shop,
            quantity=10,
            renewal_on="2026-12-01",
            warranty_until="2027-01-01",
            sign_off_due="2026-03-01",
        )
        items = [{"line": 0, "quantity": 4}]
        s.orders.plan_delivery(order.id, planned_on="2026-02-01", items=items)
        order = s.orders.plan_delivery(order.id, planned_on="2026-02-10")
        with pytest.raises(WorkflowError):
            s.orders.deliver(order.id, 1)  # not approved yet
        s.orders.submit(order.id)
    with crm.session(actor=people["boss"]) as s:
        s.approvals.approve(s.approvals.inbox().items[0].step_id)
    # three days before the first delivery (09:00 Beijing), 张三 is reminded of it
    report = crm.run_due(now=datetime(2026, 1, 29, 1, 0, tzinfo=UTC))
    assert report.done == 1
    crm.dispatch()
    assert {(m.channel, m.recipient) for m in notifier.sent} == {
        ("email", "zhang@example.cn"),
        ("sms", "+8613800138001"),
    }
    assert {m.payload["kind"] for m in notifier.sent} == {"delivery"}
    with crm.session(actor=people["zhang"]) as s:
        first = s.orders.deliver(order.id, 1, on="2026-02-01")
        assert first.deliveries[0].freight.amount == Decimal("20.00")  # 山东
        assert first.status is OrderStatus.OPEN
        with pytest.raises(ValidationError):
            s.orders.deliver(order.id, 1)  # made already
        done = s.orders.deliver(order.id, 2)
        assert done.status is OrderStatus.DELIVERED and done.freight.amount == Decimal("40.00")
        complete = s.orders.sign_off(done.id, on="2026-02-20")
        assert complete.status is OrderStatus.COMPLETED and complete.signed_off_on
    # the second delivery was made before its reminder and sign-off came: neither goes
    # out; renewal and warranty do, once
    notifier.sent.clear()
    crm.run_due(now=datetime(2027, 1, 1, 1, 0, tzinfo=UTC))
    crm.dispatch()
    assert sorted({m.payload["kind"] for m in notifier.sent}) == ["renewal", "warranty"]
    assert crm.run_due(now=datetime(2027, 1, 2, tzinfo=UTC)).claimed == 0


def test_a_cancelled_order_reminds_nobody(crm, people, shop, notifier):
    order = _approved(crm, people, shop, renewal_on="2026-06-01")
    with crm.session(actor=people["zhang"]) as s, pytest.raises(PermissionDenied):
        s.orders.cancel(order.id, reason="客户取消")  # approved: a manager's call
    with crm.session(actor=people["boss"]) as s:
        with pytest.raises(ValidationError):
            s.orders.cancel(order.id, reason=" ")
        assert s.orders.cancel(order.id, reason="客户取消").status is OrderStatus.CANCELLED
    crm.run_due(now=datetime(2026, 6, 1, tzinfo=UTC))
    crm.dispatch()
    assert notifier.sent == []


def test_a_crm_may_refuse_orders_past_the_credit_limit(backend_url, clock):
    crm = open_test_crm(
        backend_url, clock=clock, settings=crmkit.Settings(credit_over_limit="refuse")
    )
    try:
        admin = crm.bootstrap_admin(name="管理员", password="admin-pass-1")
        with crm.session(actor=admin) as s:
            c = s.customers.create(
                name="烟台华瑞贸易有限公司", settlement="credit", credit_limit="10000"
            )
            order = s.orders.create(
                customer_id=c.id,
                lines=[{"name": "门锁", "quantity": 10, "unit_price": "1999", "tax_rate": "13%"}],
            )
            with pytest.raises(WorkflowError) as refused:
                s.orders.submit(order.id)
            assert "信用额度" in refused.value.message("zh")
            assert s.orders.get(order.id).approval is ApprovalStatus.DRAFT
            assert s.approvals.for_document(order.id) == []
    finally:
        crm.close()


# -- bad input and scope -------------------------------------------------------------------
def test_every_bad_line_is_named_in_both_languages_and_nothing_is_written(crm, people, shop):
    with crm.session(actor=people["zhang"]) as s:
        with pytest.raises(ValidationError) as bad:
            s.orders.create(
                customer_id=shop["cash"].id,
                lines=[
                    {"product_id": shop["lock"].id, "quantity": -1},
                    {"product_id": "no-such-product", "quantity": 1},
                    {"product_id": shop["lock"].id, "quantity": 1, "discount": "120%"},
                ],
            )
        fields = {e.field for e in bad.value.errors}
        assert fields == {"lines[0].quantity", "lines[1].product_id", "lines[2].discount"}
        zh, en = bad.value.message("zh"), bad.value.message("en")
        assert "数量" in zh and "产品" in zh and "折扣" in zh
        assert "quantity" in en and "product" in en and "discount" in en
        assert s.orders.count() == 0


def test_orders_follow_their_customers_scope(crm, people, shop):
    order = _submitted(crm, people, shop)
    with crm.session(actor=people["other"]) as s:
        with pytest.raises(NotFound):
            s.orders.get(order.id)
        assert s.orders.count() == 0
    with crm.session(actor=people["fin"]) as s:
        assert s.orders.get(order.id).id == order.id  # finance reads every order


# -- two approvers at once -----------------------------------------------------------------
def test_of_two_approvers_deciding_one_step_at_once_exactly_one_succeeds(crm, people, shop):
    order = _submitted(crm, people, shop, quantity=30)
    with crm.session(actor=people["boss"]) as s:
        step = s.approvals.approve(s.approvals.inbox().items[0].step_id).step_id
    start = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(user: crmkit.User) -> None:
        start.wait()
        try:
            with crm.session(actor=user) as s:
                s.approvals.approve(step)
            result = "approved"
        except WorkflowError:
            result = "refused"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(people[k],)) for k in ("fin", "fin2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["approved", "refused"]
    with crm.session(actor=people["zhang"]) as s:
        (approval,) = s.approvals.for_document(order.id)
        assert approval.status is ApprovalStatus.APPROVED and len(approval.decisions) == 2
        assert s.orders.get(order.id).approval is ApprovalStatus.APPROVED


def test_a_screen_asks_who_may_decide_and_hears_it_in_either_language(crm, people, shop):
    order = _submitted(crm, people, shop)
    with crm.session(actor=people["boss"]) as s:
        pending = s.approvals.pending(order.id)
        assert pending is not None and s.approvals.may_decide(pending)
        assert display.step_label(pending.current, "en") == "Manager approval"
    with crm.session(actor=people["zhang"]) as s:
        mine = s.approvals.pending(order.id)
        assert mine is not None and not s.approvals.may_decide(mine)  # one's own
    with crm.session(actor=people["lead"]) as s:
        assert s.approvals.pending(order.id) is None  # not theirs to see
    with crm.session(actor=people["fin"]) as s:
        with pytest.raises(PermissionDenied) as refused:
            s.approvals.approve(pending.step_id)
        assert refused.value.message("zh") == "李会计 无权审批“上级审批”"
        assert "Manager approval" in refused.value.message("en")
    with crm.session(actor=people["boss"]) as s:
        s.approvals.approve(pending.step_id)
        with pytest.raises(WorkflowError) as twice:
            s.approvals.approve(pending.step_id)
        assert twice.value.message("en").startswith("cannot decide step 1 of an approval")


def test_the_operation_log_names_revisions_approvals_and_people(crm, people, shop):
    order = _approved(crm, people, shop)
    with crm.session(actor=people["zhang"]) as s:
        v2 = s.orders.revise(order.id, remarks="加急")
        created = next(
            line
            for line in s.audit.describe(s.audit.history(v2.id))
            if line.entry.action is crmkit.AuditAction.CREATE
        )
        shown = {field: after for field, _label, _before, after in created.changes}
        assert shown["previous_id"] == order.number
        assert shown["margin_rate"].endswith("%")
        (approval,) = s.approvals.for_document(order.id)
        lines = s.audit.describe(s.audit.history(approval.id))
        assert lines[0].record == order.number
        first = {field: after for field, _label, _before, after in lines[0].changes}
        assert first["submitter_id"] == "张三"


def test_statistics_rank_approved_orders_by_customer_salesperson_and_province(crm, people, shop):
    with crm.session(actor=people["admin"]) as s:
        far = s.customers.create(
            name="乌鲁木齐天山贸易有限公司",
            owner_id=people["li"].id,
            region="新疆维吾尔自治区/乌鲁木齐市",
            industry="批发",
        )
    big = _approved(crm, people, shop, quantity=20, signed_on="2026-01-10")  # ¥37,980
    small = _approved(crm, people, shop, quantity=2, customer="credit")  # no signing date
    with crm.session(actor=people["li"]) as s:
        order = s.orders.create(
            customer_id=far.id, lines=[{"product_id": shop["gate"].id, "quantity": 5}]
        )
        s.orders.submit(order.id)
    with crm.session(actor=people["boss"]) as s:
        s.approvals.approve(s.approvals.inbox().items[0].step_id)
    draft = None
    with crm.session(actor=people["zhang"]) as s:
        draft = _order(s, shop, quantity=99)  # not approved: not counted
    with crm.session(actor=people["boss"]) as s:
        ranked = s.orders.statistics("customer")
        assert [t.key for t in ranked] == [shop["cash"].id, far.id, shop["credit"].id]
        assert ranked[0].amounts == (big.gross,) and ranked[0].count == 1
        by_owner = {t.key: t.count for t in s.orders.statistics("owner")}
        assert by_owner == {people["zhang"].id: 2, people["li"].id: 1}
        provinces = [t.key for t in s.orders.statistics("region")]
        assert provinces == ["山东省", "新疆维吾尔自治区"]
        assert [t.key for t in s.orders.statistics("industry")] == [None, "批发"]
        signed = s.orders.statistics("customer", signed_from="2026-01-01", signed_to="2026-01-31")
        assert [t.key for t in signed] == [shop["cash"].id]
        with pytest.raises(ValidationError):
            s.orders.statistics("colour")
    with crm.session(actor=people["li"]) as s:  # within the actor's scope
        assert [t.key for t in s.orders.statistics("customer")] == [far.id]
    assert small.id and draft.id
