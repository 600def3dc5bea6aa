"""Repairs (维修) on every backend: taken in from a repair ticket or directly, parts from the
catalogue priced at the product's price unless told, labour, the charge (nothing under
warranty), the moves from received to delivered or cancelled, a done repair's charge raised
as a receivable, parts counted per product, the printable work order shown in zh and en;
bad parts named by their number in zh and en, refused moves changing nothing, and only
service staff (not salespeople) writing them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmkit import PermissionDenied, ValidationError, WorkflowError
from crmkit.domain.repair import REPAIR_MACHINE, RepairStatus
from crmkit.domain.ticket import Ticket, TicketType
from crmkit.domain.values import Money
from crmkit.storage.catalog import TICKETS
from crmkit.testing import ManualClock, open_test_crm
from crmkit.workflows.session import new_id


@pytest.fixture
def tech(crm, team):
    with crm.session(actor=team["admin"]) as s:
        return s.users.create(name="王师傅", role="service", password="service-pass")


@pytest.fixture
def customer(crm, team):
    with crm.session(actor=team["admin"]) as s:
        made = s.customers.create(
            name="青岛金智电子科技有限公司", owner_id=team["zhang"].id, mobile="13800138000"
        )
        s.contacts.create(customer_id=made.id, name="李四", mobile="13900001234")
        return made


@pytest.fixture
def products(crm, team):
    with crm.session(actor=team["admin"]) as s:
        return {
            "lock": s.products.create(name="智能门锁", code="LK-100", unit="套", price="1999.00"),
            "core": s.products.create(name="锁芯", code="LC-1", unit="个", price="35.00"),
            "battery": s.products.create(name="电池", code="BT-1", unit="个", price="12.50"),
            "free": s.products.create(name="密封圈", code="SR-1", unit="个"),
        }


def test_a_repair_goes_from_intake_to_delivery_with_parts_labour_and_a_receivable(
    crm, team, tech, customer, products
):
    with crm.session(actor=tech) as s:
        made = s.repairs.create(
            customer_id=customer.id,
            product_id=products["lock"].id,
            serial_number="SN-2026-0001",
            fault="门锁无法开启",
            labour="80.00",
        )
        assert made.number.startswith("RP-")
        assert (made.status, made.product_name, made.charge) == (
            RepairStatus.RECEIVED,
            "智能门锁",
            Money(Decimal("80.00")),
        )
        made = s.repairs.diagnose(made.id)
        assert (made.status, made.technician_id) == (RepairStatus.DIAGNOSING, tech.id)
        made = s.repairs.set_parts(
            made.id,
            [
                {"product_id": products["core"].id, "quantity": 2},
                {"product_id": products["battery"].id, "quantity": "4", "unit_price": "10.00"},
            ],
            version=made.version,
        )
        assert [(p.name, p.quantity, p.amount.amount) for p in made.parts] == [
            ("锁芯", Decimal(2), Decimal("70.00")),
            ("电池", Decimal(4), Decimal("40.00")),
        ]
        assert made.charge == Money(Decimal("190.00"))
        made = s.repairs.start(made.id, diagnosis="锁芯磨损，电池漏液")
        made = s.repairs.finish(made.id)
        assert (made.status, made.done_at) == (RepairStatus.DONE, s.now())
        with pytest.raises(WorkflowError):
            s.repairs.set_parts(made.id, [])  # done: no more edits
        receivable = s.repairs.raise_receivable(made.id, due=s.today())
        assert (receivable.amount, receivable.customer_id, receivable.owner_id) == (
            Money(Decimal("190.00")),
            customer.id,
            team["zhang"].id,
        )
        assert s.repairs.get(made.id).receivable_id == receivable.id
        assert (receivable.repair_id, receivable.order_id) == (made.id, None)
        assert receivable.remarks == f"维修单 {made.number}"
        with pytest.raises(WorkflowError) as twice:
            s.repairs.raise_receivable(made.id)
        assert "维修费用已生成应收款" in twice.value.message("zh")
        with pytest.raises(WorkflowError):
            s.repairs.start(made.id)  # no rework once charged
        made = s.repairs.deliver(made.id)
        assert made.status is RepairStatus.DELIVERED
    with crm.session(actor=team["admin"]) as s:
        assert s.receivables.balance(customer.id).receivable == Money(Decimal("190.00"))
        [line] = s.receivables.statement(customer.id, start=s.today(), end=s.today()).lines
        assert line.text == receivable.remarks  # the statement names the repair
        assert s.receivables.unpaid_orders() == []  # a repair is not an order


def test_a_repair_under_warranty_charges_nothing_and_raises_no_receivable(
    crm, tech, customer, products
):
    with crm.session(actor=tech) as s:
        made = s.repairs.create(
            customer_id=customer.id,
            fault="屏幕不亮",
            warranty=True,
            labour="50",
            parts=[{"product_id": products["core"].id, "quantity": 1}],
        )
        assert made.charge == Money(Decimal("0.00"))
        made = s.repairs.finish(s.repairs.start(made.id).id)
        with pytest.raises(WorkflowError) as free:
            s.repairs.raise_receivable(made.id)
        assert "it has nothing to charge" in free.value.message("en")
        made = s.repairs.start(made.id)  # rework while not charged
        made = s.repairs.update(made.id, warranty=False)
        assert made.charge == Money(Decimal("85.00"))


def test_a_repair_from_a_ticket_takes_its_customer_and_fault(crm, tech, customer):
    with crm.session(actor=tech) as s:
        now = s.now()
        ticket = Ticket(
            id=new_id(),
            number="TK-2026-900001",
            customer_id=customer.id,
            type=TicketType.REPAIR,
            subject="门锁无法开启",
            opened_at=now,
            response_minutes=60,
            resolution_minutes=480,
            created_at=now,
            updated_at=now,
            created_by=tech.id,
        )
        s._uow.repo(TICKETS).add(ticket)
    with crm.session(actor=tech) as s:
        made = s.repairs.from_ticket(ticket.id, serial_number="SN-9")
        assert (made.customer_id, made.ticket_id, made.fault, made.serial_number) == (
            customer.id,
            ticket.id,
            "门锁无法开启",
            "SN-9",
        )


def test_every_wrong_part_is_named_by_its_number_in_both_languages(crm, tech, customer, products):
    with crm.session(actor=tech) as s:
        made = s.repairs.create(customer_id=customer.id, fault="门锁异响")
        with pytest.raises(ValidationError) as bad:
            s.repairs.set_parts(
                made.id,
                [
                    {"product_id": products["core"].id, "quantity": 1},
                    {"product_id": "no-such-product", "quantity": "-1"},
                    {"quantity": "两个", "unit_price": "abc"},
                    {"product_id": products["free"].id, "quantity": 1},
                    {"product_id": products["core"].id, "quantity": 1, "colour": "红"},
                ],
            )
        assert {e.field for e in bad.value.errors} == {
            "parts.2.product_id",
            "parts.2.quantity",
            "parts.3.product_id",
            "parts.3.quantity",
            "parts.3.unit_price",
            "parts.4.unit_price",
            "parts.5.colour",
        }
        zh, en = bad.value.message("zh"), bad.value.message("en")
        assert "配件 2 · 数量：必须大于零" in zh
        assert "配件 4 · 单价：必填：该产品没有价格" in zh
        assert "part 2 · quantity: must be greater than zero" in en
        assert "part 3 · unit price" in en
        with pytest.raises(ValidationError) as not_a_list:
            s.repairs.set_parts(made.id, "锁芯 x2")
        assert [e.field for e in not_a_list.value.errors] == ["parts"]
        with pytest.raises(ValidationError) as fields:
            s.repairs.create(
                customer_id=customer.id,
                fault="",
                labour="-5",
                technician_id="no-such-user",
                warranty="也许",
            )
        assert {e.field for e in fields.value.errors} == {
            "fault",
            "labour",
            "technician_id",
            "warranty",
        }
        assert "故障描述" in fields.value.message("zh")
        assert "fault reported" in fields.value.message("en")
        with pytest.raises(ValidationError) as no_reason:
            s.repairs.cancel(made.id, reason=" ")
        assert [e.field for e in no_reason.value.errors] == ["cancel_reason"]
        after = s.repairs.get(made.id)
        assert (after.version, after.parts, after.status) == (1, (), RepairStatus.RECEIVED)
        assert s.repairs.count() == 1
        cancelled = s.repairs.cancel(made.id, reason="客户自行处理")
        assert (cancelled.status, cancelled.cancel_reason) == (
            RepairStatus.CANCELLED,
            "客户自行处理",
        )


def test_parts_used_are_counted_per_product(crm, tech, customer, products):
    with crm.session(actor=tech) as s:
        for count in (1, 3):
            s.repairs.create(
                customer_id=customer.id,
                fault="更换锁芯",
                parts=[
                    {"product_id": products["core"].id, "quantity": count},
                    {"product_id": products["battery"].id, "quantity": 1},
                ],
            )
        gone = s.repairs.create(
            customer_id=customer.id,
            fault="取消",
            parts=[{"product_id": products["battery"].id, "quantity": 9}],
        )
        s.repairs.cancel(gone.id, reason="客户撤单")
        used = s.repairs.parts_used(s.today(), s.today())
        assert [(u.name, u.quantity, u.repairs) for u in used] == [
            ("锁芯", Decimal(4), 2),
            ("电池", Decimal(2), 2),
        ]
        with pytest.raises(ValidationError):
            s.repairs.parts_used("2026-13-01", s.today())


def test_the_work_order_shows_every_value_ready_to_print(crm, tech, customer, products):
    with crm.session(actor=tech) as s:
        [contact] = s.contacts.list(customer_id=customer.id).items
        made = s.repairs.create(
            customer_id=customer.id,
            contact_id=contact.id,
            product_id=products["lock"].id,
            serial_number="SN-1",
            fault="门锁无法开启",
            labour="80",
            parts=[{"product_id": products["core"].id, "quantity": 2}],
        )
        made = s.repairs.finish(s.repairs.start(made.id, diagnosis="锁芯磨损").id)
        zh = s.repairs.work_order(made.id, lang="zh")
        assert (zh.customer, zh.contact, zh.contact_phone, zh.product) == (
            "青岛金智电子科技有限公司",
            "李四",
            "139 0000 1234",
            "智能门锁",
        )
        assert (zh.status, zh.warranty, zh.technician) == ("已修复", "否", "王师傅")
        assert [(p.name, p.quantity, p.unit_price, p.amount) for p in zh.parts] == [
            ("锁芯", "2", "¥35.00", "¥70.00")
        ]
        assert (zh.parts_total, zh.labour, zh.charge) == ("¥70.00", "¥80.00", "¥150.00")
        assert zh.charge_in_words == "人民币壹佰伍拾元整"
        assert zh.received_at == "2026-01-01 09:00"
        assert zh.delivered_at == ""
        en = s.repairs.work_order(made.id, lang="en")
        assert (en.status, en.warranty, en.charge) == ("Repaired", "No", "CN¥150.00")


def test_service_staff_write_repairs_and_salespeople_only_read_their_own(crm, team, tech, customer):
    with crm.session(actor=team["zhang"]) as s:
        with pytest.raises(PermissionDenied):
            s.repairs.create(customer_id=customer.id, fault="门锁无法开启")
    with crm.session(actor=tech) as s:
        made = s.repairs.create(customer_id=customer.id, fault="门锁无法开启")
    with crm.session(actor=team["zhang"]) as s:
        assert s.repairs.get(made.id).fault == "门锁无法开启"
        with pytest.raises(PermissionDenied):
            s.repairs.diagnose(made.id)
        with pytest.raises(PermissionDenied):
            s.repairs.set_parts(made.id, [])
    with crm.session(actor=team["other"]) as s:
        assert not s.repairs.list().items


# -- the state machine through the service ---------------------------------------------------
_MOVES = ("diagnose", "start", "finish", "deliver", "cancel", "raise_receivable")


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(moves=st.lists(st.sampled_from(_MOVES), max_size=10))
def test_random_moves_never_reach_an_undefined_state_and_refusals_change_nothing(moves):
    crm = open_test_crm(None, clock=ManualClock())
    try:
        admin = crm.bootstrap_admin(name="管理员", password="admin-pass-1")
        with crm.session(actor=admin) as s:
            customer = s.customers.create(name="青岛金智电子科技有限公司")
            made = s.repairs.create(customer_id=customer.id, fault="无法开机", labour="50")
        for move in moves:
            with crm.session(actor=admin) as s:
                before = s.repairs.get(made.id)
                try:
                    if move == "cancel":
                        s.repairs.cancel(made.id, reason="客户撤单")
                    else:
                        getattr(s.repairs, move)(made.id)
                except WorkflowError:
                    assert s.repairs.get(made.id) == before
                    continue
                after = s.repairs.get(made.id)
                if after.status is not before.status:
                    assert REPAIR_MACHINE.allows(before.status, after.status)
                if move == "raise_receivable":
                    assert after.receivable_id is not None
    finally:
        crm.close()
