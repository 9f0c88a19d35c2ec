"""Automatic management and control: rules that watch the station and command devices or raise alarms.

The engine is plain logic over what it has observed (reported state, availability
and alarms cleared, by entity).  The ``Automations`` actor below hosts it in every
world: the binding hands it the twin's changes as ``Observed`` messages, its commands
are ``DeviceCommand`` messages to the devices' actors (live, those go out to the real
devices with ids, acks and the audit trail), and its alarms go through the port into
the station's one ``AlarmBook``.  A rule asks for what it wants; the engine commands
only when the device does not already report it and was not asked within
``cooldown_s``.  An alarm an operator closed while its condition still holds is
raised again at the next evaluation, not forgotten.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from actors.actor import Actor
from actors.message import DeviceCommand, Observed
from actors.port import Port

ALARM_CLEARED = "alarm_cleared"
AUTOMATIONS_ID = "automations"
"""The automations' actor id, in a simulation and live alike."""
OBSERVED = ("state", "availability", ALARM_CLEARED)
"""The names of the twin's changes the automations are handed."""

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class LightsByOccupancy:
    """Lights on while someone is inside and it is dark; off otherwise."""

    lights: str
    occupancy_from: str
    daylight_from_h: float = 6.0
    daylight_to_h: float = 18.0


@dataclass(frozen=True, slots=True)
class AirConditioningByTemperature:
    """Cool or heat an occupied room; switch off an empty one; never chill far below the outdoors."""

    ac: str
    occupancy_from: str
    outdoor_from: str | None = None
    min_occupancy: int = 1
    cool_above_c: float = 27.0
    heat_below_c: float = 16.0
    cooling_setpoint_c: float = 26.0
    heating_setpoint_c: float = 20.0
    max_below_outdoor_c: float = 10.0
    """Heat-stroke advice: keep indoors no more than this much cooler than outdoors."""


@dataclass(frozen=True, slots=True)
class ConditionAlarm:
    """Raise ``alarm`` on ``entity`` while ``field op value`` has held for ``for_s``; clear it after."""

    entity: str
    field: str
    op: str
    value: Any
    alarm: str
    for_s: float = 0.0
    severity: str = "warning"
    detail: str = ""


@dataclass(frozen=True, slots=True)
class OfflineAlarm:
    """Raise ``offline`` on any device (or those listed) unavailable for ``for_s``."""

    entities: tuple[str, ...] = ()
    for_s: float = 0.0
    severity: str = "warning"


Rule = LightsByOccupancy | AirConditioningByTemperature | ConditionAlarm | OfflineAlarm


class CommandDevice(NamedTuple):
    device: str
    fields: dict[str, Any]
    rule: str


class RaiseAlarm(NamedTuple):
    source: str
    type: str
    severity: str
    detail: str


class ClearAlarm(NamedTuple):
    source: str
    type: str


Action = CommandDevice | RaiseAlarm | ClearAlarm


@dataclass
class AutomationEngine:
    rules: tuple[Rule, ...]
    cooldown_s: float = 60.0
    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    available: dict[str, bool] = field(default_factory=dict)
    _since: dict[tuple[str, str], float] = field(default_factory=dict)
    _raised: set[tuple[str, str]] = field(default_factory=set)
    _asked: dict[tuple[str, str], tuple[Any, float]] = field(default_factory=dict)

    def observe(self, entity: str, name: str, data: Mapping[str, Any]) -> None:
        if name == "state":
            self.states.setdefault(entity, {}).update(data)
        elif name == "availability":
            self.available[entity] = bool(data["available"])
        elif name == ALARM_CLEARED:
            self._raised.discard((str(data.get("source", entity)), str(data.get("type", ""))))

    def evaluate(self, now: float, hour: float, today: date) -> list[Action]:
        """What to do now, at run time ``now``, ``hour`` of the station's day."""
        actions: list[Action] = []
        for rule in self.rules:
            if isinstance(rule, LightsByOccupancy):
                actions += self._lights(rule, now, hour)
            elif isinstance(rule, AirConditioningByTemperature):
                actions += self._air_conditioning(rule, now)
            elif isinstance(rule, ConditionAlarm):
                actions += self._condition(rule, now, today)
            else:
                actions += self._offline(rule, now)
        return actions

    def _want(self, device: str, wanted: Mapping[str, Any], now: float, rule: str) -> list[Action]:
        state = self.states.get(device, {})
        missing = {k: v for k, v in wanted.items() if state.get(k) != v}
        fresh = {k: v for k, v in missing.items() if not self._recently_asked(device, k, v, now)}
        if not fresh:
            return []
        for key, value in fresh.items():
            self._asked[(device, key)] = (value, now)
        return [CommandDevice(device, fresh, rule)]

    def _recently_asked(self, device: str, key: str, value: Any, now: float) -> bool:
        asked = self._asked.get((device, key))
        return asked is not None and asked[0] == value and now - asked[1] < self.cooldown_s

    def _occupancy(self, entity: str) -> int:
        return int(self.states.get(entity, {}).get("occupancy", 0) or 0)

    def _lights(self, rule: LightsByOccupancy, now: float, hour: float) -> list[Action]:
        if rule.lights not in self.states:
            return []
        daylight = rule.daylight_from_h <= hour < rule.daylight_to_h
        return self._want(rule.lights, {"on": self._occupancy(rule.occupancy_from) > 0 and not daylight}, now, "lights_by_occupancy")

    def _air_conditioning(self, rule: AirConditioningByTemperature, now: float) -> list[Action]:
        state = self.states.get(rule.ac)
        if not state or state.get("indoor_temp_c") is None:
            return []
        indoor = float(state["indoor_temp_c"])
        outdoor = self.states.get(rule.outdoor_from or "", {}).get("temp_c")
        if self._occupancy(rule.occupancy_from) < rule.min_occupancy:
            wanted: dict[str, Any] = {"on": False}
        elif indoor > rule.cool_above_c:
            floor = float(outdoor) - rule.max_below_outdoor_c if outdoor is not None else rule.cooling_setpoint_c
            wanted = {"on": True, "mode": "cool", "setpoint_c": round(max(rule.cooling_setpoint_c, floor), 1)}
        elif indoor < rule.heat_below_c:
            wanted = {"on": True, "mode": "heat", "setpoint_c": rule.heating_setpoint_c}
        else:
            return []
        return self._want(rule.ac, wanted, now, "air_conditioning_by_temperature")

    def _held(self, key: tuple[str, str], holds: bool, now: float, for_s: float) -> bool:
        if not holds:
            self._since.pop(key, None)
            return False
        return now - self._since.setdefault(key, now) >= for_s

    def _condition(self, rule: ConditionAlarm, now: float, today: date) -> list[Action]:
        value = self.states.get(rule.entity, {}).get(rule.field)
        limit = today.isoformat() if rule.value == "today" else rule.value
        try:
            holds = value is not None and OPERATORS[rule.op](value, limit)
        except TypeError:
            holds = False
        key = (rule.entity, rule.alarm)
        detail = rule.detail or f"{rule.field} {rule.op} {limit} (now {value})"
        return self._alarm(key, self._held(key, holds, now, rule.for_s), rule.severity, detail)

    def _offline(self, rule: OfflineAlarm, now: float) -> list[Action]:
        actions: list[Action] = []
        for entity, available in self.available.items():
            if rule.entities and entity not in rule.entities:
                continue
            key = (entity, "offline")
            actions += self._alarm(key, self._held(key, not available, now, rule.for_s), rule.severity, "device offline")
        return actions

    def _alarm(self, key: tuple[str, str], active: bool, severity: str, detail: str) -> list[Action]:
        if active and key not in self._raised:
            self._raised.add(key)
            return [RaiseAlarm(key[0], key[1], severity, detail)]
        if not active and key in self._raised:
            self._raised.discard(key)
            return [ClearAlarm(key[0], key[1])]
        return []


class _Evaluate(NamedTuple):
    pass


@dataclass(frozen=True, slots=True)
class AutomationsConfig:
    rules: tuple[Rule, ...]
    every_s: float = 60.0
    cooldown_s: float = 60.0


class Automations(Actor):
    """The engine as an actor, live and simulated: commands are messages to the devices, alarms go through the port."""

    kind = "automations"

    def __init__(self, actor_id: str, port: Port, config: AutomationsConfig) -> None:
        super().__init__(actor_id, port)
        self.config = config
        self.engine = AutomationEngine(config.rules, config.cooldown_s)

    def start(self) -> None:
        self.port.timer(self.config.every_s, _Evaluate())

    def receive(self, message: object) -> None:
        if isinstance(message, Observed):
            self.engine.observe(message.entity, message.name, message.data)
        elif isinstance(message, _Evaluate):
            self.port.timer(self.config.every_s, _Evaluate())
            now = self.port.now()
            clock = self.port.clock
            for action in self.engine.evaluate(now, clock.hour_of_day(now), clock.datetime_at(now).date()):
                if isinstance(action, CommandDevice):
                    self.port.send(action.device, DeviceCommand(action.fields, f"automation:{action.rule}"))
                    self.port.record("command_sent", {"device": action.device, "fields": dict(action.fields), "rule": action.rule})
                elif isinstance(action, RaiseAlarm):
                    self.port.raise_alarm(action.source, action.type, action.severity, action.detail)
                else:
                    self.port.clear_alarm(action.source, action.type)
        else:
            super().receive(message)
