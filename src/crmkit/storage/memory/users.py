"""Users and their credentials in memory: ``UserRepository``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crmkit.domain.errors import FieldError, ValidationError
from crmkit.domain.user import Credentials, User
from crmkit.storage.memory.tables import _deleted_ok, _insert, _page, _versioned_update
from crmkit.storage.ports import Page, UserQuery

if TYPE_CHECKING:
    from crmkit.storage.memory.store import MemoryUnitOfWork


class _MemoryUsers:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._rows = uow._users

    def add(self, user: User) -> None:
        if self.get_by_login(user.login) is not None:
            raise ValidationError([FieldError("login", "user.login_taken", user.login)])
        _insert(self._uow, self._rows, "user", user)

    def get(self, id: str) -> User | None:
        user: User | None = self._rows.current(id)
        return user

    def get_by_login(self, login: str) -> User | None:
        return next((u for _, u in self._rows.rows() if u.login == login), None)

    def update(self, user: User, expected_version: int) -> None:
        other = self.get_by_login(user.login)
        if other is not None and other.id != user.id:
            raise ValidationError([FieldError("login", "user.login_taken", user.login)])
        _versioned_update(self._rows, "user", user, expected_version)

    def list(self, query: UserQuery, *, after: str | None, limit: int) -> Page[User]:
        text = query.text.casefold() if query.text else None

        def ok(u: User) -> bool:
            return (
                _deleted_ok(u.deleted_at, query.deleted)
                and (query.role is None or u.role == query.role)
                and (query.manager_id is None or u.manager_id == query.manager_id)
                and (query.active is None or u.active == query.active)
                and (text is None or text in u.name.casefold() or text in u.login)
            )

        return _page([r for r in self._rows.rows() if ok(r[1])], after, limit, descending=False)

    def count(self) -> int:
        return sum(1 for _ in self._rows.rows())

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
