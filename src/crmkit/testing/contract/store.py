"""The whole storage contract: every repository contract in one class."""

from __future__ import annotations

from crmkit.testing.contract.audit import AuditRepositoryContract
from crmkit.testing.contract.contacts import ContactRepositoryContract
from crmkit.testing.contract.customers import (
    CustomerListContract,
    CustomerRepositoryContract,
    CustomerSearchContract,
)
from crmkit.testing.contract.dedup import DedupRepositoryContract
from crmkit.testing.contract.imports import ImportRepositoryContract
from crmkit.testing.contract.statemachine import CustomerStateMachineContract
from crmkit.testing.contract.users import UserRepositoryContract


class StoreContract(
    CustomerRepositoryContract,
    CustomerListContract,
    CustomerSearchContract,
    ContactRepositoryContract,
    UserRepositoryContract,
    AuditRepositoryContract,
    DedupRepositoryContract,
    ImportRepositoryContract,
    CustomerStateMachineContract,
):
    """The whole storage contract: every test of every repository contract above."""
