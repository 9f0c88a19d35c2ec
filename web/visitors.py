"""Visitors at the door, on the web: the visitor's own phone page asks (``/v``), the custodian answers on theirs.

A visitor scans the QR on the station's door, gives a phone number and what they came for.
At night the toilet and water need nobody's approval (the door's own rule,
``actors.door_access``): the ask is ready at once. By day it waits in the custodian's list,
with how often the same phone asked this month (its visit key: counted, not profiled),
until they approve or refuse. A ready ask's page shows a visitor's pass, renewed like a
member's; the door's scanner reads it, and the door decides then, by its rules at that
moment (the night may have ended, the station may be full or the door locked). So the door
opens only for someone standing at it, never for a request from anywhere. The phone is
turned into its visit key at once and never stored (``store.visitors``).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Depends, Query, Request, status
from fastapi import Path as ApiPath
from pydantic import BaseModel, Field
from pydantic_core import PydanticCustomError
from sqlalchemy.orm import Session

from actors import door_pass
from actors.door import DoorConfig
from actors.door_access import AsVisitor, Verdict, decide
from store import visitors as book
from store.members import cell_text, door_key, normalise_phone, visit_secret
from store.models import User, VisitorAsk
from web import members as web_members
from web.accounts import paced_as
from web.auth import Role
from web.deps import DatabaseDep, Instant, Refused, RequireRole, Services, ServicesDep, Strict, audit, client_of, refused

Keepers = Annotated[User, Depends(RequireRole(Role.CUSTODIAN, Role.ADMIN))]
"""Who answers a visitor: the custodian on duty, or an officer."""
Readers = Annotated[User, Depends(RequireRole(Role.CUSTODIAN, Role.ADMIN, Role.AUDITOR))]
AskId = Annotated[int, ApiPath(ge=1, le=2**31 - 1)]
Token = Annotated[str, ApiPath(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
COUNTED_OVER = timedelta(days=30)
"""The custodian sees how often a visitor asked over this long ("the 3rd time this month")."""


class DoorRules(BaseModel):
    """What the visitor's page tells before they ask: which door, what they may come for, when the night rule holds."""

    door: str
    label: str
    needs: list[str]
    night_needs: list[str]
    night_from_h: float
    night_to_h: float
    timezone: str
    kept_days: float = Field(description="How long the visitor's record (no phone: a visit key) is kept.")


class AskBody(Strict):
    phone: str = Field(max_length=32)
    needs: list[str] = Field(min_length=1, max_length=len(book.VISITOR_NEEDS))
    door: str | None = Field(None, max_length=64)


class VisitorPass(BaseModel):
    """What the visitor shows at the door's scanner: 30 s, one-time, for this ask only."""

    text: str
    qr: str


class AskView(BaseModel):
    """An ask as the visitor's page shows it (the token only in the answer to asking; the pass only while ready)."""

    id: int
    status: book.AskStatus
    reason: str | None
    needs: list[str]
    asked_at: Instant
    token: str | None = None
    door_pass: VisitorPass | None = None


class VisitorView(AskView):
    """An ask as the custodian sees it: no phone, only how often the same phone asked lately."""

    door: str
    decided_at: Instant | None
    decided_by: str | None
    asked_this_month: int = Field(description="Asks from the same phone over the last 30 days, this one included.")


def now() -> datetime:
    """The web's clock for asks (tests move it)."""
    return web_members.now()


def _view(row: VisitorAsk, moment: datetime, token: str | None = None, door_pass_of: VisitorPass | None = None) -> AskView:
    return AskView(id=row.id, status=book.shown_status(row, moment), reason=row.reason, needs=list(row.needs), asked_at=row.asked_at,
                   token=token, door_pass=door_pass_of)  # fmt: skip


def _staff_views(db: Session, rows: list[VisitorAsk], moment: datetime) -> list[VisitorView]:
    counts = book.visits_by_key(db, (row.visit_key for row in rows), moment - COUNTED_OVER)
    return [
        VisitorView(**_view(row, moment).model_dump(), door=row.door, decided_at=row.decided_at, decided_by=row.decided_by,
                    asked_this_month=counts.get(row.visit_key, 1))
        for row in rows
    ]  # fmt: skip


def _doors(svc: Services) -> dict[str, Any]:
    return {d.id: d for d in svc.station.devices if d.kind == "door" and d.id in svc.bridge.devices}


def _door(svc: Services, wanted: str | None) -> Any:
    doors = _doors(svc)
    if not doors:
        raise Refused(status.HTTP_404_NOT_FOUND, "no_visitor_door", "this station has no door that lets visitors in")
    if wanted is None:
        return next(iter(doors.values()))
    if wanted not in doors:
        raise Refused(status.HTTP_404_NOT_FOUND, "no_visitor_door", f"no door {wanted!r} at this station")
    return doors[wanted]


def _night_rule_admits(svc: Services, device: Any, needs: list[str], moment: datetime) -> bool:
    """Whether the door's night rule would let them in now without the custodian (the door checks again at the scan)."""
    config: DoorConfig = device.config
    hour = svc.station_time.clock.hour_of_day(svc.station_time.clock.now())
    verdict = decide(config.entry_rules(), AsVisitor(tuple(needs), False), {}, 0, False, moment.timestamp(), hour).verdict
    return verdict is Verdict.VISITOR_AT_NIGHT


def _pass_for(svc: Services, row: VisitorAsk, moment: datetime) -> VisitorPass | None:
    if book.shown_status(row, moment) is not book.AskStatus.READY:
        return None
    key = door_key(web_members.station_key(svc))
    text = door_pass.issue(key, svc.station.id, row.id, moment.timestamp(), secrets.token_urlsafe(12), visitor=True)
    return VisitorPass(text=text, qr=segno.make(text, error="m").svg_data_uri(scale=4))


visitor_api = APIRouter(prefix="/api/visitor", tags=["visitor"])
VisitorPaced = Depends(paced_as("visitor"))
"""Asking is paced per place like a sign-in, in a bucket of its own: visitors on the station's Wi-Fi do not use up the
members' sign-in tries."""


@visitor_api.get("/door", response_model=DoorRules)
def door_rules(svc: ServicesDep, door: Annotated[str | None, Query(max_length=64)] = None) -> DoorRules:
    """The door a visitor stands at (the QR on it names it; else the station's first), and its night rule."""
    device = _door(svc, door)
    config: DoorConfig = device.config
    return DoorRules(
        door=device.id, label=device.label, needs=list(book.VISITOR_NEEDS),
        night_needs=[need for need in config.night_needs if need in book.VISITOR_NEEDS],
        night_from_h=config.night_from_h, night_to_h=config.night_to_h, timezone=svc.station.timezone,
        kept_days=svc.settings.visitor_records_days,
    )  # fmt: skip


@visitor_api.post("/ask", response_model=AskView, status_code=201, dependencies=[VisitorPaced])
def ask(body: AskBody, request: Request, db: DatabaseDep, svc: ServicesDep) -> AskView:
    """A visitor asks to come in. At night, for the toilet and water, the ask is ready at once and the answer carries
    the pass to show at the door; otherwise it waits for the custodian. The token is the page's way back to it."""
    try:
        phone = normalise_phone(cell_text(body.phone))
    except PydanticCustomError as exc:
        problem = {"field": "phone", "code": exc.type, "params": {}}
        raise Refused(status.HTTP_422_UNPROCESSABLE_CONTENT, "member_invalid", "not a mobile number", problems=[problem]) from None
    device = _door(svc, body.door)
    moment = now()
    ready = _night_rule_admits(svc, device, body.needs, moment)
    secret = visit_secret(web_members.station_key(svc))
    try:
        asked = book.ask(db, secret, phone, body.needs, device.id, client_of(request), ready, moment)
    except book.VisitorError as exc:
        raise refused(exc, {"visitors_queue_full": status.HTTP_429_TOO_MANY_REQUESTS}) from None
    view = _view(asked.ask, moment, asked.token, _pass_for(svc, asked.ask, moment))
    db.commit()  # stored before the door hears of it
    if ready:
        svc.tell_visitor(asked.ask.id)
    return view


@visitor_api.get("/ask/{token}", response_model=AskView)
def ask_again(token: Token, db: DatabaseDep, svc: ServicesDep) -> AskView:
    """What became of one's ask, and while it is ready a fresh pass: the page polls this."""
    row = book.by_token(db, token)
    if row is None:
        raise Refused(status.HTTP_404_NOT_FOUND, "visitor_ask_unknown", "no such ask: it was forgotten, or never made")
    moment = now()
    decided = svc.visitor_outcome(row.id)
    if decided is not None:  # the door has just decided on its pass; the round stores it too
        book.settle_by_door(row, decided, moment)
    return _view(row, moment, None, _pass_for(svc, row, moment))


visitors = APIRouter(prefix="/api/visitors", tags=["visitors"])


@visitors.get("", response_model=list[VisitorView])
def list_visitors(_: Readers, db: DatabaseDep, hours: Annotated[float, Query(gt=0, le=24 * 7)] = 24.0) -> list[VisitorView]:
    """Visitors who asked lately, newest first: the waiting ones are the custodian's to answer."""
    moment = now()
    return _staff_views(db, book.recent(db, moment - timedelta(hours=hours)), moment)


def _open(db: Session, ask_id: int, moment: datetime, *wanted: book.AskStatus) -> VisitorAsk:
    book.lock(db)
    row = book.get(db, ask_id)
    if row is None:
        raise Refused(status.HTTP_404_NOT_FOUND, "visitor_ask_unknown", f"no visitor's ask {ask_id}")
    shown = book.shown_status(row, moment)
    if shown not in wanted:
        raise Refused(status.HTTP_409_CONFLICT, "visitor_not_waiting", f"this ask is {shown} already", status=shown.value)
    return row


@visitors.post("/{ask_id}/approve", response_model=VisitorView)
def approve(ask_id: AskId, request: Request, user: Keepers, db: DatabaseDep, svc: ServicesDep) -> VisitorView:
    """Let the visitor in: audited and committed, then the door holds the ask until the visitor shows its pass there
    (a full or locked door still says no then)."""
    moment = now()
    row = _open(db, ask_id, moment, book.AskStatus.WAITING)
    audit(db, request, user, "visitor_approved", f"visitor:{row.id}", None, {"needs": list(row.needs), "door": row.door})
    book.approve(row, user.username, moment)
    view = _staff_views(db, [row], moment)[0]
    db.commit()  # audited and stored before the door hears of it
    svc.tell_visitor(row.id)
    return view


@visitors.post("/{ask_id}/refuse", response_model=VisitorView)
def refuse(ask_id: AskId, request: Request, user: Keepers, db: DatabaseDep, svc: ServicesDep) -> VisitorView:
    """Turn the visitor away, waiting or ready (a night ask too: the custodian sees who is at the door)."""
    moment = now()
    row = _open(db, ask_id, moment, book.AskStatus.WAITING, book.AskStatus.READY)
    decided = svc.visitor_outcome(row.id)
    if decided is not None and decided.get("admitted"):  # the door let them in a moment ago: they are inside
        book.settle_by_door(row, decided, moment)
        db.commit()
        raise Refused(status.HTTP_409_CONFLICT, "visitor_not_waiting", "this visitor has just come in", status=row.status)
    audit(db, request, user, "visitor_refused", f"visitor:{row.id}", None, {"needs": list(row.needs), "door": row.door})
    book.settle(row, book.AskStatus.REFUSED, book.CUSTODIAN_REFUSED, user.username, moment)
    view = _staff_views(db, [row], moment)[0]
    db.commit()
    svc.tell_visitor(row.id)  # withdrawn: its pass no longer opens the door
    return view
