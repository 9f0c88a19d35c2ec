"""Typed dependencies every router shares: the database session, the station, the signed-in user and their role."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, WebSocket, status
from fastapi import Path as ApiPath
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import HTTPConnection

from actors.automation import ManualHolds
from hardware_bridge.bridge import Bridge
from scenarios.schema import Station
from station.settings import Settings
from station.supplies import SupplyKeeper
from store.audit import AuditLog
from store.db import as_utc
from store.errors import Refusal
from store.history import History
from store.ledger import Ledger
from store.models import User
from twin.clock import Clock
from twin.daybook import Daybook
from vision.evidence import Evidence
from web.auth import EVERYONE, OPERATORS, OVERSIGHT, Role, user_for
from web.planner import Planner
from web.signin import SignInGate

if TYPE_CHECKING:
    from web.metrics import StationMetrics

COOKIE = "yxy_session"

Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
"""A device's, an alarm's or a user's id in a path: nothing a path or a log line could be bent with."""
RunId = Annotated[int, ApiPath(ge=1, le=2**31 - 1)]


class Strict(BaseModel):
    """A request body: an unknown field is a mistake to be told of, not ignored."""

    model_config = ConfigDict(extra="forbid")


class Problem(BaseModel):
    """Every refusal's body: what is wrong, in words a member of staff can act on.

    ``code`` (when the refusal has one) names the words in the page's catalog
    (``problem_<code>``, filled with ``params``), so the page says it in its language;
    ``detail`` is the same in English, for scripts and logs."""

    detail: str | list[dict[str, Any]] = Field(description="What is wrong; a 422 from validation lists each field's problem.")
    code: str | None = None
    params: dict[str, Any] | None = None


PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "description": text}
    for code, text in (
        (401, "Not signed in, or the session ended."),
        (403, "Signed in, but this role may not (or a cross-origin browser request)."),
        (404, "No such device, alarm, user, run or scenario."),
        (409, "The thing changed meanwhile (a closed alarm, the last admin, an ended run)."),
        (413, "The body is larger than this route takes."),
        (422, "The request is malformed: what is wrong, and where."),
        (429, "Too many requests from this caller; Retry-After says when to try again."),
        (503, "The database or the server is busy; nothing was changed (Retry-After)."),
    )
}
"""The refusals any route may answer, each a ``Problem``: declared once, on the app, so the schema tells clients."""


class Refused(HTTPException):
    """An HTTP refusal with a catalog ``code`` (see ``Problem``): the app's handler answers it as a ``Problem``."""

    def __init__(self, status_code: int, code: str, detail: str, headers: dict[str, str] | None = None, **params: Any) -> None:
        super().__init__(status_code, detail, headers)
        self.code = code
        self.params = params


def refused(exc: Refusal, statuses: Mapping[str, int] | None = None) -> Refused:
    """A store's refusal as the web answers it: the status ``statuses`` gives its code, else 422, with its catalog code
    and parameters (the page says it in its language)."""
    http = (statuses or {}).get(exc.code, status.HTTP_422_UNPROCESSABLE_CONTENT)
    return Refused(http, exc.code, str(exc), None, **exc.params)


Instant = Annotated[datetime, AfterValidator(as_utc)]
"""A moment, in ISO 8601 with its offset (UTC), so no browser takes it for its own; the page shows it in the station's
time zone."""


@dataclass
class Services:
    settings: Settings
    sessions: sessionmaker[Session]
    bridge: Bridge
    history: History
    planner: Planner
    station: Station
    """The station as described: device labels, units, floor plan, time zone."""
    daybook: Daybook
    """Today's figures; read and changed only under ``bridge.read`` (the loop feeds it)."""
    metrics: StationMetrics
    gate: SignInGate
    audit_log: AuditLog
    station_time: StationTime
    holds: ManualHolds
    """Devices a person's command holds against the automations; read only under ``bridge.read``."""
    tell_doors: Callable[[], None]
    """Tell the doors the register again (``LiveStation.brief_doors``), once a change to it is committed."""
    forget_face: Callable[[int, str], list[str]]
    """A member's face consent is gone: the doors stop face entry and their terminals delete the template."""
    tell_visitor: Callable[[int], None]
    """A visitor's ask, made ready or withdrawn and committed, told to its door (``LiveStation.tell_visitor``)."""
    visitor_outcome: Callable[[int], dict[str, Any] | None]
    """What a door decided on a visitor's pass, before the round stores it (``LiveStation.visitor_outcome``)."""
    evidence: Evidence
    """The cameras' incidents: blurred snapshots, keypoints, scores, verdicts (``LiveStation.evidence``)."""
    ledger: Ledger
    """The union's books (``LiveStation.ledger``): its head file is the station's."""
    supplies: SupplyKeeper
    """The station's stock and its alarms (``LiveStation.supplies``)."""


@dataclass(frozen=True)
class StationTime:
    """The station's clock (its run seconds are the bridge's): the wall's, or in an emulated demo the crowd's."""

    clock: Clock
    emulated: bool

    def moment(self, t: float) -> datetime:
        """Run time ``t`` as a moment on the station's clock, in UTC."""
        return self.clock.datetime_at(t).astimezone(UTC)

    def now(self) -> datetime:
        return self.moment(self.clock.now())


async def services(request: Request) -> Services:
    # async: a sync dependency costs a thread-pool round trip per request, and this one does no I/O
    found: Services = request.app.state.services
    return found


def database(request: Request) -> Iterator[Session]:
    made: sessionmaker[Session] = request.app.state.services.sessions
    with made.begin() as db:
        yield db


def token_of(request: Request | WebSocket) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(COOKIE)


ServicesDep = Annotated[Services, Depends(services)]
DatabaseDep = Annotated[Session, Depends(database, scope="function")]
"""Committed before the response leaves: a client told 2xx finds its write there on its very next request."""


def signed_in(request: Request, db: DatabaseDep) -> User:
    token = token_of(request)
    user = user_for(db, token) if token else None
    if user is None:
        raise Refused(status.HTTP_401_UNAUTHORIZED, "signed_out", "sign in first", headers={"WWW-Authenticate": "Bearer"})
    return user


class RequireRole:
    """A dependency admitting only ``roles``; the route-table test reads ``roles`` off every route."""

    def __init__(self, *roles: Role) -> None:
        self.roles = roles

    async def __call__(self, user: Annotated[User, Depends(signed_in)]) -> User:  # no I/O: no thread-pool round trip
        if Role(user.role) not in self.roles:
            raise Refused(status.HTTP_403_FORBIDDEN, "role", f"a {user.role} may not do this", role=user.role)
        return user


def same_origin(request: HTTPConnection) -> bool:
    """False if a browser says a page of another origin made this request (``Origin``, else ``Sec-Fetch-Site``).

    A request with neither header is no browser's cross-origin request (a script, curl): it is let through, and
    it carries no cookie of a victim's anyway.  Ports count: a page on another port of this host is another origin.
    """
    origin = request.headers.get("origin")
    if origin is not None:
        return origin != "null" and urlsplit(origin).netloc == request.headers.get("host", "")
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


def client_of(request: Request | WebSocket) -> str:
    """The caller's address: the peer's, or what a configured proxy (``trusted_proxies``) says it forwarded."""
    return request.client.host if request.client else ""


def audit(db: Session, request: Request, user: User, action: str, target: str, before: Any = None, after: Any = None) -> None:
    """Append one entry to the chained log, in the request's transaction: it commits with the change or not at all."""
    log: AuditLog = request.app.state.services.audit_log
    log.append(db, user.username, user.role, action, target, before, after, client_of(request))


def sign_in_recorder(log: AuditLog) -> Callable[[Session, str, str, dict[str, Any]], None]:
    """How the sign-in gate writes for someone not (yet) signed in: a failed sign-in, a place made to wait. No role."""

    def record(db: Session, action: str, username: str, details: dict[str, Any]) -> None:
        log.append(db, username, "", action, username, None, details, str(details.get("source", "")))

    return record


Everyone = Annotated[User, Depends(RequireRole(*EVERYONE))]
Operator = Annotated[User, Depends(RequireRole(*OPERATORS))]
"""Those who run the station: custodians, operators, officers; never the auditor."""
Oversight = Annotated[User, Depends(RequireRole(*OVERSIGHT))]
Admin = Annotated[User, Depends(RequireRole(Role.ADMIN))]
