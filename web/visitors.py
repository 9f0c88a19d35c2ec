"""Visitors at the door, on the web: the visitor's own phone page asks (``/v``), the custodian answers on theirs.

A visitor scans the QR on the station's door, gives a phone number and what they came for;
the door decides at once by its own rules (``actors.door_access``: at night the toilet and
water need nobody's approval; by day the custodian decides; a full or locked door says so),
and the page shows the answer. By day the ask waits in the custodian's list, with how often
the same phone asked this month (its visit key: counted, not profiled), until they approve
(the door then decides again, capacity first) or refuse. The phone is turned into its visit
key at once and never stored (``store.visitors``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi import Path as ApiPath
from pydantic import BaseModel, Field
from pydantic_core import PydanticCustomError
from sqlalchemy.orm import Session

from actors.door import DoorConfig
from actors.door_access import Verdict
from actors.message import VisitorAtDoor
from store import visitors as book
from store.members import cell_text, normalise_phone, visit_secret
from store.models import User, VisitorAsk
from web import members as web_members
from web.accounts import Paced
from web.auth import Role
from web.deps import DatabaseDep, Instant, Refused, RequireRole, Services, ServicesDep, Strict, audit

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


class AskView(BaseModel):
    """An ask as the visitor's page shows it (the token only in the answer to asking)."""

    id: int
    status: book.AskStatus
    reason: str | None
    needs: list[str]
    asked_at: Instant
    expires_at: Instant
    token: str | None = None

    @classmethod
    def of(cls, row: VisitorAsk, token: str | None = None) -> AskView:
        asked = row.asked_at if row.asked_at.tzinfo else row.asked_at.replace(tzinfo=UTC)
        return cls(id=row.id, status=book.AskStatus(row.status), reason=row.reason, needs=list(row.needs), asked_at=asked,
                   expires_at=asked + book.ASK_LIFE, token=token)  # fmt: skip


class VisitorView(AskView):
    """An ask as the custodian sees it: no phone, only how often the same phone asked lately."""

    door: str
    decided_at: Instant | None
    decided_by: str | None
    asked_this_month: int = Field(description="Asks from the same phone over the last 30 days, this one included.")


def now() -> datetime:
    """The web's clock for asks (tests move it)."""
    return web_members.now()


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


def _ask_the_door(svc: Services, db: Session, row: VisitorAsk, approved: bool, by: str | None) -> None:
    """The door decides (the night rule, the custodian's approval, the capacity); the ask is settled by its answer."""
    answer = svc.ask_door(row.door, VisitorAtDoor(row.id, row.visit_key, tuple(row.needs), approved))
    if answer is None:
        if approved:
            raise Refused(status.HTTP_503_SERVICE_UNAVAILABLE, "door_no_answer", "the door did not answer; try again")
        return  # the custodian can still approve it
    reason = str(answer.get("reason"))
    if answer.get("admitted"):
        book.settle(row, book.AskStatus.ADMITTED, reason, by, now())
    elif reason != Verdict.NEEDS_APPROVAL:
        book.settle(row, book.AskStatus.REFUSED, reason, by, now())


visitor_api = APIRouter(prefix="/api/visitor", tags=["visitor"])


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


@visitor_api.post("/ask", response_model=AskView, status_code=201, dependencies=[Paced])
def ask(body: AskBody, db: DatabaseDep, svc: ServicesDep) -> AskView:
    """A visitor asks to come in. The door answers at once where its rules allow (at night, for the toilet and water);
    otherwise the ask waits for the custodian. The answer carries the token the page asks again with."""
    try:
        phone = normalise_phone(cell_text(body.phone))
    except PydanticCustomError as exc:
        problem = {"field": "phone", "code": exc.type, "params": {}}
        raise Refused(status.HTTP_422_UNPROCESSABLE_CONTENT, "member_invalid", "not a mobile number", problems=[problem]) from None
    device = _door(svc, body.door)
    secret = visit_secret(web_members.station_key(svc))
    try:
        asked = book.ask(db, secret, phone, body.needs, device.id, now())
    except book.VisitorError as exc:
        raise Refused(status.HTTP_422_UNPROCESSABLE_CONTENT if exc.code == "visitor_needs" else status.HTTP_429_TOO_MANY_REQUESTS,
                      exc.code, str(exc)) from None  # fmt: skip
    _ask_the_door(svc, db, asked.ask, approved=False, by=None)
    return AskView.of(asked.ask, asked.token)


@visitor_api.get("/ask/{token}", response_model=AskView)
def ask_again(token: Token, db: DatabaseDep) -> AskView:
    """What became of one's ask: the page polls this while the custodian decides."""
    row = book.by_token(db, token, now())
    if row is None:
        raise Refused(status.HTTP_404_NOT_FOUND, "visitor_ask_unknown", "no such ask: it was forgotten, or never made")
    return AskView.of(row)


visitors = APIRouter(prefix="/api/visitors", tags=["visitors"])


@visitors.get("", response_model=list[VisitorView])
def list_visitors(_: Readers, db: DatabaseDep, hours: Annotated[float, Query(gt=0, le=24 * 7)] = 24.0) -> list[VisitorView]:
    """Visitors who asked lately, newest first: the waiting ones are the custodian's to answer."""
    moment = now()
    book.expire(db, moment)
    rows = book.recent(db, moment - timedelta(hours=hours))
    counts = book.visits_by_key(db, (row.visit_key for row in rows), moment - COUNTED_OVER)
    return [
        VisitorView(**AskView.of(row).model_dump(), door=row.door, decided_at=row.decided_at, decided_by=row.decided_by,
                    asked_this_month=counts.get(row.visit_key, 1))
        for row in rows
    ]  # fmt: skip


def _waiting(db: Session, ask_id: int) -> VisitorAsk:
    book.expire(db, now())
    row = book.get(db, ask_id)
    if row is None:
        raise Refused(status.HTTP_404_NOT_FOUND, "visitor_ask_unknown", f"no visitor's ask {ask_id}")
    if row.status != book.AskStatus.WAITING:
        raise Refused(status.HTTP_409_CONFLICT, "visitor_not_waiting", f"this ask is {row.status} already", status=row.status)
    return row


@visitors.post("/{ask_id}/approve", response_model=VisitorView)
def approve(ask_id: AskId, request: Request, user: Keepers, db: DatabaseDep, svc: ServicesDep) -> VisitorView:
    """Let the visitor in: audited first, then the door decides (a full or locked door still says no)."""
    book.lock(db)
    row = _waiting(db, ask_id)
    audit(db, request, user, "visitor_approved", f"visitor:{row.id}", None, {"needs": list(row.needs), "door": row.door})
    _ask_the_door(svc, db, row, approved=True, by=user.username)
    return _view(db, row)


@visitors.post("/{ask_id}/refuse", response_model=VisitorView)
def refuse(ask_id: AskId, request: Request, user: Keepers, db: DatabaseDep) -> VisitorView:
    book.lock(db)
    row = _waiting(db, ask_id)
    audit(db, request, user, "visitor_refused", f"visitor:{row.id}", None, {"needs": list(row.needs), "door": row.door})
    book.settle(row, book.AskStatus.REFUSED, book.CUSTODIAN_REFUSED, user.username, now())
    return _view(db, row)


def _view(db: Session, row: VisitorAsk) -> VisitorView:
    counts = book.visits_by_key(db, [row.visit_key], now() - COUNTED_OVER)
    return VisitorView(**AskView.of(row).model_dump(), door=row.door, decided_at=row.decided_at, decided_by=row.decided_by,
                       asked_this_month=counts.get(row.visit_key, 1))  # fmt: skip
