"""Signing in and out, one's own password, the staff accounts an officer keeps, and the audit log they answer to.

Every sign-in goes through the gate (web/signin.py): its waits and refusals are answered
here as HTTP, after a pause for a caller who keeps trying.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi import Path as ApiPath
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from store.db import take_sqlite_write_lock
from store.models import AuditEntry, User
from web.auth import (
    LoginError,
    Role,
    close_session,
    close_sessions,
    create_user,
    open_session,
    set_password,
)
from web.deps import (
    COOKIE,
    Admin,
    DatabaseDep,
    Everyone,
    Instant,
    Oversight,
    Problem,
    Refused,
    Services,
    ServicesDep,
    Strict,
    audit,
    client_of,
    token_of,
)  # fmt: skip
from web.signin import Busy, TooManyAttempts


class Credentials(Strict):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class SignedIn(BaseModel):
    """A browser's sign-in: the session is in an HttpOnly cookie, never in the body, where a script could read it."""

    username: str
    display_name: str
    role: Role


class BearerToken(BaseModel):
    """A script's sign-in (``POST /api/auth/token``): send it as ``Authorization: Bearer ...``; no cookie is set."""

    token: str
    expires_at: Instant


class NewUser(Strict):
    username: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{3,64}$")]
    display_name: Annotated[str, Field(min_length=1, max_length=128)]
    role: Role
    password: Annotated[str, Field(min_length=12, max_length=256)]


class PasswordChange(Strict):
    current: Annotated[str, Field(max_length=256)]
    new: Annotated[str, Field(min_length=12, max_length=256)]


class UserChange(Strict):
    display_name: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    role: Role | None = None
    active: bool | None = None
    password: Annotated[str, Field(min_length=12, max_length=256)] | None = Field(
        None, description="A new password set by an officer (a reset); the account is signed out everywhere."
    )


class UserView(BaseModel):
    username: str
    display_name: str
    role: Role
    active: bool


class AuditView(BaseModel):
    id: int
    at: Instant
    username: str
    role: str
    action: str
    target: str
    before: Any
    after: Any
    client: str


auth = APIRouter(prefix="/api/auth", tags=["auth"])
staff = APIRouter(prefix="/api/users", tags=["users"])
audit_log = APIRouter(prefix="/api/audit", tags=["audit"])


def _refused(exc: TooManyAttempts | Busy) -> HTTPException:
    if isinstance(exc, TooManyAttempts):
        wait = math.ceil(exc.retry_after_s)
        return Refused(status.HTTP_429_TOO_MANY_REQUESTS, "sign_in_wait", str(exc), headers={"Retry-After": str(wait)}, seconds=wait)
    return Refused(status.HTTP_503_SERVICE_UNAVAILABLE, "busy", str(exc), headers={"Retry-After": "30"})


def _signed_in_user(credentials: Credentials, request: Request, db: Session, svc: Services) -> User:
    """The account the credentials open, through the sign-in gate; its refusals as HTTP answers."""
    try:
        user_id = svc.gate.check(credentials.username, credentials.password, client_of(request))
    except LoginError as exc:
        raise Refused(status.HTTP_401_UNAUTHORIZED, "bad_credentials", str(exc)) from None
    except (TooManyAttempts, Busy) as exc:
        raise _refused(exc) from None
    user = db.get(User, user_id)
    assert user is not None
    return user


TARPIT_S = 1.0
"""How long a sign-in refused for its place's pace waits before it is answered: in the event loop, holding no thread,
so that strangers hammering the sign-in get a second's answer each, not hundreds a second (see bench/web_load.py)."""


def paced_as(bucket: str) -> Callable[[Request, Services], Awaitable[None]]:
    """The sign-in's per-place pace, checked before the route takes a worker thread; ``bucket`` keeps another kind of
    caller's tries apart (visitors asking at the door do not use up members' and staff's sign-in tries)."""

    async def paced(request: Request, svc: ServicesDep) -> None:
        try:
            svc.gate.pace(f"{bucket} {client_of(request)}" if bucket else client_of(request))
        except TooManyAttempts as exc:
            await asyncio.sleep(min(exc.retry_after_s, TARPIT_S))
            raise _refused(exc) from None

    return paced


Paced = Depends(paced_as(""))
SIGN_IN_REFUSALS: dict[int | str, dict[str, Any]] = {401: {"model": Problem}, 429: {"model": Problem}, 503: {"model": Problem}}


@auth.post("/login", response_model=SignedIn, responses=SIGN_IN_REFUSALS, dependencies=[Paced])
def login(credentials: Credentials, request: Request, response: Response, db: DatabaseDep, svc: ServicesDep) -> SignedIn:
    """Sign a browser in (an HttpOnly cookie). A wrong name and a wrong password get the same answer; a place that fails
    too often waits (429)."""
    settings = svc.settings
    user = _signed_in_user(credentials, request, db, svc)
    token = open_session(db, user, settings.session_ttl_s)
    audit(db, request, user, "login", user.username)
    response.set_cookie(
        COOKIE, token, max_age=int(settings.session_ttl_s), httponly=True, samesite="strict",
        secure=settings.secure_cookies or request.url.scheme == "https",
    )  # fmt: skip
    return SignedIn(username=user.username, display_name=user.display_name, role=Role(user.role))


@auth.post("/token", response_model=BearerToken, responses=SIGN_IN_REFUSALS, dependencies=[Paced])
def bearer_token(credentials: Credentials, request: Request, db: DatabaseDep, svc: ServicesDep) -> BearerToken:
    """Sign a script in: a bearer token for the Authorization header (the same checks and waits as a browser's sign-in)."""
    user = _signed_in_user(credentials, request, db, svc)
    token = open_session(db, user, svc.settings.session_ttl_s)
    audit(db, request, user, "login", user.username, None, {"as": "bearer token"})
    return BearerToken(token=token, expires_at=datetime.now(UTC) + timedelta(seconds=svc.settings.session_ttl_s))


@auth.post("/logout", status_code=204)
def logout(request: Request, response: Response, user: Everyone, db: DatabaseDep) -> None:
    token = token_of(request)
    if token:
        close_session(db, token)
    audit(db, request, user, "logout", user.username)
    response.delete_cookie(COOKIE)


@auth.post(
    "/password",
    status_code=204,
    responses={403: {"model": Problem}, 429: {"model": Problem}, 503: {"model": Problem}},
    dependencies=[Paced],
)
def change_password(body: PasswordChange, request: Request, user: Everyone, db: DatabaseDep, svc: ServicesDep) -> None:
    """Change one's own password; every other session of the account is closed. The current one is checked as at sign-in."""
    try:
        svc.gate.check(user.username, body.current, client_of(request))
    except LoginError:
        audit(db, request, user, "password_change_refused", user.username, None, {"reason": "the current password is wrong"})
        db.commit()  # the refusal stays in the audit log although the request fails
        raise Refused(status.HTTP_403_FORBIDDEN, "wrong_password", "the current password is wrong") from None
    except (TooManyAttempts, Busy) as exc:
        raise _refused(exc) from None
    set_password(db, user, body.new)
    closed = close_sessions(db, user, keep=token_of(request))
    audit(db, request, user, "password_changed", user.username, None, {"other_sessions_closed": closed})


@auth.get("/me", response_model=UserView)
def me(user: Everyone) -> UserView:
    return UserView(username=user.username, display_name=user.display_name, role=Role(user.role), active=user.active)


@staff.get("", response_model=list[UserView])
def list_users(_: Admin, db: DatabaseDep) -> list[UserView]:
    return [
        UserView(username=u.username, display_name=u.display_name, role=Role(u.role), active=u.active) for u in db.scalars(select(User))
    ]


@staff.post("", response_model=UserView, status_code=201)
def add_user(body: NewUser, request: Request, user: Admin, db: DatabaseDep) -> UserView:
    if db.scalar(select(User).where(User.username == body.username)) is not None:
        raise Refused(status.HTTP_409_CONFLICT, "user_exists", f"user {body.username!r} exists", username=body.username)
    created = create_user(db, body.username, body.display_name, body.role, body.password)
    audit(db, request, user, "user_created", created.username, None, {"role": created.role, "display_name": created.display_name})
    return UserView(username=created.username, display_name=created.display_name, role=Role(created.role), active=created.active)


@staff.patch("/{username}", response_model=UserView)
def change_user(username: Annotated[str, ApiPath(pattern=r"^[A-Za-z0-9_.-]{1,64}$")], body: UserChange, request: Request, user: Admin,
                db: DatabaseDep) -> UserView:  # fmt: skip
    """Change an account's name, role or standing, or reset its password. The last active officer cannot be demoted."""
    target = db.scalar(select(User).where(User.username == username))
    if target is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user {username!r}")
    before = {"display_name": target.display_name, "role": target.role, "active": target.active}
    stays_admin = (body.role or Role(target.role)) is Role.ADMIN and (target.active if body.active is None else body.active)
    if target.role == Role.ADMIN and target.active and not stays_admin:
        # The active admins' rows are locked (PostgreSQL), or the write lock is taken before reading (SQLite),
        # so that two officers demoting each other at once cannot both pass.
        take_sqlite_write_lock(db)
        admins = db.scalars(select(User).where(User.role == Role.ADMIN.value, User.active.is_(True)).with_for_update()).all()
        if len(admins) <= 1:
            raise Refused(
                status.HTTP_409_CONFLICT, "last_admin", f"{username} is the last active admin; make another admin first", username=username
            )
    if body.display_name is not None:
        target.display_name = body.display_name
    if body.role is not None:
        target.role = body.role.value
    if body.active is not None:
        target.active = body.active
    if body.password is not None:
        set_password(db, target, body.password)
    if body.password is not None or not target.active or target.role != before["role"]:
        close_sessions(db, target, keep=token_of(request) if target.id == user.id else None)
    after = {"display_name": target.display_name, "role": target.role, "active": target.active}
    if after != before or body.password is not None:
        audit(db, request, user, "user_changed", username, before, after | ({"password": "reset"} if body.password else {}))
    return UserView(username=target.username, display_name=target.display_name, role=Role(target.role), active=target.active)


@audit_log.get("", response_model=list[AuditView])
def read_audit(
    _: Oversight,
    db: DatabaseDep,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    before: Annotated[int | None, Query(ge=1, le=2**62, description="Entries older than this id: the next page.")] = None,
    username: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[datetime | None, Query(description="ISO 8601 with an offset.")] = None,
    until: Annotated[datetime | None, Query(description="ISO 8601 with an offset.")] = None,
) -> list[AuditView]:
    """The newest entries first, a page at a time; ``X-Next-Before`` is the ``before`` of the next page, absent on the last."""
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name}: give an offset (+08:00 or Z), not a bare local time")
    since, until = (None if m is None else m.astimezone(UTC) for m in (since, until))  # stored in UTC (SQLite keeps no offset)
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    if username is not None:
        query = query.where(AuditEntry.username == username)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    rows = list(db.scalars(query))
    if len(rows) > limit:
        rows = rows[:limit]
        response.headers["X-Next-Before"] = str(rows[-1].id)
    return [AuditView.model_validate(r, from_attributes=True) for r in rows]
