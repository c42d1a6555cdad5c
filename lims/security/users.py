"""User accounts: argon2 password hashes, a password policy, lock-out, and account changes.

Every change to a user is an AuditEvent (the hash never appears in it). Only admins manage users
(permission ``users.manage``); a user may change their own password by giving the current one.
The numbers (attempts, lock-out minutes, password length) come from the security policy file
(``lims.security.policy``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, update
from sqlmodel import Session, select

from lims.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    LimsError,
    NotFound,
    PermissionDenied,
)
from lims.models import User
from lims.models.enums import Role
from lims.security import audit
from lims.security.auth import SYSTEM, Actor, require
from lims.security.policy import SecurityPolicy, common_passwords, load_policy
from lims.timeutil import now

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile
#: verified against when the user is unknown, so both answers take the same time
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")
USERNAME_RE = re.compile(r"^[\w.@-]{2,60}$")
RESERVED = ("system",)


class WeakPassword(LimsError):
    """The password breaks the policy (the message says which rule)."""


@dataclass(frozen=True)
class UserInfo:
    username: str
    display_name: str
    role: str
    active: bool
    locked_until: datetime | None
    has_password: bool
    created_at: datetime

    def to_dict(self) -> dict:
        return {"username": self.username, "display_name": self.display_name, "role": self.role,
                "active": self.active, "has_password": self.has_password,
                "locked_until": self.locked_until.isoformat() if self.locked_until else None,
                "created_at": self.created_at.isoformat()}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_policy(password: str, *, username: str = "",
                          policy: SecurityPolicy | None = None) -> None:
    """Raise WeakPassword naming the rule the password breaks."""
    p = policy or load_policy()
    if len(password) < p.password_min_length:
        raise WeakPassword(f"password: must be at least {p.password_min_length} characters "
                           f"(got {len(password)})")
    if len(password) > p.password_max_length:
        raise WeakPassword(f"password: must be at most {p.password_max_length} characters")
    if password != password.strip():
        raise WeakPassword("password: must not start or end with spaces")
    classes = sum([any(c.islower() for c in password), any(c.isupper() for c in password),
                   any(c.isdigit() for c in password),
                   any(not c.isalnum() for c in password)])
    if classes < p.password_min_classes:
        raise WeakPassword(f"password: must mix at least {p.password_min_classes} of lower case, "
                           "upper case, digits and other characters")
    if username and username.lower() in password.lower():
        raise WeakPassword("password: must not contain the username")
    if p.common_passwords is not None:
        word = common_base(password, common_passwords(p.common_passwords))
        if word is not None:
            raise WeakPassword(f"password: too common — it is built on {word!r}, one of the "
                               f"{len(common_passwords(p.common_passwords)):,} most common "
                               "passwords; choose several unrelated words instead")


#: look-alike characters people swap into a common word (P@ssw0rd)
_LOOKALIKES = str.maketrans({"0": "o", "1": "i", "!": "i", "3": "e", "4": "a", "@": "a",
                             "5": "s", "$": "s", "7": "t", "+": "t", "8": "b", "9": "g"})
_EDGE = "".join(chr(c) for c in range(0x21, 0x7F) if not chr(c).isalpha())


def common_base(password: str, common: frozenset[str]) -> str | None:
    """The common password ``password`` is or is built on, else None: the list word itself in
    any case, or with digits and symbols before or after it (Password123, 2024password!), or
    with look-alike characters (P@ssw0rd1)."""
    low = password.lower()
    candidates = [low, low.rstrip(_EDGE), low.lstrip(_EDGE), low.strip(_EDGE)]
    core = low.strip(_EDGE)
    candidates += [core.translate(_LOOKALIKES), low.translate(_LOOKALIKES)]
    for c in candidates:
        if c and c in common:
            return c
    return None


def _check_username(username: str) -> str:
    name = username.strip()
    if not USERNAME_RE.match(name):
        raise InvalidInput(f"username {username!r}: 2–60 letters, digits or . _ @ - (no spaces)")
    if name.lower() in RESERVED:
        raise InvalidInput(f"username {username!r} is reserved")
    return name


def _role(role: str | Role) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InvalidInput(f"role {role!r}: must be one of "
                           + ", ".join(r.value for r in Role)) from None


def _get(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"unknown user {username!r}")
    return user


def _snapshot(user: User) -> dict:
    return {"role": user.role, "display_name": user.display_name, "active": user.active}


def count_users(*, session: Session) -> int:
    return session.exec(select(func.count()).select_from(User)).one()


def add_user(*, session: Session, actor: Actor, username: str, role: str | Role, password: str,
             display_name: str = "", policy: SecurityPolicy | None = None) -> UserInfo:
    require(actor, "users.manage")
    name = _check_username(username)
    r = _role(role)
    check_password_policy(password, username=name, policy=policy)
    if session.exec(select(User).where(User.username == name)).first() is not None:
        raise Conflict(f"username {name!r} is taken")
    user = User(username=name, display_name=display_name.strip(), role=r.value,
                password_hash=hash_password(password))
    session.add(user)
    session.flush()
    audit.record(session=session, actor=actor, action="user.add", entity="user", entity_id=name,
                 new=_snapshot(user))
    return _info(user)


def create_first_admin(*, session: Session, username: str, password: str,
                       policy: SecurityPolicy | None = None) -> UserInfo:
    """The installation's first admin (``lims init``); refused once any user exists."""
    if count_users(session=session) > 0:
        raise PermissionDenied("users exist already: the first admin is created only once")
    return add_user(session=session, actor=SYSTEM, username=username, role=Role.ADMIN,
                    password=password, display_name="administrator", policy=policy)


def list_users(*, session: Session, actor: Actor) -> list[UserInfo]:
    require(actor, "users.manage")
    return [_info(u) for u in session.exec(select(User).order_by(User.username))]


def _info(u: User) -> UserInfo:
    return UserInfo(u.username, u.display_name, u.role, u.active, u.locked_until,
                    u.password_hash is not None, u.created_at)


def set_active(*, session: Session, actor: Actor, username: str, active: bool,
               reason: str) -> UserInfo:
    """Disable (or re-enable) an account; disabling ends its app sessions."""
    require(actor, "users.manage")
    if not reason.strip():
        raise InvalidInput(f"reason: required to disable or enable user {username!r}")
    user = _get(session, username)
    if not active and user.username == actor.username:
        raise Conflict(f"user {user.username!r}: an admin may not disable their own account")
    old = _snapshot(user)
    user.active = active
    session.add(user)
    session.flush()
    if not active:
        from lims.security.sessions import end_sessions_for

        end_sessions_for(session=session, username=user.username)
    audit.record(session=session, actor=actor, action="user.enable" if active else "user.disable",
                 entity="user", entity_id=user.username, old=old, new=_snapshot(user),
                 reason=reason.strip())
    return _info(user)


def disable_user(*, session: Session, actor: Actor, username: str, reason: str) -> UserInfo:
    return set_active(session=session, actor=actor, username=username, active=False, reason=reason)


def set_password(*, session: Session, actor: Actor, username: str, password: str,
                 current_password: str | None = None,
                 policy: SecurityPolicy | None = None) -> None:
    """An admin sets anyone's password (and clears a lock); a user changes their own with the
    current password. Ends the user's app sessions."""
    own = actor.username == username
    if not actor.can("users.manage"):
        if not own:
            raise PermissionDenied(f"{actor.username} ({actor.role.value}) may not users.manage")
        if current_password is None:
            raise InvalidInput("current password: required to change your own password")
    user = _get(session, username)
    if own and current_password is not None:
        if not user.password_hash or not _verify(user.password_hash, current_password):
            raise AuthenticationFailed("current password is wrong")
    check_password_policy(password, username=user.username, policy=policy)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    session.flush()
    from lims.security.sessions import end_sessions_for

    end_sessions_for(session=session, username=user.username)
    audit.record(session=session, actor=actor, action="user.password", entity="user",
                 entity_id=user.username, new={"password": "changed"})


def unlock_user(*, session: Session, actor: Actor, username: str, reason: str) -> UserInfo:
    require(actor, "users.manage")
    user = _get(session, username)
    old = {"failed_logins": user.failed_logins,
           "locked_until": user.locked_until.isoformat() if user.locked_until else None}
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    session.flush()
    audit.record(session=session, actor=actor, action="user.unlock", entity="user",
                 entity_id=user.username, old=old, new={"failed_logins": 0, "locked_until": None},
                 reason=reason.strip())
    return _info(user)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def login_failed_message(p: SecurityPolicy) -> str:
    """The one answer to every failed login: it never says whether the user exists, is
    disabled, has no password or is locked (issue 18)."""
    minutes = int(p.lockout.total_seconds() // 60)
    return (f"wrong username or password, or the account is disabled or locked (after "
            f"{p.max_failed} failed logins in a row an account is locked for {minutes} minutes); "
            "an admin can check and unlock it")


def authenticate(*, session: Session, username: str, password: str,
                 policy: SecurityPolicy | None = None) -> Actor:
    """Check a username and password and return the Actor, or raise AuthenticationFailed.

    Every refusal — unknown user, wrong or empty password, disabled account, account without a
    password, locked account — has the same message (``login_failed_message``) and costs one
    password hash check, so neither the answer nor its time tells whether a user exists.

    A failed attempt is counted and committed at once (the error that follows must not roll the
    count back), so call it in a fresh session. ``policy.max_failed`` failures in a row lock the
    account for ``policy.lockout`` (audited as ``user.lock``); a success resets the count.
    """
    p = policy or load_policy()
    refused = AuthenticationFailed(login_failed_message(p))
    user = session.exec(select(User).where(User.username == username)).first()
    usable = (user is not None and bool(password) and user.active
              and user.password_hash is not None)
    ok = _verify(user.password_hash if usable else _DUMMY_HASH, password or "x") and usable
    if user is None or not password:
        raise refused
    if user.locked_until is not None and user.locked_until > now():
        raise refused
    if not user.active or user.password_hash is None:
        raise refused
    if not ok:
        _count_failure(session, user, p)
        raise refused
    if user.failed_logins or user.locked_until is not None:
        user.failed_logins = 0
        user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.add(user)
    session.flush()
    return Actor(user.username, Role(user.role))


def _count_failure(session: Session, user: User, p: SecurityPolicy) -> None:
    """Count one failed login (committed at once); the policy's limit locks the account."""
    session.execute(update(User).where(User.id == user.id)
                    .values(failed_logins=User.failed_logins + 1))
    session.refresh(user)
    if user.failed_logins >= p.max_failed:
        user.locked_until = now() + p.lockout
        user.failed_logins = 0
        session.add(user)
        session.flush()
        audit.record(session=session, actor=SYSTEM, action="user.lock", entity="user",
                     entity_id=user.username, new={"locked_until": user.locked_until.isoformat()},
                     reason=f"{p.max_failed} failed logins in a row")
    session.commit()


def actor_for(*, session: Session, username: str, password: str | None = None) -> Actor:
    """The Actor for ``username``; with a password, checked by ``authenticate``."""
    if password is not None:
        return authenticate(session=session, username=username, password=password)
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"unknown user {username!r}")
    if not user.active:
        raise PermissionDenied(f"user {username!r} is disabled")
    return Actor(user.username, Role(user.role))
