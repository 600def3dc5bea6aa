#!/usr/bin/env python3
"""Set up and run crmkit from a fresh clone with nothing but Python 3.11+.

    python3 dev.py demo    # the main job: the admin panel on demo data, http://127.0.0.1:5000/
    python3 dev.py test    # the whole test suite (PostgreSQL and browser tests skip if absent)
    python3 dev.py lint    # ruff + mypy strict + the layers' import contracts (lint-imports)
    python3 dev.py tour    # a short guided tour of the library in the terminal

The first run creates ``.venv`` and installs crmkit with its development extras; later runs
reinstall only when ``pyproject.toml`` changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")


def ensure_env() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script must run on any python3
        sys.exit(f"crmkit needs Python 3.11 or newer (this is {sys.version.split()[0]})")
    if not PY.exists():
        print("creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = VENV / ".crmkit-installed"
    if stamp.exists() and stamp.read_text() == digest:
        return
    print("installing crmkit and its development dependencies into .venv …", flush=True)
    run([str(PY), "-m", "pip", "install", "-q", "--upgrade", "pip"])
    run([str(PY), "-m", "pip", "install", "-q", "-e", f"{ROOT}[dev,admin]"])
    stamp.write_text(digest)


def run(cmd: list[str]) -> None:
    result = subprocess.run(cmd, cwd=ROOT, check=False)
    if result.returncode:
        sys.exit(result.returncode)


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in {"demo", "test", "lint", "tour"}:
        sys.exit(__doc__)
    ensure_env()
    command, rest = argv[0], argv[1:]
    if command == "test":
        run([str(PY), "-m", "pytest", *rest])
    elif command == "lint":
        run([str(BIN / "ruff"), "check", "src", "tests", "bench", "examples", "admin"])
        run([str(PY), "-m", "mypy"])
        run([str(BIN / "lint-imports"), "--no-logo"])  # contracts: [tool.importlinter]
    elif command == "tour":
        run([str(PY), str(ROOT / "examples" / "tour.py"), *rest])
    else:  # the admin panel lives in admin/ at the root: run it as a module from here
        run([str(PY), "-m", "admin.demo", *rest])


if __name__ == "__main__":
    main(sys.argv[1:])
