"""Duties and safety on the web: the roster (an officer makes it, everyone reads it), checklists and safety checks signed
on the custodian's phone, and incident reports with their follow-up. Every write is audited before it is kept.

The audit log is chained and never forgets, so it records what was done and not the free text said about it (an
incident's description may name a rider and his health): the text is in the record itself, which the audit entry
names, and goes with it."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi import Path as ApiPath
from pydantic import AwareDatetime, BaseModel, Field, StrictBool
from sqlalchemy import select

from store import duties as book
from store.models import CheckRecord, DutyShift, User
from web.auth import EVERYONE, OPERATORS, Role
from web.deps import DatabaseDep, Instant, Refused, RequireRole, ServicesDep, Strict, audit, refused

Readers = Annotated[User, Depends(RequireRole(*EVERYONE))]
Doers = Annotated[User, Depends(RequireRole(*OPERATORS))]
"""Who signs a check or reports an incident: the custodian, an operator, an officer; never the auditor."""
Officers = Annotated[User, Depends(RequireRole(Role.ADMIN))]
IncidentId = Annotated[int, ApiPath(ge=1, le=2**31 - 1)]
ShiftId = Annotated[int, ApiPath(ge=1, le=2**31 - 1)]


class ShiftBody(Strict):
    username: str = Field(min_length=1, max_length=64)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    note: str = Field("", max_length=200)


class ShiftView(BaseModel):
    id: int
    username: str
    starts_at: Instant
    ends_at: Instant
    note: str


class LineBody(Strict):
    ok: StrictBool
    note: str = Field("", max_length=200)


class CheckBody(Strict):
    kind: str = Field(max_length=80, description="opening, closing, or safety:<id>")
    results: list[LineBody] = Field(max_length=40)
    note: str = Field("", max_length=500)


class CheckView(BaseModel):
    id: int
    kind: str
    results: list[dict[str, object]]
    done_at: Instant
    done_by: str
    note: str


class SafetyView(BaseModel):
    kind: str
    label: str
    every_days: float
    last: CheckView | None
    due: Instant | None
    overdue: bool
    failed: list[dict[str, object]] = Field(description="The lines the last check found not in order, with what was wrong.")


class ChecklistsView(BaseModel):
    opening: list[str]
    closing: list[str]
    last_opening: CheckView | None
    last_closing: CheckView | None
    safety: list[SafetyView]
    incident_kinds: list[str]


class IncidentBody(Strict):
    kind: str = Field(max_length=16)
    at: AwareDatetime | None = Field(None, description="When it happened; now if left out.")
    description: str = Field(max_length=1000)
    alarm: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")


class FollowUpBody(Strict):
    note: str = Field(max_length=500)
    close: StrictBool = False


class IncidentView(BaseModel):
    id: int
    kind: str
    at: Instant
    reported_at: Instant
    reported_by: str
    description: str
    alarm: str | None
    follow_up: list[dict[str, object]]
    closed_at: Instant | None
    closed_by: str | None


def _check(record: CheckRecord | None) -> CheckView | None:
    return None if record is None else CheckView.model_validate(record, from_attributes=True)


STATUSES = {"duty_overlap": status.HTTP_409_CONFLICT, "incident_unknown": status.HTTP_404_NOT_FOUND,
            "incident_closed": status.HTTP_409_CONFLICT}  # fmt: skip


router = APIRouter(prefix="/api/duties", tags=["duties"])


@router.get("/roster", response_model=list[ShiftView])
def roster(_: Readers, db: DatabaseDep, svc: ServicesDep, days: Annotated[int, Query(ge=1, le=62)] = 7) -> list[ShiftView]:
    """Who is on duty from today for ``days`` days."""
    now = svc.station_time.now()
    return [
        ShiftView.model_validate(s, from_attributes=True) for s in book.roster(db, now - timedelta(hours=24), now + timedelta(days=days))
    ]


@router.post("/roster", response_model=ShiftView, status_code=201)
def add_shift(body: ShiftBody, request: Request, user: Officers, db: DatabaseDep, svc: ServicesDep) -> ShiftView:
    """Put a custodian on the roster (an officer)."""
    on_duty = db.scalar(select(User).where(User.username == body.username))
    if on_duty is None or not on_duty.active or on_duty.role == Role.AUDITOR.value:
        raise Refused(status.HTTP_422_UNPROCESSABLE_CONTENT, "duty_staff", f"{body.username!r} is no active account that can be on duty",
                      None, username=body.username[:64])  # fmt: skip
    said = {"starts_at": str(body.starts_at), "ends_at": str(body.ends_at), "note_chars": len(body.note)}
    audit(db, request, user, "shift_added", f"staff:{body.username}", None, said)
    try:
        shift = book.add_shift(db, body.username, body.starts_at, body.ends_at, body.note, user.username, svc.station_time.now())
    except book.DutyError as exc:
        raise refused(exc, STATUSES) from None
    return ShiftView.model_validate(shift, from_attributes=True)


@router.delete("/roster/{shift_id}", status_code=204)
def remove_shift(shift_id: ShiftId, request: Request, user: Officers, db: DatabaseDep) -> None:
    """Take a shift off the roster (an officer)."""
    shift = db.get(DutyShift, shift_id)
    if shift is None:
        raise Refused(status.HTTP_404_NOT_FOUND, "shift_unknown", f"there is no shift {shift_id}")
    audit(db, request, user, "shift_removed", f"staff:{shift.username}", {"starts_at": shift.starts_at.isoformat()}, None)
    db.delete(shift)


@router.get("/checklists", response_model=ChecklistsView)
def checklists(_: Readers, db: DatabaseDep, svc: ServicesDep) -> ChecklistsView:
    """The checklists, when each was last signed, and each safety check's next due date (overdue ones first)."""
    duties, now = svc.station.duties, svc.station_time.now()
    safety = sorted(book.safety_due(db, duties), key=lambda d: (not d.overdue(now), d.due or now))
    return ChecklistsView(
        opening=list(duties.opening), closing=list(duties.closing),
        last_opening=_check(book.last_of(db, "opening")), last_closing=_check(book.last_of(db, "closing")),
        safety=[SafetyView(kind=d.kind, label=d.label, every_days=d.every_s / 86400, last=_check(d.last), due=d.due,
                           overdue=d.overdue(now), failed=d.failed) for d in safety],
        incident_kinds=list(book.KINDS),
    )  # fmt: skip


@router.post("/checks", response_model=CheckView, status_code=201)
def sign(body: CheckBody, request: Request, user: Doers, db: DatabaseDep, svc: ServicesDep) -> CheckView:
    """Sign a checklist or a safety check done, line by line; a line not in order says what is wrong."""
    said = {"in_order": [r.ok for r in body.results], "notes": sum(1 for r in body.results if r.note.strip()) + bool(body.note.strip())}
    audit(db, request, user, "check_signed", body.kind[:80], None, said)
    try:
        lines = [book.Line(r.ok, r.note) for r in body.results]
        record = book.sign(db, svc.station.duties, body.kind, lines, body.note, user.username, svc.station_time.now())
    except book.DutyError as exc:
        raise refused(exc, STATUSES) from None
    return CheckView.model_validate(record, from_attributes=True)


@router.get("/checks", response_model=list[CheckView])
def checks(_: Readers, db: DatabaseDep, kind: Annotated[str | None, Query(max_length=80)] = None,
           limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[CheckView]:  # fmt: skip
    """Signed checks, newest first."""
    query = select(CheckRecord).order_by(CheckRecord.done_at.desc()).limit(limit)
    if kind is not None:
        query = query.where(CheckRecord.kind == kind)
    return [CheckView.model_validate(r, from_attributes=True) for r in db.scalars(query)]


incidents = APIRouter(prefix="/api/incidents", tags=["incidents"])


@incidents.get("", response_model=list[IncidentView])
def list_incidents(
    _: Readers,
    db: DatabaseDep,
    state: Annotated[Literal["open", "all"], Query(alias="state")] = "open",
    limit: Annotated[int, Query(ge=1, le=200)] = 200,
) -> list[IncidentView]:
    """Incident reports, newest first: the open ones, or all (the latest ``limit``)."""
    return [IncidentView.model_validate(r, from_attributes=True) for r in book.incidents(db, state == "open", limit)]


@incidents.post("", response_model=IncidentView, status_code=201)
def report(body: IncidentBody, request: Request, user: Doers, db: DatabaseDep, svc: ServicesDep) -> IncidentView:
    """Report what happened (a fall, a fight, a theft, a fire, a medical case), naming the alarm that told of it."""
    now = svc.station_time.now()
    said = {"at": str(body.at) if body.at else None, "alarm": body.alarm, "description_chars": len(body.description)}
    audit(db, request, user, "incident_reported", body.kind[:16], None, said)
    try:
        row = book.report(db, body.kind, body.at or now, body.description, body.alarm, user.username, now)
    except book.DutyError as exc:
        raise refused(exc, STATUSES) from None
    return IncidentView.model_validate(row, from_attributes=True)


@incidents.post("/{incident_id}/follow-up", response_model=IncidentView)
def follow_up(
    incident_id: IncidentId, body: FollowUpBody, request: Request, user: Doers, db: DatabaseDep, svc: ServicesDep
) -> IncidentView:
    """A step taken on an incident (the police called, the family told, the floor mat replaced); ``close`` ends it."""
    audit(db, request, user, "incident_followed_up", f"incident:{incident_id}", None, {"close": body.close, "note_chars": len(body.note)})
    try:
        row = book.follow_up(db, incident_id, body.note, body.close, user.username, svc.station_time.now())
    except book.DutyError as exc:
        raise refused(exc, STATUSES) from None
    return IncidentView.model_validate(row, from_attributes=True)
