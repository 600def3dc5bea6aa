"""Preparing import rows ahead of the session, in worker processes.

An import's rows go through two halves (see :mod:`crmkit.domain.intake`): the pure half
(parse, check, build, match record, blocking keys) costs about as much as the other (owner
and reference checks, duplicates in the store, writes). :class:`RowPreparer` runs the pure
half of the next batches in worker processes while the session works on the current one,
so a large import uses a second core. Small imports, and settings that cannot be sent to
another process (a matcher configuration with a lambda, say), are prepared in the
session's process, with the same functions and the same results.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from crmkit.domain.intake import PreparedRow, PrepareSettings, prepare_rows

T = TypeVar("T")
Inputs = list[tuple[int, Mapping[str, Any], Mapping[str, Any]]]

# Below this many rows a pool costs more to start (≈0.3 s) than it saves.
POOL_MIN_ROWS = 4000


def default_workers() -> int:
    """One fewer than the CPUs this process may use, at least one."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, cpus - 1)


def _context() -> Any:
    # forkserver: workers start from a clean process that imported only the domain, never
    # from a copy of the caller's threads and open database connections (what fork does).
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["crmkit.domain.intake"])
        return ctx
    return multiprocessing.get_context("spawn")


class RowPreparer:
    """Prepares batches of rows in order, up to ``workers`` batches ahead of the caller.

    Use as a context manager; :meth:`map` yields each batch with its prepared rows.
    """

    def __init__(self, workers: int, rows: int | None) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._ahead = workers
        if workers >= 1 and rows is not None and rows >= POOL_MIN_ROWS:
            self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=_context())

    def __enter__(self) -> RowPreparer:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def map(
        self,
        batches: Iterable[tuple[T, Inputs]],
        settings: Callable[[], PrepareSettings],
    ) -> Iterator[tuple[T, list[PreparedRow]]]:
        """``(batch, prepare_rows(settings(), inputs))`` for each ``(batch, inputs)``, in
        order; ``settings`` is asked once per batch (its clock reading stamps the batch)."""
        pool = self._pool
        if pool is not None:
            first = settings()
            try:
                pickle.dumps(first)
            except Exception:
                pool = None
        if pool is None:
            for batch, inputs in batches:
                yield batch, prepare_rows(settings(), inputs)
            return
        pending: deque[tuple[T, PrepareSettings, Inputs, Future[list[PreparedRow]]]] = deque()

        def result() -> tuple[T, list[PreparedRow]]:
            nonlocal pool
            batch, when, inputs, future = pending.popleft()
            if pool is not None:
                try:
                    return batch, future.result()
                except BrokenProcessPool:
                    # A worker died (killed, out of memory): finish in this process.
                    pool = None
            return batch, prepare_rows(when, inputs)

        for batch, inputs in batches:
            when = settings()
            future: Future[list[PreparedRow]] = Future()
            if pool is not None:
                try:
                    future = pool.submit(prepare_rows, when, inputs)
                except BrokenProcessPool:
                    pool = None
            pending.append((batch, when, inputs, future))
            if len(pending) > self._ahead:
                yield result()
        while pending:
            yield result()
