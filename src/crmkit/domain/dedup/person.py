"""People: the keys, comparators and blocking keys that match individuals and contacts.

A person is matched on several fields, each compared on a few *levels* (the same, a typo
apart, partly the same, different) whose weights are Fellegi–Sunter m/u probabilities
(see ``defaults.PERSON_MATCH`` and ``em``): the name (Chinese names also by their
pinyin, so 张伟 / 张玮 are a likely typo; Latin names word by word, so a missing or changed
given name is partly the same), the birth date (a mistyped digit, day and month swapped),
the identity number (居民身份证, checked and normalised with python-stdnum; any other
document number as written), phones, e-mails and the postal address (its words, with or
without a Chinese region).

Blocking uses several keys, so that a pair is found as long as one of them agrees: the
name, its pinyin, the birth date, the identity number, each phone and e-mail, and the
address's distinctive words.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from datetime import date

from rapidfuzz.distance import DamerauLevenshtein, Indel, JaroWinkler

from crmkit.domain.dedup.comparators import address
from crmkit.domain.dedup.keys import (
    AddressKey,
    id_birth_date,
    id_key,
    name_pinyin,
    name_syllable_bags,
    segment_pinyin,
)
from crmkit.domain.dedup.records import Record
from crmkit.domain.dedup.text import CJK, word_list
from crmkit.domain.pinyin import split_name

__all__ = [
    "address_similarity",
    "address_words",
    "birth_date_similarity",
    "contact_blocks",
    "id_key",
    "id_similarity",
    "name_pinyin",
    "person_blocks",
    "person_similarity",
]

_CN_ROAD = re.compile(r"^(.*?[路街道巷弄里])(\d+)")
_DIGITS = re.compile(r"\d+")


@functools.cache
def _fillers() -> frozenset[str]:
    return frozenset(word_list("latin_address_fillers"))


# -- keys ---------------------------------------------------------------------------------
def address_words(address: AddressKey) -> frozenset[str]:
    """The distinctive words of an address's street part, as blocking keys: Latin words of
    four letters or more that are not street types (``tullaroop``, not ``street``); for a
    Chinese address its road with the number (香港中路10) and the whole street part."""
    rest = address.rest
    if not rest:
        return frozenset()
    if CJK.search(rest):
        out = {rest} if len(rest) >= 4 else set()
        road = _CN_ROAD.match(rest)
        if road is not None:
            out.add(road.group(1) + road.group(2))
        return frozenset(out)
    return frozenset(w for w in rest.split() if len(w) >= 4 and w.isalpha() and w not in _fillers())


# -- comparators --------------------------------------------------------------------------
def _words(key: str) -> list[str]:
    if CJK.search(key):
        surname, given = split_name(key)
        return [w for w in (surname, given) if w]
    return key.split()


def _word_similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if CJK.search(a) or CJK.search(b):
        if len(a) == len(b) > 1 and sorted(a) == sorted(b):
            return 0.8  # two characters swapped (嘉凯 / 凯嘉): a typo
        return float(Indel.normalized_similarity(a, b))
    return float(JaroWinkler.normalized_similarity(a, b))


# What a word of one name that the other lacks counts for (given name left out).
_MISSING_WORD = 0.3


def _aligned(a: list[str], b: list[str]) -> float:
    """The best one-to-one pairing of two names' words, averaged over the longer name
    (a word without a partner counts ``_MISSING_WORD``); greedy beyond two words."""
    if len(a) < len(b):
        a, b = b, a
    sim = _word_similarity
    if len(a) <= 2:
        # The common shapes, exactly: surname + given name, or one of them alone.
        if len(b) == 1:
            best = max(sim(a[0], b[0]), sim(a[1], b[0])) if len(a) == 2 else sim(a[0], b[0])
            return (best + _MISSING_WORD * (len(a) - 1)) / len(a)
        straight = sim(a[0], b[0]) + sim(a[1], b[1])
        crossed = sim(a[0], b[1]) + sim(a[1], b[0])
        return max(straight, crossed) / 2
    scores = sorted(
        ((sim(x, y), i, j) for i, x in enumerate(a) for j, y in enumerate(b)), reverse=True
    )
    used_a: set[int] = set()
    used_b: set[int] = set()
    total = 0.0
    for s, i, j in scores:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        total += s
    total += _MISSING_WORD * (len(a) - len(used_a))
    return total / len(a)


def _pinyin_parts(chinese: str, latin: str) -> float:
    """A Chinese name against a Latin one whose syllables differ: when a Latin word is the
    surname's reading, the given names' syllables in common (王建华 / Wang Jianguo: one of
    two), scored as :func:`_aligned` scores two Chinese names (surname + given name); else
    0.0."""
    surname = split_name(chinese)[0]
    reading = name_pinyin(surname) if surname else None
    spoken = name_pinyin(chinese)
    if reading is None or spoken is None:
        return 0.0
    own = "".join(reading.split())
    words = latin.split()
    if own not in words:
        return 0.0
    words.remove(own)
    theirs: list[str] = []
    for word in words:
        theirs.extend(segment_pinyin(word) or (word,))
    mine = spoken.split()[len(reading.split()) :]
    if not mine or not theirs:
        return (1.0 + _MISSING_WORD) / 2
    common = sum(min(mine.count(x), theirs.count(x)) for x in set(mine))
    return (1.0 + 2 * common / (len(mine) + len(theirs))) / 2


def person_similarity(a: str, b: str) -> float | None:
    """How alike two person-name keys are, from 0 to 1.

    1.0 for the same name; about 0.9 for one typo (张伟 / 张玮 read alike; ``lachlan`` /
    ``lachlam``) or a name written in pinyin (李四 / Li Si); about 0.65 when one word
    agrees and the other is missing or different (a given name left out or changed);
    lower for different names.

    Args:
        a: one :func:`~crmkit.domain.dedup.keys.person_key`.
        b: the other.

    Returns:
        The similarity, or None when either is empty.
    """
    if not a or not b:
        return None
    if a == b:
        return 1.0
    ca, cb = bool(CJK.search(a)), bool(CJK.search(b))
    cjk = ca and cb
    if cjk and name_pinyin(a) == name_pinyin(b):
        return 0.92  # read alike: a homophone typed by an input method
    if ca != cb:
        # One written in pinyin (李四 / Li Si, Wang Jianguo / 王建国): its syllables against
        # the other's, however the words are split or ordered (Latin keys are word-sorted).
        chinese, latin = (a, b) if ca else (b, a)
        if name_syllable_bags(chinese) & name_syllable_bags(latin):
            return 0.92
        return _pinyin_parts(chinese, latin)
    if not ca and " " in a + b and name_syllable_bags(a) & name_syllable_bags(b):
        return 0.92  # one pinyin name split otherwise (Wang Jian Guo / Wang Jianguo)
    wa, wb = _words(a), _words(b)
    best = _aligned(wa, wb)
    if not cjk:
        # Words run together or split differently (``mary ann`` / ``maryann``).
        joined = JaroWinkler.normalized_similarity(a.replace(" ", ""), b.replace(" ", ""))
        best = max(best, float(joined) - 0.05)
    return min(best, 0.99)


# A birthday given by the lunar calendar on one record and the card's (solar) date on the
# other lies within about two months of it.
_NEAR_DAYS = 62


def birth_date_similarity(a: date, b: date) -> float | None:
    """1.0 for one date; 0.8 when one was probably mistyped from the other (one digit
    differs, two adjacent digits swapped, or day and month swapped); 0.6 for two such
    slips (two records each mistyping the same date: 2001-07-29 / 2002-07-28) or a date
    within two months (a lunar-calendar birthday); else 0.0 — a wholly different date,
    which is strong evidence of two people."""
    if not isinstance(a, date) or not isinstance(b, date):
        return None
    if a == b:
        return 1.0
    if (a.year, a.month, a.day) == (b.year, b.day, b.month):
        return 0.8
    slips = DamerauLevenshtein.distance(a.isoformat(), b.isoformat())
    if slips <= 1:
        return 0.8
    if slips == 2 or abs((a - b).days) <= _NEAR_DAYS:
        return 0.6
    swapped = date(b.year, b.day, b.month) if b.day <= 12 else None
    if swapped is not None and DamerauLevenshtein.distance(a.isoformat(), swapped.isoformat()) <= 1:
        return 0.6  # a swap and a slip
    return 0.0


def id_similarity(a: str, b: str) -> float | None:
    """1.0 for one number; 0.8 for a single typo (one character changed, added, dropped or
    two swapped) in a number of six characters or more; else 0.0."""
    if not a or not b:
        return None
    if a == b:
        return 1.0
    if min(len(a), len(b)) >= 6 and DamerauLevenshtein.distance(a, b) <= 1:
        return 0.8
    return 0.0


# An address that is the start of the other (胜利路201号 / 胜利路201号19栋5单元1403室): the
# same building, one record without the flat.
CONTAINED = 0.8


def _contained(a: str, b: str) -> bool:
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if not _DIGITS.search(short):
        return False  # a road alone (胜利路) says nothing of the building
    # 胜利路20 is not the start of 胜利路201号: a number is cut at its end only.
    cut = long[len(short) : len(short) + 1]
    return long.startswith(short) and not (short[-1].isdigit() and cut.isdigit())


def address_similarity(a: AddressKey, b: AddressKey) -> float | None:
    """Similarity of two addresses' street parts, word order aside (numbers must agree):
    :data:`CONTAINED` when one is the start of the other (the same building, a flat left
    out); 0.0 when both name regions that contradict; None when either street part is
    empty."""
    plain = address(a, b)
    if plain is None or plain in (0.0, 1.0):
        return plain
    if _contained(a.rest, b.rest):
        return max(plain, CONTAINED)
    if plain < 0.85 and " " in a.rest and " " in b.rest:
        plain = max(plain, _sorted_ratio(a.rest.split(), b.rest.split()))
    if sorted(_DIGITS.findall(a.rest)) != sorted(_DIGITS.findall(b.rest)):
        plain = min(plain, CONTAINED - 0.01)  # another house number is another house
    return plain


def _sorted_ratio(a: list[str], b: list[str]) -> float:
    return float(Indel.normalized_similarity(" ".join(sorted(a)), " ".join(sorted(b))))


# -- blocking -----------------------------------------------------------------------------
def person_blocks(record: Record) -> Iterable[str]:
    """A person's blocking keys: the name (``n:``), its pinyin syllables in any order and
    however written (``y:``, see :func:`~crmkit.domain.dedup.keys.name_syllable_bags`), the
    birth date and the one a resident card carries (``d:``), the identity number (``i:``)
    and the address's distinctive words (``a:``); phones and e-mails are blocked by their
    own key functions."""
    keys: set[str] = set()
    person = record.get("person")
    if isinstance(person, str):
        keys.add(f"n:{person}")
        # 王建国, Wang Jianguo and Jianguo Wang alike: the sorted syllables.
        keys.update(f"y:{bag}" for bag in name_syllable_bags(person))
    birthday = record.get("birthday")
    if isinstance(birthday, date):
        keys.add(f"d:{birthday.isoformat()}")
    number = record.get("id_number")
    if isinstance(number, str):
        keys.add(f"i:{number}")
        # The card's own date too, when the typed one differs (a slip in either).
        carried = id_birth_date(number)
        if carried is not None:
            keys.add(f"d:{carried.isoformat()}")
    address = record.get("address")
    if isinstance(address, AddressKey):
        keys.update(f"a:{w}" for w in address_words(address))
    return keys


def _name_parts(person: str) -> list[str]:
    # Chinese: the surname (a compound one whole); Latin: each word of two letters or more
    # (the key's words are sorted, so which is the surname is not known).
    if CJK.search(person):
        surname = split_name(person)[0]
        return [surname] if surname else []
    return [w for w in person.split() if len(w) >= 2]


def contact_blocks(record: Record) -> Iterable[str]:
    """A contact's blocking keys within its customer: the name, its pinyin, the birth date
    and each name part (surname, or Latin name word), each prefixed by the customer; and,
    across customers, the name with the birth date. Phones and e-mails are blocked by their
    own key functions.

    Every key holds few contacts however many the customer has (a customer with 500
    contacts has about as many ``张`` as a store has ``张伟``), so a duplicate is always among
    the candidates a check reads: no key is the customer alone.
    """
    keys: set[str] = set()
    person = record.get("person")
    birthday = record.get("birthday")
    day = birthday.isoformat() if isinstance(birthday, date) else None
    if isinstance(person, str) and day is not None:
        keys.add(f"nd:{person}|{day}")
    customer = record.get("customer_id")
    if not isinstance(customer, str):
        return keys
    if isinstance(person, str):
        keys.add(f"cn:{customer}|{person}")
        keys.update(f"cw:{customer}|{w}" for w in _name_parts(person))
        # The same pinyin key as a person's (王建国 / Wang Jianguo), within the customer.
        keys.update(f"cy:{customer}|{bag}" for bag in name_syllable_bags(person))
    if day is not None:
        keys.add(f"cd:{customer}|{day}")
    return keys
