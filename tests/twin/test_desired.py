"""Desired state, commands and availability: the rules of the device shadow."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from twin.entity import CommandState, Twin
from twin.errors import UnknownCommandError
from twin.feed import Change


def lights() -> tuple[Twin, list[Change]]:
    twin = Twin("yunting")
    twin.add("lights", "lights", {"report_interval_s": 30})
    seen: list[Change] = []
    twin.subscribe(seen.append)
    twin.report("lights", 0.0, {"on": False})
    return twin, seen


def test_desired_is_cleared_once_reported_matches() -> None:
    twin, seen = lights()
    twin.desire("lights", 1.0, {"on": True}, "c1", "custodian", ack_timeout_s=5)
    assert twin.entity("lights").delta == {"on": True}
    twin.acknowledge("c1", 1.2, ok=True)
    twin.report("lights", 1.3, {"on": True})
    entity = twin.entity("lights")
    assert entity.desired == {} and entity.delta == {}
    assert [c.name for c in seen][-3:] == ["command_acked", "state", "desired"]
    assert seen[-1].data == {"cleared": ["on"], "reason": "reported"}


def test_a_stale_report_before_the_ack_does_not_clear_desired() -> None:
    twin, _ = lights()
    twin.desire("lights", 1.0, {"on": True}, "c1", "custodian", ack_timeout_s=5)
    twin.report("lights", 1.1, {"on": False, "power_w": 0})  # sent before the device saw the command
    assert twin.entity("lights").desired == {"on": True}


def test_a_change_at_the_device_wins_over_a_taken_command() -> None:
    twin, seen = lights()
    twin.desire("lights", 1.0, {"on": True}, "c1", "automation", ack_timeout_s=5)
    twin.acknowledge("c1", 1.1, ok=True)
    twin.report("lights", 60.0, {"on": False})  # someone switched them off at the wall
    assert twin.entity("lights").desired == {}
    assert seen[-1].data == {"cleared": ["on"], "reason": "changed_at_device"}


def test_no_ack_in_time_is_a_failed_command_never_a_lost_one() -> None:
    twin, seen = lights()
    twin.desire("lights", 1.0, {"on": True}, "c1", "custodian", ack_timeout_s=5)
    assert twin.expire(5.9) == []
    (failed,) = twin.expire(6.0)
    assert failed.state is CommandState.FAILED and "no acknowledgement within 5 s" in (failed.error or "")
    assert twin.entity("lights").desired == {}
    assert [c.name for c in seen][-2:] == ["command_failed", "desired"]
    assert twin.acknowledge("c1", 7.0, ok=True).state is CommandState.FAILED, "a late ack changes nothing"


def test_a_refused_command_fails_with_the_devices_reason() -> None:
    twin, _ = lights()
    twin.desire("lights", 1.0, {"on": True}, "c1", "custodian", ack_timeout_s=5)
    assert twin.acknowledge("c1", 1.5, ok=False, error="relay stuck").error == "relay stuck"
    with pytest.raises(UnknownCommandError):
        twin.acknowledge("nope", 2.0, ok=True)


def test_availability_and_silence() -> None:
    twin, seen = lights()
    assert twin.set_availability("lights", 0.0, True, "online") is not None
    assert twin.set_availability("lights", 1.0, True, "online") is None
    assert twin.silent(89.0, intervals=3) == []
    assert [e.id for e in twin.silent(91.0, intervals=3)] == ["lights"]
    twin.set_availability("lights", 91.0, False, "silent")
    assert seen[-1].data == {"available": False, "reason": "silent"}
    assert twin.silent(200.0, intervals=3) == []


class ShadowMachine(RuleBasedStateMachine):
    """Any interleaving of commands, acks, reports and time keeps the shadow consistent."""

    @initialize()
    def start(self) -> None:
        self.twin, self.seen = lights()
        self.now = 0.0
        self.issued = 0
        self.last_version = self.twin.entity("lights").version

    @rule(value=st.booleans(), timeout=st.floats(0.5, 10))
    def desire(self, value: bool, timeout: float) -> None:
        self.issued += 1
        self.twin.desire("lights", self.now, {"on": value}, f"c{self.issued}", "op", timeout)

    @rule(pick=st.integers(0, 50), ok=st.booleans())
    def ack(self, pick: int, ok: bool) -> None:
        if self.issued:
            self.twin.acknowledge(f"c{pick % self.issued + 1}", self.now, ok)

    @rule(value=st.booleans())
    def report(self, value: bool) -> None:
        self.twin.report("lights", self.now, {"on": value})

    @rule(dt=st.floats(0, 5))
    def time_passes(self, dt: float) -> None:
        self.now += dt
        self.twin.expire(self.now)

    @invariant()
    def consistent(self) -> None:
        entity = self.twin.entity("lights")
        assert entity.version >= self.last_version
        self.last_version = entity.version
        assert set(entity.delta) <= set(entity.desired)
        for key in entity.desired:
            command = self.twin.commands[entity.commands[key]]
            assert command.state is not CommandState.FAILED
            assert command.deadline > self.now or command.state is CommandState.ACKED
        assert [c.seq for c in self.seen] == list(range(self.seen[0].seq, self.seen[0].seq + len(self.seen)))


TestShadow = ShadowMachine.TestCase


def test_settled_commands_are_forgotten_pending_ones_kept() -> None:
    twin, _ = lights()
    twin.desire("lights", 0.0, {"on": True}, "old", "op", 5)
    twin.acknowledge("old", 1.0, ok=True)
    twin.desire("lights", 2.0, {"on": False}, "waiting", "op", 1e9)
    assert twin.forget_commands(before=100.0) == 1
    assert set(twin.commands) == {"waiting"}
