"""The outdoor workers of the area, arriving at the station by group, hour, weekday and weather.

Arrivals of each stream are a non-homogeneous Poisson process with a rate that is
constant within each hour (and between weather changes).  Each arrival spends
exactly one Exp(1) draw of integrated rate (inversion), so two variants that do not
change the rates see the same arrival times: common random numbers for free.  Each
visit's plan is drawn from the stream's own choice generator with a fixed number of
draws per arrival, for the same reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from actors.actor import Actor
from actors.distribution import Distribution
from actors.door import SIMULATED_KEY, SIMULATED_STATION, simulated_epoch_s
from actors.door_access import AsVisitor
from actors.door_pass import issue
from actors.message import DoorLocked, WeatherChanged
from actors.port import Port, Timer
from actors.worker import NeedPlan, VisitPlan, Worker
from twin.clock import SECONDS_PER_DAY

if TYPE_CHECKING:  # numpy is imported by what draws numbers, not by what only names the stream
    from twin.randomness import RandomStream

STALE_PASS_S = 120.0
"""How old a failing pass is: past its 30 s life and the clocks' 5 s of skew."""
TURNED_AWAY_AT_DOOR = "turned_away_at_door"
"""The feed's event: a worker came while the door was locked and went away."""

Hours = tuple[tuple[float, float], ...]
"""Clock windows as (from_h, to_h); a window may wrap past midnight (22.0, 6.0)."""


def in_hours(hour: float, windows: Hours) -> bool:
    return any((lo <= hour < hi) if lo <= hi else (hour >= lo or hour < hi) for lo, hi in windows)


@dataclass(frozen=True, slots=True)
class NeedRule:
    need: str
    device: str
    probability: float
    peak_probability: float | None = None
    peak_hours: Hours = ()
    hold: Distribution | None = None
    """How long the worker keeps the unit; None lets the device decide (a microwave cycle)."""
    peak_hold: Distribution | None = None
    hold_like: str | None = None
    """Keep the unit as long as this other need's unit (a phone charges while its owner rests)."""
    background: bool = False
    patience: Distribution | None = None
    balk_queue: int | None = None
    balk_chance: tuple[float, ...] | None = None
    """The chance of not joining on finding 0, 1, 2, ... waiting (the last holds beyond); None: the group's."""


@dataclass(frozen=True, slots=True)
class ArrivalStream:
    name: str
    per_day: float
    """Expected arrivals a day in ordinary weather on a weekday factor of 1."""
    day_share: tuple[float, ...]
    """The share of the day's arrivals in each of equal slots from midnight: 24 clock hours, or finer (96: quarter hours)."""
    needs: tuple[NeedRule, ...]
    weekday_factor: tuple[float, ...] = (1.0,) * 7
    enters_station: bool = True


@dataclass(frozen=True, slots=True)
class WorkerGroup:
    name: str
    streams: tuple[ArrivalStream, ...]
    patience: Distribution | None = None
    balk_queue: int | None = None
    heat_sensitivity: float = 1.0
    rain_sensitivity: float = 1.0
    cold_sensitivity: float = 1.0
    shelter_hours: Hours = ()
    """Hours this group may not work outdoors on the hottest days (heat rules), and shelters."""
    shelter_factor: float = 1.0
    balk_chance: tuple[float, ...] | None = None
    member_share: float = 1.0
    """At a door that checks who comes in: the share who are union members (with a pass); the rest come as visitors."""
    pass_failure_share: float = 0.0
    """Of the members, the share whose pass fails at the door (a stale screenshot, a phone's clock far off)."""
    visitor_approval_share: float = 1.0
    """Of the visitors who need it, the share the custodian approves."""


@dataclass(frozen=True, slots=True)
class WeatherResponse:
    """Visit multipliers by weather (STATION_DATA §1.5, ASSUMPTION)."""

    heat_steps: tuple[tuple[float, float], ...] = ((35.0, 1.5), (37.0, 1.8), (40.0, 2.5))
    rain: float = 1.4
    cold_below_c: float = 5.0
    cold: float = 1.3
    shelter_from_c: float = 37.0


@dataclass(frozen=True, slots=True)
class PopulationConfig:
    groups: tuple[WorkerGroup, ...]
    door: str | None = None
    weather_response: WeatherResponse = WeatherResponse()
    door_checks: bool = False
    """The door checks who comes in (it has a capacity): each arrival is drawn as a member with a pass or a visitor."""


class _Arrival(NamedTuple):
    stream: int


class _NextSlot(NamedTuple):
    """A slot of the arrival profiles has begun (a clock hour, or a quarter of one)."""


@dataclass(slots=True)
class _StreamState:
    group: WorkerGroup
    stream: ArrivalStream
    arrivals: RandomStream
    choices: RandomStream
    hazard_left: float = 0.0
    rate_per_s: float = 0.0
    since: float = 0.0
    timer: Timer | None = None
    arrived: int = 0
    rules: list[_Rule] = field(default_factory=list)
    peaks: bool = False
    """Some rule has peak hours, so the hour of the arrival matters."""
    holds_shared: bool = False
    """Some rule keeps its unit as long as another's (``hold_like``)."""
    worker_prefix: str = ""
    """``group.stream.``: a worker's id is this and the stream's arrival count."""
    door_draws: RandomStream | None = None
    """Member or visitor, a pass that fails, an approval: a stream of its own, so a door that checks shifts no other draw."""


class Population(Actor):
    kind = "population"

    def __init__(self, actor_id: str, port: Port, config: PopulationConfig) -> None:
        super().__init__(actor_id, port)
        self.config = config
        self.door_locked = False
        """The station's door is locked: arrivals who would come in are turned away (``turned_away_at_door``)."""
        self.weather: WeatherChanged | None = None
        self._passes = 0
        """Passes drawn so far: each arrival at a checking door is a member of its own number, with a nonce of its own."""
        self._streams = [
            _StreamState(
                group,
                stream,
                port.stream(f"{group.name}/{stream.name}/arrivals"),
                port.stream(f"{group.name}/{stream.name}/choices"),
                rules=_rules(group, stream),
                peaks=any(rule.peak_hours for rule in stream.needs),
                holds_shared=any(rule.hold_like is not None for rule in stream.needs),
                worker_prefix=f"{group.name}.{stream.name}.",
                door_draws=port.stream(f"{group.name}/{stream.name}/door") if config.door_checks else None,
            )
            for group in config.groups
            for stream in group.streams
        ]
        slots = math.lcm(24, *(len(s.stream.day_share) for s in self._streams))
        self._slot_s = SECONDS_PER_DAY / slots
        """The finest slot of any stream's profile, at whose boundaries every rate is recomputed."""

    def start(self) -> None:
        now = self.port.now()
        for state in self._streams:
            state.hazard_left = state.arrivals.standard_exponential()
            state.since = now
        self._reschedule(now)
        self._next_slot(now)

    def receive(self, message: object) -> None:
        now = self.port.now()
        if isinstance(message, _Arrival):
            self._arrive(message.stream, now)
        elif isinstance(message, WeatherChanged):
            self.weather = message
            self._reschedule(now)
        elif isinstance(message, _NextSlot):
            self._reschedule(now)
            self._next_slot(now)
        elif isinstance(message, DoorLocked):
            self.door_locked = message.locked
        else:
            super().receive(message)

    def _next_slot(self, now: float) -> None:
        """Rates change at each slot of the finest profile (the hour, or a quarter of it), and with the weather."""
        self.port.timer(self.port.clock.seconds_to_next(now, self._slot_s), _NextSlot())

    def rate_per_s(self, group: WorkerGroup, stream: ArrivalStream, now: float) -> float:
        clock = self.port.clock
        hour = clock.hour_of_day(now)
        slot_s = SECONDS_PER_DAY / len(stream.day_share)
        # The slot by a rounded division: at a boundary, 11.999999 h is the next slot, not the last one again.
        slot = min(int(round(hour * 3600.0, 6) // slot_s), len(stream.day_share) - 1)
        rate = stream.per_day * stream.day_share[slot] / slot_s * stream.weekday_factor[clock.weekday(now)]
        return rate * self.weather_factor(group, hour)

    def weather_factor(self, group: WorkerGroup, hour: float) -> float:
        if self.weather is None:
            return 1.0
        response, w = self.config.weather_response, self.weather
        factor = 1.0
        heat = max((m for threshold, m in response.heat_steps if w.day_max_c >= threshold), default=1.0)
        factor *= 1.0 + group.heat_sensitivity * (heat - 1.0)
        if w.rain:
            factor *= 1.0 + group.rain_sensitivity * (response.rain - 1.0)
        if w.day_max_c < response.cold_below_c:
            factor *= 1.0 + group.cold_sensitivity * (response.cold - 1.0)
        if w.day_max_c >= response.shelter_from_c and in_hours(hour, group.shelter_hours):
            factor *= group.shelter_factor
        return max(factor, 0.0)

    def _reschedule(self, now: float) -> None:
        """Spend the hazard used at the old rates, then arm each stream at its new rate."""
        for index, state in enumerate(self._streams):
            state.hazard_left = max(0.0, state.hazard_left - state.rate_per_s * (now - state.since))
            state.since = now
            state.rate_per_s = self.rate_per_s(state.group, state.stream, now)
            if state.timer is not None:
                state.timer.cancel()
                state.timer = None
            if state.rate_per_s > 0:
                state.timer = self.port.timer(state.hazard_left / state.rate_per_s, _Arrival(index))

    def _arrive(self, index: int, now: float) -> None:
        state = self._streams[index]
        state.arrived += 1
        worker_id = f"{state.worker_prefix}{state.arrived}"
        plan = self.plan_visit(state, now)
        if plan.door is not None and self.door_locked:
            self.port.record(TURNED_AWAY_AT_DOOR, {"group": state.group.name, "worker": worker_id})
        else:
            self.port.spawn(Worker, worker_id, plan)
        state.hazard_left = state.arrivals.standard_exponential()
        state.since = now
        state.timer = self.port.timer(state.hazard_left / state.rate_per_s, _Arrival(index))

    def plan_visit(self, state: _StreamState, now: float) -> VisitPlan:
        """The visit's needs: each rule draws a uniform, then its hold and patience if it has them, chosen or not."""
        group, rng = state.group, state.choices
        hour = self.port.clock.hour_of_day(now) if state.peaks else 0.0
        holds: dict[str, float | None] | None = {} if state.holds_shared else None
        chosen: list[NeedPlan | tuple[NeedRule, float | None, float | None, tuple[float, ...] | None, float]] = []
        for rule, fixed, patience_dist, balk_chance in state.rules:
            peak = bool(rule.peak_hours) and in_hours(hour, rule.peak_hours)
            probability = rule.peak_probability if peak and rule.peak_probability is not None else rule.probability
            wanted = rng.random() < probability
            if fixed is not None:
                if wanted:
                    chosen.append(fixed)
                continue
            hold_dist = rule.peak_hold if peak and rule.peak_hold is not None else rule.hold
            hold = hold_dist.sample(rng) if hold_dist is not None else None
            patience = patience_dist.sample(rng) if patience_dist is not None else None
            balk_draw = rng.random() if balk_chance is not None else 1.0
            if holds is not None:
                holds[rule.need] = hold
            if wanted:
                chosen.append((rule, hold, patience, balk_chance, balk_draw))
        needs = tuple(item if isinstance(item, NeedPlan) else _need_plan(group, *item, holds) for item in chosen)
        enters = state.stream.enters_station
        door = self.config.door if enters else None
        shows = self._shows(state, needs, now) if door is not None and state.door_draws is not None else None
        return VisitPlan(group.name, needs, enters, door, shows)

    def _shows(self, state: _StreamState, needs: tuple[NeedPlan, ...], now: float) -> str | AsVisitor:
        """What this arrival shows a door that checks: a member's pass (stale for a share of them), or a visitor's needs."""
        assert state.door_draws is not None
        group, draws = state.group, state.door_draws
        member, fails, approved = draws.random() < group.member_share, draws.random() < group.pass_failure_share, draws.random()
        self._passes += 1
        if not member:
            return AsVisitor(tuple(need.need for need in needs), approved < group.visitor_approval_share)
        issued_s = simulated_epoch_s(self.port.clock, now) - (STALE_PASS_S if fails else 0.0)
        return issue(SIMULATED_KEY, SIMULATED_STATION, self._passes, issued_s, f"p{self._passes:015d}")


def _need_plan(
    group: WorkerGroup,
    rule: NeedRule,
    hold: float | None,
    patience: float | None,
    balk_chance: tuple[float, ...] | None = None,
    balk_draw: float = 1.0,
    holds: dict[str, float | None] | None = None,
) -> NeedPlan:
    """``holds``: each need's drawn hold, for a rule that keeps its unit as long as another need's."""
    if holds is not None and rule.hold_like is not None:
        hold = holds.get(rule.hold_like)
    balk = rule.balk_queue if rule.balk_queue is not None else group.balk_queue
    return NeedPlan(rule.need, rule.device, hold, patience, balk, rule.background, balk_chance, balk_draw)


_Rule = tuple[NeedRule, NeedPlan | None, Distribution | None, tuple[float, ...] | None]
"""A need rule of a stream, its plan if nothing of it is drawn, its patience and its chances of balking."""


def _rules(group: WorkerGroup, stream: ArrivalStream) -> list[_Rule]:
    """Each rule of ``stream`` with its plan made once when nothing of it is drawn (most needs), its patience and balking."""
    rules: list[_Rule] = []
    for rule in stream.needs:
        patience = rule.patience or group.patience
        balk_chance = rule.balk_chance if rule.balk_chance is not None else group.balk_chance
        drawn = rule.hold is not None or rule.peak_hold is not None or patience is not None or rule.hold_like is not None
        drawn = drawn or balk_chance is not None
        rules.append((rule, None if drawn else _need_plan(group, rule, None, None), patience, balk_chance))
    return rules
