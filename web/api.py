"""The REST API: one router per resource, every route naming the roles it admits."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import tempfile
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi import Path as ApiPath
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from actors.automation import ManualHold
from hardware_bridge.errors import BridgeError
from hardware_bridge.payloads import settable_fields
from scenarios.errors import ScenarioError
from scenarios.report import write_comparison_report, write_report
from scenarios.results import compare as compare_results
from store.db import take_sqlite_write_lock
from store.models import AuditEntry, PlannerRun, User
from twin.entity import Command, Twin
from web import planner
from web.alarms import router as alarms
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
    Id,
    Instant,
    Operator,
    Oversight,
    Problem,
    Refused,
    RequireRole,
    RunId,
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


class DeviceView(BaseModel):
    id: str
    kind: str
    version: int
    available: bool | None
    reported: dict[str, Any]
    desired: dict[str, Any]
    settable: dict[str, dict[str, Any]] = Field(description="What a command may set: each field's type, range or choices.")
    last_command: LastCommand | None = Field(None, description="The newest command the twin still holds for the device.")
    manual_until: datetime | None = Field(
        None, description="A person's command holds the device against the automations until then (station clock)."
    )


class LastCommand(BaseModel):
    id: str
    by: str = Field(description="`<role>:<username>` for a person, `automation:<rule>` for the station's rules.")
    fields: dict[str, Any]
    reason: dict[str, Any] | None = Field(description='Why the automations asked, e.g. `{"why": "nobody_inside"}`.')
    at: datetime
    state: Literal["pending", "acked", "failed"]


class CommandRequest(Strict):
    set: dict[str, Any] = Field(description="Fields to set, as the device kind accepts (docs/mqtt.md).")


class CommandView(BaseModel):
    id: str
    device: str
    fields: dict[str, Any]
    by: str
    state: Literal["pending", "acked", "failed"]
    error: str | None


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


class PointView(BaseModel):
    at: Instant
    value: Any
    low: float | None
    high: float | None
    count: int


auth = APIRouter(prefix="/api/auth", tags=["auth"])
devices = APIRouter(prefix="/api/devices", tags=["devices"])
commands = APIRouter(prefix="/api/commands", tags=["commands"])
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


async def paced(request: Request, svc: ServicesDep) -> None:
    """The sign-in's per-place pace, checked before the route takes a worker thread."""
    try:
        svc.gate.pace(client_of(request))
    except TooManyAttempts as exc:
        await asyncio.sleep(min(exc.retry_after_s, TARPIT_S))
        raise _refused(exc) from None


Paced = Depends(paced)
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


def _device(twin: Twin, device: str, svc: Services, newest: Command | None, hold: ManualHold | None) -> DeviceView:
    """The device as the twin has it, with its newest command and the hold a person's command put on it."""
    e = twin.entity(device)
    last = None
    if newest is not None:
        last = LastCommand(
            id=newest.id, by=newest.by, fields=newest.fields, reason=newest.reason,
            at=svc.station_time.moment(newest.issued_at), state=newest.state.value,
        )  # fmt: skip
    return DeviceView(
        id=e.id, kind=e.kind, version=e.version, available=e.available, reported=dict(e.reported), desired=dict(e.desired),
        settable=settable_fields(e.kind), last_command=last,
        manual_until=svc.station_time.moment(hold.until_s) if hold is not None else None,
    )  # fmt: skip


def _devices(svc: Services, ids: Iterable[str] | None = None) -> tuple[int, list[DeviceView]]:
    def read(twin: Twin) -> tuple[int, list[DeviceView]]:
        holds = svc.holds.at(svc.bridge.clock.now())
        newest = {c.entity_id: c for c in twin.commands.values()}  # issued in order: the last one per device stands
        shown = ids if ids is not None else twin.entities
        return twin.feed.last_seq, [_device(twin, d, svc, newest.get(d), holds.get(d)) for d in shown]

    return svc.bridge.read(read)  # type: ignore[no-any-return]


@devices.get("", response_model=list[DeviceView])
def list_devices(_: Everyone, svc: ServicesDep, response: Response) -> list[DeviceView]:
    """Every device; ``X-Feed-Seq`` is the last change the list includes, where the live feed should resume (``?after=``)."""
    seq, views = _devices(svc)
    response.headers["X-Feed-Seq"] = str(seq)
    return views


@devices.get("/{device}", response_model=DeviceView)
def get_device(device: Id, _: Everyone, svc: ServicesDep) -> DeviceView:
    if device not in svc.bridge.devices:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no device {device!r}")
    return _devices(svc, [device])[1][0]


@devices.get("/{device}/history", response_model=list[PointView])
def device_history(
    device: Id,
    field: Annotated[str, Query(pattern=r"^[a-z][a-z0-9_]{0,63}$")],
    _: Everyone,
    svc: ServicesDep,
    hours: Annotated[float, Query(gt=0, le=24 * 366)] = 24.0,
    max_points: Annotated[int, Query(ge=2, le=2000)] = 300,
) -> list[PointView]:
    if device not in svc.bridge.devices:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no device {device!r}")
    now = datetime.now(UTC)
    points = svc.history.series(device, field, now - timedelta(hours=hours), now, max_points)
    return [PointView(at=p.at, value=p.value, low=p.low, high=p.high, count=p.count) for p in points]


@devices.post("/{device}/commands", response_model=CommandView, status_code=202)
def command_device(device: Id, body: CommandRequest, request: Request, user: Operator, db: DatabaseDep, svc: ServicesDep) -> CommandView:
    """Queue a command; its fate (acked or failed) shows on ``GET /api/commands/{id}`` and the live feed."""
    if device not in svc.bridge.devices:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no device {device!r}")
    before = svc.bridge.read(lambda twin: dict(twin.entity(device).reported))
    try:
        command = svc.bridge.check(device, body.set, by=f"{user.role}:{user.username}")
    except BridgeError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    audit(db, request, user, "command", device, before, {**body.set, "command": command.command_id})
    db.commit()  # the audit entry stands before the command leaves; if it cannot be written, nothing is sent
    svc.bridge.submit(command)
    return CommandView(
        id=command.command_id, device=device, fields=body.set, by=f"{user.role}:{user.username}", state="pending", error=None
    )


@commands.get("/{command_id}", response_model=CommandView)
def get_command(command_id: Id, _: Everyone, svc: ServicesDep) -> CommandView:
    def find(twin: Twin) -> CommandView | None:
        c = twin.commands.get(command_id)
        if c is None:
            return None
        return CommandView(id=c.id, device=c.entity_id, fields=c.fields, by=c.by, state=c.state.value, error=c.error)

    found = svc.bridge.read(find)
    if found is None:
        # Queued but not yet picked up by the bridge's loop: still pending.
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no command {command_id!r} (yet)")
    return found  # type: ignore[no-any-return]


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


PUBLIC = {
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/token"),
    ("GET", "/"),
    ("GET", "/i18n.js"),
    ("GET", "/docs"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
}
"""The only routes anyone may call unsigned (signing in, the page and its assets); tests/web/test_routes.py checks every other."""
LARGE_BODIES = {("POST", "/api/runs")}
"""Routes whose body may be larger than a command's (an uploaded scenario); web/limits.py bounds both."""


class RunRequest(Strict):
    scenario: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = Field(None, description="A library scenario by name.")
    toml: Annotated[str, Field(max_length=200_000)] | None = Field(
        None, description="Or a whole scenario file (it may extend a library one)."
    )
    overrides: Annotated[list[Annotated[str, Field(max_length=500)]], Field(max_length=50)] = Field(default_factory=list)
    replications: Annotated[int, Field(ge=1, le=200)] = 5


class RunView(BaseModel):
    id: int
    created_at: Instant
    username: str
    scenario: str
    overrides: list[str]
    replications: int
    status: str
    done_replications: int
    error: str | None


runs = APIRouter(prefix="/api/runs", tags=["planner"])
Planners = Annotated[User, Depends(RequireRole(Role.OPERATOR, Role.ADMIN))]


@runs.get("/library", response_model=list[str])
def scenario_library(_: Everyone) -> list[str]:
    return planner.library()


class ScenarioSummary(BaseModel):
    name: str
    title: str
    workers: int
    replications: int
    units: dict[str, int] = Field(description="Device id -> units, for the devices that serve workers.")


@runs.get("/library/{name}", response_model=ScenarioSummary)
def scenario_summary(name: Id, user: Everyone) -> ScenarioSummary:
    """The values the planner's form offers to change."""
    if name not in planner.library():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no library scenario {name!r}")
    scenario = planner.validate(name, None, [])[2]
    units = {d.id: int(d.config.units) for d in scenario.station.devices if hasattr(d.config, "units")}
    workers = int(planner.workers(scenario))
    return ScenarioSummary(name=name, title=scenario.title, workers=workers, replications=scenario.replications, units=units)


@runs.post("", response_model=RunView, status_code=202)
def start_run(body: RunRequest, request: Request, user: Planners, db: DatabaseDep, svc: ServicesDep) -> RunView:
    """Queue a what-if run; poll it for progress, then read its report."""
    if (body.scenario is None) == (body.toml is None):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "give either scenario (a library name) or toml (a scenario file)")
    if body.scenario is not None and body.scenario not in planner.library():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no library scenario {body.scenario!r}; see /api/runs/library")
    try:
        name, source, scenario = planner.validate(body.scenario, body.toml, body.overrides)
    except ScenarioError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc).replace("upload.toml", "upload")) from None
    try:
        run_id = svc.planner.submit(user.username, name, source, scenario, body.overrides, body.replications)
    except planner.TooCostly as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except planner.QueueFull as exc:
        raise Refused(status.HTTP_429_TOO_MANY_REQUESTS, "queue_full", str(exc)) from None
    audit(
        db,
        request,
        user,
        "planner_run",
        f"run {run_id}",
        None,
        {"scenario": name, "overrides": body.overrides, "replications": body.replications},
    )
    return _run_view(svc, run_id)


def _run_view(svc: Any, run_id: int) -> RunView:
    with svc.sessions() as db:
        run = db.get(PlannerRun, run_id)
        if run is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no run {run_id}")
        return RunView.model_validate(run, from_attributes=True)


@runs.get("", response_model=list[RunView])
def list_runs(_: Everyone, db: DatabaseDep, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[RunView]:
    rows = db.scalars(select(PlannerRun).order_by(PlannerRun.id.desc()).limit(limit))
    return [RunView.model_validate(r, from_attributes=True) for r in rows]


@runs.get("/compare", response_class=HTMLResponse)
def compare_runs(
    _: Everyone, db: DatabaseDep, ids: Annotated[list[RunId], Query(min_length=2, max_length=6)], lang: Literal["zh", "en"] = "zh"
) -> HTMLResponse:
    """Runs side by side, each against the first, paired by replication (they share seeds when the base seed is the same)."""
    documents = []
    for run_id in ids:
        run = db.get(PlannerRun, run_id)
        if run is None or run.document is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"run {run_id} has no results (yet)")
        documents.append((f"#{run.id} {run.scenario} {' '.join(run.overrides)}".strip(), run.document))
    windows = {(d["scenario"]["horizon_s"], d["scenario"]["warmup_s"]) for _, d in documents}
    if len(windows) > 1:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "runs with different horizons or warm-ups cannot be compared")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "comparison.html"
        write_comparison_report(compare_results(documents), path, lang)
        return HTMLResponse(path.read_text(encoding="utf-8"))


@runs.get("/{run_id}", response_model=RunView)
def get_run(run_id: RunId, _: Everyone, svc: ServicesDep) -> RunView:
    return _run_view(svc, run_id)


@runs.post("/{run_id}/cancel", response_model=RunView)
def cancel_run(run_id: RunId, request: Request, user: Planners, db: DatabaseDep, svc: ServicesDep) -> RunView:
    """Stop a queued or running run: its owner or an officer may."""
    run = db.get(PlannerRun, run_id)
    if run is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no run {run_id}")
    if run.username != user.username and user.role != Role.ADMIN:
        detail = f"run {run_id} is {run.username}'s; only they or an admin may cancel it"
        raise Refused(status.HTTP_403_FORBIDDEN, "not_your_run", detail, owner=run.username)
    if run.status not in planner.WAITING:
        raise Refused(status.HTTP_409_CONFLICT, "run_ended", f"run {run_id} has already ended ({run.status})")
    audit(db, request, user, "planner_run_cancelled", f"run {run_id}", {"status": run.status}, None)
    db.commit()  # the audit entry stands before the run is stopped
    if not svc.planner.cancel(run_id):
        raise Refused(status.HTTP_409_CONFLICT, "run_ended", f"run {run_id} ended while it was being cancelled")
    return _run_view(svc, run_id)


@runs.get("/{run_id}/report", response_class=HTMLResponse)
def run_report(run_id: RunId, _: Everyone, db: DatabaseDep, lang: Literal["zh", "en"] = "zh") -> HTMLResponse:
    run = db.get(PlannerRun, run_id)
    if run is None or run.document is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"run {run_id} has no report (yet)")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.html"
        write_report(run.document, path, lang)
        return HTMLResponse(path.read_text(encoding="utf-8"))


class DoorEvent(BaseModel):
    at: Instant
    door: str
    event: str
    worker: str | None
    group: str | None


class PlacedDevice(BaseModel):
    id: str
    kind: str
    label: str
    units: int | None = Field(description="Units workers use (seats, microwaves); None for devices without units.")
    x_m: float
    y_m: float
    placed: bool = Field(description="False: the scenario gives no place; the plan puts it in a row below the floor.")


class StationClock(BaseModel):
    now: datetime = Field(description="What time it is at the station, as this answer left.")
    speed: float = Field(description="Station seconds per real second: 1, or an emulated demo's pace (60).")
    emulated: bool = Field(description="The station's time is an emulated crowd's, not the wall's.")


class StationPlan(BaseModel):
    station: str
    name: str
    timezone: str
    width_m: float
    depth_m: float
    devices: list[PlacedDevice]
    clock: StationClock


class DeviceToday(BaseModel):
    device: str
    label: str
    units: int
    uses: int = Field(description="Uses started today (the device's cycle counter, else rises in busy units).")
    utilisation: float | None = Field(description="Busy unit-seconds over unit-seconds the device was heard from today, 0-1.")
    wait_mean_s: float | None = Field(description="Mean wait of today's uses by Little's law (person-seconds queued / uses).")
    queue_peak: int
    uses_by_hour: list[int]
    wait_by_hour_s: list[float | None]


class TodayFigures(BaseModel):
    day: date = Field(description="Today in the station's time zone.")
    timezone: str
    visitors_by_hour: list[int] = Field(description="Workers let in by the door in each clock hour (station time), 0-23.")
    visitors: int
    commands: int
    alarms_raised: int
    devices: list[DeviceToday] = Field(description="Every device workers queue for, busiest first.")


station_log = APIRouter(prefix="/api/station", tags=["station"])


@station_log.get("/door-log", response_model=list[DoorEvent])
def door_log(
    _: Everyone,
    svc: ServicesDep,
    hours: Annotated[float, Query(gt=0, le=24 * 31)] = 24.0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[DoorEvent]:
    """Who came in and who left, newest first (the door's worker_entered and worker_left events)."""
    now = datetime.now(UTC)
    rows = svc.history.events(now - timedelta(hours=hours), now, names=["worker_entered", "worker_left"], limit=10_000)
    events = [
        DoorEvent(at=r.at, door=r.entity_id, event=r.name, worker=r.data.get("worker"), group=r.data.get("group"))
        for r in rows
    ]  # fmt: skip
    return events[::-1][:limit]


@station_log.get("/plan", response_model=StationPlan)
def plan(_: Everyone, svc: ServicesDep) -> StationPlan:
    """The floor plan: where each device stands, so the page can draw the station as it is."""
    station = svc.station
    width, depth = station.floor_m
    shown = [d for d in station.devices if d.id in svc.bridge.devices]
    unplaced = {d.id: n for n, d in enumerate(d for d in shown if d.at is None)}
    placed = []
    for device in shown:
        if device.at is not None:
            x, y, known = device.at[0], device.at[1], True
        else:  # evenly along a row below the floor: the operator sees it is there and that nobody placed it
            x, y, known = width * (unplaced[device.id] + 0.5) / len(unplaced), depth + 1.0, False
        units = getattr(device.config, "units", None)
        placed.append(PlacedDevice(id=device.id, kind=device.kind, label=device.label, units=units, x_m=x, y_m=y, placed=known))
    return StationPlan(
        station=station.id, name=station.name or station.id, timezone=station.timezone,
        width_m=width, depth_m=depth, devices=placed,
        clock=StationClock(now=svc.station_time.now(), speed=svc.station_time.clock.speed, emulated=svc.station_time.emulated),
    )  # fmt: skip


@station_log.get("/today", response_model=TodayFigures)
def today(_: Everyone, svc: ServicesDep) -> TodayFigures:
    """Today's figures in the station's own day: visitors by hour, waits and the busiest devices."""
    # The station's clock on the feed's run seconds (the wall clock may have been stepped since the station started;
    # an emulated crowd's day is its own).
    book = svc.bridge.read(lambda _twin: svc.daybook.figures(svc.station_time.now()))
    labels = {d.id: d.label for d in svc.station.devices}
    devices = [DeviceToday(label=labels.get(d.device, d.device), **dataclasses.asdict(d)) for d in book.devices]
    fields = {f.name: getattr(book, f.name) for f in dataclasses.fields(book) if f.name != "devices"}
    return TodayFigures(visitors=book.visitors, devices=devices, **fields)


ROUTERS = (auth, devices, commands, alarms, staff, audit_log, runs, station_log)
