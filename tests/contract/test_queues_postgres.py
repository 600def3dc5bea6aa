"""The events, outbox and jobs contract against PostgreSQL, one fresh schema per store.

Skipped with the reason when the server is unreachable, unless CRMKIT_REQUIRE_PG=1.
"""

from __future__ import annotations

import pytest

from crmkit.storage.ports import Store
from tests.contract.conftest import SchemaStore, require_postgres

# Plain asserts in the installed kit explain themselves only when rewritten.
pytest.register_assert_rewrite("crmkit.testing.queue_contract")
from crmkit.testing.queue_contract import QueueContract  # noqa: E402


@pytest.mark.postgres
class TestPostgresQueues(QueueContract):
    @pytest.fixture(autouse=True)
    def _needs_postgres(self) -> None:
        require_postgres()

    def make_store(self) -> Store:
        return SchemaStore()
