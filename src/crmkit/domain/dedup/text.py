"""The comparison form of text, and the word lists that name parsing reads.

Folding makes two spellings of one text equal: NFKC (full-width → half-width), case
folding, traditional characters as simplified (OpenCC ``t2s``: 華瑞貿易 → 华瑞贸易, 青島 →
青岛), one kind of bracket, no punctuation or spacing except one space between Latin words.

The word lists (legal forms, industry and branch words, forms of address …) are data, not
code: one file each in ``data/``, read on first use and kept.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from importlib.resources import files
from typing import TypeVar

import opencc

P = TypeVar("P")

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")
_BRACKETS = str.maketrans(
    {
        **dict.fromkeys("(（[［【〔〖{｛《〈<", "("),
        **dict.fromkeys(")）]］】〕〗}｝》〉>", ")"),
        # Apostrophes join rather than split words: "McDonald's" is one word.
        "'": "",
        "’": "",
    }
)
_GROUP = re.compile(r"\(([^()]*)\)")


# -- word lists -----------------------------------------------------------------------------
@functools.cache
def word_list(name: str) -> tuple[str, ...]:
    """The words of ``data/<name>.txt`` in file order (``#`` starts a comment line)."""
    text = files("crmkit.domain.dedup").joinpath(f"data/{name}.txt").read_text("utf-8")
    return tuple(
        word for line in text.splitlines() if not line.startswith("#") for word in line.split()
    )


@functools.cache
def word_map(name: str) -> dict[str, str]:
    """``data/<name>.txt`` read as lines of ``written normalised``, in file order."""
    pairs = word_list(name)
    return dict(zip(pairs[::2], pairs[1::2], strict=True))


# -- folding --------------------------------------------------------------------------------
@functools.cache
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """Traditional Chinese characters as simplified ones (OpenCC ``t2s``, by phrase);
    text without Chinese characters is returned as it is."""
    return _t2s().convert(text) if CJK.search(text) else text


def casefold(text: str) -> str:
    """NFKC, case-folded, traditional characters simplified, brackets unified to ``()``,
    apostrophes dropped."""
    # NFKC, case folding and t2s each can undo another's normal form (ﬁ, ß …); repeat
    # until stable so the result is a fixed point, which keys must be.
    for _ in range(4):
        folded = simplified(
            unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
        )
        if folded == text:
            break
        text = folded
    return text.translate(_BRACKETS)


def is_latin(ch: str) -> bool:
    return ch.isalnum() and not CJK.match(ch)


def squash(text: str, keep: str = "") -> str:
    """Letters and digits only; a space survives only between two Latin words."""
    out: list[str] = []
    gap = False
    for ch in text:
        if ch.isalnum() or ch in keep:
            if gap and out and is_latin(out[-1]) and is_latin(ch):
                out.append(" ")
            gap = False
            out.append(ch)
        else:
            gap = True
    return "".join(out)


def fold_text(text: str) -> str:
    """The comparison form of free text: NFKC, case-folded, brackets unified to ``()``,
    punctuation and spacing dropped except one space between Latin words.

    Args:
        text: any text (a name, an address).

    Returns:
        The folded text; ``fold_text(fold_text(t)) == fold_text(t)``.
    """
    for _ in range(4):
        folded = squash(casefold(text), keep="()")
        if folded == text:
            break
        text = folded
    return text


def without_groups(text: str, classify: Callable[[str, P], str], parts: P, sep: str = "") -> str:
    """``text`` with each bracket group replaced by what ``classify`` keeps of it (it sets
    aside the rest in ``parts``)."""
    # Innermost brackets first; a stray bracket left over is just punctuation. In Latin
    # script a bracket also separates words (``sep=" "``): "a()b" and "a:()b" are both the
    # two words a, b, whether or not folding dropped the punctuation before the bracket.
    while True:
        replaced = _GROUP.sub(lambda m: sep + classify(squash(m.group(1)), parts) + sep, text)
        if replaced == text:
            break
        text = replaced
    return text.replace("(", " ").replace(")", " ")
