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

A person's command outranks the rules for a while: a rule that governs a device leaves
it alone for its ``manual_hold_s`` after anyone but the automations commanded it (the
custodian switched the lights on for a cleaner: they stay on), and the actor says so on
the feed (``manual_hold``, with until when).  Every command a rule sends names the rule
(``by = automation:<rule>``) and why, in words the page and the audit log can show.
Durations are the station's: at an emulated demo's 60x, a 60 s rule runs every second.
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
from twin.entity import DESIRED

ALARM_CLEARED = "alarm_cleared"
AUTOMATIONS_ID = "automations"
"""The automations' actor id, in a simulation and live alike."""
OBSERVED = ("state", "availability", ALARM_CLEARED, DESIRED)
"""The names of the twin's changes the automations are handed (desired: who commanded what)."""
BY_AUTOMATION = "automation:"
"""How a command the rules sent is signed: ``automation:<rule>``."""
MANUAL_HOLD = "manual_hold"
"""The feed's event: a person's command holds a device against the rules until ``until_s`` (run seconds)."""
MANUAL_HOLD_S = 1800.0

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
    manual_hold_s: float = MANUAL_HOLD_S


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
    manual_hold_s: float = MANUAL_HOLD_S


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
    reason: Mapping[str, Any] | None = None
    """Why, as the page's catalog words it: ``{"why": "dark_and_occupied", "occupancy": 3}``."""


class ManualHold(NamedTuple):
    device: str
    until_s: float
    by: str
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
    speed: float = 1.0
    """Station seconds per run second (the clock's): the rules' durations are the station's."""
    _asked: dict[tuple[str, str], tuple[Any, float]] = field(default_factory=dict)
    _held_until: dict[str, float] = field(default_factory=dict)

    def observe(self, entity: str, name: str, data: Mapping[str, Any], now: float = 0.0) -> ManualHold | None:
        """Take in a change of the twin at run time ``now``; a person's command to a governed device starts a hold."""
        if name == "state":
            state = self.states.setdefault(entity, {})
            switched = "on" in data and state.get("on") is not None and data["on"] != state["on"]
            state.update(data)
            if switched and self._asked.get((entity, "on"), (None, 0.0))[0] != data["on"]:
                return self._hold(entity, "at_device", now)  # switched at the wall: a person, as much as a command
        elif name == "availability":
            self.available[entity] = bool(data["available"])
        elif name == ALARM_CLEARED:
            self._raised.discard((str(data.get("source", entity)), str(data.get("type", ""))))
        elif name == DESIRED and "by" in data and not str(data["by"]).startswith(BY_AUTOMATION):
            return self._hold(entity, str(data["by"]), now)  # a new command (not revised, nor fields cleared)
        return None

    def _hold(self, device: str, by: str, now: float) -> ManualHold | None:
        """A person's hand on ``device``: the rule that governs it waits its hold (a switch after a command: one hold)."""
        rule = self._governing(device)
        if rule is None or rule[1] <= 0 or (by == "at_device" and now < self._held_until.get(device, -1.0)):
            return None
        until = self._held_until[device] = now + rule[1] / self.speed
        return ManualHold(device, until, by, rule[0])

    def _governing(self, device: str) -> tuple[str, float] | None:
        """(rule name, hold) of the rule that commands ``device``, if one does."""
        for rule in self.rules:
            if isinstance(rule, LightsByOccupancy) and rule.lights == device:
                return "lights_by_occupancy", rule.manual_hold_s
            if isinstance(rule, AirConditioningByTemperature) and rule.ac == device:
                return "air_conditioning_by_temperature", rule.manual_hold_s
        return None

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

    def _want(self, device: str, wanted: Mapping[str, Any], now: float, rule: str, reason: dict[str, Any]) -> list[Action]:
        if now < self._held_until.get(device, -1.0):
            return []  # a person commanded it a moment ago: theirs until the hold ends
        state = self.states.get(device, {})
        missing = {k: v for k, v in wanted.items() if state.get(k) != v}
        fresh = {k: v for k, v in missing.items() if not self._recently_asked(device, k, v, now)}
        if not fresh:
            return []
        for key, value in fresh.items():
            self._asked[(device, key)] = (value, now)
        return [CommandDevice(device, fresh, rule, reason)]

    def _recently_asked(self, device: str, key: str, value: Any, now: float) -> bool:
        asked = self._asked.get((device, key))
        return asked is not None and asked[0] == value and now - asked[1] < self.cooldown_s / self.speed

    def _occupancy(self, entity: str) -> int:
        return int(self.states.get(entity, {}).get("occupancy", 0) or 0)

    def _lights(self, rule: LightsByOccupancy, now: float, hour: float) -> list[Action]:
        if rule.lights not in self.states:
            return []
        daylight = rule.daylight_from_h <= hour < rule.daylight_to_h
        inside = self._occupancy(rule.occupancy_from)
        reason: dict[str, Any] = {"why": "daylight"}
        if not daylight:
            reason = {"why": "dark_and_occupied", "occupancy": inside} if inside else {"why": "nobody_inside"}
        return self._want(rule.lights, {"on": inside > 0 and not daylight}, now, "lights_by_occupancy", reason)

    def _air_conditioning(self, rule: AirConditioningByTemperature, now: float) -> list[Action]:
        state = self.states.get(rule.ac)
        if not state or state.get("indoor_temp_c") is None:
            return []
        indoor = float(state["indoor_temp_c"])
        outdoor = self.states.get(rule.outdoor_from or "", {}).get("temp_c")
        inside = self._occupancy(rule.occupancy_from)
        if inside < rule.min_occupancy:
            wanted: dict[str, Any] = {"on": False}
            reason: dict[str, Any] = {"why": "too_few_inside", "occupancy": inside, "limit": rule.min_occupancy}
        elif indoor > rule.cool_above_c:
            floor = float(outdoor) - rule.max_below_outdoor_c if outdoor is not None else rule.cooling_setpoint_c
            wanted = {"on": True, "mode": "cool", "setpoint_c": round(max(rule.cooling_setpoint_c, floor), 1)}
            reason = {"why": "too_hot", "indoor_c": round(indoor, 1), "limit_c": rule.cool_above_c}
        elif indoor < rule.heat_below_c:
            wanted = {"on": True, "mode": "heat", "setpoint_c": rule.heating_setpoint_c}
            reason = {"why": "too_cold", "indoor_c": round(indoor, 1), "limit_c": rule.heat_below_c}
        else:
            return []
        return self._want(rule.ac, wanted, now, "air_conditioning_by_temperature", reason)

    def _held(self, key: tuple[str, str], holds: bool, now: float, for_s: float) -> bool:
        """``holds`` has been true for ``for_s`` run seconds."""
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
        return self._alarm(key, self._held(key, holds, now, rule.for_s / self.speed), rule.severity, detail)  # the station's time

    def _offline(self, rule: OfflineAlarm, now: float) -> list[Action]:
        actions: list[Action] = []
        for entity, available in self.available.items():
            if rule.entities and entity not in rule.entities:
                continue
            key = (entity, "offline")
            # Real time even in an emulated demo: a device is silent on the wall's clock (MQTT, last wills).
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
        self.engine = AutomationEngine(config.rules, config.cooldown_s, speed=port.clock.speed)

    def start(self) -> None:
        self.port.timer(self.port.clock.run_seconds(self.config.every_s), _Evaluate())

    def receive(self, message: object) -> None:
        if isinstance(message, Observed):
            hold = self.engine.observe(message.entity, message.name, message.data, self.port.now())
            if hold is not None:
                self.port.record(MANUAL_HOLD, hold._asdict())
        elif isinstance(message, _Evaluate):
            self.port.timer(self.port.clock.run_seconds(self.config.every_s), _Evaluate())
            now = self.port.now()
            clock = self.port.clock
            for action in self.engine.evaluate(now, clock.hour_of_day(now), clock.datetime_at(now).date()):
                if isinstance(action, CommandDevice):
                    self.port.send(action.device, DeviceCommand(action.fields, f"{BY_AUTOMATION}{action.rule}", reason=action.reason))
                    sent = {"device": action.device, "fields": dict(action.fields), "rule": action.rule, "reason": action.reason}
                    self.port.record("command_sent", sent)
                elif isinstance(action, RaiseAlarm):
                    self.port.raise_alarm(action.source, action.type, action.severity, action.detail)
                else:
                    self.port.clear_alarm(action.source, action.type)
        else:
            super().receive(message)


class ManualHolds:
    """Which devices a person's command holds against the rules, and until when: the page's "manual until 14:30".

    Kept from the feed's ``manual_hold`` events (the automations may run in Ray), read
    under the bridge's loop like the rest of the twin.
    """

    def __init__(self) -> None:
        self._holds: dict[str, ManualHold] = {}

    def observe(self, data: Mapping[str, Any]) -> None:
        hold = ManualHold(str(data["device"]), float(data["until_s"]), str(data["by"]), str(data["rule"]))
        self._holds[hold.device] = hold

    def at(self, now: float) -> dict[str, ManualHold]:
        """The holds still in force at run time ``now``, by device; ended ones are forgotten."""
        for device in [d for d, hold in self._holds.items() if hold.until_s <= now]:
            del self._holds[device]
        return dict(self._holds)
