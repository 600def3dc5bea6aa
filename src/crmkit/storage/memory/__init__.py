"""The in-memory store: dictionaries behind the storage ports.

It is a real backend (it passes the same contract suite as SQL), meant for tests and for
applications that want a throw-away CRM. A unit of work keeps its writes in an overlay and
applies them on commit under a lock, after re-checking the versions it based them on, so two
units of work behave like two database transactions with optimistic concurrency.
"""

from __future__ import annotations

from crmkit.storage.memory.store import MemoryStore, MemoryUnitOfWork, open_memory_store

__all__ = ["MemoryStore", "MemoryUnitOfWork", "open_memory_store"]
