"""One behaviour, two worlds: the same actor classes, hosted live (inline and in Ray) and in a simulation, given
the same scripted day of device reports, shape the same commands and raise and clear the same alarms.

Live, the binding is advanced to each report's time as the bridge's loop advances it to the wall clock; the
devices are perfect (they report what they were told, as a simulated device with no physics does), so any
difference would be the binding's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import simpy

from actors.actor import Actor
from actors.automation import (
    OBSERVED,
    AirConditioningByTemperature,
    Automations,
    AutomationsConfig,
    ConditionAlarm,
    LightsByOccupancy,
)
from actors.binding import Binding
from actors.message import DeviceCommand, Reported
from actors.port import Port
from actors.registry import DEVICE_KINDS
from actors.runtime import Placement
from hardware_bridge.live_binding import LiveBinding
from scenarios.sim import SimBinding
from twin.clock import Clock
from twin.entity import Twin
from twin.feed import Change

START = datetime(2026, 7, 20)
"""A Monday in the heat; the station's local time."""
DEVICES = {"door": "door", "lights": "lights", "ac": "air_conditioner", "fridge": "fridge", "aed": "aed"}
RULES = AutomationsConfig(
    (
        LightsByOccupancy("lights", "door"),
        AirConditioningByTemperature("ac", "door", cooling_setpoint_c=24.0),  # asks for 24 °C; the AC's policy says 26
        ConditionAlarm("fridge", "temp_c", ">", 8.0, "over_temperature", for_s=600, severity="critical"),
        ConditionAlarm("aed", "self_test_ok", "==", False, "self_test_failed"),
    ),
    every_s=60.0,
    cooldown_s=300.0,
)


def scripted_day() -> list[tuple[float, str, dict[str, Any]]]:
    """Reports every quarter hour (7 s past, clear of the automations' minute): a lunch crowd, a hot afternoon,
    a fridge left open after lunch, an AED whose self-test fails in the night and passes in the morning."""
    script: list[tuple[float, str, dict[str, Any]]] = [(3.0, "lights", {"on": False, "power_w": 0.0})]
    for quarter in range(96):
        t = quarter * 900.0 + 7.0
        hour = t / 3600
        crowd = 6 if 11.5 <= hour < 13.5 else 2 if 7 <= hour < 22 else (1 if quarter % 4 == 0 else 0)
        script.append((t, "door", {"occupancy": crowd}))
        script.append((t + 1, "ac", {"indoor_temp_c": round(25.0 + 6.0 * max(0.0, 1 - abs(hour - 15) / 5), 2)}))
        script.append((t + 2, "fridge", {"temp_c": 9.5 if 13.25 <= hour < 14.5 else 4.0}))
        if quarter in (8, 30):
            script.append((t + 3, "aed", {"self_test_ok": quarter == 30}))
    return script


class _Script(Actor):
    """The day's reports, played to the devices' actors in a simulation."""

    kind = "script"

    def __init__(self, actor_id: str, port: Port, script: list[tuple[float, str, dict[str, Any]]]) -> None:
        super().__init__(actor_id, port)
        self.script = script

    def start(self) -> None:
        for t, device, fields in self.script:
            self.port.send(device, Reported(fields), t)


Actuation = tuple[float, str, dict[str, Any]]


class _RecordingSim(SimBinding):
    """A simulation that notes every actuation before its simulated hardware takes it."""

    def __init__(self, env: simpy.Environment, twin: Twin, clock: Clock) -> None:
        super().__init__(env, twin, clock, seed=7)
        self.actuations: list[Actuation] = []

    def actuate(self, actor_id: str, fields: Mapping[str, Any], answering: DeviceCommand | None = None) -> None:
        self.actuations.append((self.env.now, actor_id, dict(fields)))
        super().actuate(actor_id, fields, answering)


def _station(binding: Binding) -> list[tuple[float, str, str, str, str]]:
    alarms: list[tuple[float, str, str, str, str]] = []

    def note(change: Change) -> None:
        if change.name.startswith("alarm_"):
            alarms.append((change.t, change.name, change.data["source"], change.data["type"], change.data["severity"]))

    for device, kind in DEVICES.items():
        binding.twin.add(device, kind)
    binding.twin.subscribe(note)
    binding.host(Automations, "automations", RULES, register=False)
    binding.observe("automations", OBSERVED)
    for device, kind in DEVICES.items():
        binding.host(DEVICE_KINDS[kind].policy, device, DEVICE_KINDS[kind].config(), register=False)
    return alarms


def simulated() -> tuple[list[Actuation], list[tuple[float, str, str, str, str]]]:
    env = simpy.Environment()
    binding = _RecordingSim(env, Twin("worlds", retain=0), Clock(START, lambda: env.now))
    alarms = _station(binding)
    binding.host(_Script, "script", scripted_day(), register=False)
    binding.run(until=86400.0)
    return binding.actuations, alarms


def live(placement: Placement) -> tuple[list[Actuation], list[tuple[float, str, str, str, str]]]:
    actuations: list[Actuation] = []

    def actuate(device: str, fields: Mapping[str, Any], answering: DeviceCommand | None) -> None:
        actuations.append((binding.env.now, device, dict(fields)))
        binding.send(device, Reported(dict(fields)), 0.0)  # a device that does as it is told and says so

    binding = LiveBinding(Twin("worlds"), Clock(START, lambda: 0.0), 7, placement, actuate)
    alarms = _station(binding)
    for t, device, fields in scripted_day():
        binding.advance_to(t)
        binding.deliver(device, Reported(fields))
    binding.advance_to(86400.0)
    binding.stop_all()
    return actuations, alarms


def test_live_and_simulated_actors_shape_the_same_commands_and_alarms(placement: Placement) -> None:
    sim_actuations, sim_alarms = simulated()
    live_actuations, live_alarms = live(placement)
    assert live_actuations == sim_actuations
    assert live_alarms == sim_alarms
    ac = [fields for _, device, fields in sim_actuations if device == "ac" and fields.get("mode") == "cool"]
    assert ac and all(fields["setpoint_c"] == 26.0 for fields in ac), "the AC's policy kept cooling at the 26 °C floor"
    lights = {fields["on"] for _, device, fields in sim_actuations if device == "lights"}
    assert lights == {True, False}, "the lights were switched on for the night crowd and off again"
    raised = {(source, kind) for _, name, source, kind, _ in sim_alarms if name == "alarm_raised"}
    assert raised == {("fridge", "over_temperature"), ("aed", "self_test_failed")}
    cleared = {(source, kind) for _, name, source, kind, _ in sim_alarms if name == "alarm_cleared"}
    assert cleared == raised, "each alarm cleared itself once its condition ended"
