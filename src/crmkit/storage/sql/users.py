"""Users in SQL: the generic repository of ``USERS`` and what only users need (logins by
prefix, the reporting tree, credentials)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import insert, select, update

from crmkit.domain.user import Credentials, User
from crmkit.storage.catalog import USERS
from crmkit.storage.sql import rows
from crmkit.storage.sql.entities import SqlRepository
from crmkit.storage.sql.search import like_escape
from crmkit.storage.sql.tables import user_credentials

if TYPE_CHECKING:
    from crmkit.storage.sql.store import SqlUnitOfWork


class SqlUsers(SqlRepository[User]):
    """``UserRepository``: the generic repository plus the reads only users need."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        super().__init__(uow, USERS)

    def get_by_login(self, login: str) -> User | None:
        t = self.table
        # A live holder first: a deleted user's login may have been given out again.
        stmt = (
            self._select()
            .where(t.c.login == login)
            .order_by(t.c.deleted_at.is_not(None), t.c.seq.desc())
            .limit(1)
        )
        found = self._decode(self._conn.execute(stmt).mappings())
        return found[0] if found else None

    def logins_starting_with(self, login_prefix: str) -> set[str]:
        # LIKE rather than a key range: it reads characters, whatever the column's collation.
        pattern = like_escape(login_prefix) + "%"
        login = self.table.c.login
        return set(
            self._conn.execute(select(login).where(login.like(pattern, escape="\\"))).scalars()
        )

    def subordinate_ids(self, manager_id: str) -> frozenset[str]:
        t = self.table
        tree = select(t.c.id).where(t.c.manager_id == manager_id).cte(recursive=True)
        tree = tree.union(select(t.c.id).where(t.c.manager_id == tree.c.id))
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
