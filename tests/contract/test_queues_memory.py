"""The events, outbox and jobs contract against the in-memory store."""

from __future__ import annotations

import pytest

from crmkit.storage.memory import MemoryStore
from crmkit.storage.ports import Store

# Plain asserts in the installed kit explain themselves only when rewritten.
pytest.register_assert_rewrite("crmkit.testing.queue_contract")
from crmkit.testing.queue_contract import QueueContract  # noqa: E402


class TestMemoryQueues(QueueContract):
    def make_store(self) -> Store:
        return MemoryStore()
