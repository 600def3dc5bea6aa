"""The import's garbage-collector setting is scoped: whatever happens inside, the
process's own thresholds come back."""

from __future__ import annotations

import gc

import pytest

from crmkit.workflows._common import young_collections_only


def test_full_collections_are_held_off_inside_and_the_thresholds_restored_after():
    before = gc.get_threshold()
    with young_collections_only():
        inside = gc.get_threshold()
        assert inside[:2] == before[:2]
        assert inside[2] > before[2]
        with young_collections_only():  # a nested import shares the setting
            assert gc.get_threshold() == inside
        assert gc.get_threshold() == inside  # the outer block still runs
    assert gc.get_threshold() == before


def test_the_thresholds_come_back_when_the_block_fails():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), young_collections_only():
        raise RuntimeError("the import failed")
    assert gc.get_threshold() == before
