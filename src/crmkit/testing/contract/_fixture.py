"""The base of every contract class: a backend provides ``make_store``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from crmkit.storage.ports import Store


class StoreFixture:
    """The one thing a backend provides: ``make_store``."""

    state_machine_examples = 25
    state_machine_steps = 20
    property_examples = 25

    def make_store(self) -> Store:
        """Return a fresh, empty store. Subclasses must override this."""
        raise NotImplementedError(f"{type(self).__name__} must implement make_store()")

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        store = self.make_store()
        try:
            yield store
        finally:
            store.close()

    def _settings(self, examples: int | None = None) -> settings:
        return settings(
            max_examples=examples or self.property_examples,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
