"""Test doubles and kits for people testing crmkit or building on it.

- :class:`ManualClock` / :class:`TickingClock`: injectable clocks.
- :func:`open_test_crm`: a CRM on any URL with a fast password hasher and a manual clock.
- ``crmkit.testing.contract``: the storage contract suite every backend must pass.
- ``crmkit.testing.statemachine``: a hypothesis state machine that drives a store.
- ``crmkit.testing.strategies``: hypothesis strategies for valid domain input.
"""

from __future__ import annotations

from typing import Any

from crmkit._crm import CRM, open
from crmkit.adapters.passwords import Argon2Hasher
from crmkit.storage.ports import Store
from crmkit.testing.clocks import ManualClock, TickingClock


def store_of(crm: CRM) -> Store:
    """The store under ``crm``, for tests that must look below the services (a claim left
    by a worker that died, rows as a backend keeps them). Applications never need it:
    every change goes through a session's services."""
    return crm._rt.store


def open_test_crm(url: str | Store | None = None, *, clock: Any = None, **options: Any) -> CRM:
    """``crmkit.open`` with test-friendly defaults: cheap argon2id and a ticking clock."""
    options.setdefault("password_hasher", Argon2Hasher.fast())
    return open(url, clock=clock or TickingClock(), **options)


__all__ = ["ManualClock", "TickingClock", "open_test_crm", "store_of"]
