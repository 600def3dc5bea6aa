"""The storage contract against the in-memory store."""

from __future__ import annotations

from crmkit.storage.memory import MemoryStore
from crmkit.storage.ports import Store
from crmkit.testing.contract import StoreContract


class TestMemoryStoreContract(StoreContract):
    def make_store(self) -> Store:
        return MemoryStore()
