"""Device and visitor actors hosted live through the runtime, inline and in Ray: the same classes as in a simulation."""

from __future__ import annotations

import os
import signal
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.air_conditioner import AirConditioner, AirConditionerConfig, AirConditionerPolicy
from actors.binding import Placed
from actors.door import DoorConfig, DoorPolicy
from actors.message import NextHour, Reported
from actors.runtime import ActorUnresponsive, Placement, RayHandle
from hardware_bridge.bridge import Bridge
from hardware_bridge.broker import EmbeddedBroker
from hardware_bridge.clock import wall_clock
from hardware_bridge.emulator import EmulatedDevice
from hardware_bridge.live_binding import LiveBinding
from hardware_bridge.mqtt import BrokerConfig
from station.ray import ray_session
from tests.brokers import IN_CI
from tests.hardware_bridge.conftest import MOSQUITTO, free_port, reachable, wait_for
from tests.hardware_bridge.test_bridge import command_state, reported
from twin.entity import CommandState, Twin
from twin.feed import Change

DEVICES = {"lights": "lights", "ac": "air_conditioner", "door": "door"}
ACTORS = {"ac": (AirConditionerPolicy, AirConditionerConfig()), "door": (DoorPolicy, DoorConfig())}


def test_reports_commands_and_visitors_go_through_the_actors(placement: Placement) -> None:
    with EmbeddedBroker(port=free_port()) as embedded:
        config = BrokerConfig.from_url(embedded.url)
        bridge = Bridge("live", DEVICES, config, wall_clock(), actors=ACTORS, placement=placement).start()
        seen: list[Change] = []
        bridge.read(lambda twin: twin.subscribe(seen.append))
        devices = [
            EmulatedDevice("live", "lights", "lights", config, state={"on": False, "power_w": 0.0}).start(),
            EmulatedDevice("live", "ac", "air_conditioner", config, state={"on": False, "mode": "off", "setpoint_c": 26.0}).start(),
            EmulatedDevice("live", "door", "door", config, state={"occupancy": 0}).start(),
        ]
        _, ac, door = devices
        try:
            wait_for(lambda: reported(bridge, "lights") == {"on": False, "power_w": 0.0}, what="the lights' report via their actor")
            wait_for(lambda: reported(bridge, "ac") == {"on": False, "mode": "off", "setpoint_c": 26.0}, what="the AC's own report")
            assert "indoor_temp_c" not in reported(bridge, "ac"), "live, no simulated room reports"

            command = bridge.command("ac", {"on": True, "mode": "cool", "setpoint_c": 22.0}, by="op")
            wait_for(lambda: command_state(bridge, command) is CommandState.ACKED, what="the AC's ack")
            wait_for(lambda: reported(bridge, "ac").get("setpoint_c") == 26.0, what="the actor's policy: not below 26 °C")
            assert ac.state["setpoint_c"] == 26.0
            assert bridge.read(lambda t: t.commands[command].fields["setpoint_c"]) == 26.0, "the command records what was sent"
            wait_for(lambda: bridge.read(lambda t: t.entity("ac").desired) == {}, what="desired cleared by the matching report")

            ac.event("worker_entered", {"worker": "x" * 500, "group": "riders"})  # not a door: no visitor
            door.event("worker_entered", {"worker": "m-17", "group": "riders"})
            wait_for(lambda: any(c.name == "visit_started" and c.entity_id == "visitor:m-17" for c in list(seen)), what="the visitor actor")
            door.event("worker_left", {"worker": "m-17", "group": "riders"})
            wait_for(lambda: any(c.name == "visit_ended" for c in list(seen)), what="the visit to end")
            assert "visitor:m-17" not in bridge.binding.actors, "a worker's actor is released on exit"
            assert set(bridge.binding.actors) == {"lights", "ac", "door"}, "only doors create visitors"
            assert bridge.rejected == {"PassageError": 1}, "an AC telling of a worker is refused"
        finally:
            for device in devices:
                device.stop()
            bridge.stop()


class _Hung(AirConditioner):
    """An AC whose Ray node stops answering: in a Ray worker it takes far longer than any reply deadline."""

    def receive(self, message: object) -> None:
        if os.getpid() != int(os.environ["YXY_TEST_DRIVER_PID"]):
            time.sleep(30)
        super().receive(message)


@pytest.mark.xdist_group("ray")
def test_a_ray_actor_that_stops_answering_is_replaced_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RayHandle, "REPLY_TIMEOUT_S", 1.0)
    monkeypatch.setenv("YXY_TEST_DRIVER_PID", str(os.getpid()))  # before Ray starts: its workers inherit it
    twin = Twin("live")
    twin.add("ac", "air_conditioner")
    clock = wall_clock()
    with ray_session():
        binding = LiveBinding(twin, clock, 1, Placement.RAY, lambda device, fields, handling: None)
        binding.host(_Hung, "ac", AirConditionerConfig(), register=False)
        lost = binding.actors["ac"]
        assert isinstance(lost, Placed) and lost.timers, "an AC keeps a timer for its room model"
        lost_timers = list(lost.timers.values())
        with pytest.raises(ActorUnresponsive, match="actor ac did not answer within 1 s"):
            lost.handle.deliver(clock.now(), NextHour())
        began = time.monotonic()
        reported = {"on": True, "mode": "cool", "setpoint_c": 26.0}
        binding.deliver("ac", Reported(reported))
        assert binding.replaced == ["ac"] and time.monotonic() - began < 10
        assert {k: twin.entity("ac").reported[k] for k in reported} == reported, "the report the lost actor missed reached the twin"
        assert all(timer.cancelled for timer in lost_timers), "the lost actor's timers went with it"
        binding.deliver("ac", Reported({"on": False}))
        assert twin.entity("ac").reported["on"] is False and binding.replaced == ["ac"], "replaced once, then in process"
        binding.stop_all()


@pytest.mark.xdist_group("ray")
def test_a_killed_ray_worker_loses_no_command(station: str) -> None:
    """Every actor of a live station in Ray, against Mosquitto; the workers holding them are killed (SIGKILL) while
    commands flow: each command is still acknowledged, and the actors carry on in this process."""
    if not reachable(*MOSQUITTO):
        if IN_CI:
            raise AssertionError("Mosquitto is required in CI and is not listening on 127.0.0.1:1883")
        pytest.skip("Mosquitto is not listening on 127.0.0.1:1883")
    import ray

    config = BrokerConfig(*MOSQUITTO, protocol="5")
    with ray_session():
        bridge = Bridge(station, DEVICES, config, wall_clock(), actors=ACTORS, placement=Placement.RAY).start()
        devices = [
            EmulatedDevice(station, "lights", "lights", config, state={"on": False}).start(),
            EmulatedDevice(station, "ac", "air_conditioner", config, state={"on": False, "mode": "off", "setpoint_c": 26.0}).start(),
        ]
        try:
            wait_for(lambda: "on" in reported(bridge, "lights") and "mode" in reported(bridge, "ac"), what="first reports")
            sent = [bridge.command("lights", {"on": True}, by="op")]
            wait_for(lambda: command_state(bridge, sent[0]) is CommandState.ACKED, what="a command before the kill")
            placed = [bridge.binding.actors[device] for device in DEVICES]
            assert all(isinstance(p, Placed) and isinstance(p.handle, RayHandle) for p in placed), "every actor is in Ray"
            workers = {ray.get(p.handle._actor.__ray_call__.remote(lambda _host: os.getpid())) for p in placed}  # type: ignore[union-attr]
            assert len(workers) == len(DEVICES) and os.getpid() not in workers, f"each actor in a Ray worker of its own: {workers}"
            for pid in workers:
                os.kill(pid, signal.SIGKILL)
            for n in range(6):
                device, fields = ("lights", {"on": n % 2 == 0}) if n % 2 else ("ac", {"on": True, "mode": "cool", "setpoint_c": 24.0 + n})
                sent.append(bridge.command(device, fields, by="op"))
            for command in sent:
                wait_for(lambda c=command: command_state(bridge, c) is CommandState.ACKED, timeout_s=30, what=f"command {command}")
            # An actor is found lost when next it is asked something: the commanded two now run in this process.
            assert sorted(bridge.binding.replaced) == ["ac", "lights"], bridge.binding.replaced
            asked_24 = bridge.read(lambda t: t.commands[sent[1]].fields)
            assert asked_24["setpoint_c"] == 26.0, f"the AC's policy still shapes commands: {asked_24}"
            assert ray.is_initialized()
        finally:
            for device in devices:
                device.stop()
            bridge.stop()


@settings(max_examples=50, deadline=None)
@given(steps=st.lists(st.floats(0.001, 100.0), min_size=1, max_size=30), timer_in=st.none() | st.floats(0.5, 1e4))
def test_an_idle_live_binding_lets_the_loop_sleep(steps: list[float], timer_in: float | None) -> None:
    """Advanced turn by turn to the wall clock, the binding says nothing is due unless an actor armed a timer: a stale
    "due now" kept the bridge's loop spinning and cut ingest to a sixth."""
    twin = Twin("idle")
    twin.add("lights", "lights")
    now = 0.0
    binding = LiveBinding(twin, wall_clock(), 1, Placement.INLINE, lambda device, fields, handling: None)
    binding.advance_to(now)
    start = binding.env.now
    if timer_in is not None:
        binding.env.timeout(timer_in)
    for step in steps:
        now += step
        binding.advance_to(start + now)
        due = binding.next_due()
        if timer_in is None or start + now > start + timer_in:  # a timer due exactly now runs at the next turn
            assert due is None, f"nothing is due after {now:g} s, yet next_due() = {due}"
        else:
            assert due == pytest.approx(start + timer_in)
