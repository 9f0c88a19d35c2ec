"""The alarm queue: what is wrong now, why in words a custodian can act on, who has it, and what was done.

An alarm's plain-language reason is derived here, at the view, from the rule that
raised it (the station's ``[automations]``) and what the device reports now, rather
than carried through every actor's alarm call: "tank below 5 L (now 3.2 L)" in the
page's language, not ``level_l < 5 (now 3.2)``.  Closed alarms leave the book after a
day; their history (who acknowledged, assigned, noted and closed, and when) is read
back from the feed's history, where every step is kept with its note.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from actors.automation import ConditionAlarm, OfflineAlarm
from store.db import as_utc
from twin.alarm import Alarm, AlarmError, NoSuchAlarm
from twin.clock import Clock
from twin.entity import Twin
from web.deps import (
    DatabaseDep,
    Everyone,
    Id,
    Instant,
    Operator,
    Problem,
    Refused,
    Services,
    ServicesDep,
    Strict,
    audit,
)  # fmt: skip

router = APIRouter(prefix="/api/alarms", tags=["alarms"])

STEP_EVENTS = ("alarm_raised", "alarm_reopened", "alarm_acknowledged", "alarm_assigned", "alarm_noted", "alarm_escalated", "alarm_cleared")
"""The feed's alarm events that carry a step of an alarm's thread (a repeat carries none)."""
LONGEST_LOOK_BACK = timedelta(days=92)
EARLIEST, LATEST = datetime(2000, 1, 1), datetime(2200, 1, 1)
"""Moments a query may name: the station's history lies between; beyond, the date arithmetic would overflow."""
THREAD_LOOK_BACK = timedelta(days=7)
"""How far before its closing a closed alarm's thread is looked for (an alarm open for a week is rare)."""


class AlarmStepView(BaseModel):
    state: str = Field(description="raised, acknowledged, assigned, noted, escalated, reopened or cleared.")
    who: str = Field(description="`<role>:<username>`, `automations` or `system`.")
    at: Instant
    note: str


class AlarmReason(BaseModel):
    """What the rule that raised it watches, and the value now, for the page to say in its language."""

    field: str | None = Field(None, description="The reported field the rule watches (`level_l`).")
    op: str | None = Field(None, description="`<`, `<=`, `>`, `>=`, `==` or `!=`.")
    limit: Any = Field(None, description="The value the field is compared with.")
    now: Any = Field(None, description="What the device reports now.")
    for_s: float = Field(0.0, description="How long the condition must hold before the alarm is raised.")


class AlarmView(BaseModel):
    id: str
    source: str
    type: str
    severity: str
    state: str
    count: int
    assignee: str | None
    escalations: int
    detail: str
    raised_at: Instant = Field(description="When it was first raised (or last reopened).")
    steps: list[AlarmStepView]
    reason: AlarmReason | None = Field(None, description="The rule's condition and today's value, if a rule raised it.")


class ClosedAlarmView(BaseModel):
    id: str
    source: str
    type: str
    severity: str
    count: int
    assignee: str | None
    detail: str
    raised_at: Instant
    cleared_at: Instant
    steps: list[AlarmStepView] = Field(description="Its thread as the history kept it, oldest first.")


class AlarmStepRequest(Strict):
    note: Annotated[str, Field(max_length=500)] = ""
    assignee: Annotated[str, Field(max_length=64)] | None = None


def _reason(svc: Services, twin: Twin, alarm: Alarm) -> AlarmReason | None:
    """The condition of the station's rule that raises this (source, type), with the source's value now."""
    automations = svc.station.automations
    for rule in automations.rules if automations is not None else ():
        if isinstance(rule, ConditionAlarm) and (rule.entity, rule.alarm) == (alarm.source, alarm.type):
            entity = twin.entities.get(alarm.source)
            now = entity.reported.get(rule.field) if entity is not None else None
            return AlarmReason(field=rule.field, op=rule.op, limit=rule.value, now=now, for_s=rule.for_s)
        if isinstance(rule, OfflineAlarm) and alarm.type == "offline" and (not rule.entities or alarm.source in rule.entities):
            return AlarmReason(for_s=rule.for_s)
    return None


def _alarm(alarm: Alarm, clock: Clock, reason: AlarmReason | None = None) -> AlarmView:
    """The alarm with its times dated on the feed's clock (the twin counts seconds since the station started)."""
    steps = [AlarmStepView(state=s.state, who=s.who, at=clock.datetime_at(s.t), note=s.note) for s in alarm.steps]
    opened = [s for s in steps if s.state in ("raised", "reopened")]
    return AlarmView(**alarm.as_event() | {"id": alarm.id}, raised_at=(opened or steps)[-1].at, steps=steps, reason=reason)


@router.get("", response_model=list[AlarmView])
def list_alarms(_: Everyone, svc: ServicesDep, active: bool = True) -> list[AlarmView]:
    """The alarms in the book, newest last: the active ones, or (``active=false``) also those closed within a day."""
    bridge = svc.bridge

    def read(twin: Twin) -> list[AlarmView]:
        return [_alarm(a, bridge.clock, _reason(svc, twin, a)) for a in bridge.alarms.alarms.values() if a.active or not active]

    return bridge.read(read)  # type: ignore[no-any-return]


@router.get("/closed", response_model=list[ClosedAlarmView], responses={422: {"model": Problem}})
def closed_alarms(
    _: Everyone,
    svc: ServicesDep,
    since: Annotated[datetime | None, Query(description="Closed at or after (default: a week before `until`).")] = None,
    until: Annotated[datetime | None, Query(description="Closed before (default: now).")] = None,
    source: Annotated[Id | None, Query(description="Only this device's.")] = None,
    type: Annotated[Id | None, Query(description="Only this kind of alarm (`offline`).")] = None,
    severity: Literal["info", "warning", "critical"] | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ClosedAlarmView]:
    """Alarms closed in [since, until), newest first, each with its whole thread, from the history (kept for the
    station's retention period, not only the day the book keeps them)."""
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and not EARLIEST <= moment.replace(tzinfo=None) <= LATEST:
            raise Refused(status.HTTP_422_UNPROCESSABLE_CONTENT, "out_of_range", f"{name}: between {EARLIEST.year} and {LATEST.year}")
    end = until or datetime.now(UTC)
    start = since or end - timedelta(days=7)
    if start.tzinfo is None or end.tzinfo is None:
        raise Refused(status.HTTP_422_UNPROCESSABLE_CONTENT, "bad_window", "since and until need a UTC offset (2026-07-20T08:00:00+08:00)")
    if not start < end or end - start > LONGEST_LOOK_BACK:
        detail = f"since must be before until, at most {LONGEST_LOOK_BACK.days} days"
        raise Refused(status.HTTP_422_UNPROCESSABLE_CONTENT, "bad_window", detail, days=LONGEST_LOOK_BACK.days)
    closed: deque[ClosedAlarmView] = deque(maxlen=limit)
    wanted = {"type": type, "severity": severity}
    found = {(a.id, a.cleared_at): a for a in _closed_in_history(svc, start, end, source, limit * 10)}
    found |= {(a.id, a.cleared_at): a for a in svc.bridge.read(lambda _twin: _cleared_in_book(svc))}  # not yet in the history
    for alarm in sorted(found.values(), key=lambda a: a.cleared_at):
        if (
            start <= alarm.cleared_at < end
            and (source is None or alarm.source == source)
            and all(value is None or getattr(alarm, key) == value for key, value in wanted.items())
        ):
            closed.append(alarm)
    return list(reversed(closed))


def _closed_in_history(svc: Services, start: datetime, end: datetime, source: str | None, most: int) -> Iterator[ClosedAlarmView]:
    """The newest ``most`` closings in [start, end) (of ``source``'s, if given), each with its thread.

    What a query reads is bounded: the closings by ``most``, each thread by the time it was
    open (at most a week), a week after for notes added once it was closed, and 500 steps.
    Alarm ids start again at A1 when the station restarts, so a thread is the alarm's steps
    from its last raising before the closing to its next raising."""
    for row in svc.history.events(start, end, entity_id=source, names=["alarm_cleared"], limit=most, newest_first=True):
        data, at = row.data, as_utc(row.at)
        if at >= end:
            continue
        open_s = min(float(data.get("open_s", 0.0)), THREAD_LOOK_BACK.total_seconds())
        steps = svc.history.events(
            at - timedelta(seconds=open_s + 1), at + THREAD_LOOK_BACK, entity_id=row.entity_id, names=STEP_EVENTS, limit=500
        )
        thread: list[AlarmStepView] = []
        closed_here = False
        for step_row in steps:
            step_at = as_utc(step_row.at)
            if step_row.data.get("alarm") != data.get("alarm") or (not closed_here and step_at > at):
                continue
            if closed_here and step_row.name != "alarm_noted":
                break  # raised again (or the id reused after a restart): a later thread
            if step_row.name == "alarm_raised":
                thread = []
            step = step_row.data.get("step") or {}
            state = str(step.get("state", step_row.name.removeprefix("alarm_")))
            who, note = str(step.get("who", "")), str(step.get("note", ""))
            thread.append(AlarmStepView(state=state, who=who, at=step_at, note=note))
            closed_here = closed_here or (step_row.name == "alarm_cleared" and step_at == at)  # notes after it still belong
        opened = [s.at for s in thread if s.state in ("raised", "reopened")] or [s.at for s in thread] or [at]
        raised_at = at - timedelta(seconds=float(data["open_s"])) if "open_s" in data else opened[-1]
        yield ClosedAlarmView(
            id=str(data.get("alarm", "")), source=row.entity_id, type=str(data.get("type", "")), severity=str(data.get("severity", "")),
            count=int(data.get("count", 1)), assignee=data.get("assignee"), detail=str(data.get("detail", "")),
            raised_at=raised_at, cleared_at=at, steps=thread,
        )  # fmt: skip


def _cleared_in_book(svc: Services) -> list[ClosedAlarmView]:
    """The alarms closed within the day the book keeps them: the history writes them a second or two later."""
    clock = svc.bridge.clock
    closed = []
    for alarm in svc.bridge.alarms.alarms.values():
        if alarm.cleared_at is not None:
            view = _alarm(alarm, clock)
            fields = view.model_dump(include={"id", "source", "type", "severity", "count", "assignee", "detail", "raised_at", "steps"})
            closed.append(ClosedAlarmView(**fields, cleared_at=clock.datetime_at(alarm.cleared_at)))
    return closed


@router.post(
    "/{alarm_id}/{step}", response_model=AlarmView, responses={404: {"model": Problem}, 409: {"model": Problem}, 422: {"model": Problem}}
)
def alarm_step(
    alarm_id: Id,
    step: Literal["acknowledge", "assign", "note", "clear"],
    body: AlarmStepRequest,
    request: Request,
    user: Operator,
    db: DatabaseDep,
    svc: ServicesDep,
) -> AlarmView:
    bridge, who = svc.bridge, f"{user.role}:{user.username}"

    def act(twin: Twin) -> AlarmView:
        now = bridge.clock.now()
        book = bridge.alarms
        if step == "acknowledge":
            alarm = book.acknowledge(alarm_id, who, now, body.note)
        elif step == "assign":
            alarm = book.assign(alarm_id, who, body.assignee or "", now, body.note)
        elif step == "note":
            alarm = book.note(alarm_id, who, now, body.note)
        else:
            alarm = book.clear(alarm_id, who, now, body.note)
        return _alarm(alarm, bridge.clock, _reason(svc, twin, alarm))

    if step == "assign" and not (body.assignee or "").strip():
        raise Refused(status.HTTP_422_UNPROCESSABLE_CONTENT, "assignee_empty", "assignee: say whom to assign the alarm to")
    if step == "note" and not body.note.strip():
        raise Refused(status.HTTP_422_UNPROCESSABLE_CONTENT, "note_empty", "note: a note needs some text")
    if bridge.read(lambda twin: alarm_id not in bridge.alarms.alarms):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alarm {alarm_id!r}")
    audit(db, request, user, f"alarm_{step}", alarm_id, None, body.model_dump())
    db.commit()  # the audit entry stands before the step is taken
    try:
        view: AlarmView = bridge.call(act)
    except AlarmError as exc:  # refused after all (another officer's step came first): the log says so too
        with svc.sessions.begin() as after:  # the request's own transaction has committed already
            audit(after, request, user, f"alarm_{step}_refused", alarm_id, None, {"reason": str(exc)})
        if isinstance(exc, NoSuchAlarm):
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
        raise Refused(status.HTTP_409_CONFLICT, "alarm_changed", str(exc)) from None
    return view
