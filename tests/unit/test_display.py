"""crmkit's one display layer: what a person reads instead of codes, keys and UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from crmkit import display
from crmkit.domain.audit import AuditAction
from crmkit.domain.customer import Category, ChannelType, CustomerKind, Settlement
from crmkit.domain.messages import language
from crmkit.domain.regions import Region
from crmkit.domain.user import Role
from crmkit.domain.values import Money, Phone


@pytest.mark.parametrize(
    ("value", "zh", "en"),
    [
        (Category.FORMAL, "正式客户", "Formal"),
        (ChannelType.TERMINAL, "终端客户", "End customer"),
        (Settlement.CASH, "现款", "Cash"),
        (CustomerKind.COMPANY, "企业", "Company"),
        (Role.SALES, "销售员", "Salesperson"),
        (AuditAction.LOGIN_FAILED, "登录失败", "Failed login"),
    ],
)
def test_enum_values_are_shown_by_their_labels(value, zh, en):
    assert display.show(value, "zh") == zh
    assert display.show(value, "en") == en
    assert display.label(value.value, "zh") == zh


@pytest.mark.parametrize(
    "kind", [Category, ChannelType, Settlement, CustomerKind, Role, AuditAction]
)
def test_every_member_of_every_shown_enum_has_a_chinese_label(kind):
    for member in kind:
        shown = display.label(member, "zh")
        assert shown != member.value, member


def test_entity_and_field_codes_become_words():
    assert display.entity_label("co_ownership_request", "zh") == "共享客户申请"
    assert display.entity_label("co_ownership_request", "en") == "co-ownership request"
    assert display.field_name("requester_id", "zh") == "申请人"
    assert display.field_name("surname_letter", "zh") == "姓氏首字母"


def test_values_are_shown_as_people_write_them():
    with language("zh"):
        assert display.show(True) == "是" and display.show(False) == "否"
        assert display.show(Money(Decimal("1999"))) == "¥1,999.00"
        assert display.show(Phone.parse("13800138000")) == "138 0013 8000"
        assert display.show(Region.from_code("370202")) == "山东省/青岛市/市南区"
        assert display.show(("VIP", "重点")) == "VIP、重点"
        assert display.show(datetime(2026, 12, 6, 4, 0, tzinfo=UTC)) == "2026-12-06 12:00"
        assert display.show(date(2026, 12, 6)) == "2026-12-06"
        assert display.show(None) == ""
    assert display.show(("VIP", "重点"), "en") == "VIP, 重点"


def test_stored_values_are_read_back_through_their_type():
    assert display.show_stored("370202", Region, "zh") == "山东省/青岛市/市南区"
    assert display.show_stored(False, bool, "zh") == "否"
    assert display.show_stored("formal", Category, "zh") == "正式客户"
    assert display.show_stored("2026-12-06T04:00:00+00:00", datetime, "zh") == "2026-12-06 12:00"
    assert display.show_stored("0.13", "rate", "zh") == "13%"
    assert display.show_stored(["VIP"], tuple[str, ...], "zh") == "VIP"
    names = {"u-1": "张三"}
    assert display.show_stored(["u-1", "u-2"], None, "zh", name_of=names.get) == (
        "张三、（已删除的记录）"
    )


@pytest.mark.parametrize("enum_name", sorted(display.ENUM_LABELS))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_label_is_found_by_its_enum_and_never_empty(enum_name, lang):
    for code, (en, zh) in display.ENUM_LABELS[enum_name].items():
        shown = display.label(code, lang, of=enum_name)
        assert shown == (en if lang == "en" else zh)
        assert shown.strip()


def test_duplicate_reasons_read_as_words_with_no_second_score():
    codes = ["name≈0.94", "phone=", "location≠", "branch≠parent"]
    assert display.reasons(codes, "zh") == "名称相近；电话相同；所在城市不同；分支机构与总部"
    assert display.reasons(codes[:2], "en") == "similar name; same phone"
    assert "0.94" not in display.reasons(codes, "zh")
    assert display.score(0.944) == "94%"


@pytest.mark.parametrize(
    ("stored", "zh"),
    [
        ("import", "导入"),
        ("merge 019a2b3c-0000-7000-8000-000000000001", "合并"),
        ("3 contact(s) with it", "连同 3 个联系人"),
        ("with customer 019a2b3c-0000-7000-8000-000000000001", "随所属客户"),
        ("failure 4 today", "今天第 4 次失败"),
        ("客户说下周再联系", "客户说下周再联系"),  # a person's own note, as written
    ],
)
def test_audit_notes_are_read_in_words_without_ids(stored, zh):
    assert display.note(stored, "zh") == zh
    assert "019a2b3c" not in display.note(stored, "en")


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("19990.00", "人民币壹万玖仟玖佰玖拾元整"),
        ("100000.05", "人民币壹拾万元零伍分"),
        ("0.4", "人民币肆角"),
    ],
)
def test_an_amount_in_capitals_as_contracts_write_it(amount, words):
    assert display.amount_in_words(Money(Decimal(amount))) == words


def test_no_capitals_for_another_currency():
    assert display.amount_in_words(Money(Decimal(5), "USD")) == ""
