"""The generic repository contract, at the path the docs name: it lives in
:mod:`crmkit.testing.contract.entities` (also exported by :mod:`crmkit.testing.contract`)."""

from __future__ import annotations

from crmkit.testing.contract.entities import (
    SPECS,
    TEST_SPECS,
    EntityRepositoryContract,
    all_ids,
    make_entity_state_machine,
)

__all__ = [
    "SPECS",
    "TEST_SPECS",
    "EntityRepositoryContract",
    "all_ids",
    "make_entity_state_machine",
]
