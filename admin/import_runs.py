"""Imports running in the background, and how far each has got.

The import's run POST hands the work to a thread (which opens its own crmkit session as the
same user) and answers at once; the progress page polls this registry. Each run is keyed by
the upload token and owned by the user who started it: :meth:`ImportRuns.get` shows it to
nobody else. One process serves the reference app, so the registry lives in its memory (as
the login sessions do); an app with several workers would keep progress in a shared store.

Tests wait for a run with :meth:`ImportRuns.join` instead of sleeping.
"""

from __future__ import annotations

import enum
import logging
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path

import attrs
from flask import Flask, current_app, flash, request
from flask_babel import gettext as _

import crmkit
from admin import context
from admin.i18n import Lang

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
#: the work of a run: called in its thread with a progress callback; returns the job id
Body = Callable[[Progress], str | None]

KEEP_FINISHED = 3600.0  # seconds a finished run's outcome stays readable
_CREATE_LOCK = threading.Lock()


class RunState(enum.StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


@attrs.frozen
class Run:
    """A snapshot of one run: who started it, rows done of how many, and how it ended.

    ``total`` is ``None`` until the first batch is done; ``error`` is crmkit's message (in
    the language of the request that started the run) or ``None`` for an unexpected fault.
    """

    token: str
    owner_id: str
    state: RunState = RunState.RUNNING
    done: int = 0
    total: int | None = None
    job_id: str | None = None
    error: str | None = None
    ended: float | None = None

    @property
    def percent(self) -> int:
        if self.state is RunState.FINISHED:
            return 100
        if not self.total:
            return 0
        return min(100, self.done * 100 // self.total)


class ImportRuns:
    """The app's runs by token (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, Run] = {}
        self._threads: dict[str, threading.Thread] = {}

    def start(self, token: str, owner_id: str, lang: Lang, body: Body) -> bool:
        """Run ``body`` in a new thread with crmkit's language set to ``lang``.

        Returns False (and starts nothing) while a run of ``token`` is still going.
        """
        with self._lock:
            current = self._runs.get(token)
            if current is not None and current.state is RunState.RUNNING:
                return False
            self._prune()
            self._runs[token] = Run(token, owner_id)
            thread = threading.Thread(
                target=self._main, args=(token, lang, body), name=f"import-{token}", daemon=True
            )
            self._threads[token] = thread
        thread.start()
        return True

    def get(self, token: str, owner_id: str) -> Run | None:
        """The run of ``token`` if ``owner_id`` started it (else ``None``, as if absent)."""
        with self._lock:
            run = self._runs.get(token)
        return run if run is not None and run.owner_id == owner_id else None

    def join(self, token: str | None = None, timeout: float | None = None) -> bool:
        """Wait for the run of ``token`` (every run if ``None``); True if none is left
        running."""
        with self._lock:
            threads = [t for k, t in self._threads.items() if token is None or k == token]
        for thread in threads:
            thread.join(timeout)
        return not any(t.is_alive() for t in threads)

    # -- the thread ----------------------------------------------------------------------
    def _main(self, token: str, lang: Lang, body: Body) -> None:
        crmkit.set_language(lang)  # this thread's own context: the request's language
        try:
            job_id = body(lambda done, total: self._set(token, done=done, total=total))
        except crmkit.CRMError as exc:
            self._set(token, state=RunState.FAILED, error=str(exc), ended=time.monotonic())
        except Exception:
            log.exception("import %s failed", token)
            self._set(token, state=RunState.FAILED, ended=time.monotonic())
        else:
            self._set(token, state=RunState.FINISHED, job_id=job_id, ended=time.monotonic())

    def _set(self, token: str, **changes: object) -> None:
        with self._lock:
            run = self._runs.get(token)
            if run is not None:
                self._runs[token] = attrs.evolve(run, **changes)  # type: ignore[arg-type]

    def _prune(self) -> None:
        """Forget runs that ended long ago (called with the lock held)."""
        now = time.monotonic()
        for token, run in list(self._runs.items()):
            if run.ended is not None and now - run.ended > KEEP_FINISHED:
                del self._runs[token]
                self._threads.pop(token, None)


def runs(app: Flask | None = None) -> ImportRuns:
    """The app's :class:`ImportRuns` (made on first use)."""
    target = app if app is not None else current_app
    with _CREATE_LOCK:
        found = target.extensions.get("crmkit_admin_imports")
        if found is None:
            found = target.extensions["crmkit_admin_imports"] = ImportRuns()
    return found


UPLOAD_SUFFIXES = frozenset({".csv", ".xlsx"})


def save_upload(prefix: str) -> tuple[str, Path, str] | None:
    """Keep the request's uploaded CSV or XLSX under a fresh token: ``(token, path, the
    file's own name)``; None, with a message for the user, when there is no such file."""
    file = request.files.get("file")
    suffix = Path(file.filename or "").suffix.lower() if file else ""
    if file is None or suffix not in UPLOAD_SUFFIXES:
        flash(_("Choose a CSV or XLSX file."), "error")
        return None
    token = secrets.token_urlsafe(12)
    path = context.scratch_dir() / f"{prefix}{token}{suffix}"
    file.save(path)
    file.close()  # a large upload is spooled to a temporary file: let it go now
    return token, path, file.filename or ""
