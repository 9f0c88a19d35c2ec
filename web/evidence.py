"""Why a camera raised an alarm: the incidents behind it (scores over time, the person's keypoints, the snapshot with
every head blurred), the custodian's verdict on each (a true or a false alarm), and those verdicts exported for
training without any image.

Evidence is personal data of the people in the picture: only those who handle alarms see it
(custodians, operators, admins), the export of labels (no images) is the admin's, and each
verdict is audited before it is written. What is past ``[privacy] camera_evidence`` is gone
(``vision.evidence``); asking for it says so.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi import Path as ApiPath
from pydantic import BaseModel, Field

from hardware_bridge.clock import epoch_s
from twin.entity import Twin
from vision.evidence import INCIDENT_ID, EvidenceError
from web.deps import Admin, DatabaseDep, Id, Instant, Operator, Problem, ServicesDep, Strict, audit

router = APIRouter(tags=["evidence"])
IncidentId = Annotated[str, ApiPath(pattern=INCIDENT_ID.pattern, max_length=120)]
MARGIN_S = 5.0
"""An incident may open a moment before the alarm it raised is booked (the event crosses the broker)."""


class ScorePoint(BaseModel):
    at: Instant
    score: float


class IncidentView(BaseModel):
    id: str
    camera: str
    behaviour: str
    opened_at: Instant
    closed_at: Instant | None
    peak: float
    scores: list[ScorePoint] = Field(description="The smoothed score over time, oldest first (the page plots it).")
    keypoints: list[dict[str, Any]] = Field(
        description="The person's track (both people's for a dispute) over the judged window: at, track, box, 17 keypoints (x, y, score)."
    )
    picture: list[int] = Field(description="Width and height of the camera's picture, for the overlay.")
    snapshot: bool = Field(description="Whether a blurred snapshot is kept (GET /api/evidence/{id}/snapshot).")
    verdict: dict[str, Any] | None = Field(None, description="The custodian's: alarm true or false, by whom, when.")


class VerdictRequest(Strict):
    alarm: Literal["true", "false"] = Field(description="Was it a true alarm?")


def _moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(float(epoch), UTC)


def _view(record: dict[str, Any]) -> IncidentView:
    return IncidentView(
        id=record["id"], camera=record["camera"], behaviour=record["behaviour"], opened_at=_moment(record["opened_at"]),
        closed_at=None if record.get("closed_at") is None else _moment(record["closed_at"]), peak=float(record.get("peak", 0.0)),
        scores=[ScorePoint(at=_moment(t), score=s) for t, s in record.get("scores", [])],
        keypoints=record.get("keypoints", []), picture=record.get("picture", []), snapshot=bool(record.get("snapshot")),
        verdict=record.get("verdict"),
    )  # fmt: skip


@router.get("/api/alarms/{alarm_id}/evidence", response_model=list[IncidentView], responses={404: {"model": Problem}})
def alarm_evidence(alarm_id: Id, _: Operator, svc: ServicesDep) -> list[IncidentView]:
    """The incidents a camera's alarm was raised for, oldest first (none for an alarm no camera raised)."""
    bridge = svc.bridge

    def span(_twin: Twin) -> tuple[str, str, float, float] | None:
        alarm = bridge.alarms.alarms.get(alarm_id)
        if alarm is None:
            return None
        now = bridge.clock.now()
        until = alarm.cleared_at if alarm.cleared_at is not None else now
        # The wall now, less the bridge's run seconds: a wall clock stepped since the start (NTP after boot) is followed,
        # as the agents date evidence by the wall's clock.
        epoch_at_zero = epoch_s() - now
        return alarm.source, alarm.type, epoch_at_zero + alarm.raised_at - MARGIN_S, epoch_at_zero + until + MARGIN_S

    found = bridge.read(span)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alarm {alarm_id!r}")
    camera, behaviour, since, until = found
    return [_view(record) for record in svc.evidence.find(camera, behaviour, since, until)]


@router.get(
    "/api/evidence/{incident}/snapshot",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 404: {"model": Problem}},
)
def incident_snapshot(incident: IncidentId, _: Operator, svc: ServicesDep) -> Response:
    """The incident's snapshot, every head blurred before it was written; never cached by the browser."""
    try:
        picture = svc.evidence.snapshot(incident)
    except (EvidenceError, OSError) as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc) if isinstance(exc, EvidenceError) else "no snapshot") from None
    return Response(picture, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.post("/api/evidence/{incident}/verdict", response_model=IncidentView, responses={404: {"model": Problem}})
def incident_verdict(
    incident: IncidentId, body: VerdictRequest, request: Request, user: Operator, db: DatabaseDep, svc: ServicesDep
) -> IncidentView:
    """Mark the incident a true or a false alarm: kept with who said so and when, and exported for training."""
    try:
        svc.evidence.record(incident)
    except EvidenceError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    audit(db, request, user, "incident_verdict", incident, None, body.model_dump())
    db.commit()  # the audit entry stands before the verdict is written
    try:
        record = svc.evidence.judge(incident, body.alarm, f"{user.role}:{user.username}", datetime.now(UTC).timestamp())
    except EvidenceError as exc:  # gone meanwhile (the purge)
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return _view(record)


@router.get("/api/evidence/labels")
def incident_labels(_: Admin, svc: ServicesDep) -> Response:
    """Every judged incident as JSON lines (behaviour, scores, keypoints, verdict; no image), for training."""
    import json

    lines = (json.dumps(label, ensure_ascii=False) for label in svc.evidence.labels())
    return Response("\n".join(lines) + "\n", media_type="application/x-ndjson", headers={"Cache-Control": "no-store"})
