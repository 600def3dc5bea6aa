"""The public face: ``crmkit.__all__`` is complete and importable; doctests run."""

from __future__ import annotations

import doctest

import crmkit
import crmkit.testing.clocks


def test_all_lists_each_public_name_once_and_every_name_exists():
    # Its order is ruff's (RUF022, isort-style), checked by the linter.
    assert len(set(crmkit.__all__)) == len(crmkit.__all__)
    public = {n for n in dir(crmkit) if not n.startswith("_") and n[0].isupper()}
    assert public <= set(crmkit.__all__)
    for name in crmkit.__all__:
        assert hasattr(crmkit, name), name


def test_every_error_class_is_exported():
    for name in (
        "CRMError",
        "ValidationError",
        "DuplicateError",
        "PermissionDenied",
        "NotFound",
        "ConcurrencyError",
        "WorkflowError",
    ):
        assert issubclass(getattr(crmkit, name), crmkit.CRMError)


def test_docstring_examples_run():
    for module in (crmkit, crmkit.testing.clocks):
        result = doctest.testmod(module)
        assert result.attempted > 0
        assert result.failed == 0
