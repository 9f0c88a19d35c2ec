"""Duties and safety: the custodians' roster, the opening and closing checklists and the periodic safety checks, each
signed by who did it and when, and incident reports with their follow-up.

The checklists and the safety checks are the station file's (``[duties]``); a record keeps
each line as it read when it was signed, so a later change of the list does not rewrite what
was checked. A safety check is due ``every`` after the last one; never done, it is due now.
An incident report may name the alarm that told of it (a camera's incident id, a device
alarm's id), and gathers follow-up steps until it is closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scenarios.schema import DutiesSection
from store.db import hold_write_lock
from store.errors import Refusal, unprintable
from store.models import CheckRecord, DutyShift, IncidentReport

KINDS = ("fall", "fight", "theft", "fire", "medical", "other")
"""What an incident report is about (the issue's list, and other)."""
LONGEST_SHIFT = timedelta(hours=24)
ROSTER_AHEAD = timedelta(days=62)
"""How far ahead a shift may be put on the roster (the roster is read up to that far)."""
KEPT_BACK = timedelta(days=366)
"""How far back a shift or an incident may be recorded: a year's records kept late, not a typo's century."""
MOST_STEPS = 100
"""Follow-up steps on one incident: a long case, not a chat."""
_LOCK_KEY = 0x79787964  # "yxyd"


class DutyError(Refusal):
    """A shift, a check or a report that cannot be taken."""


def _text(text: str, most: int, line: int | None = None) -> str:
    """``text`` as kept: trimmed, a pasted tab a space and Windows' line ends Unix's; too long or with another control
    character it is refused, saying which (and which checklist ``line``, counted from 1, when it is a line's note)."""
    said = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ").strip()
    # Each code written out in a DutyError(...) of its own: the catalog's test finds them there.
    if len(said) > most:
        if line is not None:
            raise DutyError("duty_line_long", f"line {line}: at most {most} characters of text", most=most, line=line)
        raise DutyError("duty_text_long", f"at most {most} characters of text", most=most)
    if unprintable(said):
        if line is not None:
            raise DutyError("duty_line_control", f"line {line}: the text has control characters", line=line)
        raise DutyError("duty_text_control", "the text has control characters")
    return said


def _said(text: str, most: int) -> str:
    """Text that must say something (what happened, what was done)."""
    said = _text(text, most)
    if not said:
        raise DutyError("duty_text_empty", "say what happened or what was done")
    return said


def _utc(moment: datetime) -> datetime:
    """``moment`` in UTC; one without its zone, or a typo's year that overflows on its way there, refused by name."""
    if moment.tzinfo is None:
        raise DutyError("duty_time_zone", "a time needs its time zone (2026-12-08T08:00+08:00)")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise DutyError("duty_time_range", f"a time from {KEPT_BACK.days} days ago to {ROSTER_AHEAD.days} days ahead",
                        days_back=KEPT_BACK.days, days_ahead=ROSTER_AHEAD.days) from None  # fmt: skip


def add_shift(db: Session, username: str, starts_at: datetime, ends_at: datetime, note: str, made_by: str, now: datetime) -> DutyShift:
    """Put a custodian on the roster, from a year back (a roster kept late) to ``ROSTER_AHEAD``; a shift overlapping one
    of theirs is refused."""
    starts_at, ends_at = _utc(starts_at), _utc(ends_at)
    if not now - KEPT_BACK <= starts_at <= now + ROSTER_AHEAD:
        raise DutyError("duty_time_range", f"a shift from {KEPT_BACK.days} days ago to {ROSTER_AHEAD.days} days ahead",
                        days_back=KEPT_BACK.days, days_ahead=ROSTER_AHEAD.days)  # fmt: skip
    if not timedelta(0) < ends_at - starts_at <= LONGEST_SHIFT:
        raise DutyError("duty_time", "a shift ends after it starts, at most 24 hours later")
    hold_write_lock(db, _LOCK_KEY)
    overlap = db.scalar(
        select(func.count()).select_from(DutyShift)
        .where(DutyShift.username == username, DutyShift.starts_at < ends_at, DutyShift.ends_at > starts_at)
    )  # fmt: skip
    if overlap:
        raise DutyError("duty_overlap", f"{username} is on the roster then already", username=username)
    shift = DutyShift(username=username, starts_at=starts_at, ends_at=ends_at, note=_text(note, 200), made_by=made_by)
    db.add(shift)
    db.flush()
    return shift


def roster(db: Session, since: datetime, until: datetime) -> list[DutyShift]:
    query = select(DutyShift).where(DutyShift.ends_at > since, DutyShift.starts_at < until).order_by(DutyShift.starts_at).limit(500)
    return list(db.scalars(query))


def lines_of(duties: DutiesSection, kind: str) -> list[str]:
    """The lines of checklist ``kind`` (``opening``, ``closing``, ``safety:<id>``), or a ``DutyError``."""
    if kind == "opening":
        return list(duties.opening)
    if kind == "closing":
        return list(duties.closing)
    if kind.startswith("safety:") and kind.removeprefix("safety:") in duties.safety:
        return [duties.safety[kind.removeprefix("safety:")].label]
    raise DutyError("duty_check_unknown", f"there is no checklist {kind[:80]!r}", kind=kind[:80])


@dataclass(frozen=True)
class Line:
    ok: bool
    note: str = ""


def sign(db: Session, duties: DutiesSection, kind: str, results: Sequence[Line], note: str, username: str, at: datetime) -> CheckRecord:
    """Sign checklist ``kind`` done: one result for each of its lines, in order."""
    lines = lines_of(duties, kind)
    if len(results) != len(lines):
        raise DutyError("duty_check_lines", f"{kind} has {len(lines)} lines; {len(results)} results were given", lines=len(lines))
    kept = []
    for n, (text, line) in enumerate(zip(lines, results, strict=True), start=1):
        said = _text(line.note, 200, line=n)
        if not line.ok and not said:
            raise DutyError("duty_check_note", f"line {n} is not in order: say what is wrong", line=n)
        kept.append({"line": text, "ok": line.ok, "note": said})
    record = CheckRecord(kind=kind, results=kept, done_at=at, done_by=username, note=_text(note, 500))
    db.add(record)
    db.flush()
    return record


@dataclass(frozen=True)
class Due:
    kind: str
    label: str
    every_s: float
    last: CheckRecord | None
    due: datetime | None
    """When the next one is due (None: never done, or last found not in order, so due now)."""

    def overdue(self, now: datetime) -> bool:
        return self.due is None or self.due < now

    failed: list[dict[str, Any]]
    """The lines the last check found not in order, with what was wrong: until a check finds them in order again."""


def safety_due(db: Session, duties: DutiesSection) -> list[Due]:
    """Each safety check, its last record and when the next is due."""
    found = []
    for check, section in duties.safety.items():
        kind = f"safety:{check}"
        last = last_of(db, kind)
        failed = [] if last is None else [line for line in last.results if not line.get("ok")]
        # An extinguisher found empty is not checked for another year: it is due again until it is found in order.
        due = last.done_at + timedelta(seconds=section.every) if last is not None and not failed else None
        found.append(Due(kind, section.label, section.every, last, due, failed))
    return found


def last_of(db: Session, kind: str) -> CheckRecord | None:
    """The latest record of checklist ``kind``: the last signed (an emulated demo's clock starts again at each start, so
    the time it was signed may say otherwise)."""
    return db.scalar(select(CheckRecord).where(CheckRecord.kind == kind).order_by(CheckRecord.id.desc()).limit(1))


def report(db: Session, kind: str, at: datetime, description: str, alarm: str | None, username: str, now: datetime) -> IncidentReport:
    if kind not in KINDS:
        raise DutyError("incident_kind", f"kind: one of {', '.join(KINDS)}", kind=kind[:16])
    at = _utc(at)
    if at > now + timedelta(minutes=5):
        raise DutyError("incident_future", "an incident is reported after it happened")
    if at < now - KEPT_BACK:
        raise DutyError("incident_past", f"an incident more than {KEPT_BACK.days} days ago is not reported here", days=KEPT_BACK.days)
    said = _said(description, 1000)
    row = IncidentReport(kind=kind, at=at, reported_at=now, reported_by=username, description=said, alarm=alarm, follow_up=[])
    db.add(row)
    db.flush()
    return row


def follow_up(db: Session, incident_id: int, note: str, close: bool, username: str, now: datetime) -> IncidentReport:
    hold_write_lock(db, _LOCK_KEY)
    row = db.get(IncidentReport, incident_id, populate_existing=True)
    if row is None:
        raise DutyError("incident_unknown", f"there is no incident report {incident_id}")
    if row.closed_at is not None:
        raise DutyError("incident_closed", f"incident report {incident_id} is closed")
    said = _said(note, 500)
    if len(row.follow_up) >= MOST_STEPS:
        raise DutyError("incident_steps", f"an incident report holds at most {MOST_STEPS} steps")
    step: dict[str, Any] = {"at": now.astimezone(UTC).isoformat().replace("+00:00", "Z"), "by": username, "note": said}
    row.follow_up = [*row.follow_up, step]  # a new list: the JSON column is written again
    if close:
        row.closed_at, row.closed_by = now, username
    db.flush()
    return row


def incidents(db: Session, open_only: bool, limit: int = 200) -> list[IncidentReport]:
    query = select(IncidentReport).order_by(IncidentReport.at.desc()).limit(limit)
    if open_only:
        query = query.where(IncidentReport.closed_at.is_(None))
    return list(db.scalars(query))
