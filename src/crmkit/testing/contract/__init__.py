"""The storage contract: what every backend must do, as a pytest suite.

Subclass a contract in a test module, name the subclass ``Test…`` and implement
``make_store``; pytest then runs every inherited test against your backend::

    import pytest
    from crmkit.testing.contract import StoreContract

    class TestMyStore(StoreContract):
        def make_store(self):
            return MyStore("my://test")   # a fresh, empty store for every test

:class:`StoreContract` is everything. Its parts can be used alone, for a backend that is
built repository by repository: :class:`CustomerRepositoryContract`,
:class:`CustomerListContract`, :class:`CustomerSearchContract`,
:class:`ContactRepositoryContract`, :class:`UserRepositoryContract`,
:class:`AuditRepositoryContract`, :class:`DedupRepositoryContract` (the duplicate index and
its key locks), :class:`ImportRepositoryContract` and
:class:`CustomerStateMachineContract` (the hypothesis state machine of
:mod:`crmkit.testing.statemachine`).

Co-ownership requests, products and every later entity are kernel entities: the generic
:class:`EntityRepositoryContract` covers them.

Semantics the ports leave implicit, stated here and tested below:

- Customer and audit lists are *newest first*: in the reverse of the order rows were added.
  Tests always add rows in ``created_at`` order, so ordering by ``created_at`` (with a
  unique tie-breaker) satisfies the contract too.
- A page never holds more than ``limit`` items; ``next_after`` is ``None`` exactly on the
  last page, and a page is empty only when nothing matches. Rows added while a caller pages
  are not shown twice, and rows that matched before paging began are not skipped.
- ``created_from`` is inclusive and ``created_to`` exclusive (the half-open interval
  ``[created_from, created_to)``); audit ``since``/``until`` likewise. ``deleted_before``
  selects records deleted strictly before it (live records never match it).
- ``region`` is a GB/T 2260 code; a province code (``370000``) matches every customer in
  that province, a city code (``370200``) every customer in that city, a district code that
  district only.
- Text search follows :mod:`crmkit.storage.textsearch`.
- A duplicate login raises ``ValidationError`` naming ``login`` from ``add`` or at the
  latest from ``commit``.

Class attributes tune the cost per backend: ``state_machine_examples`` and
``state_machine_steps`` (the state machine), ``property_examples`` (other property tests).

The package holds one module per port (``customers``, ``contacts``, ``users``, ``audit``,
``dedup``, ``imports``, ``statemachine``; ``store`` joins them) and the suites
beside the storage contract, re-exported here: :class:`EntityRepositoryContract`
(``uow.repo(spec)`` for every entity spec, :mod:`crmkit.testing.contract.entities`),
:class:`QueueContract` (events, outbox and jobs, :mod:`crmkit.testing.contract.queues`) and
:class:`NotifierContract` (notification adapters, :mod:`crmkit.testing.contract.notifiers`).
"""

from __future__ import annotations

from crmkit.testing.contract._common import add_customers, all_pages
from crmkit.testing.contract.audit import AuditRepositoryContract
from crmkit.testing.contract.contacts import ContactRepositoryContract
from crmkit.testing.contract.customers import (
    CustomerListContract,
    CustomerRepositoryContract,
    CustomerSearchContract,
)
from crmkit.testing.contract.dedup import DedupRepositoryContract
from crmkit.testing.contract.entities import EntityRepositoryContract
from crmkit.testing.contract.imports import ImportRepositoryContract
from crmkit.testing.contract.notifiers import NotifierContract
from crmkit.testing.contract.queues import (
    EventRepositoryContract,
    JobRepositoryContract,
    OutboxRepositoryContract,
    QueueContract,
)
from crmkit.testing.contract.statemachine import CustomerStateMachineContract
from crmkit.testing.contract.store import StoreContract
from crmkit.testing.contract.users import UserRepositoryContract

__all__ = [
    "AuditRepositoryContract",
    "ContactRepositoryContract",
    "CustomerListContract",
    "CustomerRepositoryContract",
    "CustomerSearchContract",
    "CustomerStateMachineContract",
    "DedupRepositoryContract",
    "EntityRepositoryContract",
    "EventRepositoryContract",
    "ImportRepositoryContract",
    "JobRepositoryContract",
    "NotifierContract",
    "OutboxRepositoryContract",
    "QueueContract",
    "StoreContract",
    "UserRepositoryContract",
    "add_customers",
    "all_pages",
]
