"""User use cases: accounts, roles, reporting lines, passwords, lockout."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Final
from zoneinfo import ZoneInfo

import attrs

from crmkit.domain import events as ev
from crmkit.domain.audit import AuditAction, AuditEntry, diff
from crmkit.domain.converter import to_plain
from crmkit.domain.errors import AuthenticationError, FieldErrors, NotFound, PermissionDenied
from crmkit.domain.pinyin import derive_login
from crmkit.domain.user import (
    USER_FIELDS,
    Credentials,
    Role,
    User,
    next_free_login,
    parse_user_input,
)
from crmkit.storage.catalog import USERS
from crmkit.storage.ports import EVERYTHING, EntityQuery, UnitOfWork, UserRepository
from crmkit.storage.spec import EntitySpec, Filter, Op
from crmkit.workflows.context import SYSTEM, Permission
from crmkit.workflows.dispatch import deliver, stored_event
from crmkit.workflows.entity import EntityService
from crmkit.workflows.session import new_id

if TYPE_CHECKING:
    from crmkit.workflows.runtime import Runtime


# The key ``create`` hands the password in under, beside the user's fields: checked with
# them (one error names every wrong field), never stored in the user.
_PASSWORD: Final = "password"


class UserService(EntityService[User]):
    """``session.users``: users on the kernel's lifecycle. Anyone may read users (owners
    are shown by name); only admins manage them (``user.manage``); everyone may change
    their own password. A deleted user is deactivated (their records stay theirs)."""

    spec = USERS
    references: ClassVar[Mapping[str, EntitySpec[Any]]] = {"manager_id": USERS}

    def require(self, action: str) -> None:
        """Reading needs no permission; every change needs ``user.manage``."""
        if action != "read":
            self._s.require(Permission.USER_MANAGE)

    @property
    def required_fields(self) -> frozenset[str]:
        return frozenset({"name", "role"})

    def get_by_login(self, login: str) -> User:
        """The live user with ``login`` (any case, surrounding spaces ignored).

        Raises:
            NotFound: no live user has it.
        """
        user = self.repo_users.get_by_login(login.strip().lower())
        if user is None or user.is_deleted:
            raise NotFound("user", login)
        return user

    def subordinates(self, id: str) -> builtins.list[User]:
        """Everyone who reports to ``id``, directly or not."""
        users = self.repo_users
        return sorted(users.get_many(list(users.subordinate_ids(id))), key=lambda u: u.id)

    def create(self, *, password: str | None = None, **fields: Any) -> User:
        """Create a user. The login is derived from the name by the pinyin rule (张三 →
        zhangsan, 李小明 → lixm; a clash appends a number) unless ``login`` is given.

        Raises:
            ValidationError: every wrong field (name, role, manager_id, login, password, …).
            PermissionDenied: the actor is not an admin.
        """
        s = self._s
        self.require("create")
        user = self.add_new(self._new({**fields, _PASSWORD: password}, numbered=True))
        hashed = s.runtime.hasher.hash(password) if password else None
        self.repo_users.put_credentials(Credentials(user_id=user.id, password_hash=hashed))
        return user

    def update(self, id: str, version: int | None = None, **changes: Any) -> User:
        """Change a user's name, role, manager, contact details, login or active flag."""
        return super().update(id, version, **changes)

    def delete(self, id: str, version: int | None = None) -> None:
        """Deactivate a user and move them to the recycle bin (their records stay theirs).

        Raises:
            PermissionDenied: not an admin, or the actor's own account.
        """
        super().delete(id, version)
        self._s.forget_users()

    def restore(self, id: str) -> User:
        """Bring a user back from the recycle bin, active again."""
        user = super().restore(id)
        self._s.forget_users()
        return user

    def purge(self, *, older_than: timedelta | None = None) -> int:  # noqa: ARG002
        """Users are never purged: owners, approvals and the operation log name them.

        Raises:
            WorkflowError: always.
        """
        raise self.refusal(
            "purge",
            "彻底删除",
            (
                "users stay: records and the operation log name them",
                "用户不可彻底删除：记录和操作日志引用了他们",
            ),
        )

    def set_password(self, id: str, password: str, *, current_password: str | None = None) -> None:
        """Set a password: admins for anyone, users for themselves (with their current one)."""
        s = self._s
        user = self.get(id)
        users = self.repo_users
        if s.actor.id == id and not s.actor.can(Permission.USER_MANAGE):
            creds = users.get_credentials(id)
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
        old = users.get_credentials(user.id) or Credentials(user_id=user.id)
        users.put_credentials(attrs.evolve(old, password_hash=s.runtime.hasher.hash(password)))
        s.record("user", id, AuditAction.PASSWORD, at=s.now())

    def unlock(self, id: str) -> User:
        """Lift a lockout (for good or timed) and reset the failed-login counter (admin).

        Raises:
            NotFound: no such user.
            PermissionDenied: the actor may not manage users.
        """
        s = self._s
        s.require(Permission.USER_MANAGE)
        current = self.get(id)
        users = self.repo_users
        old = users.get_credentials(id) or Credentials(user_id=id)
        now = s.now()
        timed = old.locked_until is not None and now < old.locked_until
        users.put_credentials(attrs.evolve(old, failed_count=0, failed_on=None, locked_until=None))
        changes: dict[str, tuple[Any, Any]] = {}
        if timed:
            changes["locked_until"] = (to_plain(old.locked_until), None)
        unlocked = current
        if current.locked:
            unlocked = self._stamped(current, now, locked=False)
            users.update(unlocked, expected_version=current.version)
            s.forget_users()
            changes.update(diff(current, unlocked))
        if changes:
            s.record("user", id, AuditAction.UNLOCK, changes, at=now)
        return unlocked

    # -- the lifecycle's hooks ------------------------------------------------------------
    @property
    def repo_users(self) -> UserRepository:
        """The users repository with its own reads (logins, the tree, credentials)."""
        return self._s._uow.users

    def _extra_keys(self) -> frozenset[str]:
        return frozenset({*USER_FIELDS, _PASSWORD})

    def parse_extra(
        self,
        raw: Mapping[str, Any],
        data: Mapping[str, Any],  # noqa: ARG002  (the hook's signature)
        errors: FieldErrors,
        current: User | None,
    ) -> dict[str, Any]:
        """The user's fields (their parsing needs the CRM's phone region and name rule),
        and on create the password's length."""
        s = self._s
        fields = {k: v for k, v in raw.items() if k != _PASSWORD}
        out = parse_user_input(
            fields,
            errors,
            phone_region=s.runtime.region,
            partial=current is not None,
            strict_names=s.runtime.settings.strict_name_script,
        )
        if current is None:
            self._check_password(raw.get(_PASSWORD), errors, required=False)
        elif _PASSWORD in raw:
            errors.add(_PASSWORD, "unknown_field", "***")  # set_password changes it
        if out.get("manager_id") is not None:
            self._check_cycle(out["manager_id"], current, errors)
        return out

    def prepare(
        self,
        raw: Mapping[str, Any],  # noqa: ARG002  (the hook's signature)
        data: dict[str, Any],
        errors: FieldErrors,  # noqa: ARG002
        current: User | None = None,
    ) -> dict[str, Any]:
        """On create, a login derived from the name where none was given; unset values
        take the class defaults."""
        if current is not None:
            return data
        out = {k: v for k, v in data.items() if v is not None}
        if not out.get("login"):
            base = derive_login(out["name"])
            out["login"] = next_free_login(out["name"], self.repo_users.logins_starting_with(base))
        return out

    def on_created(self, entity: User) -> None:  # noqa: ARG002
        self._s.forget_users()

    def on_updated(self, before: User, after: User) -> None:  # noqa: ARG002
        self._s.forget_users()

    def on_deleting(self, entity: User) -> None:
        s = self._s
        if entity.id == s.actor.id:
            raise PermissionDenied(s.actor.name, "delete their own account", "删除自己的账号")

    def bin_changes(self, entity: User, *, deleting: bool) -> dict[str, Any]:  # noqa: ARG002
        return {"active": not deleting}

    def created_event(self, entity: User) -> ev.DomainEvent:
        s = self._s
        return ev.UserCreated(
            actor_id=s.actor.id, at=entity.created_at, entity_id=entity.id, login=entity.login
        )

    def updated_event(self, after: User, fields: tuple[str, ...]) -> ev.DomainEvent:
        s = self._s
        return ev.UserUpdated(
            actor_id=s.actor.id, at=after.updated_at, entity_id=after.id, fields=fields
        )

    def _check_password(self, password: str | None, errors: FieldErrors, *, required: bool) -> None:
        minimum = self._s.runtime.settings.password_min_length
        if password is None or password == "":
            if required:
                errors.add("password", "required", None)
            return
        if len(password) < minimum:
            # Never echo a password back in an error.
            errors.add("password", "user.password_short", "***", min=minimum)

    def _check_cycle(self, manager_id: str, current: User | None, errors: FieldErrors) -> None:
        """Nobody reports to themselves, or to someone below them."""
        if current is not None and (
            manager_id == current.id or manager_id in self.repo_users.subordinate_ids(current.id)
        ):
            errors.add("manager_id", "user.manager_cycle", manager_id)


def authenticate(runtime: Runtime, login: str, password: str, *, client: str | None = None) -> User:
    """Check a login and password; count failures per account per business day.

    The password is checked first, even for an unknown login (against a throw-away hash, so
    the time taken does not tell whether the login exists) and for a locked account, so a
    wrong password, an unknown login and a wrong password for a locked account all raise the
    same ``failed``. Only the right password learns that the account is locked or disabled.

    After ``lockout_threshold`` failures in one day the account locks until an admin
    unlocks it, except the last active admin's: that one locks for ``admin_lock_minutes``
    (each further failure once it has ended locks it again), and sessions already open go
    on, so nobody can lock the only admin out for good. The failure counter is committed
    even though the caller gets an error.

    Args:
        runtime: the CRM's runtime.
        login: the login name as typed (case and surrounding spaces do not matter).
        password: the password as typed.
        client: who sent the attempt (an IP address), for :func:`needs_captcha`.

    Raises:
        AuthenticationError: ``failed``, ``locked`` (with ``until`` for a timed lock) or
            ``inactive``.
    """
    settings = runtime.settings
    key = login.strip().lower()
    now = runtime.clock.now()
    zone = ZoneInfo(settings.timezone)
    today = now.astimezone(zone).date()
    with runtime.store.unit_of_work() as uow:
        user = uow.users.get_by_login(key)
        creds = uow.users.get_credentials(user.id) if user else None
        if user is None or creds is None or creds.password_hash is None:
            # Spend the same effort as a real check so response time does not reveal logins.
            runtime.hasher.verify(_DUMMY_HASH.get(runtime), password)
            runtime.login_failures.record(today, key, client)
            raise AuthenticationError("failed")
        if not runtime.hasher.verify(creds.password_hash, password):
            runtime.login_failures.record(today, key, client)
            _count_failure(runtime, uow, user, creds, now, today)
            raise AuthenticationError("failed")
        if user.locked:
            raise AuthenticationError("locked")
        if creds.locked_until is not None and now < creds.locked_until:
            raise AuthenticationError("locked", until=creds.locked_until.astimezone(zone))
        if not user.active or user.is_deleted:
            raise AuthenticationError("inactive")
        fresh = creds
        if runtime.hasher.needs_rehash(creds.password_hash):
            fresh = attrs.evolve(fresh, password_hash=runtime.hasher.hash(password))
        if fresh.failed_count or fresh.locked_until is not None:
            fresh = attrs.evolve(fresh, failed_count=0, failed_on=None, locked_until=None)
        if fresh is not creds:
            uow.users.put_credentials(fresh)
        _audit(uow, user, AuditAction.LOGIN, now)
        uow.commit()
        runtime.login_failures.forget_login(today, key)
        return user


def needs_captcha(runtime: Runtime, login: str, *, client: str | None = None) -> bool:
    """Whether the next attempt for ``login`` from ``client`` must solve a CAPTCHA first.

    True from ``Settings.captcha_after`` failures today for that login name (whether or not
    the login exists, so the answer tells nothing about which logins do) or from that
    client; ``captcha_after=0`` asks every time. crmkit only counts: the application shows
    the challenge and checks the answer before it calls :func:`authenticate`.

    Args:
        runtime: the CRM's runtime.
        login: the login name as typed (may be empty: then only the client counts).
        client: who is asking (an IP address), or ``None``.
    """
    settings = runtime.settings
    threshold = settings.captcha_after
    if threshold <= 0:
        return True
    key = login.strip().lower()
    today = runtime.clock.now().astimezone(ZoneInfo(settings.timezone)).date()
    if runtime.login_failures.reached(today, key, client, threshold):
        return True
    if not key:
        return False
    # The stored counter holds across processes and restarts, for logins that exist.
    with runtime.store.unit_of_work() as uow:
        user = uow.users.get_by_login(key)
        creds = uow.users.get_credentials(user.id) if user else None
    return creds is not None and creds.failed_on == today and creds.failed_count >= threshold


def _count_failure(
    runtime: Runtime, uow: UnitOfWork, user: User, creds: Credentials, now: datetime, today: date
) -> None:
    """Count a wrong password, lock the account at the threshold, and commit."""
    settings = runtime.settings
    count = (creds.failed_count if creds.failed_on == today else 0) + 1
    creds = attrs.evolve(creds, failed_count=count, failed_on=today)
    _audit(uow, user, AuditAction.LOGIN_FAILED, now, note=f"failure {count} today")
    timed_lock_running = creds.locked_until is not None and now < creds.locked_until
    event: ev.UserLocked | None = None
    if count >= settings.lockout_threshold and not user.locked and not timed_lock_running:
        if _is_last_active_admin(runtime, uow, user):
            until = now + timedelta(minutes=settings.admin_lock_minutes)
            _audit(
                uow,
                user,
                AuditAction.LOCK,
                now,
                {"locked_until": (to_plain(creds.locked_until), to_plain(until))},
                note=f"the last active admin: locked for {settings.admin_lock_minutes} minutes",
            )
            creds = attrs.evolve(creds, locked_until=until)
            event = ev.UserLocked(actor_id=SYSTEM.id, at=now, entity_id=user.id, until=until)
        else:
            locked = attrs.evolve(user, locked=True, version=user.version + 1, updated_at=now)
            uow.users.update(locked, expected_version=user.version)
            _audit(uow, user, AuditAction.LOCK, now, diff(user, locked))
            event = ev.UserLocked(actor_id=SYSTEM.id, at=now, entity_id=user.id)
    uow.users.put_credentials(creds)
    if event is None:
        uow.commit()
        return
    # The event is stored with the lock, like every session's events, so a crash before
    # the subscribers run does not lose it.
    lease = now + timedelta(seconds=settings.claim_lease_seconds)
    row = stored_event(event, lease)
    uow.events.append_many([row])
    uow.commit()
    deliver(runtime, [(row.id, event)], uow)


def _is_last_active_admin(runtime: Runtime, uow: UnitOfWork, user: User) -> bool:
    """Whether ``user`` may manage users and nobody else who may is active and unlocked:
    then a hard lock would leave nobody able to lift it."""
    if not user.active or user.is_deleted:
        return False
    roles = [
        r
        for r in Role
        if r is Role.ADMIN or Permission.USER_MANAGE in runtime.permissions.granted(r)
    ]
    if user.role not in roles:
        return False
    for role in roles:
        after: str | None = None
        while True:
            query = EntityQuery(
                filters=(Filter("role", Op.EQ, role), Filter("active", Op.EQ, True))
            )
            page = uow.users.list(query, EVERYTHING, after=after, limit=100)
            if any(u.id != user.id and not u.locked for u in page.items):
                return False
            if page.next_after is None:
                break
            after = page.next_after
    return True


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
