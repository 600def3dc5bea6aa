"""Reading rendered admin pages in tests: their text, one element's text, the flashes."""

from __future__ import annotations

import html
import re

TAG = re.compile(r"<[^>]+>")


def text_of(page: str) -> str:
    """The text a person reads, whitespace collapsed."""
    return " ".join(html.unescape(TAG.sub(" ", page)).split())


def part(page: str, id: str, end: str = "</table>") -> str:
    """The text of one element (a table by default) of a page, by its id."""
    start = page.index(f'id="{id}"')
    return text_of(page[start : page.index(end, start)])


def flashes(page: str) -> str:
    """The text of the page's flash messages."""
    return text_of(" ".join(re.findall(r'class="alert[^"]*"[^>]*>(.*?)</div>', page, re.S)))
