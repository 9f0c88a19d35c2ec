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
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scenarios.schema import DutiesSection
from store.db import as_utc, hold_write_lock
from store.errors import Refusal
from store.models import CheckRecord, DutyShift, IncidentReport

KINDS = ("fall", "fight", "theft", "fire", "medical", "other")
"""What an incident report is about (the issue's list, and other)."""
LONGEST_SHIFT = timedelta(hours=24)
MOST_STEPS = 100
"""Follow-up steps on one incident: a long case, not a chat."""
_LOCK_KEY = 0x79787964  # "yxyd"


class DutyError(Refusal):
    """A shift, a check or a report that cannot be taken."""


def _line(text: str, where: str, most: int) -> str:
    said = text.strip()
    if len(said) > most or any(ord(c) < 32 and c not in "\n" for c in said):
        raise DutyError("duty_text", f"{where}: at most {most} characters of text", field=where)
    return said


def add_shift(db: Session, username: str, starts_at: datetime, ends_at: datetime, note: str, made_by: str) -> DutyShift:
    """Put a custodian on the roster; a shift overlapping one of theirs is refused."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise DutyError("duty_time", "a shift's times need their time zone (2026-12-08T08:00+08:00)")
    if not timedelta(0) < ends_at - starts_at <= LONGEST_SHIFT:
        raise DutyError("duty_time", "a shift ends after it starts, at most 24 hours later")
    hold_write_lock(db, _LOCK_KEY)
    overlap = db.scalar(
        select(func.count()).select_from(DutyShift)
        .where(DutyShift.username == username, DutyShift.starts_at < ends_at, DutyShift.ends_at > starts_at)
    )  # fmt: skip
    if overlap:
        raise DutyError("duty_overlap", f"{username} is on the roster then already", username=username)
    shift = DutyShift(username=username, starts_at=starts_at, ends_at=ends_at, note=_line(note, "note", 200), made_by=made_by)
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
    if any(not line.ok and not line.note.strip() for line in results):
        raise DutyError("duty_check_note", "say what is wrong on each line not in order")
    kept = [{"line": text, "ok": line.ok, "note": _line(line.note, "note", 200)} for text, line in zip(lines, results, strict=True)]
    record = CheckRecord(kind=kind, results=kept, done_at=at, done_by=username, note=_line(note, "note", 500))
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
    """When the next one is due (None: never done, so due now)."""

    def overdue(self, now: datetime) -> bool:
        return self.due is None or self.due < now


def safety_due(db: Session, duties: DutiesSection) -> list[Due]:
    """Each safety check, its last record and when the next is due."""
    found = []
    for check, section in duties.safety.items():
        kind = f"safety:{check}"
        last = last_of(db, kind)
        due = as_utc(last.done_at) + timedelta(seconds=section.every) if last is not None else None
        found.append(Due(kind, section.label, section.every, last, due))
    return found


def last_of(db: Session, kind: str) -> CheckRecord | None:
    """The latest record of checklist ``kind``."""
    newest = CheckRecord.done_at.desc(), CheckRecord.id.desc()
    return db.scalar(select(CheckRecord).where(CheckRecord.kind == kind).order_by(*newest).limit(1))


def report(db: Session, kind: str, at: datetime, description: str, alarm: str | None, username: str, now: datetime) -> IncidentReport:
    if kind not in KINDS:
        raise DutyError("incident_kind", f"kind: one of {', '.join(KINDS)}", kind=kind[:16])
    if as_utc(at) > now + timedelta(minutes=5):
        raise DutyError("incident_future", "an incident is reported after it happened")
    said = _line(description, "description", 1000)
    if not said:
        raise DutyError("duty_text", "description: say what happened", field="description")
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
    said = _line(note, "note", 500)
    if not said:
        raise DutyError("duty_text", "note: say what was done", field="note")
    if len(row.follow_up) >= MOST_STEPS:
        raise DutyError("incident_steps", f"an incident report holds at most {MOST_STEPS} steps")
    step: dict[str, Any] = {"at": now.isoformat(), "by": username, "note": said}
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
