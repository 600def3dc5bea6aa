"""What full-text search matches (crmkit.storage.fulltext), the reading every backend's
index agrees with: CJK bigrams, lower-case words, every term required, phrases adjacent."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from crmkit.storage.fulltext import MAX_WORD, Term, grams, matches, parse_query, runs


def test_chinese_is_cut_into_overlapping_bigrams_with_the_last_character_alone():
    assert grams("门锁复位") == ["门锁", "锁复", "复位", "位"]
    assert grams("锁") == ["锁"]


def test_latin_and_digits_are_lower_case_words_after_nfkc():
    assert grams("Smart LOCK，ＬＫ－１００") == ["smart", "lock", "lk", "100"]
    assert grams("智能门锁LK100说明") == ["智能", "能门", "门锁", "锁", "lk100", "说明", "明"]
    assert grams("a" * (MAX_WORD + 5)) == ["a" * MAX_WORD]


def test_punctuation_and_space_cut_runs():
    assert [r.text for r in runs("门锁，复位。Reset!")] == ["门锁", "复位", "reset"]


def test_a_query_is_terms_each_a_phrase_the_last_single_character_by_prefix():
    assert parse_query("门锁 复位") == (Term(("门锁",), False), Term(("复位",), False))
    assert parse_query("锁复位") == (Term(("锁复", "复位"), False),)
    assert parse_query("锁") == (Term(("锁",), True),)
    assert parse_query("LK-1") == (Term(("lk", "1"), True),)
    assert parse_query("门锁LK") == (Term(("门锁", "锁", "lk"), False),)
    assert parse_query("  ") == ()


def test_every_term_must_match():
    doc = "智能门锁如何复位：长按 RESET 键"
    assert matches(doc, "门锁 复位")
    assert matches(doc, "复位 门锁")
    assert not matches(doc, "门锁 电池")
    assert matches(doc, "reset")
    assert not matches(doc, "rese")  # words are whole, but for a one-character last gram
    assert matches(doc, "r")


def test_a_chinese_term_matches_as_a_phrase_not_as_scattered_characters():
    assert matches("门锁复位", "锁复")
    assert not matches("门锁 复位", "锁复")
    assert not matches("复位门锁", "门锁复位")
    assert matches("门锁", "锁")  # the last character of a run, too
    assert not matches("", "锁")
    assert not matches("门锁", "")


_CJK = st.sampled_from(list("门锁复位智能指纹电池更换密码卡丢失"))
_LATIN = st.sampled_from(["lk", "100", "reset", "Lock", "a", "X9"])
_SEP = st.sampled_from(["", " ", "，", "-", "\n"])


@st.composite
def documents(draw: st.DrawFn) -> str:
    """Text of Chinese characters, latin words and separators (a latin word always ends at
    a separator or Chinese, so that cutting at a separator cuts at a word's edge)."""
    parts = draw(st.lists(st.one_of(_CJK, _LATIN.map(lambda w: f" {w} "), _SEP), max_size=25))
    return "".join(parts)


@given(doc=documents(), data=st.data())
def test_a_query_cut_from_a_document_always_finds_it(doc: str, data: st.DataObject):
    # Cut inside Chinese anywhere and elsewhere at word edges (between two characters that
    # are not both letters or digits of one latin word).
    def edge(i: int) -> bool:
        if i in (0, len(doc)):
            return True
        a, b = doc[i - 1], doc[i]
        latin = [c.isalnum() and not ("\u4e00" <= c <= "\u9fff") for c in (a, b)]
        return not all(latin)

    edges = [i for i in range(len(doc) + 1) if edge(i)]
    start = data.draw(st.sampled_from(edges))
    end = data.draw(st.sampled_from([i for i in edges if i >= start]))
    query = doc[start:end]
    if parse_query(query):
        assert matches(doc, query)


@given(doc=documents(), query=documents())
def test_terms_are_independent_and_their_order_does_not_matter(doc: str, query: str):
    terms = query.split()
    assert matches(doc, " ".join(terms)) == matches(doc, " ".join(reversed(terms)))
    real = [t for t in terms if parse_query(t)]  # a term of punctuation alone is no term
    assert matches(doc, " ".join(terms)) == (bool(real) and all(matches(doc, t) for t in real))


@given(doc=documents(), query=documents())
def test_case_and_width_do_not_matter(doc: str, query: str):
    wide = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in query.upper())
    assert matches(doc, query) == matches(doc, wide)


@given(doc=st.text(max_size=40), query=st.text(max_size=10))
def test_any_text_is_tokenised_without_error_and_never_matches_blank(doc: str, query: str):
    grams(doc)
    if not parse_query(query):
        assert not matches(doc, query)
