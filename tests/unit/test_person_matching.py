"""Person matching: keys, comparison levels, EM, and the linkage rule on real records."""

from __future__ import annotations

import itertools
import random
from datetime import date

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkit.domain.dedup import CONTACT_MATCH, CUSTOMER_MATCH, Matcher, record_from_fields
from crmkit.domain.dedup.em import estimate
from crmkit.domain.dedup.keys import id_key, person_key
from crmkit.domain.dedup.matcher import FieldRule, Level, MatchConfig
from crmkit.domain.dedup.person import (
    birth_date_similarity,
    contact_blocks,
    person_similarity,
)

MATCHER = Matcher(CUSTOMER_MATCH)


def person(id: str, **fields: object):
    return record_from_fields({"kind": "individual", **fields}, id=id)


# -- keys and comparators -----------------------------------------------------------------
def test_a_resident_card_number_is_checked_and_normalised():
    assert id_key("11010519491231002x") == "cn:11010519491231002X"
    assert id_key("110105 19491231 002X") == "cn:11010519491231002X"
    assert id_key("110105194912310021") is None  # fails its check digit: a typo, no evidence
    assert id_key("E1234 5678") == "E12345678"  # another document, as written
    # 市南区's code dates from 1983; people born before carry it (the customer field agrees).
    assert id_key("370202197001011238") == "cn:370202197001011238"


def test_traditional_characters_fold_to_simplified():
    assert person_key("張偉") == person_key("张伟") == "张伟"


@pytest.mark.parametrize(
    ("a", "b", "low", "high"),
    [
        ("张伟", "张伟", 1.0, 1.0),
        ("张伟", "张玮", 0.88, 0.99),  # read alike: an input-method typo
        ("lachlan berry", "berry lachlam", 0.88, 0.99),  # a typo, words swapped
        ("berry", "berry lachlan", 0.6, 0.88),  # the given name left out
        ("王伟", "王芳", 0.0, 0.6),  # another person of that surname
    ],
)
def test_name_similarity_falls_on_the_expected_level(a, b, low, high):
    key_a, key_b = person_key(a), person_key(b)
    assert key_a is not None and key_b is not None
    similarity = person_similarity(key_a, key_b)
    assert similarity is not None and low <= similarity <= high
    assert person_similarity(key_b, key_a) == similarity


def test_a_mistyped_birth_date_is_close_and_another_is_not():
    assert birth_date_similarity(date(1980, 3, 9), date(1980, 3, 9)) == 1.0
    assert birth_date_similarity(date(1980, 3, 9), date(1980, 9, 3)) == 0.8  # day ↔ month
    assert birth_date_similarity(date(1980, 3, 9), date(1981, 3, 9)) == 0.8  # one digit
    assert birth_date_similarity(date(1980, 3, 9), date(1975, 11, 20)) == 0.0


# -- individuals ----------------------------------------------------------------------------
def test_a_changed_surname_is_found_by_birth_date_id_and_address():
    a = person(
        "a",
        name="Imogen Akroyd",
        birthday="1936-12-18",
        id_number="4817613",
        address="8 Everard Street, Marsfield QLD 3219",
    )
    b = person(
        "b",
        name="Imogen Shepherd",
        birthday="1936-12-18",
        id_number="4817613",
        address="8 everard st, marsfield qld 3219",
    )
    match = MATCHER.score(a, b)
    assert match is not None and match.is_duplicate
    assert {"birthday=", "id_number="} <= set(match.reasons)


def test_one_name_with_other_birth_dates_and_ids_is_two_people():
    a = person("a", name="王建国", birthday="1970-01-01", id_number="E1234567")
    b = person("b", name="王建国", birthday="1985-06-30", id_number="G7654321")
    match = MATCHER.score(a, b)
    assert match is not None and not match.is_duplicate
    assert "birthday≠0.00" in match.reasons  # disagreement is evidence, and says so


def test_one_resident_card_number_decides_and_two_veto():
    a = person("a", name="李娜", id_number="11010519491231002X")
    b = person("b", name="李娜娜", id_number="11010519491231002X")
    c = person("c", name="李娜", id_number="110101199003070097")
    assert MATCHER.score(a, b).score == 1.0
    vetoed = MATCHER.score(a, c)
    assert vetoed is not None and vetoed.score == 0.0 and "id_number≠" in vetoed.reasons


def test_individuals_and_companies_block_in_their_own_namespaces():
    keys = MATCHER.block_keys(person("a", name="张伟", birthday="1980-01-02"))
    assert keys and all(k.startswith("p") for k in keys)
    company = record_from_fields({"name": "青岛金智电子科技有限公司"}, id="c")
    assert not any(k.startswith("p") for k in MATCHER.block_keys(company))


def test_a_contacts_keys_never_hold_a_whole_customer():
    record = record_from_fields(
        {"name": "王建国", "customer_id": "cu1", "birthday": "1975-05-04"}, kind="contact"
    )
    keys = set(contact_blocks(record))
    assert "cn:cu1|王建国" in keys and "cw:cu1|王" in keys and "cd:cu1|1975-05-04" in keys
    assert all("|" in k for k in keys)  # customer + something, never the customer alone
    twin = record_from_fields(
        {"name": "王建國", "customer_id": "cu1", "birthday": "1975-05-04"}, kind="contact"
    )
    match = Matcher(CONTACT_MATCH).score(record, twin)
    assert match is not None and match.is_duplicate


# -- the linkage rule, on real scores --------------------------------------------------------
NAMES = ["张伟", "张玮", "张伟", "王芳", "lachlan berry", "berry lachlam", "berry"]
DATES = [None, "1980-01-02", "1980-02-01", "1991-08-30"]
PHONES = [None, "13800138000", "13900139000"]
EMAILS = [None, "zw@example.com"]


@st.composite
def people(draw: st.DrawFn) -> list:
    n = draw(st.integers(2, 9))
    return [
        person(
            str(i),
            name=draw(st.sampled_from(NAMES)),
            birthday=draw(st.sampled_from(DATES)),
            mobile=draw(st.sampled_from(PHONES)),
            email=draw(st.sampled_from(EMAILS)),
        )
        for i in range(n)
    ]


@settings(max_examples=200, deadline=None)
@given(records=people())
def test_no_cluster_holds_two_people_scoring_below_the_floor(records):
    floor = CUSTOMER_MATCH.cluster_floor
    for cluster in MATCHER.clusters(records, singletons=False):
        for i, j in itertools.combinations(cluster.members, 2):
            assert MATCHER.pair_score(records[i], records[j]) >= floor
        # Each member is there through a duplicate pair of the cluster (why it is there).
        linked = {k for m in cluster.matches for k in (m.left, m.right)}
        assert linked == set(cluster.ids)
        assert all(m.is_duplicate for m in cluster.matches)


COMPANIES = [
    "青岛金智电子科技有限公司",
    "金智电子",
    "青岛金志电子科技有限公司",
    "北京四通贸易有限公司",
]


@st.composite
def parties(draw: st.DrawFn) -> list:
    """People as above, and companies that share their phones and e-mails."""
    records = draw(people())
    for n in range(draw(st.integers(0, 3))):
        fields = {
            "name": draw(st.sampled_from(COMPANIES)),
            "mobile": draw(st.sampled_from(PHONES)),
            "email": draw(st.sampled_from(EMAILS)),
            "city": draw(st.sampled_from([None, "青岛", "北京"])),
        }
        records.append(record_from_fields(fields, id=f"c{n}"))
    return records


@settings(max_examples=200, deadline=None)
@given(records=parties(), floor=st.floats(0.0, 0.999) | st.sampled_from([0.1, 0.5]))
def test_reaches_answers_what_the_full_score_would(records, floor):
    # The scan asks `reaches`, which stops early; it must agree with the whole sum.
    for a, b in itertools.combinations(records, 2):
        assert MATCHER.reaches(a, b, floor) == (MATCHER.pair_score(a, b) >= floor)


# -- EM ---------------------------------------------------------------------------------------
TWO_FIELDS = MatchConfig(
    rules=(
        FieldRule("a", lambda x, y: 1.0, 0.0, levels=(Level(1.0, 0.5, 0.5), Level(0.0, 0.5, 0.5))),
        FieldRule("b", lambda x, y: 1.0, 0.0, levels=(Level(1.0, 0.5, 0.5), Level(0.0, 0.5, 0.5))),
        FieldRule("c", lambda x, y: 1.0, 0.0, levels=(Level(1.0, 0.6, 0.4), Level(0.0, 0.4, 0.6))),
    ),
    prior=-1.0,
)


def test_em_recovers_the_probabilities_that_generated_the_pairs():
    rng = random.Random(7)
    m, u, share = (0.9, 0.85, 0.95), (0.1, 0.05, 0.2), 0.2
    vectors = []
    for _ in range(20000):
        probs = m if rng.random() < share else u
        vectors.append(tuple(0 if rng.random() < p else 1 for p in probs))
    learnt = estimate(TWO_FIELDS, vectors)
    assert abs(learnt.duplicate_share - share) < 0.02
    for rule, true_m, true_u in zip(learnt.config.rules, m, u, strict=True):
        assert rule.levels is not None
        assert abs(rule.levels[0].m - true_m) < 0.03 and abs(rule.levels[0].u - true_u) < 0.03


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(*[st.sampled_from([0, 1, None])] * 3), max_size=60))
def test_em_gives_probabilities_that_sum_to_one_per_field(vectors):
    learnt = estimate(TWO_FIELDS, vectors)
    for rule in learnt.config.rules:
        assert rule.levels is not None
        assert sum(lv.m for lv in rule.levels) == pytest.approx(1.0, abs=1e-6)
        assert sum(lv.u for lv in rule.levels) == pytest.approx(1.0, abs=1e-6)
        assert all(0.0 < lv.m < 1.0 and 0.0 < lv.u < 1.0 for lv in rule.levels)


def test_estimated_weights_replace_the_defaults_in_a_configuration():
    persons = CUSTOMER_MATCH.persons
    assert persons is not None
    a = person("a", name="张伟", birthday="1980-01-02")
    b = person("b", name="张伟", birthday="1980-01-02")
    learnt = estimate(persons, [MATCHER.levels(a, b)] * 10)
    trained = attrs.evolve(CUSTOMER_MATCH, persons=learnt.config)
    assert Matcher(trained).score(a, b) is not None
    assert learnt.pairs == 10 and learnt.table()[0][0] == "name"
