"""Resident identity card numbers (居民身份证号): checked once at the edge, stored whole,
shown masked."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from stdnum.cn import ric

from crmkit import display
from crmkit.domain.converter import converter, to_plain
from crmkit.domain.errors import ValidationError
from crmkit.domain.messages import field_label
from crmkit.domain.values import IdNumber, IdType
from crmkit.testing.builders import make_customer
from crmkit.testing.strategies import id_number_texts, id_number_values

VALID = "370202199005041230"  # 山东省青岛市市南区, born 4 May 1990


def with_check_digit(first_17: str) -> str:
    """The number with its right check digit, whatever the first 17 characters say."""
    return first_17 + ric.calc_check_digit(first_17 + "0")


def reason_of(raw: str) -> str:
    with pytest.raises(ValidationError) as caught:
        IdNumber.parse(raw)
    (error,) = caught.value.errors
    assert (error.field, error.code) == ("id_number", "id_number.invalid")
    return str(error.params["reason_zh"])


def test_a_valid_number_is_kept_whole_with_its_birth_date_and_region():
    number = IdNumber.parse(VALID)
    assert number.value == VALID
    assert number.birth_date == date(1990, 5, 4)
    assert number.region_code == "370202"


@pytest.mark.parametrize(
    "typed",
    [
        "11010519491231002x",
        "11010519491231002X",
        " 110105 19491231 002X ",
        "110105-19491231-002x",
        "１１０１０５１９４９１２３１００２ｘ",
    ],
)
def test_a_lower_case_x_spaces_dashes_and_full_width_digits_give_one_number(typed: str):
    assert IdNumber.parse(typed).value == "11010519491231002X"


@given(id_number_texts())
def test_every_way_of_typing_a_valid_number_parses_to_its_compact_form(typed: str):
    compact = IdNumber.parse(typed).value
    assert len(compact) == 18 and compact == compact.upper()
    assert IdNumber.parse(compact).value == compact


def test_a_wrong_check_digit_is_refused_and_says_so():
    wrong = VALID[:-1] + ("1" if VALID[-1] != "1" else "2")
    assert reason_of(wrong) == "末位校验码不正确"


def test_a_birth_date_that_is_not_a_date_is_refused_even_with_a_right_check_digit():
    assert reason_of(with_check_digit("37020219900231123")) == "第 7–14 位不是有效的出生日期"
    assert reason_of(with_check_digit("37020219901301123")) == "第 7–14 位不是有效的出生日期"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("37020219900504123", "应为 18 位"),
        ("3702021990050412300", "应为 18 位"),
        ("", "应为 18 位"),
        ("37020219900504A23X", "前 17 位应为数字，末位为数字或 X"),
    ],
)
def test_a_number_of_the_wrong_shape_is_refused(raw: str, reason: str):
    assert reason_of(raw) == reason


def test_an_unknown_region_code_is_refused():
    assert reason_of(with_check_digit("99999919900504123")) == "前 6 位不是有效的地区代码"


def test_a_district_coded_after_its_holders_birth_year_still_begins_a_valid_number():
    # 370202 (市南区) dates from 1983 in GB/T 2260; a number takes the code in use when it is
    # assigned, so people born in 1970 there hold 370202… numbers (stdnum alone refuses them).
    old = with_check_digit("37020219700101123")
    assert not ric.is_valid(old)
    assert IdNumber.parse(old).birth_date == date(1970, 1, 1)


def test_the_error_names_the_field_in_both_languages():
    with pytest.raises(ValidationError) as caught:
        IdNumber.parse(VALID[:-1] + "9")
    (error,) = caught.value.errors
    assert error.message_zh == "不是有效的居民身份证号码（18位，末位为校验码）：末位校验码不正确"
    assert error.message_en.startswith("is not a valid resident identity card number")
    assert error.describe("zh").startswith("身份证号：")
    assert error.describe("en").startswith("ID number: ")
    assert field_label("id_number", "zh") == "身份证号"


def test_it_is_masked_in_str_repr_and_everything_a_person_reads():
    number = IdNumber.parse(VALID)
    assert number.masked == "370202********1230"
    assert str(number) == "370202********1230"
    assert repr(number) == "IdNumber('370202********1230')"
    assert VALID not in repr(make_customer(id_number=number))
    assert display.show(number, "zh") == "370202********1230"
    assert display.show_stored(VALID, IdNumber | None, "en") == "370202********1230"


def test_only_the_masked_form_crmkit_shows_is_recognised_as_masked():
    assert IdNumber.is_masked("370202********1230")
    assert IdNumber.is_masked(" 110105********002x ")
    assert not IdNumber.is_masked(VALID)
    assert not IdNumber.is_masked("370202****1230")
    assert not IdNumber.is_masked(None)


@given(id_number_values())
def test_the_stored_form_is_the_whole_number_and_reads_back(value: str):
    number = IdNumber.parse(value)
    assert to_plain(number) == value
    assert converter().structure(value, IdNumber) == number
    assert converter().structure(to_plain(number), IdNumber | None) == number


# -- other identity documents ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "kind", "value"),
    [
        ("E12345678", IdType.PASSPORT, "E12345678"),
        (" e1234-5678 ", IdType.PASSPORT, "E12345678"),
        ("Ｇ１２３４５６７８", IdType.PASSPORT, "G12345678"),
        ("H 1234 5678", IdType.HK_MACAO, "H12345678"),
        ("12345", IdType.TAIWAN, "12345"),
        ("USA123456789012", IdType.FOREIGN_PERMANENT, "USA123456789012"),
        ("A" * 20, IdType.OTHER, "A" * 20),
    ],
)
def test_another_documents_number_is_letters_and_digits_upper_case(typed, kind, value):
    number = IdNumber.parse(typed, kind=kind)
    assert (number.value, number.kind) == (value, kind)


@pytest.mark.parametrize("typed", ["E123", "E" * 21, "E1234567.8", "护照E1234567", "E12_345678"])
def test_another_documents_number_must_be_5_to_20_letters_or_digits(typed):
    with pytest.raises(ValidationError) as caught:
        IdNumber.parse(typed, kind=IdType.PASSPORT)
    (error,) = caught.value.errors
    assert (error.field, error.code) == ("id_number", "id_number.invalid")
    assert error.message_zh == "不是有效的护照号码：应为 5–20 位字母或数字"
    assert (
        error.message_en == "is not a valid passport number: it must be 5 to 20 letters or digits"
    )


def test_a_resident_number_is_still_checked_as_one_and_a_passport_is_not():
    assert IdNumber.parse(VALID) == IdNumber(VALID, IdType.RESIDENT)
    assert IdNumber.parse(VALID, kind=IdType.RESIDENT).kind is IdType.RESIDENT
    assert IdNumber.parse(VALID[:-1] + "9", kind=IdType.OTHER).value == VALID[:-1] + "9"
    with pytest.raises(ValidationError):
        IdNumber.parse("E12345678")  # not a resident card's number


def test_another_documents_number_is_masked_keeping_two_characters_each_end():
    passport = IdNumber.parse("E12345678", kind=IdType.PASSPORT)
    assert passport.masked == "E1*****78"
    assert str(passport) == "E1*****78"
    assert "E12345678" not in repr(passport)
    assert IdNumber("12345", IdType.TAIWAN).masked == "12****45"  # at least 4 asterisks
    assert display.show(passport, "zh") == "E1*****78"
    assert IdNumber.is_masked("E1*****78") and IdNumber.is_masked("e1*****78")
    assert not IdNumber.is_masked("E12345678")
    customer = make_customer(kind="individual", id_number=passport, id_type=IdType.PASSPORT)
    assert "E12345678" not in repr(customer)


def test_only_a_resident_card_has_a_birth_date_and_region():
    passport = IdNumber.parse("E12345678", kind=IdType.PASSPORT)
    assert passport.birth_date is None and passport.region_code is None
    resident = IdNumber.parse(VALID)
    assert resident.birth_date == date(1990, 5, 4) and resident.region_code == "370202"


def test_the_document_types_have_labels_in_both_languages():
    assert display.label(IdType.PASSPORT, "zh") == "护照"
    assert display.label(IdType.HK_MACAO, "zh") == "港澳居民来往内地通行证"
    assert display.label(IdType.TAIWAN, "zh") == "台湾居民来往大陆通行证"
    assert display.label(IdType.FOREIGN_PERMANENT, "zh") == "外国人永久居留身份证"
    assert display.label(IdType.OTHER, "zh") == "其他证件"
    assert display.label(IdType.RESIDENT, "en") == "Resident identity card"
    assert field_label("id_type", "zh") == "证件类型"


def test_a_stored_number_reads_back_with_its_customers_document_type():
    passport = IdNumber.parse("E12345678", kind=IdType.PASSPORT)
    customer = make_customer(kind="individual", id_number=passport, id_type=IdType.PASSPORT)
    plain = converter().unstructure(customer)
    assert (plain["id_number"], plain["id_type"]) == ("E12345678", "passport")
    assert converter().structure(plain, type(customer)) == customer
    # alone, a string that is no resident card's number is shown masked as another document's
    assert display.show_stored("E12345678", IdNumber | None, "en") == "E1*****78"
