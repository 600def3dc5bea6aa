"""The matcher finds duplicates people make, refuses the ones that only look alike, and
explains itself."""

from __future__ import annotations

from datetime import date
from typing import Any

import attrs
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from crmkit.domain.dedup import (
    CONTACT_MATCH,
    CUSTOMER_MATCH,
    FieldRule,
    MatchConfig,
    Matcher,
    Record,
    contact_record,
    customer_record,
    exact,
    field_block,
    fuzzy,
    record_from_fields,
)
from crmkit.domain.dedup.comparators import company_name, same_city
from crmkit.domain.regions import Region
from crmkit.domain.values import USCC, Email, Phone
from crmkit.testing.builders import make_contact, make_customer

CUSTOMERS = Matcher(CUSTOMER_MATCH)
CONTACTS = Matcher(CONTACT_MATCH)
USCC_A = "91350100M000100Y43"
USCC_B = "91110000600037341L"


def customer(rid: str, **fields: Any) -> Record:
    return record_from_fields(fields, id=rid)


def contact(rid: str, **fields: Any) -> Record:
    return record_from_fields(fields, id=rid, kind="contact")


def verdict(a: Record, b: Record, matcher: Matcher = CUSTOMERS) -> tuple[bool, tuple[str, ...]]:
    match = matcher.score(a, b)
    assert match is not None
    return match.is_duplicate, match.reasons


# -- customers ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "other",
    [
        "金智电子科技（青岛）有限公司",
        "金智电子科技(青岛)股份有限公司",
        "山东省青岛市金智电子科技有限责任公司",
        "金智电子科技有限公司",
        "金 智 电子科技 有限公司",
    ],
)
def test_the_same_company_written_another_way_is_a_duplicate_by_name_alone(other: str):
    duplicate, reasons = verdict(
        customer("a", name="青岛金智电子科技有限公司"), customer("b", name=other)
    )
    assert duplicate
    # The name decides; two names that both carry 青岛 also agree on the city.
    assert reasons[0] == "name="
    assert set(reasons[1:]) <= {"location="}


def test_one_typo_in_the_industry_words_with_the_same_city_is_a_duplicate():
    # 科枝 is no industry word crmkit knows, so the typo'd name has no industry part of its
    # own: its start is read against the other's trade name (金智) and industry (电子科技).
    duplicate, reasons = verdict(
        customer("a", name="青岛金智电子科技有限公司"),
        customer("b", name="金智电子科枝（青岛）有限公司"),
    )
    assert duplicate
    assert reasons[:2] == ("name≈0.93", "location=")


def test_an_industry_typo_without_a_shared_city_or_another_trade_name_is_not_a_duplicate():
    # Without a place on one side the same name with a typo stays below the threshold…
    duplicate, _ = verdict(
        customer("a", name="金智电子科技有限公司"), customer("b", name="金智电子科枝有限公司")
    )
    assert not duplicate
    # …and another trade name in the same city is another company.
    duplicate, _ = verdict(
        customer("a", name="青岛金智电子科技有限公司"),
        customer("b", name="青岛金达电子科技有限公司"),
    )
    assert not duplicate


def test_upper_case_english_names_with_swapped_words_are_duplicates():
    duplicate, _ = verdict(
        customer("a", name="Jinzhi Trading Co., Ltd."),
        customer("b", name="TRADING JINZHI COMPANY LIMITED"),
    )
    assert duplicate


def test_the_same_brand_in_another_city_with_other_contacts_is_another_company():
    duplicate, reasons = verdict(
        customer("a", name="青岛金智电子科技有限公司", mobile="13800138000"),
        customer("b", name="金智电子科技（北京）有限公司", mobile="13900139000"),
    )
    assert not duplicate
    assert reasons[0] == "location≠"


def test_the_region_field_places_a_name_that_does_not_say_where_it_is():
    duplicate, reasons = verdict(
        customer("a", name="金智电子科技有限公司", region="山东省/青岛市"),
        customer("b", name="金智电子科技有限公司", region="北京市/朝阳区"),
    )
    assert not duplicate
    assert reasons[0] == "location≠"


def test_a_city_and_a_district_inside_it_do_not_contradict():
    duplicate, _ = verdict(
        customer("a", name="青岛金智电子科技有限公司"),
        customer("b", name="金智电子科技有限公司", region="370202"),
    )
    assert duplicate


def test_the_same_brand_in_another_city_sharing_a_phone_is_still_compared():
    duplicate, reasons = verdict(
        customer("a", name="青岛金智电子科技有限公司", mobile="13800138000"),
        customer("b", name="金智电子科技（北京）有限公司", mobile="+86 138-0013-8000"),
    )
    assert duplicate
    assert reasons == ("name=", "phone=")


@pytest.mark.parametrize(
    "branch",
    [
        "金智电子科技有限公司青岛分公司",
        "金智电子科技有限公司北京办事处",
        "金智电子科技有限公司（五四广场店）",
    ],
)
def test_a_branch_is_not_its_parent_even_sharing_a_phone(branch: str):
    duplicate, reasons = verdict(
        customer("a", name="金智电子科技有限公司", mobile="13800138000"),
        customer("b", name=branch, mobile="13800138000"),
    )
    assert not duplicate
    assert reasons[0] == "branch≠parent"


def test_two_branches_in_different_places_are_different_but_one_written_twice_is_one():
    qingdao = customer("a", name="金智电子科技有限公司青岛分公司")
    assert verdict(qingdao, customer("b", name="金智电子科技有限公司北京分公司")) == (
        False,
        ("branch≠", "name="),
    )
    assert verdict(qingdao, customer("c", name="金智电子科技青岛市分公司"))[0]


def test_the_same_credit_code_is_one_company_whatever_the_names_say():
    duplicate, reasons = verdict(
        customer("a", name="金智电子科技有限公司", uscc=USCC_A),
        customer("b", name="华美贸易有限公司", uscc=USCC_A.lower()),
    )
    assert duplicate
    assert reasons[0] == "uscc="


def test_different_credit_codes_are_two_companies_whatever_the_names_say():
    duplicate, reasons = verdict(
        customer("a", name="金智电子科技有限公司", uscc=USCC_A, mobile="13800138000"),
        customer("b", name="金智电子科技有限公司", uscc=USCC_B, mobile="13800138000"),
    )
    assert not duplicate
    assert reasons[0] == "uscc≠"


def test_a_typo_needs_a_shared_phone_or_email_to_count():
    typo = customer("b", name="青岛金知电子科技有限公司", email="JINZHI@QQ.COM")
    assert not verdict(customer("a", name="青岛金智电子科技有限公司"), typo)[0]
    duplicate, reasons = verdict(
        customer("a", name="青岛金智电子科技有限公司", email="jinzhi@qq.com"), typo
    )
    assert duplicate
    assert reasons == ("name≈0.86", "email=", "location=")  # 金知 reads like 金智


@pytest.mark.parametrize("city", ["", "青岛"])
def test_a_shared_phone_with_an_unrelated_name_is_not_a_duplicate(city: str):
    # An accountant's number, given for every company they keep books for: in their own
    # city, so the same city is no evidence for such a pair (it was, and made it one).
    duplicate, reasons = verdict(
        customer("a", name=f"{city}金智电子科技有限公司", mobile="13800138000"),
        customer("b", name=f"{city}华美食品有限公司", mobile="13800138000"),
    )
    assert not duplicate
    assert "phone=" in reasons and "location=" not in reasons
    assert reasons[0].startswith("name≠")


def test_the_same_city_still_counts_for_similar_names():
    _, reasons = verdict(
        customer("a", name="青岛金智电子科技有限公司"),
        customer("b", name="青岛金智达电子科技有限公司"),
    )
    assert "location=" in reasons


def test_a_rule_given_another_must_come_after_it():
    with pytest.raises(ValueError, match="earlier rule"):
        MatchConfig(
            rules=(
                FieldRule("location", same_city, 2.0, given="name"),
                FieldRule("name", company_name, 8.0),
            ),
            blocking_keys=(),
        )


def test_a_missing_field_is_no_evidence_either_way():
    bare = CUSTOMERS.score(customer("a", name="金智电子科技"), customer("b", name="金智电子科技"))
    fuller = CUSTOMERS.score(
        customer("a", name="金智电子科技", mobile="13800138000"),
        customer("b", name="金智电子科技", email="x@qq.com", address="青岛市香港中路10号"),
    )
    assert bare is not None
    assert fuller is not None
    assert fuller.score == bare.score


def test_a_pair_with_nothing_to_compare_has_no_match():
    assert CUSTOMERS.score(customer("a", name="金智"), customer("b", mobile="13800138000")) is None


def test_reasons_say_which_fields_agreed_and_how_much():
    match = CUSTOMERS.score(
        customer(
            "a",
            name="青岛金智电子科技有限公司",
            mobile="13800138000",
            email="info@jinzhi.cn",
            address="山东省青岛市市南区香港中路10号",
            contact="李四",
        ),
        customer(
            "b",
            name="金智电子科枝(青岛)有限公司",
            phone="138 0013 8000",
            email="INFO@JINZHI.CN",
            address="青岛市市南区香港中路10号",
            contacts=["李四", "王五"],
        ),
    )
    assert match is not None
    assert match.is_duplicate
    # 科枝 is a typo in the industry words: the trade names agree (0.7 + 0.3 × 0.75).
    assert match.reasons == (
        "name≈0.93",
        "phone=",
        "email=",
        "contact=",
        "address=",
        "location=",
    )
    assert match.score > 0.999


def test_an_individual_customer_is_matched_by_name_and_birthday():
    a = customer("a", kind="individual", name="张三", birthday="1990-01-02")
    assert verdict(a, customer("b", kind="个人", name="张 三", birthday=date(1990, 1, 2)))[0]
    assert not verdict(a, customer("c", kind="individual", name="张三", birthday="1991-05-06"))[0]


def test_stored_customers_become_records_with_their_contacts_numbers():
    qingdao = Region.parse("山东省/青岛市")
    c = make_customer(
        name="青岛金智电子科技有限公司",
        mobile=Phone.parse("13800138000"),
        email=Email.parse("Info@Jinzhi.cn"),
        uscc=USCC.parse(USCC_A),
        region=qingdao,
        custom={"contract_no": " HT-001 "},
    )
    record = customer_record(c, contact_phones=["139 0013 9000"], contact_names=["李经理"])
    assert record.id == c.id
    assert record.get("phones") == frozenset({"+8613800138000", "+8613900139000"})
    assert record.get("emails") == frozenset({"info@jinzhi.cn"})
    assert record.get("uscc") == USCC_A
    assert record.get("location") == "370200"
    assert record.get("contacts") == frozenset({"李"})
    assert record.get("custom.contract_no") == "ht001"
    row = customer("row", name="金智电子科技(青岛)有限公司", contact_mobile="13900139000")
    assert verdict(record, row)[0]


def test_a_custom_field_can_join_a_configuration():
    config = attrs.evolve(
        CUSTOMER_MATCH.with_rules(FieldRule("custom.contract_no", exact, 12.0, label="contract")),
        blocking_keys=(*CUSTOMER_MATCH.blocking_keys, field_block("custom.contract_no")),
    )
    matcher = Matcher(config)
    a = customer("a", name="金智电子科技有限公司", custom={"contract_no": "HT-001"})
    b = customer("b", name="华美食品有限公司", **{"custom.contract_no": "ht001 "})
    assert list(matcher.candidates([a, b])) == [(0, 1)]
    match = matcher.score(a, b)
    assert match is not None
    assert match.is_duplicate
    assert "contract=" in match.reasons


def test_a_generic_configuration_works_on_plain_records():
    config = MatchConfig(
        rules=(FieldRule("title", fuzzy("token_set"), 6.0, disagree=-6.0, floor=0.5),),
        prior=-3.0,
        blocking_keys=(field_block("isbn"),),
    )
    a = Record("a", {"title": "the art of computer programming", "isbn": "1"})
    b = Record("b", {"title": "computer programming the art of", "isbn": "1"})
    match = Matcher(config).score(a, b)
    assert match is not None
    assert match.is_duplicate
    assert match.reasons == ("title=",)


def test_field_rules_refuse_weights_of_the_wrong_sign():
    with pytest.raises(ValueError, match="weight"):
        FieldRule("name", exact, -1.0)
    with pytest.raises(ValueError, match="disagree"):
        FieldRule("name", exact, 1.0, disagree=1.0)
    with pytest.raises(ValueError, match="floor"):
        FieldRule("name", exact, 1.0, floor=1.0)


# -- contacts -----------------------------------------------------------------------------
def test_contacts_with_the_same_name_at_the_same_customer_are_duplicates():
    assert verdict(
        contact("a", customer_id="c1", name="李四"),
        contact("b", customer_id="c1", name="李 四"),
        CONTACTS,
    ) == (True, ("customer=", "name="))


def test_contacts_with_the_same_name_at_different_customers_are_not():
    assert not verdict(
        contact("a", customer_id="c1", name="王伟"),
        contact("b", customer_id="c2", name="王伟"),
        CONTACTS,
    )[0]


def test_contacts_sharing_a_mobile_or_an_email_are_duplicates_under_any_name():
    by_mobile = verdict(
        contact("a", customer_id="c1", name="李总", mobile="13800138000"),
        contact("b", customer_id="c2", name="李建国", mobile="138-0013-8000"),
        CONTACTS,
    )
    by_email = verdict(
        contact("a", customer_id="c1", name="李四", email="li@qq.com"),
        contact("b", customer_id="c2", name="Li Si", email="LI@QQ.COM"),
        CONTACTS,
    )
    assert by_mobile[0]
    assert "mobile=" in by_mobile[1]
    assert by_email[0]


def test_a_shared_switchboard_number_does_not_make_two_people_one():
    assert not verdict(
        contact("a", customer_id="c1", name="李四", phone="0532-88886666"),
        contact("b", customer_id="c1", name="王五", phone="053288886666"),
        CONTACTS,
    )[0]


def test_stored_contacts_become_records():
    c = make_contact("c1", name="李四", mobile=Phone.parse("13800138000"))
    record = contact_record(c)
    assert record.get("person") == "李四"
    assert record.get("mobile") == frozenset({"+8613800138000"})
    assert verdict(record, contact("row", customer_id="c1", name="李四"), CONTACTS)[0]


# -- many records -------------------------------------------------------------------------
def test_clusters_do_not_chain_two_cities_through_a_name_without_a_place():
    records = [
        customer("qd", name="金智电子科技（青岛）有限公司", mobile="13800138000"),
        customer("bare", name="金智电子科技有限公司", mobile="13800138000"),
        customer("bj", name="北京金智电子科技有限公司"),
    ]
    clusters = CUSTOMERS.clusters(records)
    assert [c.ids for c in clusters] == [("qd", "bare"), ("bj",)]
    assert clusters[0].matches[0].reasons == ("name=", "phone=")


def test_a_huge_block_is_compared_with_sorted_neighbours_not_all_pairs():
    # One switchboard number shared by 500 companies.
    records = [customer(str(i), name=f"公司{i:03d}贸易", mobile="053288886666") for i in range(500)]
    pairs = list(CUSTOMERS.candidates(records))
    assert len(pairs) <= 500 * CUSTOMER_MATCH.window
    assert len(set(pairs)) == len(pairs)


def test_rank_lists_the_most_similar_first():
    query = customer("q", name="青岛金智电子科技有限公司", mobile="13800138000")
    pool = [
        customer("far", name="华美食品有限公司"),
        customer("near", name="金智电子科技有限公司"),
        customer("same", name="金智电子科技（青岛）有限公司", mobile="13800138000"),
    ]
    ranked = CUSTOMERS.rank(query, pool, limit=2)
    assert [m.right for m in ranked] == ["same", "near"]


# -- properties ---------------------------------------------------------------------------
NAMES = st.sampled_from(
    (
        "青岛金智电子科技有限公司",
        "金智电子科技（青岛）股份有限公司",
        "金智电子科技（北京）有限公司",
        "金智电子科技有限公司青岛分公司",
        "金知电子科技有限公司",
        "华美食品有限公司",
        "Jinzhi Trading Co., Ltd.",
        "TRADING JINZHI LIMITED",
    )
)
PHONES = st.sampled_from(("13800138000", "+86 139 0013 9000", "0532-88886666"))
EMAILS = st.sampled_from(("a@qq.com", "B@163.COM", "info@jinzhi.cn"))
REGIONS = st.sampled_from(("370200", "370202", "110105", "440300"))
USCCS = st.sampled_from((USCC_A, USCC_B))


@st.composite
def rows(draw: st.DrawFn) -> dict[str, Any]:
    row: dict[str, Any] = {"name": draw(NAMES)}
    for key, values in (
        ("mobile", PHONES),
        ("email", EMAILS),
        ("region", REGIONS),
        ("uscc", USCCS),
        ("contact", st.sampled_from(("李四", "王五"))),
    ):
        if draw(st.booleans()):
            row[key] = draw(values)
    return row


def records(rows_: list[dict[str, Any]]) -> list[Record]:
    return [record_from_fields(r, id=f"r{i}") for i, r in enumerate(rows_)]


@given(rows(), rows())
def test_the_score_is_symmetric(a: dict[str, Any], b: dict[str, Any]):
    ra, rb = records([a, b])
    ab, ba = CUSTOMERS.score(ra, rb), CUSTOMERS.score(rb, ra)
    assert (ab is None) == (ba is None)
    if ab is not None and ba is not None:
        assert (ab.score, ab.is_duplicate, ab.reasons) == (ba.score, ba.is_duplicate, ba.reasons)


@given(rows(), rows())
def test_a_record_scores_highest_with_itself(a: dict[str, Any], b: dict[str, Any]):
    ra, rb = records([a, b])
    itself = CUSTOMERS.score(ra, ra)
    other = CUSTOMERS.score(ra, rb)
    assert itself is not None
    assert itself.is_duplicate
    assert other is None or other.score <= itself.score


@settings(max_examples=50)
@given(st.lists(rows(), max_size=12))
def test_clusters_partition_the_records(rows_: list[dict[str, Any]]):
    recs = records(rows_)
    clusters = CUSTOMERS.clusters(recs)
    members = sorted(i for c in clusters for i in c.members)
    assert members == list(range(len(recs)))
    for c in clusters:
        assert len(c.matches) == len(c) - 1


@settings(max_examples=50)
@given(st.lists(rows(), max_size=12))
def test_blocking_never_misses_a_pair_sharing_a_phone_email_or_credit_code(
    rows_: list[dict[str, Any]],
):
    recs = records(rows_)
    found = set(CUSTOMERS.candidates(recs))
    for i in range(len(recs)):
        for j in range(i + 1, len(recs)):
            share = any(
                (recs[i].get(f) or frozenset()) & (recs[j].get(f) or frozenset())
                for f in ("phones", "emails")
            ) or (recs[i].get("uscc") is not None and recs[i].get("uscc") == recs[j].get("uscc"))
            if share:
                assert (i, j) in found


def test_the_default_configurations_and_records_survive_pickling():
    # Import workers receive the matcher configuration and send match records back.
    import pickle

    from crmkit.domain.dedup import CONTACT_MATCH, CUSTOMER_MATCH, Record, company_key

    a = Record(
        "a", {"name": company_key("金智电子科技（青岛）有限公司"), "phones": {"+8613800138000"}}
    )
    b = Record("b", {"name": company_key("青岛金智电子科技有限公司"), "birthday": date(1990, 1, 2)})
    for config in (CUSTOMER_MATCH, CONTACT_MATCH):
        copy = pickle.loads(pickle.dumps(config))
        assert copy == config
        assert Matcher(copy).score(a, b) == Matcher(config).score(a, b)
        assert Matcher(copy).block_keys(a) == Matcher(config).block_keys(a)
    copy = pickle.loads(pickle.dumps(a))
    assert copy == a
    with pytest.raises(TypeError):  # still read-only after the trip
        copy.values["name"] = None  # type: ignore[index]


# -- the place rule: what bulk lookups may skip unread -----------------------------------
_PLACES = ("青岛", "北京", "济南", "上海", "")
_BRANDS = ("金智电子科技", "金智科技", "金华泰电子", "华泰电子", "金智贸易", "Jinzhi Trading")


@st.composite
def _located_customers(draw: st.DrawFn, rid: str) -> Record:
    """Customers made to collide: few brands, places, phones, e-mails and credit codes, a
    place in the name (before it, in brackets) or in the region field, branches."""
    brand = draw(st.sampled_from(_BRANDS))
    place = draw(st.sampled_from(_PLACES))
    suffix = draw(st.sampled_from(("有限公司", "股份有限公司", "有限公司北京分公司", "")))
    name = draw(st.sampled_from((f"{place}{brand}{suffix}", f"{brand}（{place}）{suffix}", brand)))
    fields: dict[str, Any] = {"name": name or brand}
    optional = {
        "region": st.sampled_from(("370202", "370200", "110105", "310115", "370000")),
        "mobile": st.sampled_from(("13800138000", "13900139000")),
        "email": st.sampled_from(("sales@jinzhi.cn", "SALES@JINZHI.CN", "info@huatai.cn")),
        "uscc": st.sampled_from((USCC_A, USCC_B)),
        "address": st.sampled_from(("青岛市市南区香港中路10号", "北京市朝阳区建国路88号")),
        "contact": st.sampled_from(("李四", "王五")),
    }
    for field, values in optional.items():
        if draw(st.booleans()):
            fields[field] = draw(values)
    return record_from_fields(fields, id=rid)


@settings(max_examples=400)
@given(a=_located_customers("a"), b=_located_customers("b"))
def test_the_place_rule_never_skips_a_pair_the_matcher_calls_a_duplicate(a: Record, b: Record):
    # What DedupIndex.batch_candidates leaves out unread: a holder in a place that
    # contradicts the record's, sharing none of the record's exempt keys.
    rule = CUSTOMER_MATCH.place
    assert rule is not None
    pa, pb = a.get(rule.field), b.get(rule.field)
    shared = CUSTOMERS.block_keys(a) & CUSTOMERS.block_keys(b)
    skipped = (
        pa is not None
        and pb is not None
        and not rule.compatible(pa, pb)
        and not shared & CUSTOMERS.exempt_keys(a)
    )
    event("skipped" if skipped else "compared")
    if skipped:
        match = CUSTOMERS.score(a, b)
        assert match is None or not match.is_duplicate
    # Exempt keys do not depend on which side asks.
    assert shared & CUSTOMERS.exempt_keys(a) == shared & CUSTOMERS.exempt_keys(b)
