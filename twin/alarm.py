"""Alarms: raised -> acknowledged -> cleared, with who, when and a note at every step.

An alarm is kept once per (source, type) while it is active: the same fault raised
again adds to its count rather than flooding the operators' queue.  A fault that
comes back soon after its alarm was cleared (a flapping sensor, a door that keeps
being propped open) reopens that alarm, so its history stays in one place.  An alarm not
acknowledged in time is escalated, once per level.  Every step is an event on the
twin's feed, so the web view, history and audit see the same story.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from twin.entity import Twin


class AlarmState(StrEnum):
    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


SEVERITY_ORDER = (Severity.INFO, Severity.WARNING, Severity.CRITICAL)


@dataclass(frozen=True, slots=True)
class AlarmStep:
    state: str
    who: str
    t: float
    note: str = ""


@dataclass(slots=True)
class Alarm:
    id: str
    source: str
    type: str
    severity: Severity
    raised_at: float
    detail: str
    state: AlarmState = AlarmState.RAISED
    count: int = 1
    last_raised_at: float = 0.0
    assignee: str | None = None
    escalations: int = 0
    cleared_at: float | None = None
    steps: list[AlarmStep] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.state is not AlarmState.CLEARED

    def as_event(self) -> dict[str, Any]:
        return {
            "alarm": self.id, "source": self.source, "type": self.type, "severity": self.severity.value, "state": self.state.value,
            "count": self.count, "assignee": self.assignee, "escalations": self.escalations, "detail": self.detail,
        }  # fmt: skip


class AlarmError(ValueError):
    """An operator asked for a step the alarm's life cycle does not allow (closing a closed alarm)."""


class NoSuchAlarm(AlarmError):
    """No alarm has that id."""


REOPEN_WITHIN_S = 600.0
"""A fault back within this long of its alarm's clearing reopens it instead of raising a new one."""


class AlarmBook:
    def __init__(self, twin: Twin, reopen_within_s: float = REOPEN_WITHIN_S) -> None:
        self._twin = twin
        self.reopen_within_s = reopen_within_s
        self.alarms: dict[str, Alarm] = {}
        self._active: dict[tuple[str, str], str] = {}
        self._last_cleared: dict[tuple[str, str], str] = {}
        self._issued = 0

    def raise_(
        self, source: str, type_: str, t: float, detail: str = "", severity: Severity = Severity.WARNING, by: str = "system"
    ) -> Alarm:
        existing = self._active.get((source, type_))
        if existing is not None:
            alarm = self.alarms[existing]
            alarm.severity = max(alarm.severity, severity, key=SEVERITY_ORDER.index)
            alarm.count += 1
            alarm.last_raised_at = t
            self._emit(alarm, "alarm_repeated", t)
            return alarm
        recent = self.alarms.get(self._last_cleared.get((source, type_), ""))
        if recent is not None and recent.cleared_at is not None and t - recent.cleared_at <= self.reopen_within_s:
            return self._reopen(recent, t, detail, severity, by)
        self._issued += 1
        alarm = Alarm(f"A{self._issued}", source, type_, severity, t, detail, last_raised_at=t)
        alarm.steps.append(AlarmStep(AlarmState.RAISED.value, by, t, detail))
        self.alarms[alarm.id] = alarm
        self._active[(source, type_)] = alarm.id
        self._emit(alarm, "alarm_raised", t)
        return alarm

    def acknowledge(self, alarm_id: str, who: str, t: float, note: str = "") -> Alarm:
        alarm = self._get(alarm_id)
        if alarm.state is not AlarmState.RAISED:
            raise AlarmError(f"alarm {alarm_id} is {alarm.state.value}; only a raised alarm can be acknowledged")
        alarm.state = AlarmState.ACKNOWLEDGED
        alarm.steps.append(AlarmStep(alarm.state.value, who, t, note))
        self._emit(alarm, "alarm_acknowledged", t)
        return alarm

    def assign(self, alarm_id: str, who: str, assignee: str, t: float, note: str = "") -> Alarm:
        alarm = self._get(alarm_id)
        if not alarm.active:
            raise AlarmError(f"alarm {alarm_id} is cleared; it cannot be assigned")
        alarm.assignee = assignee
        alarm.steps.append(AlarmStep("assigned", who, t, note or assignee))
        self._emit(alarm, "alarm_assigned", t)
        return alarm

    def note(self, alarm_id: str, who: str, t: float, note: str) -> Alarm:
        alarm = self._get(alarm_id)
        alarm.steps.append(AlarmStep("noted", who, t, note))
        self._emit(alarm, "alarm_noted", t)
        return alarm

    def clear(self, alarm_id: str, who: str, t: float, note: str = "") -> Alarm:
        alarm = self._get(alarm_id)
        if not alarm.active:
            raise AlarmError(f"alarm {alarm_id} is already cleared")
        alarm.state = AlarmState.CLEARED
        alarm.cleared_at = t
        alarm.steps.append(AlarmStep(alarm.state.value, who, t, note))
        del self._active[(alarm.source, alarm.type)]
        self._last_cleared[(alarm.source, alarm.type)] = alarm.id
        self._emit(alarm, "alarm_cleared", t)
        return alarm

    def clear_source(self, source: str, type_: str, t: float, note: str = "condition gone") -> Alarm | None:
        """Clear the active alarm of (source, type) when its condition ends (the device came back)."""
        alarm_id = self._active.get((source, type_))
        return self.clear(alarm_id, "system", t, note) if alarm_id else None

    def escalate(self, now: float, after_s: float) -> list[Alarm]:
        """Escalate raised alarms unacknowledged for ``after_s`` more than at their last escalation."""
        escalated = []
        for alarm in self.alarms.values():
            if alarm.state is AlarmState.RAISED and now - alarm.raised_at >= after_s * (alarm.escalations + 1):
                alarm.escalations += 1
                alarm.steps.append(AlarmStep("escalated", "system", now, f"level {alarm.escalations}"))
                self._emit(alarm, "alarm_escalated", now)
                escalated.append(alarm)
        return escalated

    def forget_cleared(self, before: float) -> int:
        """Drop alarms cleared before ``before`` from memory; the feed and the history keep them."""
        old = [a.id for a in self.alarms.values() if not a.active and a.steps[-1].t < before]
        for alarm_id in old:
            alarm = self.alarms.pop(alarm_id)
            if self._last_cleared.get((alarm.source, alarm.type)) == alarm_id:
                del self._last_cleared[(alarm.source, alarm.type)]
        return len(old)

    def active(self) -> list[Alarm]:
        return [a for a in self.alarms.values() if a.active]

    def _reopen(self, alarm: Alarm, t: float, detail: str, severity: Severity, by: str) -> Alarm:
        """Raised again: it needs acknowledging again, escalates from now, and is as severe as the worse of the two."""
        alarm.state = AlarmState.RAISED
        alarm.severity = max(alarm.severity, severity, key=SEVERITY_ORDER.index)
        alarm.cleared_at = None
        alarm.count += 1
        alarm.raised_at = alarm.last_raised_at = t
        alarm.escalations = 0
        alarm.detail = detail or alarm.detail
        alarm.steps.append(AlarmStep("reopened", by, t, detail))
        self._active[(alarm.source, alarm.type)] = alarm.id
        self._emit(alarm, "alarm_reopened", t)
        return alarm

    def _get(self, alarm_id: str) -> Alarm:
        try:
            return self.alarms[alarm_id]
        except KeyError:
            raise NoSuchAlarm(f"no alarm {alarm_id!r}") from None

    def _emit(self, alarm: Alarm, name: str, t: float) -> None:
        """On the feed, with the step just taken (who, what they wrote): the history can then tell a closed alarm's
        whole thread after the book has forgotten it; the closing also says how long it was open."""
        data = alarm.as_event()
        if name != "alarm_repeated":
            step = alarm.steps[-1]
            data["step"] = {"state": step.state, "who": step.who, "note": step.note}
        if name == "alarm_cleared":
            data["open_s"] = t - alarm.raised_at
        self._twin.record(alarm.source, t, name, data)
