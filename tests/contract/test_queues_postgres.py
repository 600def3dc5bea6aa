"""The events, outbox and jobs contract against PostgreSQL, one fresh schema per store.

Skipped with the reason when the server is unreachable, unless CRMKIT_REQUIRE_PG=1.
"""

from __future__ import annotations

import pytest

from crmkit.storage.ports import Store
from crmkit.testing.contract import QueueContract
from tests.contract.conftest import SchemaStore, require_postgres


@pytest.mark.postgres
class TestPostgresQueues(QueueContract):
    @pytest.fixture(autouse=True)
    def _needs_postgres(self) -> None:
        require_postgres()

    def make_store(self) -> Store:
        return SchemaStore()
