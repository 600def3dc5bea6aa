"""Users in memory: the generic repository of ``USERS`` and what only users need (logins by
prefix, the reporting tree, credentials)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crmkit.domain.user import Credentials, User
from crmkit.storage.catalog import USERS
from crmkit.storage.memory.entities import MemoryRepository
from crmkit.storage.memory.tables import _Overlay

if TYPE_CHECKING:
    from crmkit.storage.memory.store import MemoryUnitOfWork


class MemoryUsers(MemoryRepository[User]):
    """``UserRepository``: the generic repository plus the reads only users need."""

    def __init__(self, uow: MemoryUnitOfWork, rows: _Overlay) -> None:
        super().__init__(uow, USERS, rows)

    def get_by_login(self, login: str) -> User | None:
        held = [(seq, u) for seq, u in self._rows.rows() if u.login == login]
        # A live holder first: a deleted user's login may have been given out again.
        held.sort(key=lambda r: (r[1].deleted_at is not None, -r[0]))
        return held[0][1] if held else None

    def logins_starting_with(self, prefix: str) -> set[str]:
        return {u.login for _, u in self._rows.rows() if u.login.startswith(prefix)}

    def subordinate_ids(self, manager_id: str) -> frozenset[str]:
        by_manager: dict[str, list[str]] = {}
        for _, u in self._rows.rows():
            if u.manager_id is not None:
                by_manager.setdefault(u.manager_id, []).append(u.id)
        found: set[str] = set()
        todo = [manager_id]
        while todo:
            for child in by_manager.get(todo.pop(), []):
                if child not in found and child != manager_id:
                    found.add(child)
                    todo.append(child)
        return frozenset(found)

    def get_credentials(self, user_id: str) -> Credentials | None:
        if user_id in self._uow._credentials:
            return self._uow._credentials[user_id]
        return self._uow._store._tables.credentials.get(user_id)

    def put_credentials(self, credentials: Credentials) -> None:
        self._uow._credentials[credentials.user_id] = credentials
