"""The README's and docs' Python examples run, in order, one namespace per page.

A fenced block that starts with ``python`` runs; one written as ``python title="…"`` or with
a first line ``# not run`` is shown only (e.g. a PostgreSQL URL a reader substitutes).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.S | re.M)


def blocks(page: Path) -> list[str]:
    return [b for b in BLOCK.findall(page.read_text("utf-8")) if not b.startswith("# not run")]


@pytest.mark.parametrize(
    "page", [p for p in PAGES if blocks(p)], ids=lambda p: str(p.relative_to(ROOT))
)
def test_page_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # examples may create crm.db and other files
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for i, code in enumerate(blocks(page)):
        try:
            # dont_inherit: run as a reader would, without this module's __future__ import
            # (postponed annotations would hide an example class's types from crmkit).
            exec(compile(code, f"{page.name}[block {i}]", "exec", dont_inherit=True), namespace)
        except Exception as exc:  # re-raise with the block that failed
            raise AssertionError(f"{page.name} block {i} failed: {exc!r}\n{code}") from exc
    closer = namespace.get("crm")
    if closer is not None and hasattr(closer, "close"):
        closer.close()


def test_the_docs_site_builds_without_warnings(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
