"""The tuned default configurations: :data:`CUSTOMER_MATCH` and :data:`CONTACT_MATCH`.

Weights are bits of evidence, log2(m/u), where m is how often a field agrees between two
records of one company and u how often it agrees between two different companies that
share a blocking key. The m and u below are stated estimates for Chinese SME data, not
fitted to any data set, so that the defaults hold on data they have not seen:

==========  =====  =======  ===========================================================
field       m      u        bits
==========  =====  =======  ===========================================================
name = 1    0.8    0.003    +8 (same brand after normalisation, other company: rare once
                            branches and other cities are vetoed)
name ≤ .7   0.015  1.0      -6 (a duplicate almost never has an unrelated name; 0.67 is
                            金智电子科技 vs 华美电子科技 — same industry, nothing else)
phone       0.5    0.0005   +10 (a shared number; a different one is no evidence — a
                            company has many, and a second salesperson meets a second
                            person)
email       0.4    0.0004   +10, likewise
contact     0.3    0.01     +5 (same contact person name; 王伟 is common)
address     0.4    0.006    +6 when the street parts agree; -1 when they clearly differ
                            (offices move, people write the warehouse)
location    0.9    0.25     +2 when both places are known to the city and it is the same
                            city (名称, else 地区, else 地址): similar names are common,
                            but a quarter of them at most sit in one city; a contradiction
                            is a veto (below), not a weight. Counted only when the names
                            agree (above 0.7): two unrelated names met through a shared
                            phone are nearly always in one city (the phone is local)
birthday    0.95   0.03     ±5 (individual customers)
==========  =====  =======  ===========================================================

Between 0.7 and 1 the name's evidence runs linearly from -6 to +8 bits. The prior is -5
bits (about 1 pair in 33 among blocked candidates is a duplicate) and the threshold 0.5, so
a pair is called a duplicate when the evidence reaches 5 bits. What that means in practice:

* the same brand alone is a duplicate (8 − 5 = 3 bits, score 0.89);
* a name similarity of 0.94 alone is, 0.92 alone is not: one character more or less in a
  six-character brand (金智电子科技 / 金智达电子科技) is as often another company;
* with both in one city, 0.92 is (4.3 + 2 − 5): one character more or less in a
  six-character brand, in the same city, is more often one company typed twice;
* a name of 0.83 (one typo in 金智电子科技) with a shared phone or e-mail is a duplicate
  (0.2 + 10 − 5 bits), and so is one with the same contact person and street address;
  a typo in the industry words only (金智电子科枝) scores 0.93, because the trade name,
  which is what tells companies apart, agrees;
* a shared phone with an unrelated name is not (−6 + 10 − 5): accountants and agents give
  their own number for many companies.

Contacts: same customer (+4, −3 when different) and the same name (+5.3 on
:data:`CONTACT_NAME_LEVELS`; a typo or homophone +3.3, another name −6.4) make a duplicate
(4 + 5.3 − 6 = 3.3 bits); a birth date agreeing or not counts ±6.5 / −4.6; a shared mobile or
e-mail (+14) makes one even under another name at another customer; a shared fixed line is
weak (+2: it is usually the switchboard); the prior is −6.

Individuals (:data:`PERSON_MATCH`, the ``persons`` part of :data:`CUSTOMER_MATCH`) are
compared as people on comparison levels whose bits are log2(m/u) of the stated m and u in
the ``*_LEVELS`` tables below (name, birth date, identity number, phones, e-mails, address);
``crmkit.domain.dedup.em`` estimates them from a store's own pairs.

Hard rules (customers): the same USCC is the same company (decisive); two different USCCs
are two companies; a branch is not its parent, nor another branch; and two known places that
contradict each other (青岛 vs 北京, from the name, else the region, else the address) with
no shared phone or e-mail are two companies — unless one name's place may be the start of
its trade name (金华泰… vs 杭州金华泰…).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from crmkit.domain.dedup import _places
from crmkit.domain.dedup.company import CompanyKey
from crmkit.domain.dedup.comparators import (
    address,
    company_name,
    date_within,
    emails_shared,
    exact,
    industry_concepts,
    phones_shared,
    same_city,
    shared,
    trade_spelling,
)
from crmkit.domain.dedup.keys import AddressKey
from crmkit.domain.dedup.matcher import (
    BlockingKey,
    FieldRule,
    Level,
    MatchConfig,
    PlaceRule,
    field_block,
)
from crmkit.domain.dedup.person import (
    address_similarity,
    birth_date_similarity,
    contact_blocks,
    id_similarity,
    person_blocks,
    person_similarity,
)
from crmkit.domain.dedup.records import Record

__all__ = [
    "CONTACT_MATCH",
    "CUSTOMER_MATCH",
    "PERSON_MATCH",
    "address_blocks",
    "branch_differs",
    "company_name_blocks",
    "location_conflict",
    "spelling_blocks",
    "uscc_differs",
    "uscc_equal",
]


# -- hard rules ---------------------------------------------------------------------------
def uscc_equal(a: Record, b: Record) -> str | None:
    """Decisive: the same unified social credit code is the same legal entity."""
    ua, ub = a.get("uscc"), b.get("uscc")
    return "uscc=" if ua is not None and ua == ub else None


def uscc_differs(a: Record, b: Record) -> str | None:
    """Veto: two different (valid) credit codes are two legal entities."""
    ua, ub = a.get("uscc"), b.get("uscc")
    return "uscc≠" if ua is not None and ub is not None and ua != ub else None


def _names(a: Record, b: Record) -> tuple[CompanyKey, CompanyKey] | None:
    ka, kb = a.get("name"), b.get("name")
    if isinstance(ka, CompanyKey) and isinstance(kb, CompanyKey):
        return ka, kb
    return None


def branch_differs(a: Record, b: Record) -> str | None:
    """Veto: a branch (分公司, 办事处 …) is not its parent, and two branches in different
    places are different branches. A branch registers on its own and has its own customers'
    business, so merging it into the parent would lose what the seeds call a customer."""
    names = _names(a, b)
    if names is None:
        return None
    ka, kb = names
    if ka.branch == kb.branch:
        return None
    if ka.branch is None or kb.branch is None:
        return "branch≠parent"
    return "branch≠"


def _share(a: Record, b: Record, field: str) -> bool:
    return shared(a.get(field) or (), b.get(field) or ()) == 1.0


def location_conflict(a: Record, b: Record) -> str | None:
    """Veto: the same brand in two places that contradict, with no phone or e-mail in common,
    is two companies (金智电子科技（青岛） vs 金智电子科技（北京）).

    A place at the start of a name may be the start of its trade name (金华泰电子科技 is
    read as 金华 + 泰…): when one name with its place kept equals the other's brand, that
    place is no evidence and the veto does not apply.
    """
    la, lb = a.get("location"), b.get("location")
    if la is None or lb is None or _places.compatible(la, lb):
        return None
    if _share(a, b, "phones") or _share(a, b, "emails"):
        return None
    names = _names(a, b)
    if names is not None:
        ka, kb = names
        for x, y in ((ka, kb), (kb, ka)):
            if x.brand_with_place != x.brand and x.brand_with_place == y.brand:
                return None
    return "location≠"


# -- blocking -----------------------------------------------------------------------------
def company_name_blocks(record: Record) -> Iterable[str]:
    """Name keys: the brand and the brand with its place (``b:``); the trade name and the
    brand's first two characters (``t:``), so that industry variants, typos after the
    second character and bare trade names still meet their twin (金智电子科技 / 金智科技 /
    金智电子科枝 / 金智); for Latin names the sorted words and each distinctive word."""
    key = record.get("name")
    if not isinstance(key, CompanyKey) or not key.brand:
        return ()
    keys = {f"b:{key.brand}", f"b:{key.brand_with_place}"}
    if key.words:
        keys.add("b:" + " ".join(sorted(key.words)))
        industry = set((key.industry_word or "").split())
        keys.update(f"w:{w}" for w in key.words if len(w) >= 4 and w not in industry)
    else:
        if len(key.trade_name) >= 2:
            keys.add(f"t:{key.trade_name}")
        if key.industry_word is None and len(key.brand) >= 3:
            # No industry word recognised (a typo in it, or one crmkit does not know): the
            # first two characters stand in for the trade name.
            keys.add(f"t:{key.brand[:2]}")
    return keys


def spelling_blocks(record: Record) -> Iterable[str]:
    """The trade name as Latin letters with each industry word it names (金智电子科技 and
    *Jinzhi Electronic Technology* both ``s:jinzhi|电子`` and ``s:jinzhi|科技``), and within
    the record's city (``sp:3702|jinzhi``): a name written in pinyin or English meets its
    Chinese twin, and a trade name typed with a homophone (金志) meets the right one in its
    own city. Keyed by industry too because a country holds many companies of one reading;
    one with no known industry words is keyed by the reading alone."""
    key = record.get("name")
    if not isinstance(key, CompanyKey) or not key.brand:
        return ()
    trade = trade_spelling(key)
    if len(trade) < 4:  # "li", "an": too many companies read so
        return ()
    concepts = industry_concepts(key)
    keys = {f"s:{trade}|{c}" for c in concepts} if concepts else {f"s:{trade}"}
    location = record.get("location")
    if isinstance(location, str):
        keys.add(f"sp:{location[:4]}|{trade}")
    return keys


def address_blocks(record: Record) -> Iterable[str]:
    """The street part of the address within its city (3702|香港中路10号), when both are
    known and the street part says enough (≥ 4 characters): 人民路1号 is in every city."""
    key = record.get("address")
    if isinstance(key, AddressKey) and key.region and len(key.rest) >= 4:
        return (f"{key.region[:4]}|{key.rest}",)
    return ()


def _name_order(record: Record) -> str:
    key = record.get("name")
    return key.brand if isinstance(key, CompanyKey) else ""


def _lifts_place_veto(block: BlockingKey, key: str) -> bool:
    """Keys whose sharing keeps two records in contradicting places comparable: the USCC
    (a decisive rule), a phone or an e-mail (they lift :func:`location_conflict`), and a
    brand key (a brand with its place kept that equals the other's brand lifts it too, and
    two such names share a ``b:`` key)."""
    if block in (_USCC, _PHONES, _EMAILS):
        return True
    return block is company_name_blocks and key.startswith("b:")


def id_equal(a: Record, b: Record) -> str | None:
    """Decisive: one resident identity card number (checked) is one person."""
    ia, ib = a.get("id_number"), b.get("id_number")
    return "id_number=" if ia is not None and ia == ib and str(ia).startswith("cn:") else None


def id_differs(a: Record, b: Record) -> str | None:
    """Veto: two different resident identity card numbers, both passing their check, are two
    people (the check digit catches every single typo and swap, so this is no typo)."""
    ia, ib = a.get("id_number"), b.get("id_number")
    if ia is None or ib is None or ia == ib:
        return None
    return "id_number≠" if str(ia).startswith("cn:") and str(ib).startswith("cn:") else None


def _levels(
    exact: tuple[float, float], *rest: tuple[float, float, float, str]
) -> tuple[Level, ...]:
    out = [Level(1.0, exact[0], exact[1], "exact")]
    out.extend(Level(at, m, u, name) for at, m, u, name in rest)
    return tuple(out)


NAME_LEVELS: Final = _levels(
    (0.68, 0.02),
    (0.88, 0.20, 0.01, "typo"),
    (0.6, 0.08, 0.05, "partly"),
    (0.45, 0.03, 0.15, "surname"),
    (0.0, 0.01, 0.72, "other"),
)
"""A person's name: the same, a typo or homophone apart (or written in pinyin), one word
the same (a given name left out or changed: a little for), the surname alone the same (王伟 /
王芳: against, but far less than an unrelated name, since a one-character given name
mistyped looks so), different (strongly against: a duplicate almost never has an unrelated
name, while a relative at the same address and mobile does)."""
BIRTH_DATE_LEVELS: Final = _levels(
    (0.88, 0.01),
    (0.8, 0.08, 0.005, "typo"),
    (0.6, 0.035, 0.03, "near"),
    (0.0, 0.005, 0.92, "other"),
)
"""A birth date: the same; one slip (a digit, two swapped, day and month swapped: about one
pair of independent dates in 200); near (two slips, or within two months as a lunar-calendar
birthday is: no evidence either way); wholly different, which is strong evidence of two
people (a household's members share a mobile and an address, not a birth date)."""
ID_LEVELS: Final = _levels((0.88, 0.0001), (0.8, 0.08, 0.001, "typo"), (0.0, 0.04, 0.9989, "other"))
PHONE_LEVELS: Final = _levels((0.6, 0.01), (0.0, 0.4, 0.99, "other"))
"""A shared mobile: strong, but one pair of different people in a hundred found together
shares one (a relative's number given as the customer's own)."""
EMAIL_LEVELS: Final = _levels((0.5, 0.0005), (0.0, 0.5, 0.9995, "other"))
ADDRESS_LEVELS: Final = _levels(
    (0.60, 0.03),
    (0.85, 0.20, 0.02, "typo"),
    (0.8, 0.12, 0.02, "contained"),
    (0.6, 0.10, 0.10, "partly"),
    (0.0, 0.10, 0.87, "other"),
)
"""An address: the same (a household shares it too, hence u 0.03), a typo apart, one the
start of the other (the same building, a flat left out), partly alike, different."""

_PHONES, _EMAILS, _USCC = field_block("phones"), field_block("emails"), field_block("uscc")


def _person_order(record: Record) -> str:
    return str(record.get("person") or "")


PERSON_MATCH: Final = MatchConfig(
    rules=(
        FieldRule("person", person_similarity, 0.0, levels=NAME_LEVELS, label="name"),
        FieldRule("birthday", birth_date_similarity, 0.0, levels=BIRTH_DATE_LEVELS),
        FieldRule("id_number", id_similarity, 0.0, levels=ID_LEVELS),
        FieldRule("phones", phones_shared, 0.0, levels=PHONE_LEVELS, label="phone"),
        FieldRule("emails", emails_shared, 0.0, levels=EMAIL_LEVELS, label="email"),
        FieldRule("address", address_similarity, 0.0, levels=ADDRESS_LEVELS),
    ),
    threshold=0.5,
    prior=-6.0,
    blocking_keys=(person_blocks, _PHONES, _EMAILS),
    decisive=(id_equal,),
    vetoes=(id_differs,),
    sort_key=_person_order,
)
"""Individuals as people: name, birth date, identity number, phones, e-mails, address,
each on comparison levels with Fellegi–Sunter m/u weights (see the module docstring);
the same checked 居民身份证 number decides, two different ones veto."""

CUSTOMER_MATCH: Final = MatchConfig(
    rules=(
        FieldRule("name", company_name, 8.0, disagree=-6.0, floor=0.7),
        FieldRule("phones", phones_shared, 10.0, label="phone"),
        FieldRule("emails", emails_shared, 10.0, label="email"),
        FieldRule("contacts", shared, 5.0, label="contact"),
        FieldRule("address", address, 6.0, disagree=-1.0, floor=0.7),
        FieldRule("location", same_city, 2.0, given="name"),
        FieldRule("birthday", date_within(0), 5.0, disagree=-5.0),
    ),
    threshold=0.5,
    prior=-5.0,
    # New key functions go at the end: a key is namespaced by its function's position.
    blocking_keys=(
        _USCC,
        _PHONES,
        _EMAILS,
        company_name_blocks,
        address_blocks,
        spelling_blocks,
    ),
    decisive=(uscc_equal,),
    vetoes=(uscc_differs, branch_differs, location_conflict),
    sort_key=_name_order,
    place=PlaceRule("location", _places.compatible, _lifts_place_veto),
    persons=PERSON_MATCH,
)
"""Customers: brand, phones, e-mails, contact names, address, birthday; USCC, branch and
place rules. See the module docstring for the weights and why."""

CONTACT_NAME_LEVELS: Final = _levels(
    (0.80, 0.02),
    (0.88, 0.10, 0.01, "typo"),
    (0.6, 0.04, 0.10, "partly"),
    (0.0, 0.01, 0.87, "other"),
)
"""A contact's name: as :data:`NAME_LEVELS`, but a name partly the same counts against
and another name strongly so: at one customer of 500 people, 王伟 and 王芳 born on one
day are two people (about 25 such pairs share a surname and a birthday)."""

CONTACT_MATCH: Final = MatchConfig(
    rules=(
        FieldRule("customer_id", exact, 4.0, disagree=-3.0, label="customer"),
        FieldRule("person", person_similarity, 0.0, levels=CONTACT_NAME_LEVELS, label="name"),
        FieldRule("mobile", phones_shared, 14.0),
        FieldRule("email", emails_shared, 14.0),
        FieldRule("phone", phones_shared, 2.0),
        FieldRule("birthday", birth_date_similarity, 0.0, levels=BIRTH_DATE_LEVELS),
    ),
    threshold=0.5,
    prior=-6.0,
    blocking_keys=(contact_blocks, field_block("mobile"), field_block("email")),
    sort_key=_person_order,
)
"""Contacts: same customer and same name (or a typo of it), or the same mobile or e-mail;
a birth date agreeing or not counts either way. Blocked within the customer by name,
pinyin, birth date and name parts, never by the customer alone (see
:func:`~crmkit.domain.dedup.person.contact_blocks`)."""
