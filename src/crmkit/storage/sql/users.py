"""Users and their credentials in SQL: ``UserRepository``."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from crmkit.domain.errors import FieldError, ValidationError
from crmkit.domain.user import Credentials, User
from crmkit.storage.ports import Page, UserQuery
from crmkit.storage.sql import rows
from crmkit.storage.sql.clauses import deleted_clause
from crmkit.storage.sql.common import cas_update, page, raise_taken
from crmkit.storage.sql.search import like_escape, prefix
from crmkit.storage.sql.tables import user_credentials, users

if TYPE_CHECKING:
    from crmkit.storage.sql.store import SqlUnitOfWork


def _login_taken(login: str) -> ValidationError:
    return ValidationError([FieldError("login", "user.login_taken", login)])


class SqlUsers:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self._conn = uow.conn

    def add(self, user: User) -> None:
        # A unique login is checked by the workflow first; the constraint catches a race.
        try:
            with self._conn.begin_nested():
                self._conn.execute(insert(users).values(**rows.user_row(user)))
        except IntegrityError as exc:
            self._explain(user, exc)

    def get(self, id: str) -> User | None:
        row = self._conn.execute(select(users).where(users.c.id == id)).first()
        return rows.user_from_row(row._mapping) if row else None

    def get_by_login(self, login: str) -> User | None:
        row = self._conn.execute(select(users).where(users.c.login == login)).first()
        return rows.user_from_row(row._mapping) if row else None

    def update(self, user: User, expected_version: int) -> None:
        try:
            with self._conn.begin_nested():
                cas_update(self._uow, users, "user", rows.user_row(user), expected_version)
        except IntegrityError as exc:
            self._explain(user, exc)

    def _explain(self, user: User, exc: IntegrityError) -> NoReturn:
        """Translate a constraint violation on users (httpx's ``map_exceptions`` habit)."""
        holder = self._conn.execute(select(users.c.id).where(users.c.login == user.login)).scalar()
        if holder is not None and holder != user.id:
            raise _login_taken(user.login) from exc
        raise_taken(self._conn, users, "user", [user.id], exc)

    def list(self, query: UserQuery, *, after: str | None, limit: int) -> Page[User]:
        stmt = select(users)
        clause = deleted_clause(users.c.deleted_at, query.deleted)
        if clause is not None:
            stmt = stmt.where(clause)
        if query.role is not None:
            stmt = stmt.where(users.c.role == query.role.value)
        if query.manager_id is not None:
            stmt = stmt.where(users.c.manager_id == query.manager_id)
        if query.active is not None:
            stmt = stmt.where(users.c.active == query.active)
        if query.text:
            q = f"%{like_escape(query.text.casefold())}%"
            stmt = stmt.where(
                or_(
                    func.lower(users.c.name).like(q, escape="\\"),
                    users.c.login.like(q, escape="\\"),
                )
            )
        return page(self._conn, stmt, users.c.seq, after, limit, False, rows.user_from_row)

    def count(self) -> int:
        return int(self._conn.execute(select(func.count()).select_from(users)).scalar_one())

    def logins_starting_with(self, login_prefix: str) -> set[str]:
        return set(
            self._conn.execute(
                select(users.c.login).where(prefix(users.c.login, login_prefix))
            ).scalars()
        )

    def subordinate_ids(self, manager_id: str) -> frozenset[str]:
        tree = select(users.c.id).where(users.c.manager_id == manager_id).cte(recursive=True)
        tree = tree.union(select(users.c.id).where(users.c.manager_id == tree.c.id))
        found = set(self._conn.execute(select(tree.c.id)).scalars())
        found.discard(manager_id)
        return frozenset(found)

    def get_credentials(self, user_id: str) -> Credentials | None:
        row = self._conn.execute(
            select(user_credentials).where(user_credentials.c.user_id == user_id)
        ).first()
        return rows.credentials_from_row(row._mapping) if row else None

    def put_credentials(self, credentials: Credentials) -> None:
        values = rows.credentials_row(credentials)
        done = self._conn.execute(
            update(user_credentials)
            .where(user_credentials.c.user_id == credentials.user_id)
            .values(**values)
        )
        if done.rowcount == 0:
            self._conn.execute(insert(user_credentials).values(**values))
