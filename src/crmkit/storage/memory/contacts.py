"""Contacts in memory: the generic repository of ``CONTACTS`` with the reads only contacts
need (``crmkit.storage.contacts``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crmkit.domain.contact import Contact
from crmkit.storage.catalog import CONTACTS
from crmkit.storage.contacts import ContactReads
from crmkit.storage.memory.entities import MemoryRepository
from crmkit.storage.memory.tables import _Overlay

if TYPE_CHECKING:
    from crmkit.storage.memory.store import MemoryUnitOfWork


class MemoryContacts(ContactReads, MemoryRepository[Contact]):
    """``ContactRepository`` in memory."""

    def __init__(self, uow: MemoryUnitOfWork, rows: _Overlay) -> None:
        super().__init__(uow, CONTACTS, rows)
