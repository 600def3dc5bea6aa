"""The storage contract against PostgreSQL (CRMKIT_PG_URL), one fresh schema per store.

Skipped with the reason when the server is unreachable, unless CRMKIT_REQUIRE_PG=1.
"""

from __future__ import annotations

import pytest

from crmkit.storage.ports import Store
from crmkit.testing.contract import StoreContract
from tests.contract.conftest import SchemaStore, require_postgres


@pytest.mark.postgres
class TestPostgresStoreContract(StoreContract):
    state_machine_examples = 10
    property_examples = 15

    @pytest.fixture(autouse=True)
    def _needs_postgres(self) -> None:
        require_postgres()

    def make_store(self) -> Store:
        return SchemaStore()
