"""Value objects parse once at the edge and keep one normalised form."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmkit.domain.errors import ValidationError
from crmkit.domain.regions import Region
from crmkit.domain.values import (
    USCC,
    Email,
    Money,
    Phone,
    PhoneKind,
    normalize_company_name,
    normalize_person_name,
    normalize_text,
)
from crmkit.testing.strategies import amounts, company_names, mobiles


@pytest.mark.parametrize(
    "raw",
    [
        "+86 138-0013-8000",
        "138 0013 8000",
        "13800138000",
        "0086 13800138000",
        "１３８００１３８０００",
    ],
)
def test_mobile_numbers_in_every_common_form_become_one_e164(raw: str):
    phone = Phone.parse(raw)
    assert phone.e164 == "+8613800138000"
    assert phone.kind is PhoneKind.MOBILE
    assert phone.national == "138 0013 8000"
    assert phone.national_digits == "13800138000"


def test_a_qingdao_landline_is_a_fixed_line():
    for raw in ("0532-88888888", "(0532) 8888 8888"):
        phone = Phone.parse(raw)
        assert phone.e164 == "+8653288888888"
        assert phone.kind is PhoneKind.FIXED_LINE
        assert phone.national_digits == "53288888888"


def test_a_bad_number_names_the_field_it_came_from():
    with pytest.raises(ValidationError) as caught:
        Phone.parse("12345", field="contacts[0].mobile")
    assert caught.value.errors[0].field == "contacts[0].mobile"
    assert caught.value.errors[0].code == "phone.invalid"


def test_a_landline_where_a_mobile_is_required_is_refused():
    with pytest.raises(ValidationError) as caught:
        Phone.parse("0532-88888888", require=PhoneKind.MOBILE)
    assert caught.value.errors[0].code == "phone.not_mobile"


def test_phones_compare_by_number_not_by_how_they_were_written():
    assert Phone.parse("+86 138-0013-8000") == Phone.parse("13800138000")
    assert hash(Phone.parse("+86 138-0013-8000")) == hash(Phone.parse("13800138000"))
    assert Phone.from_e164("+8613800138000") == Phone.parse("138 0013 8000")


@given(mobiles())
def test_every_generated_mobile_parses_to_a_mobile(raw: str):
    phone = Phone.parse(raw)
    assert phone.kind is PhoneKind.MOBILE
    assert Phone.parse(phone.e164) == phone


@given(
    st.one_of(
        st.from_regex(r"\A1[0-9]{10}\Z"),  # shaped like a mobile, valid or not
        st.from_regex(r"\A0[1-9][0-9]{1,2}-?[0-9]{7,8}\Z"),  # shaped like a landline
        st.from_regex(r"\A\+[1-9][0-9]{6,13}\Z"),  # any country
        st.text("0123456789 -+()", max_size=16),
    )
)
def test_a_number_is_accepted_and_classified_exactly_as_libphonenumber_says(raw: str):
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        number = None
    valid = number is not None and phonenumbers.is_valid_number(number)
    try:
        phone = Phone.parse(raw)
    except ValidationError:
        assert not valid
        return
    if phone.extension is not None and not valid:
        # Not one number, but one and an extension after a dash (0532-88888888-12): the
        # number before the dash is, by libphonenumber's word, the one kept.
        head, _, extension = raw.strip().rpartition("-")
        assert extension.strip() == phone.extension
        number = phonenumbers.parse(head, "CN")
        valid = phonenumbers.is_valid_number(number)
    assert valid and number is not None
    assert phone.e164 == phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    mobile = phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    assert phone.is_mobile is mobile


@pytest.mark.parametrize(
    "raw",
    [
        "0532-88886666转8001",
        "0532-88886666 转 8001",
        "0532 8888 6666 分机 8001",
        "0532-88886666分机号：8001",
        "0532-88886666 内线8001",
        "0532-88886666 ext. 8001",
        "(0532) 88886666 x8001",
        "0532-88886666#8001",
        "0532-88886666-8001",
        "０５３２－８８８８６６６６转８００１",
    ],
)
def test_a_switchboard_number_keeps_its_extension_however_it_is_written(raw: str):
    phone = Phone.parse(raw)
    assert (phone.e164, phone.extension) == ("+8653288886666", "8001")
    assert phone.kind is PhoneKind.FIXED_LINE
    assert phone.national == "0532 8888 6666 ext. 8001"
    assert Phone.parse(phone.national) == phone  # an exported number reads back
    assert Phone.from_stored(phone.stored) == phone
    assert phone.stored == "+8653288886666;ext=8001"
    # Another extension is another line of the same number.
    assert phone != Phone.parse("0532-88886666") and phone.e164 == Phone.parse("0532-88886666").e164


def test_a_number_split_by_dashes_is_not_read_as_an_extension():
    assert Phone.parse("0532-8888-6666") == Phone("+8653288886666")
    assert Phone.parse("138-0013-8000") == Phone("+8613800138000")


def test_an_extension_longer_than_any_switchboard_has_is_refused():
    with pytest.raises(ValidationError) as caught:
        Phone.parse("+1 650 253 0000 ext. 1234567890123")
    assert caught.value.errors[0].code == "phone.invalid"
    assert Phone.parse("+1 650 253 0000 ext. 12345678").extension == "12345678"


def test_a_mobile_with_an_extension_is_refused_where_a_mobile_is_required():
    with pytest.raises(ValidationError) as caught:
        Phone.parse("138 0013 8000 转 12", field="mobile", require=PhoneKind.MOBILE)
    assert caught.value.errors[0].code == "phone.mobile_extension"


def test_email_domains_are_normalised_and_dedup_keys_case_folded():
    email = Email.parse(" Zhang.San@Example.COM ")
    assert email.value == "Zhang.San@example.com"
    assert email.dedup_key == "zhang.san@example.com"


def test_a_bad_email_reports_the_reason():
    with pytest.raises(ValidationError) as caught:
        Email.parse("zhang@", field="email")
    error = caught.value.errors[0]
    assert error.code == "email.invalid"
    assert error.params["reason"]


def test_money_refuses_floats_and_garbage():
    with pytest.raises(TypeError):
        Money.parse(0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(0.1)  # type: ignore[arg-type]
    for raw in ("abc", "NaN", "Infinity"):
        with pytest.raises(ValidationError):
            Money.parse(raw)
    with pytest.raises(ValidationError) as caught:
        Money.parse("-1", allow_negative=False)
    assert caught.value.errors[0].code == "money.negative"
    with pytest.raises(ValidationError):
        Money.parse("1", currency="XYZ")


def test_money_parses_what_people_type():
    assert Money.parse("¥1,234.50").amount == Decimal("1234.50")
    assert Money.parse("12元").amount == Decimal(12)
    assert Money.parse(7).amount == Decimal(7)


def test_rounding_is_half_up_to_the_fen_only_when_asked():
    assert Money(Decimal("0.005")).quantize() == Money(Decimal("0.01"))
    assert Money(Decimal("0.0049")).quantize() == Money(Decimal("0.00"))
    assert (Money(Decimal("0.005")) + Money(Decimal("0.005"))).amount == Decimal("0.010")
    assert Money(Decimal("1"), "JPY").quantize().amount == Decimal("1")


def test_money_of_different_currencies_does_not_mix():
    with pytest.raises(ValueError, match="currency"):
        Money(Decimal(1), "CNY") + Money(Decimal(1), "USD")
    with pytest.raises(ValueError, match="currency"):
        assert Money(Decimal(1), "CNY") < Money(Decimal(2), "USD")


@given(amounts(), amounts(), amounts())
def test_money_addition_is_exact_associative_and_commutative(a, b, c):
    x, y, z = Money(a), Money(b), Money(c)
    assert (x + y) + z == x + (y + z)
    assert x + y == y + x
    assert (x + y) - y == x


@given(amounts())
def test_quantize_is_idempotent_and_minor_units_round_trip(a):
    m = Money(a)
    q = m.quantize()
    assert q.quantize() == q
    assert Money.from_minor_units(m.minor_units) == q
    assert q.amount == a.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@given(amounts(), st.integers(-1000, 1000))
def test_multiplying_by_an_integer_is_repeated_addition(a, n):
    assert (Money(a) * n).amount == a * n
    assert n * Money(a) == Money(a) * n


def test_a_valid_credit_code_passes_and_a_wrong_check_digit_fails():
    code = USCC.parse("91350100m000100y43")
    assert code.value == "91350100M000100Y43"
    assert code.division_code == "350100"
    with pytest.raises(ValidationError) as caught:
        USCC.parse("91350100M000100Y44")
    assert caught.value.errors[0].code == "uscc.invalid"


def test_brackets_in_chinese_company_names_become_full_width():
    assert normalize_company_name("金智电子科技(青岛)有限公司") == "金智电子科技（青岛）有限公司"
    assert normalize_company_name("金智电子科技（青岛）有限公司") == "金智电子科技（青岛）有限公司"
    assert normalize_company_name(" 青岛 金智 ") == "青岛金智"


def test_english_company_names_keep_their_allowed_punctuation():
    assert normalize_company_name("Acme Co.,  Ltd.") == "Acme Co., Ltd."
    assert normalize_company_name("Ｈ＆Ｍ (China) Trading") == "H&M (China) Trading"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "required"),
        ("!!!", "name.punctuation_only"),
        ("（）", "name.punctuation_only"),
        ("金智@电子", "name.cn_chars"),
        ("Acme#1", "name.en_chars"),
        ("金智@Acme", "name.cn_mixed_chars"),
        ("金智（青岛有限公司", "name.brackets"),
        ("金" * 101, "too_long"),
    ],
)
def test_company_names_breaking_the_seed_rules_are_refused(raw: str, code: str):
    with pytest.raises(ValidationError) as caught:
        normalize_company_name(raw)
    assert caught.value.errors[0].code == code


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("TCL科技集团股份有限公司", "TCL科技集团股份有限公司"),
        ("北京ABB电气传动系统有限公司", "北京ABB电气传动系统有限公司"),
        ("OPPO广东移动通信有限公司", "OPPO广东移动通信有限公司"),
        ("SK 海力士半导体(中国)有限公司", "SK海力士半导体（中国）有限公司"),
        ("Ｈ＆Ｍ(中国)有限公司", "H&M（中国）有限公司"),
        ("Coca Cola 可口可乐饮料有限公司", "Coca Cola可口可乐饮料有限公司"),
    ],
)
def test_registered_company_names_with_latin_brands_are_accepted(raw: str, stored: str):
    assert normalize_company_name(raw) == stored
    assert normalize_company_name(stored) == stored


def test_the_strict_one_script_rule_of_seed_002_is_a_setting():
    with pytest.raises(ValidationError) as caught:
        normalize_company_name("TCL科技集团股份有限公司", strict=True)
    assert caught.value.errors[0].code == "name.mixed"
    with pytest.raises(ValidationError) as caught:
        normalize_person_name("王Lily", strict=True)
    assert caught.value.errors[0].code == "name.mixed"
    # Without Latin letters the seed's Chinese rule holds either way.
    for strict in (True, False):
        with pytest.raises(ValidationError) as caught:
            normalize_company_name("金智-电子", strict=strict)
        assert caught.value.errors[0].code == "name.cn_chars"


@given(st.text(alphabet="金智电子ABCxyz09 （）()&-.·@", min_size=1, max_size=20))
def test_a_mixed_name_is_stored_idempotently_and_keeps_every_letter(raw: str):
    try:
        stored = normalize_company_name(raw)
    except ValidationError:
        return
    assert normalize_company_name(stored) == stored
    letters = [ch for ch in raw if ch.isalnum()]
    assert [ch for ch in stored if ch.isalnum()] == letters


def test_person_names_may_carry_a_latin_given_name():
    assert normalize_person_name("王 Lily") == "王Lily"
    assert normalize_person_name("Tony 王") == "Tony王"
    with pytest.raises(ValidationError) as caught:
        normalize_person_name("王Lily#")
    assert caught.value.errors[0].code == "name.cn_chars"


def test_offending_characters_are_named():
    with pytest.raises(ValidationError) as caught:
        normalize_company_name("金智@电子#科技")
    assert caught.value.errors[0].params["chars"] == "@#"


@given(company_names())
def test_generated_company_names_are_valid_and_normalising_is_idempotent(name: str):
    once = normalize_company_name(name)
    assert normalize_company_name(once) == once


def test_person_names_allow_the_minority_name_dot():
    assert normalize_person_name("阿沛・阿旺晋美") == "阿沛·阿旺晋美"
    assert normalize_person_name("John O'Neil") == "John O'Neil"
    with pytest.raises(ValidationError):
        normalize_person_name("张3")


def test_normalize_text_folds_width_and_spaces():
    assert normalize_text("  ＡＢＣ　１２３  x ") == "ABC 123 x"


@pytest.mark.parametrize(
    "raw",
    ["abc", "a@@b.com", "@b.com", "a@", "a@b", "a b@c.com", "a@b..com", "a@-b.com", "a.@b.com"],
)
def test_an_invalid_email_is_explained_in_chinese_not_in_the_validators_english(raw: str):
    with pytest.raises(ValidationError) as caught:
        Email.parse(raw)
    zh = caught.value.errors[0].message("zh")
    assert zh.startswith("不是有效的电子邮箱：") and zh != "不是有效的电子邮箱：格式不正确"
    assert not re.search(r"[A-Za-z]{3,}", zh), zh  # no English words left
    en = caught.value.errors[0].message("en")  # English keeps the library's own reason
    prefix = "is not a valid email address: "
    assert en.startswith(prefix) and re.search(r"[A-Za-z]{3,}", en[len(prefix) :])


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("91350100M000100Y44", "校验位不正确"), ("9135", "位数不对"), ("X1350100M000100Y43", "格式")],
)
def test_a_wrong_credit_code_is_explained_in_chinese(raw: str, reason: str):
    with pytest.raises(ValidationError) as caught:
        USCC.parse(raw)
    assert reason in caught.value.errors[0].message("zh")


def test_an_unknown_region_names_no_data_source():
    with pytest.raises(ValidationError) as caught:
        Region.parse("火星省/奥林匹斯市")
    zh, en = caught.value.errors[0].message("zh"), caught.value.errors[0].message("en")
    assert "省/市/区县" in zh and "cpca" not in zh + en and "GB/T" not in zh + en
