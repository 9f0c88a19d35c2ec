"""Staff accounts, sessions and roles.

Passwords are hashed with argon2id; a session is a random token whose SHA-256 alone is
stored, so a copy of the database signs nobody in.  Who may try a password, and how
often, is web/signin.py's.  Every route names the roles it admits.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from store.db import as_utc
from store.models import StaffSession, User

_hasher = PasswordHasher()


class Role(StrEnum):
    CUSTODIAN = "custodian"
    """The sanitation-office custodian on the day shift: watches and operates the station."""
    OPERATOR = "operator"
    ADMIN = "admin"
    """A union officer: everything, including accounts and the audit log."""
    AUDITOR = "auditor"
    """Reads everything, changes nothing."""


EVERYONE = (Role.CUSTODIAN, Role.OPERATOR, Role.ADMIN, Role.AUDITOR)
OPERATORS = (Role.CUSTODIAN, Role.OPERATOR, Role.ADMIN)
OVERSIGHT = (Role.ADMIN, Role.AUDITOR)


class LoginError(Exception):
    """Wrong name or password; the message never says which."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(db: Session, username: str, display_name: str, role: Role, password: str) -> User:
    user = User(
        username=username, display_name=display_name, role=role.value, password_hash=hash_password(password),
        active=True, created_at=datetime.now(UTC),
    )  # fmt: skip
    db.add(user)
    db.flush()
    return user


def open_session(db: Session, user: User, ttl_s: float) -> str:
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    db.add(StaffSession(token_hash=_digest(token), user_id=user.id, created_at=now, expires_at=now + timedelta(seconds=ttl_s)))
    db.flush()
    return token


def user_for(db: Session, token: str) -> User | None:
    """The active user a live session belongs to, in one query (every request asks)."""
    found = db.execute(
        select(User, StaffSession.expires_at)
        .join(StaffSession, StaffSession.user_id == User.id)
        .where(StaffSession.token_hash == _digest(token), User.active.is_(True))
    ).first()
    if found is None or as_utc(found.expires_at) <= datetime.now(UTC):
        return None
    user: User = found.User
    return user


def set_password(db: Session, user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    db.flush()


def close_sessions(db: Session, user: User, keep: str | None = None) -> int:
    """Sign ``user`` out everywhere (but the session ``keep``): after a password change, a reset or deactivation."""
    kept = _digest(keep) if keep else None
    rows = [row for row in db.scalars(select(StaffSession).where(StaffSession.user_id == user.id)) if row.token_hash != kept]
    for row in rows:
        db.delete(row)
    db.flush()
    return len(rows)


def close_session(db: Session, token: str) -> None:
    row = db.get(StaffSession, _digest(token))
    if row is not None:
        db.delete(row)


def allows(roles: tuple[Role, ...]) -> Callable[[User], bool]:
    return lambda user: Role(user.role) in roles


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
