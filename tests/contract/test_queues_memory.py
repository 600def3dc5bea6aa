"""The events, outbox and jobs contract against the in-memory store."""

from __future__ import annotations

from crmkit.storage.memory import MemoryStore
from crmkit.storage.ports import Store
from crmkit.testing.contract import QueueContract


class TestMemoryQueues(QueueContract):
    def make_store(self) -> Store:
        return MemoryStore()
