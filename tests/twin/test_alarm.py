"""The alarm life cycle, de-duplication and escalation."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from twin.alarm import AlarmBook, AlarmError, AlarmState, Severity
from twin.entity import Twin
from twin.feed import Change


def book() -> tuple[AlarmBook, list[Change]]:
    twin = Twin("yunting")
    seen: list[Change] = []
    twin.subscribe(seen.append)
    return AlarmBook(twin), seen


def test_life_cycle_with_who_when_and_notes() -> None:
    alarms, seen = book()
    alarm = alarms.raise_("fridge", "over_temperature", 10.0, "8.5 °C")
    alarms.acknowledge(alarm.id, "custodian:li", 20.0, "checking")
    alarms.assign(alarm.id, "custodian:li", "officer:wang", 25.0)
    alarms.clear(alarm.id, "officer:wang", 90.0, "door was ajar")
    assert [(s.state, s.who, s.t) for s in alarm.steps] == [
        ("raised", "system", 10.0), ("acknowledged", "custodian:li", 20.0), ("assigned", "custodian:li", 25.0),
        ("cleared", "officer:wang", 90.0),
    ]  # fmt: skip
    assert [c.name for c in seen] == ["alarm_raised", "alarm_acknowledged", "alarm_assigned", "alarm_cleared"]
    with pytest.raises(AlarmError, match="already cleared"):
        alarms.clear(alarm.id, "x", 91.0)


def test_one_active_alarm_per_source_and_type() -> None:
    alarms, _ = book()
    first = alarms.raise_("door", "held_open", 1.0)
    again = alarms.raise_("door", "held_open", 2.0)
    other = alarms.raise_("door", "offline", 2.0)
    assert again is first and first.count == 2 and other is not first
    alarms.clear(first.id, "op", 3.0)
    later = alarms.raise_("door", "held_open", 3.0 + alarms.reopen_within_s + 1)
    assert later is not first, "a fault back long after clearing is a new alarm"


def test_a_flapping_fault_reopens_its_alarm_instead_of_flooding_the_queue() -> None:
    alarms, seen = book()
    first = alarms.raise_("door", "held_open", 0.0, "open 3 min")
    alarms.acknowledge(first.id, "custodian:li", 10.0)
    for minute in range(1, 6):
        alarms.clear_source("door", "held_open", minute * 60.0)
        again = alarms.raise_("door", "held_open", minute * 60.0 + 30, "open again")
        assert again is first and again.state is AlarmState.RAISED, "it needs acknowledging again"
    assert first.count == 6 and first.raised_at == 330.0 and len(alarms.alarms) == 1
    assert [c.name for c in seen].count("alarm_raised") == 1 and [c.name for c in seen].count("alarm_reopened") == 5
    assert alarms.escalate(330.0 + 599, after_s=600) == [], "escalation counts from the reopening"
    alarms.clear_source("door", "held_open", 400.0)
    alarms.note(first.id, "custodian:li", 990.0, "wedge removed")  # a note after closing does not stretch the window
    assert alarms.raise_("door", "held_open", 1001.0) is not first
    worse = alarms.raise_("fridge", "over_temperature", 2000.0, severity=Severity.WARNING)
    alarms.clear(worse.id, "op", 2010.0)
    assert alarms.raise_("fridge", "over_temperature", 2020.0, severity=Severity.CRITICAL).severity is Severity.CRITICAL
    assert alarms.raise_("fridge", "over_temperature", 2030.0, severity=Severity.INFO).severity is Severity.CRITICAL, "never milder"
    active = alarms.raise_("aed", "self_test_failed", 2040.0, severity=Severity.WARNING)
    assert alarms.raise_("aed", "self_test_failed", 2050.0, severity=Severity.CRITICAL) is active and active.severity is Severity.CRITICAL


def test_escalation_once_per_period_until_acknowledged() -> None:
    alarms, _ = book()
    alarm = alarms.raise_("aed", "self_test_failed", 0.0)
    assert alarms.escalate(599.0, after_s=600) == []
    assert alarms.escalate(600.0, after_s=600) == [alarm]
    assert alarms.escalate(700.0, after_s=600) == []
    assert alarms.escalate(1200.0, after_s=600) == [alarm] and alarm.escalations == 2
    alarms.acknowledge(alarm.id, "op", 1300.0)
    assert alarms.escalate(5000.0, after_s=600) == []


class AlarmMachine(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.alarms, self.seen = book()
        self.now = 0.0

    @rule(source=st.sampled_from(["door", "fridge"]), type_=st.sampled_from(["offline", "fault"]))
    def raise_alarm(self, source: str, type_: str) -> None:
        self.alarms.raise_(source, type_, self.now)

    @rule(pick=st.integers(0, 20), step=st.sampled_from(["acknowledge", "clear"]))
    def operate(self, pick: int, step: str) -> None:
        ids = list(self.alarms.alarms)
        if not ids:
            return
        with contextlib.suppress(AlarmError):
            getattr(self.alarms, step)(ids[pick % len(ids)], "op", self.now)

    @rule(dt=st.floats(0, 1000))
    def later(self, dt: float) -> None:
        self.now += dt
        self.alarms.escalate(self.now, after_s=600)

    @invariant()
    def at_most_one_active_per_source_and_type(self) -> None:
        keys = [(a.source, a.type) for a in self.alarms.active()]
        assert len(keys) == len(set(keys))
        allowed = {None: {"raised"}, "raised": {"acknowledged", "cleared"}, "reopened": {"acknowledged", "cleared"},
                   "acknowledged": {"cleared"}, "cleared": {"reopened"}}  # fmt: skip
        for alarm in self.alarms.alarms.values():
            states = [s.state for s in alarm.steps if s.state in ("raised", "acknowledged", "cleared", "reopened")]
            for before, after in zip([None, *states], states, strict=False):
                assert after in allowed[before], (before, after)
            assert alarm.state is AlarmState(states[-1].replace("reopened", "raised"))


TestAlarms = AlarmMachine.TestCase


def test_cleared_alarms_are_forgotten_open_ones_kept() -> None:
    alarms, _ = book()
    closed = alarms.raise_("door", "held_open", 0.0)
    alarms.clear(closed.id, "op", 10.0)
    still = alarms.raise_("fridge", "over_temperature", 5.0)
    assert alarms.forget_cleared(before=100.0) == 1
    assert list(alarms.alarms) == [still.id]
