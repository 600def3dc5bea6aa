"""Per-user screen preferences: chosen columns and saved queries.

crmkit has no place for UI preferences (they are not CRM data and carry no audit), so the
app keeps them in one small JSON file in its data directory, written atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from admin import context


class PreferenceStore:
    """``{user id: {screen: {key: value}}}`` in a JSON file (thread-safe)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._data: dict[str, dict[str, dict[str, Any]]] = {}
        if path.exists():
            self._data = json.loads(path.read_text("utf-8"))

    def get(self, user_id: str, screen: str, key: str) -> Any:
        with self._lock:
            return self._data.get(user_id, {}).get(screen, {}).get(key)

    def put(self, user_id: str, screen: str, key: str, value: Any) -> None:
        with self._lock:
            entry = self._data.setdefault(user_id, {}).setdefault(screen, {})
            if value is None:
                entry.pop(key, None)
            else:
                entry[key] = value
            self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(self._data, out, ensure_ascii=False, indent=1)
        os.replace(tmp, self.path)  # readers never see half a file


def init_app(app: Flask, data_dir: Path) -> None:
    app.extensions["crmkit_admin_prefs"] = PreferenceStore(data_dir / "preferences.json")


def _store() -> PreferenceStore:
    found: PreferenceStore = current_app.extensions["crmkit_admin_prefs"]
    return found


def get(screen: str, key: str) -> Any:
    """The logged-in user's preference ``key`` on ``screen`` (``None`` if unset)."""
    return _store().get(context.current_user().id, screen, key)


def put(screen: str, key: str, value: Any) -> None:
    """Set (or with ``None`` clear) the logged-in user's preference."""
    _store().put(context.current_user().id, screen, key, value)
