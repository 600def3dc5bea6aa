"""Pinyin for names: login derivation, initials and the 百家姓 (by-surname) index.

pypinyin reads characters by their most common pronunciation; several surnames are read
differently (单 shàn, 曾 zēng, 区 ōu, 朴 piáo …), so the surname position uses an override
table, and compound surnames (欧阳, 司马 …) are recognised as one surname.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Final

from pypinyin import Style, lazy_pinyin

SURNAME_READINGS: Final[Mapping[str, str]] = {
    "单": "shan",
    "曾": "zeng",
    "区": "ou",
    "朴": "piao",
    "解": "xie",
    "仇": "qiu",
    "查": "zha",
    "盖": "ge",
    "乐": "yue",
    "覃": "qin",
    "翟": "zhai",
    "种": "chong",
    "秘": "bi",
    "缪": "miao",
    "繁": "po",
    "员": "yun",
    "褚": "chu",
    "宓": "mi",
    "尉迟": "yuchi",
    "万俟": "moqi",
    "长孙": "zhangsun",
    "令狐": "linghu",
    "单于": "chanyu",
    "沈": "shen",
    "柏": "bai",
    "贾": "jia",
    "华": "hua",
    "任": "ren",
    "纪": "ji",
    "燕": "yan",
    "过": "guo",
    "尉": "yu",
    "藏": "zang",
    "阚": "kan",
    "冼": "xian",
    "说": "yue",
    "能": "nai",
    "黑": "he",
    "句": "gou",
    "隗": "wei",
    "谌": "chen",
    "厍": "she",
    "召": "shao",
    "訾": "zi",
    "郇": "huan",
    "相": "xiang",
    "长": "chang",
}

COMPOUND_SURNAMES: Final[frozenset[str]] = frozenset(
    [
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "夏侯",
        "轩辕",
        "令狐",
        "钟离",
        "闾丘",
        "端木",
        "澹台",
        "万俟",
        "申屠",
        "南宫",
        "西门",
        "独孤",
        "呼延",
        "公冶",
        "太史",
        "淳于",
        "单于",
        "赫连",
        "司空",
        "百里",
        "东郭",
        "拓跋",
        "完颜",
        "第五",
        "羊舌",
        "微生",
        "梁丘",
        "左丘",
        "东门",
        "子车",
        "乐正",
        "壤驷",
        "公良",
        "谷梁",
        "宰父",
        "濮阳",
        "漆雕",
    ]
)

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
LOGIN_MAX = 32


def _is_chinese(name: str) -> bool:
    return bool(_CJK.search(name))


def split_name(name: str) -> tuple[str, str]:
    """(surname, given name). Chinese: a compound surname or the first character; Latin:
    the last word is the surname."""
    name = name.strip()
    if not name:
        return "", ""
    if _is_chinese(name):
        if "·" in name:  # 阿沛·阿旺晋美: the part before the dot leads
            head, _, rest = name.partition("·")
            return head, rest
        if name[:2] in COMPOUND_SURNAMES and len(name) > 2:
            return name[:2], name[2:]
        return name[0], name[1:]
    words = name.split()
    if len(words) == 1:
        return words[0], ""
    return words[-1], " ".join(words[:-1])


def _ascii(s: str) -> str:
    s = s.replace("ü", "v").replace("ǖ", "v").replace("ǘ", "v").replace("ǚ", "v")
    s = unicodedata.normalize("NFKD", s)
    return "".join(ch for ch in s if ch.isascii() and ch.isalnum()).lower()


def name_syllables(name: str) -> list[str]:
    """Full pinyin per character; the surname position uses the surname reading."""
    if not _is_chinese(name):
        return [w for w in (_ascii(w) for w in name.split()) if w]
    name = name.replace("·", "")
    surname, given = split_name(name)
    out: list[str] = []
    if surname in SURNAME_READINGS and len(surname) == 2:
        out.append(SURNAME_READINGS[surname])
    elif surname:
        for ch in surname:
            out.append(SURNAME_READINGS.get(ch) or _ascii(lazy_pinyin(ch, style=Style.NORMAL)[0]))
    out.extend(_ascii(p) for p in lazy_pinyin(given, style=Style.NORMAL) if _ascii(p))
    return [s for s in out if s]


def initials(name: str) -> str:
    """The first letters of each syllable: 李小明 → lxm."""
    if _is_chinese(name):
        surname, given = split_name(name.replace("·", ""))
        letters = [
            SURNAME_READINGS.get(surname, "")[:1]
            or _ascii("".join(lazy_pinyin(surname, style=Style.FIRST_LETTER)))
        ]
        letters += [_ascii(p) for p in lazy_pinyin(given, style=Style.FIRST_LETTER)]
        return "".join(letters)
    return "".join(w[0].lower() for w in re.findall(r"[A-Za-z]+", name))


def surname_initial(name: str) -> str:
    """The 百家姓 index letter A–Z of a name's surname, or ``#``."""
    surname, _ = split_name(name)
    if not surname:
        return "#"
    if _is_chinese(surname):
        reading = SURNAME_READINGS.get(surname) or SURNAME_READINGS.get(surname[0])
        letter = reading[0] if reading else _ascii(lazy_pinyin(surname[0])[0])[:1]
    else:
        letter = _ascii(surname)[:1]
    return letter.upper() if letter and letter.isalpha() else "#"


def derive_login(name: str) -> str:
    """The seed manuals' login rule.

    A two-character name gives its full pinyin (张三 → zhangsan, 曾平 → zengping); three or
    more characters give the first character's full pinyin plus the initials of the rest
    (李小明 → lixm, 欧阳修 → ouyx — the rule counts characters, so a compound surname's second
    character contributes its initial); one character gives its pinyin; Latin names keep
    their letters and digits (John Smith → johnsmith). Numbering clashes is the caller's job.
    """
    if _is_chinese(name):
        chars = [ch for ch in name if _CJK.match(ch)]
        syllables = name_syllables("".join(chars))
        if len(chars) <= 2:
            login = "".join(syllables)
        else:
            first = SURNAME_READINGS.get(chars[0]) or _ascii(lazy_pinyin(chars[0])[0])
            rest = [_ascii(p)[:1] for p in lazy_pinyin("".join(chars[1:]))]
            login = first + "".join(rest)
    else:
        login = _ascii(name)
    login = login[:LOGIN_MAX]
    if not login or not login[0].isalpha():
        login = "user" + login if login else "user"
    return login[:LOGIN_MAX]
