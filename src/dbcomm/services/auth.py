"""Local accounts: argon2 password hashes, roles, lock-out, single-user mode, the current actor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import exists, func, select

from dbcomm.domain.roles import PERMISSIONS, ROLE_LABELS, SYSTEM, Actor, Perm, Role
from dbcomm.domain.text import nfc_line
from dbcomm.domain.validation import FieldError
from dbcomm.errors import AuthError, NotFoundError, PermissionDenied, ValidationFailed
from dbcomm.i18n import N_, _
from dbcomm.services import audit
from dbcomm.store.engine import Database
from dbcomm.store.models import AppSetting, UserAccount, utcnow

MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 8
SINGLE_USER_KEY = "single_user"

_hasher = PasswordHasher()

PERM_LABELS: dict[str, str] = {
    Perm.EDIT_ACTIVITIES: N_("log and edit activities"),
    Perm.SUBMIT_PERIOD: N_("submit a period"),
    Perm.APPROVE_PERIOD: N_("approve or return a period"),
    Perm.LOCK_PERIOD: N_("lock a period"),
    Perm.REOPEN_PERIOD: N_("reopen a period"),
    Perm.EDIT_PLAN: N_("edit the plan"),
    Perm.EDIT_DIRECTORY: N_("edit the directory"),
    Perm.EDIT_SETTINGS: N_("change the settings"),
    Perm.MANAGE_USERS: N_("manage accounts"),
    Perm.IMPORT: N_("import files"),
    Perm.EXPORT: N_("export data"),
    Perm.BACKUP: N_("make backups"),
    Perm.RESTORE: N_("restore a backup"),
    Perm.VIEW_AUDIT: N_("read the audit trail"),
    Perm.BUILD_REPORT: N_("build reports"),
    Perm.SIGN_REPORT: N_("sign reports"),
    Perm.SEAL_REPORT: N_("number and seal reports"),
    Perm.MANAGE_SIGNING: N_("set up signing certificates"),
}


@dataclass(frozen=True)
class UserInfo:
    id: int
    uuid: str
    username: str
    full_name: str
    role: Role
    active: bool
    locked_until: datetime | None
    must_change_password: bool
    last_login_at: datetime | None


def _info(u: UserAccount) -> UserInfo:
    return UserInfo(u.id, u.uuid, u.username, u.full_name, Role(u.role), u.active, u.locked_until,
                    u.must_change_password, u.last_login_at)


def _actor(u: UserAccount, single_user: bool = False) -> Actor:
    return Actor(username=u.username, full_name=u.full_name, role=Role(u.role), user_id=u.id,
                 single_user=single_user)


# --- the current actor -------------------------------------------------------------


def has_accounts(db: Database) -> bool:
    if db.accounts_exist is None:
        with db.read() as s:
            db.accounts_exist = bool(s.scalar(select(exists().where(UserAccount.id.is_not(None)))))
    return db.accounts_exist


def current(db: Database) -> Actor:
    """Who is working.  A database without any account (never set up) runs as the system."""
    if db.actor is not None:
        return db.actor
    if not has_accounts(db):
        return SYSTEM
    raise PermissionDenied(_("Log in first."))


def require(db: Database, perm: Perm) -> Actor:
    actor = current(db)
    if not actor.can(perm):
        allowed = [_(ROLE_LABELS[r]) for r, perms in PERMISSIONS.items() if perm in perms]
        raise PermissionDenied(_(
            "{name} ({role}) may not {action}. This is for: {roles}.").format(
                name=actor.display, role=_(ROLE_LABELS[actor.role]), action=_(PERM_LABELS[perm]),
                roles=", ".join(allowed)))
    return actor


def logout(db: Database) -> None:
    if db.actor is not None:
        with db.write() as s:
            audit.record(s, db.actor, "logout", entity="user", summary=db.actor.username)
    db.actor = None


# --- accounts --------------------------------------------------------------------


def _check_password(password: str, username: str) -> list[FieldError]:
    if len(password) < MIN_PASSWORD:
        return [FieldError("password", _("The password must have at least {n} characters.").format(n=MIN_PASSWORD))]
    if password.casefold() == username.casefold():
        return [FieldError("password", _("The password must not be the user name."))]
    return []


def create_user(db: Database, username: str, full_name: str, role: Role | str, password: str) -> UserInfo:
    """Add an account.  The first account of a database must be an administrator."""
    username = nfc_line(username).lower()
    full_name = nfc_line(full_name)
    first = not has_accounts(db)
    actor = SYSTEM if first else require(db, Perm.MANAGE_USERS)
    errors = []
    if not username or not all(ch.isalnum() or ch in "._-" for ch in username):
        errors.append(FieldError("username", _("A user name has letters, digits, '.', '_' or '-', no spaces.")))
    if role not in {r.value for r in Role}:
        errors.append(FieldError("role", _("Choose a role.")))
    elif first and role != Role.ADMIN:
        errors.append(FieldError("role", _("The first account must be an administrator.")))
    errors += _check_password(password, username)
    if errors:
        raise ValidationFailed(errors)
    with db.write() as s:
        if s.scalar(select(exists().where(UserAccount.username == username))):
            raise ValidationFailed([FieldError("username", _("The user name {name} is taken.").format(name=username))])
        u = UserAccount(username=username, full_name=full_name, role=str(role), password_hash=_hasher.hash(password))
        s.add(u)
        s.flush()
        audit.record(s, actor, "user", entity="user", entity_uuid=u.uuid,
                     summary=_("Account {name} created ({role}).").format(name=username, role=_(ROLE_LABELS[Role(role)])),
                     changes={"role": [None, str(role)], "full_name": [None, full_name]})
        info = _info(u)
    db.accounts_exist = True
    return info


def list_users(db: Database) -> list[UserInfo]:
    with db.read() as s:
        return [_info(u) for u in s.scalars(select(UserAccount).order_by(UserAccount.username))]


def update_user(db: Database, user_id: int, *, full_name: str | None = None, role: Role | str | None = None,
                active: bool | None = None) -> UserInfo:
    actor = require(db, Perm.MANAGE_USERS)
    with db.write() as s:
        u = s.get(UserAccount, user_id)
        if u is None:
            raise NotFoundError(_("The account no longer exists."))
        before = {"full_name": u.full_name, "role": u.role, "active": u.active}
        if full_name is not None:
            u.full_name = nfc_line(full_name)
        if role is not None:
            u.role = str(Role(role))
        if active is not None:
            u.active = active
        remaining = s.scalar(select(func.count(UserAccount.id)).where(
            UserAccount.role == Role.ADMIN, UserAccount.active.is_(True)))
        if not remaining:
            raise ValidationFailed([FieldError("role", _("At least one active administrator must remain."))])
        u.version += 1
        after = {"full_name": u.full_name, "role": u.role, "active": u.active}
        audit.record(s, actor, "user", entity="user", entity_uuid=u.uuid,
                     summary=_("Account {name} changed.").format(name=u.username), changes=audit.diff(before, after))
        return _info(u)


def reset_password(db: Database, user_id: int, new_password: str) -> None:
    """An administrator sets a temporary password; the person must change it at next login."""
    actor = require(db, Perm.MANAGE_USERS)
    with db.write() as s:
        u = s.get(UserAccount, user_id)
        if u is None:
            raise NotFoundError(_("The account no longer exists."))
        errors = _check_password(new_password, u.username)
        if errors:
            raise ValidationFailed(errors)
        u.password_hash = _hasher.hash(new_password)
        u.must_change_password = True
        u.failed_attempts, u.locked_until = 0, None
        u.version += 1
        audit.record(s, actor, "user", entity="user", entity_uuid=u.uuid,
                     summary=_("Password of {name} reset; unlocked.").format(name=u.username))


def unlock(db: Database, user_id: int) -> None:
    actor = require(db, Perm.MANAGE_USERS)
    with db.write() as s:
        u = s.get(UserAccount, user_id)
        if u is None:
            raise NotFoundError(_("The account no longer exists."))
        u.failed_attempts, u.locked_until = 0, None
        audit.record(s, actor, "user", entity="user", entity_uuid=u.uuid,
                     summary=_("Account {name} unlocked.").format(name=u.username))


def change_password(db: Database, old_password: str, new_password: str) -> None:
    actor = current(db)
    if actor.user_id is None:
        raise PermissionDenied(_("Log in first."))
    with db.write() as s:
        u = s.get(UserAccount, actor.user_id)
        if u is None:
            raise NotFoundError(_("The account no longer exists."))
        try:
            _hasher.verify(u.password_hash, old_password)
        except (VerificationError, InvalidHashError) as exc:
            raise ValidationFailed([FieldError("old_password", _("The current password is wrong."))]) from exc
        errors = _check_password(new_password, u.username)
        if errors:
            raise ValidationFailed(errors)
        u.password_hash = _hasher.hash(new_password)
        u.must_change_password = False
        audit.record(s, actor, "user", entity="user", entity_uuid=u.uuid,
                     summary=_("{name} changed their password.").format(name=u.username))


def authenticate(db: Database, username: str, password: str, now: datetime | None = None) -> Actor:
    """Check a login; on success the actor is set on ``db``.  Failures are counted and audited."""
    now = now or utcnow()
    username = nfc_line(username).lower()
    wrong = AuthError(_("Wrong user name or password."))
    with db.write() as s:
        u = s.scalar(select(UserAccount).where(UserAccount.username == username))
        if u is None:
            audit.record(s, Actor(username=username or "?", full_name="", role=Role.ENTRY), "login_failed",
                         entity="user", summary=_("Unknown user name."), at=now)
            failure: AuthError = wrong
        elif not u.active:
            failure = AuthError(_("The account {name} is disabled. Ask the administrator.").format(name=username))
        elif u.locked_until is not None and u.locked_until > now:
            local = u.locked_until + timedelta(hours=7)
            failure = AuthError(_(
                "Too many wrong passwords: the account {name} is locked until {time}. Wait, or ask the "
                "administrator to unlock it.").format(name=username, time=local.strftime("%H:%M")))
        else:
            try:
                _hasher.verify(u.password_hash, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                u.failed_attempts += 1
                failure = wrong
                if u.failed_attempts >= MAX_FAILURES:
                    u.locked_until = now + timedelta(minutes=LOCK_MINUTES)
                    u.failed_attempts = 0
                    local = u.locked_until + timedelta(hours=7)
                    failure = AuthError(_(
                        "Too many wrong passwords: the account {name} is locked until {time}. Wait, or ask "
                        "the administrator to unlock it.").format(name=username, time=local.strftime("%H:%M")))
                audit.record(s, _actor(u), "login_failed", entity="user", entity_uuid=u.uuid,
                             summary=str(failure), at=now)
            else:
                u.failed_attempts, u.locked_until, u.last_login_at = 0, None, now
                if _hasher.check_needs_rehash(u.password_hash):
                    u.password_hash = _hasher.hash(password)
                actor = _actor(u)
                audit.record(s, actor, "login", entity="user", entity_uuid=u.uuid, summary=u.username, at=now)
                db.actor = actor
                return actor
    raise failure


def must_change_password(db: Database) -> bool:
    actor = db.actor
    if actor is None or actor.user_id is None:
        return False
    with db.read() as s:
        u = s.get(UserAccount, actor.user_id)
        return bool(u and u.must_change_password)


# --- single-user mode ----------------------------------------------------------------


def single_user_enabled(db: Database) -> bool:
    with db.read() as s:
        row = s.get(AppSetting, SINGLE_USER_KEY)
        return bool(row and row.value == "true")


def set_single_user(db: Database, enabled: bool) -> None:
    """An explicit administrator's choice for a one-person office: no login, every permission."""
    actor = require(db, Perm.MANAGE_USERS)
    with db.write() as s:
        row = s.get(AppSetting, SINGLE_USER_KEY)
        value = "true" if enabled else "false"
        if row is None:
            s.add(AppSetting(key=SINGLE_USER_KEY, value=value))
        else:
            row.value = value
        audit.record(s, actor, "settings", entity="settings",
                     summary=_("Single-user mode turned on.") if enabled else _("Single-user mode turned off."))


def enter_single_user(db: Database) -> Actor | None:
    """In single-user mode, work as the first active administrator, without a password."""
    if not single_user_enabled(db):
        return None
    with db.write() as s:
        u = s.scalar(select(UserAccount).where(UserAccount.role == Role.ADMIN, UserAccount.active.is_(True))
                     .order_by(UserAccount.id))
        if u is None:
            return None
        actor = _actor(u, single_user=True)
        audit.record(s, actor, "login", entity="user", entity_uuid=u.uuid, summary=_("single-user mode"))
    db.actor = actor
    return actor
