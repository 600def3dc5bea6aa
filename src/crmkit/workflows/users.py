"""User use cases: accounts, roles, reporting lines, passwords, lockout."""

from __future__ import annotations

import builtins
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import attrs

from crmkit.domain import events as ev
from crmkit.domain.audit import AuditAction, AuditEntry, diff, snapshot
from crmkit.domain.errors import (
    AuthenticationError,
    ConcurrencyError,
    FieldErrors,
    NotFound,
    PermissionDenied,
)
from crmkit.domain.pinyin import derive_login
from crmkit.domain.user import Credentials, Role, User, next_free_login, parse_user_input
from crmkit.storage.ports import Deleted, Page, UnitOfWork, UserQuery
from crmkit.workflows._common import DELETED_MODES, page_limit
from crmkit.workflows.context import SYSTEM, Permission
from crmkit.workflows.dispatch import deliver, stored_event
from crmkit.workflows.session import new_id

if TYPE_CHECKING:
    from crmkit.workflows.runtime import Runtime
    from crmkit.workflows.session import Session


class UserService:
    """``session.users``. Anyone may read users (owners are shown by name); only admins
    manage them; everyone may change their own password."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def get(self, id: str, *, include_deleted: bool = False) -> User:
        user = self._s._uow.users.get(id)
        if user is None or (user.is_deleted and not include_deleted):
            raise NotFound("user", id)
        return user

    def get_by_login(self, login: str) -> User:
        user = self._s._uow.users.get_by_login(login.strip().lower())
        if user is None or user.is_deleted:
            raise NotFound("user", login)
        return user

    def list(
        self,
        *,
        role: Role | str | None = None,
        manager_id: str | None = None,
        active: bool | None = None,
        q: str | None = None,
        deleted: str = Deleted.EXCLUDE,
        after: str | None = None,
        limit: int = 50,
    ) -> Page[User]:
        """A keyset page of users, oldest first."""
        errors = FieldErrors()
        if deleted not in DELETED_MODES:
            errors.add("deleted", "invalid_choice", deleted, choices=", ".join(DELETED_MODES))
        role_value = None
        if role is not None:
            try:
                role_value = Role(role)
            except ValueError:
                errors.add("role", "user.role", role, choices=", ".join(Role))
        errors.raise_if_any()
        query = UserQuery(
            role=role_value,
            manager_id=manager_id,
            active=active,
            text=q or None,
            deleted=Deleted(deleted),
        )
        limit = page_limit(limit, self._s.runtime.settings.max_page_size)
        return self._s._uow.users.list(query, after=after, limit=limit)

    def subordinates(self, id: str) -> builtins.list[User]:
        """Everyone who reports to ``id``, directly or not."""
        ids = self._s._uow.users.subordinate_ids(id)
        return [u for u in (self._s._uow.users.get(i) for i in sorted(ids)) if u is not None]

    def create(self, *, password: str | None = None, **fields: Any) -> User:
        """Create a user. The login is derived from the name by the pinyin rule (张三 →
        zhangsan, 李小明 → lixm; a clash appends a number) unless ``login`` is given.

        Raises:
            ValidationError: every wrong field (name, role, manager_id, login, password, …).
            PermissionDenied: the actor is not an admin.
        """
        s = self._s
        s.require(Permission.USER_MANAGE)
        errors = FieldErrors()
        data = parse_user_input(
            fields,
            errors,
            phone_region=s.runtime.region,
            strict_names=s.runtime.settings.strict_name_script,
        )
        self._check_password(password, errors, required=False)
        self._check_manager(data.get("manager_id"), None, errors)
        if data.get("login") and s._uow.users.get_by_login(data["login"]) is not None:
            errors.add("login", "user.login_taken", data["login"])
        errors.raise_if_any()
        if not data.get("login"):
            base = derive_login(data["name"])
            data["login"] = next_free_login(data["name"], s._uow.users.logins_starting_with(base))
        now = s.now()
        user = User(
            id=new_id(),
            created_at=now,
            updated_at=now,
            created_by=s.actor.id,
            **{k: v for k, v in data.items() if v is not None},
        )
        s._uow.users.add(user)
        s.forget_users()
        s._uow.users.put_credentials(
            Credentials(
                user_id=user.id,
                password_hash=s.runtime.hasher.hash(password) if password else None,
            )
        )
        s.record("user", user.id, AuditAction.CREATE, snapshot(user), at=now)
        s.publish(ev.UserCreated(actor_id=s.actor.id, at=now, entity_id=user.id, login=user.login))
        return user

    def update(self, id: str, version: int | None = None, **changes: Any) -> User:
        """Change a user's name, role, manager, contact details, login or active flag."""
        s = self._s
        s.require(Permission.USER_MANAGE)
        current = self.get(id)
        if version is not None and version != current.version:
            raise ConcurrencyError("user", id, version, current.version)
        errors = FieldErrors()
        data = parse_user_input(
            changes,
            errors,
            phone_region=s.runtime.region,
            partial=True,
            strict_names=s.runtime.settings.strict_name_script,
        )
        if "manager_id" in data:
            self._check_manager(data["manager_id"], id, errors)
        login = data.get("login")
        if login and login != current.login:
            other = s._uow.users.get_by_login(login)
            if other is not None and other.id != id:
                errors.add("login", "user.login_taken", login)
        errors.raise_if_any()
        data = {k: v for k, v in data.items() if v is not None or k == "manager_id"}
        now = s.now()
        updated = attrs.evolve(current, **data, version=current.version + 1, updated_at=now)
        changed = diff(current, updated)
        if not changed:
            return current
        s._uow.users.update(updated, expected_version=current.version)
        s.forget_users()
        s.record("user", id, AuditAction.UPDATE, changed, at=now)
        s.publish(ev.UserUpdated(actor_id=s.actor.id, at=now, entity_id=id, fields=tuple(changed)))
        return updated

    def delete(self, id: str) -> None:
        """Deactivate a user and move them to the recycle bin (their records stay theirs)."""
        s = self._s
        s.require(Permission.USER_MANAGE)
        if id == s.actor.id:
            raise PermissionDenied(s.actor.name, "delete their own account", "删除自己的账号")
        current = self.get(id)
        now = s.now()
        gone = attrs.evolve(
            current, active=False, deleted_at=now, version=current.version + 1, updated_at=now
        )
        s._uow.users.update(gone, expected_version=current.version)
        s.forget_users()
        s.record("user", id, AuditAction.DELETE, diff(current, gone), at=now)

    def restore(self, id: str) -> User:
        s = self._s
        s.require(Permission.USER_MANAGE)
        current = self.get(id, include_deleted=True)
        if not current.is_deleted:
            return current
        now = s.now()
        back = attrs.evolve(
            current, active=True, deleted_at=None, version=current.version + 1, updated_at=now
        )
        s._uow.users.update(back, expected_version=current.version)
        s.forget_users()
        s.record("user", id, AuditAction.RESTORE, diff(current, back), at=now)
        return back

    def set_password(self, id: str, password: str, *, current_password: str | None = None) -> None:
        """Set a password: admins for anyone, users for themselves (with their current one)."""
        s = self._s
        user = self.get(id)
        if s.actor.id == id and not s.actor.can(Permission.USER_MANAGE):
            creds = s._uow.users.get_credentials(id)
            if (
                creds is None
                or creds.password_hash is None
                or current_password is None
                or not s.runtime.hasher.verify(creds.password_hash, current_password)
            ):
                raise AuthenticationError("failed")
        elif s.actor.id != id:
            s.require(Permission.USER_MANAGE)
        errors = FieldErrors()
        self._check_password(password, errors, required=True)
        errors.raise_if_any()
        old = s._uow.users.get_credentials(user.id) or Credentials(user_id=user.id)
        s._uow.users.put_credentials(
            attrs.evolve(old, password_hash=s.runtime.hasher.hash(password))
        )
        s.record("user", id, AuditAction.PASSWORD, at=s.now())

    def unlock(self, id: str) -> User:
        """Lift a lockout and reset the failed-login counter (admin)."""
        s = self._s
        s.require(Permission.USER_MANAGE)
        current = self.get(id)
        old = s._uow.users.get_credentials(id) or Credentials(user_id=id)
        s._uow.users.put_credentials(attrs.evolve(old, failed_count=0, failed_on=None))
        if not current.locked:
            return current
        now = s.now()
        unlocked = attrs.evolve(current, locked=False, version=current.version + 1, updated_at=now)
        s._uow.users.update(unlocked, expected_version=current.version)
        s.forget_users()
        s.record("user", id, AuditAction.UNLOCK, diff(current, unlocked), at=now)
        return unlocked

    def _check_password(self, password: str | None, errors: FieldErrors, *, required: bool) -> None:
        minimum = self._s.runtime.settings.password_min_length
        if password is None or password == "":
            if required:
                errors.add("password", "required", None)
            return
        if len(password) < minimum:
            # Never echo a password back in an error.
            errors.add("password", "user.password_short", "***", min=minimum)

    def _check_manager(
        self, manager_id: str | None, self_id: str | None, errors: FieldErrors
    ) -> None:
        if manager_id is None:
            return
        users = self._s._uow.users
        manager = users.get(manager_id)
        if manager is None or manager.is_deleted:
            errors.add("manager_id", "not_found_ref", manager_id)
            return
        if self_id is not None and (
            manager_id == self_id or manager_id in users.subordinate_ids(self_id)
        ):
            errors.add("manager_id", "user.manager_cycle", manager_id)


def authenticate(runtime: Runtime, login: str, password: str) -> User:
    """Check a login and password; count failures per account per business day.

    After ``lockout_threshold`` failures in one day the account locks until an admin unlocks
    it. The failure counter is committed even though the caller gets an error.
    """
    settings = runtime.settings
    with runtime.store.unit_of_work() as uow:
        user = uow.users.get_by_login(login.strip().lower())
        creds = uow.users.get_credentials(user.id) if user else None
        if user is None or creds is None or creds.password_hash is None:
            # Spend the same effort as a real check so response time does not reveal logins.
            runtime.hasher.verify(_DUMMY_HASH.get(runtime), password)
            raise AuthenticationError("failed")
        if user.locked:
            raise AuthenticationError("locked")
        now = runtime.clock.now()
        today = now.astimezone(ZoneInfo(settings.timezone)).date()
        if not runtime.hasher.verify(creds.password_hash, password):
            count = (creds.failed_count if creds.failed_on == today else 0) + 1
            uow.users.put_credentials(attrs.evolve(creds, failed_count=count, failed_on=today))
            _audit(uow, user, AuditAction.LOGIN_FAILED, now, note=f"failure {count} today")
            if count >= settings.lockout_threshold:
                locked = attrs.evolve(user, locked=True, version=user.version + 1, updated_at=now)
                uow.users.update(locked, expected_version=user.version)
                _audit(uow, user, AuditAction.LOCK, now, diff(user, locked))
                # The event is stored with the lock, like every session's events, so a
                # crash before the subscribers run does not lose it.
                event = ev.UserLocked(actor_id=SYSTEM.id, at=now, entity_id=user.id)
                lease = now + timedelta(seconds=settings.claim_lease_seconds)
                row = stored_event(event, lease)
                uow.events.append_many([row])
                uow.commit()
                deliver(runtime, [(row.id, event)], uow)
            else:
                uow.commit()
            raise AuthenticationError("failed")
        if not user.active or user.is_deleted:
            raise AuthenticationError("inactive")
        fresh = creds
        if runtime.hasher.needs_rehash(creds.password_hash):
            fresh = attrs.evolve(fresh, password_hash=runtime.hasher.hash(password))
        if fresh.failed_count:
            fresh = attrs.evolve(fresh, failed_count=0, failed_on=None)
        if fresh is not creds:
            uow.users.put_credentials(fresh)
        _audit(uow, user, AuditAction.LOGIN, now)
        uow.commit()
        return user


def _audit(
    uow: UnitOfWork,
    user: User,
    action: AuditAction,
    at: Any,
    changes: dict[str, tuple[Any, Any]] | None = None,
    note: str | None = None,
) -> None:
    uow.audit.append(
        AuditEntry(
            id=new_id(),
            at=at,
            actor_id=user.id if action is AuditAction.LOGIN else SYSTEM.id,
            entity_type="user",
            entity_id=user.id,
            action=action,
            changes=changes or {},
            note=note,
        )
    )


class _DummyHash:
    """One throw-away hash per runtime, made lazily with the runtime's own hasher."""

    def __init__(self) -> None:
        self._cache: dict[int, str] = {}

    def get(self, runtime: Runtime) -> str:
        key = id(runtime.hasher)
        if key not in self._cache:
            self._cache[key] = runtime.hasher.hash("crmkit-timing-equaliser")
        return self._cache[key]


_DUMMY_HASH = _DummyHash()
