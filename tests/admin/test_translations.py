"""The 简体中文 catalog covers every text of the app, and the compiled .mo matches the .po."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ADMIN = Path(__file__).resolve().parents[2] / "admin"
CATALOG = ADMIN / "translations" / "zh_Hans_CN" / "LC_MESSAGES"
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}


def source_texts() -> set[str]:
    methods = [("**.py", "python"), ("templates/**.html", "jinja2")]
    return {
        message
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            str(ADMIN), methods, keywords=KEYWORDS
        )
        if isinstance(message, str)
    }


def test_every_text_in_the_app_has_a_chinese_translation() -> None:
    with (CATALOG / "messages.po").open("rb") as f:
        catalog = read_po(f)
    missing = sorted(t for t in source_texts() if not (catalog.get(t) and catalog[t].string))
    assert not missing, f"add these to {CATALOG / 'messages.po'}: {missing}"


def test_the_compiled_catalog_matches_its_source() -> None:
    with (CATALOG / "messages.po").open("rb") as f:
        po = {m.id: m.string for m in read_po(f) if m.id}
    with (CATALOG / "messages.mo").open("rb") as f:
        mo = {m.id: m.string for m in read_mo(f) if m.id}
    assert po == mo, "run: .venv/bin/pybabel compile -d admin/translations"
