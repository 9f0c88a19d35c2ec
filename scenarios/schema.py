"""The scenario file: TOML, validated at the edge into the frozen configs the actors take.

Device tables are checked against each kind's own config dataclass (fields become
keys; a field ending in ``_s`` takes a duration), so a new device kind needs no
change here.  Every problem becomes one line naming the file, the key, what is wrong
and what is allowed.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, ClassVar, Generic, Literal, Self, TypeAlias, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from actors import automation
from actors import distribution as dist
from actors.distribution import Distribution
from actors.population import ArrivalStream, NeedRule, PopulationConfig, WeatherResponse, WorkerGroup
from actors.registry import DEVICE_KINDS
from scenarios.changes import change_phrases
from scenarios.climate import NAMED_DAYS, Day, hourly
from scenarios.errors import Problem, ScenarioValueError
from scenarios.files import ARRIVAL_SHAPES, read_observations, read_scenario_tree, weather_form_wins
from scenarios.i18n import LANGUAGES
from scenarios.profiles import PROFILES, day_share, hourly_share
from scenarios.units import parse_duration, parse_window

Duration = Annotated[float, BeforeValidator(parse_duration)]
Window = Annotated[tuple[float, float], BeforeValidator(lambda v: parse_window(v) if isinstance(v, str) else v)]
Identifier = Annotated[str, Field(pattern=r"^[a-zA-Z0-9_-]+$", max_length=64)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]


def _clock_time(value: str) -> str:
    if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", value):
        raise ValueError(f"{value!r} is not a clock time; write HH:MM from 00:00 to 23:59, such as '12:30'")
    return value


ClockTime = Annotated[str, AfterValidator(_clock_time)]
BalkChance = Annotated[list[Probability], Field(min_length=1, max_length=1000)]
"""The chance of not joining on finding 0, 1, 2, ... waiting; the last holds for longer queues."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


V = TypeVar("V", bound=float)
"""What a distribution's parameters are: durations for times, plain numbers for litres or charge."""


class _Spec(_Strict):
    """A distribution's table; the parameters named in ``positive`` must be above 0 (a scale, a mean, a median)."""

    positive: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _positive(self) -> Self:
        for name in self.positive:
            if float(getattr(self, name)) <= 0:
                raise ValueError(f"{name} must be above 0")
        return self


class ConstantSpec(_Strict, Generic[V]):
    dist: Literal["constant"]
    value: V

    def build(self) -> Distribution:
        return dist.Constant(float(self.value))


class ExponentialSpec(_Spec, Generic[V]):
    positive = ("mean",)
    dist: Literal["exponential"]
    mean: V

    def build(self) -> Distribution:
        return dist.Exponential(float(self.mean))


class UniformSpec(_Strict, Generic[V]):
    dist: Literal["uniform"]
    low: V
    high: V

    @model_validator(mode="after")
    def _ordered(self) -> UniformSpec[V]:
        if float(self.low) > float(self.high):
            raise ValueError("low must not exceed high")
        return self

    def build(self) -> Distribution:
        return dist.Uniform(float(self.low), float(self.high))


class TriangularSpec(_Strict, Generic[V]):
    dist: Literal["triangular"]
    low: V
    mode: V
    high: V

    @model_validator(mode="after")
    def _ordered(self) -> TriangularSpec[V]:
        if not float(self.low) <= float(self.mode) <= float(self.high):
            raise ValueError("needs low <= mode <= high")
        return self

    def build(self) -> Distribution:
        return dist.Triangular(float(self.low), float(self.mode), float(self.high))


class LogNormalSpec(_Spec, Generic[V]):
    positive = ("median",)
    dist: Literal["lognormal"]
    median: V
    sigma: Annotated[float, Field(ge=0, le=3)]

    def build(self) -> Distribution:
        return dist.LogNormal(float(self.median), self.sigma)


class GammaSpec(_Spec, Generic[V]):
    positive = ("mean",)
    dist: Literal["gamma"]
    mean: V
    shape: Annotated[float, Field(gt=0, le=1000)]
    """k: 1 is exponential; a coefficient of variation c gives k = 1 / c²."""

    def build(self) -> Distribution:
        return dist.Gamma(float(self.mean), self.shape)


class WeibullSpec(_Spec, Generic[V]):
    positive = ("scale",)
    dist: Literal["weibull"]
    scale: V
    shape: Annotated[float, Field(ge=0.1, le=100)]

    def build(self) -> Distribution:
        return dist.Weibull(float(self.scale), self.shape)


MOST_OBSERVATIONS = 100_000
"""Values an empirical distribution may hold: a year of one device's uses, and a bound on what a file can make us keep."""


class EmpiricalSpec(_Strict, Generic[V]):
    """Observed values, given inline (``values = [...]``) or as a CSV file of them beside the scenario (``csv = "..."``)."""

    dist: Literal["empirical"]
    values: Annotated[tuple[V, ...], Field(min_length=1, max_length=MOST_OBSERVATIONS)] | None = None
    csv: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _read_csv(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("csv"), str) and "values" not in data:
            return {**data, "values": read_observations(Path(data["csv"]))}
        return data

    @model_validator(mode="after")
    def _given(self) -> EmpiricalSpec[V]:
        if self.values is None:
            raise ValueError('give the observed values: values = [...] or csv = "file.csv" (one value per line)')
        if any(float(v) < 0 for v in self.values):
            raise ValueError("observed values must not be below 0")
        return self

    def build(self) -> Distribution:
        assert self.values is not None  # checked above
        return dist.Empirical(tuple(float(v) for v in self.values))


def _constant_shorthand(value: object) -> object:
    """A bare value ("90s", 12.5) means a constant."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return {"dist": "constant", "value": value}
    return value


DistributionSpec: TypeAlias = Annotated[
    ConstantSpec[Duration]
    | ExponentialSpec[Duration]
    | UniformSpec[Duration]
    | TriangularSpec[Duration]
    | LogNormalSpec[Duration]
    | GammaSpec[Duration]
    | WeibullSpec[Duration]
    | EmpiricalSpec[Duration],
    Field(discriminator="dist"),
    BeforeValidator(_constant_shorthand),
]
"""Times: seconds or "90s", "15m"..."""
QuantitySpec: TypeAlias = Annotated[
    ConstantSpec[float]
    | ExponentialSpec[float]
    | UniformSpec[float]
    | TriangularSpec[float]
    | LogNormalSpec[float]
    | GammaSpec[float]
    | WeibullSpec[float]
    | EmpiricalSpec[float],
    Field(discriminator="dist"),
    BeforeValidator(_constant_shorthand),
]
"""Litres, states of charge: plain numbers, no units."""


def _is_duration(name: str) -> bool:
    return name == "service" or name.endswith("_s")


# ---- devices: one pydantic model per kind, made from its config dataclass ----------


def _field_type(name: str, hint: Any, bounds: Mapping[str, float] | None = None) -> Any:
    if bounds:
        return Annotated[_field_type(name, hint), Field(**bounds)]  # type: ignore[call-overload]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Distribution:
        return DistributionSpec if _is_duration(name) else QuantitySpec
    if dataclasses.is_dataclass(hint):
        return _dataclass_model(hint)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        (inner,) = [a for a in args if a is not type(None)]
        return _field_type(name, inner) | None
    if hint is float:
        return Duration if _is_duration(name) else NonNegative
    if hint is int:
        return Annotated[int, Field(ge=1 if name in ("units", "slots") else 0)]
    if hint is date:
        return Annotated[date, Field(strict=False)]
    return hint


WEATHER_ID = "weather"
POPULATION_ID = "population"
RESERVED_IDS = frozenset({WEATHER_ID, POPULATION_ID, automation.AUTOMATIONS_ID})
"""Actor ids the model gives itself (scenarios/model.py)."""

_MODELS: dict[Any, type[BaseModel]] = {}
_WIRED_BY_BUILDER = {"observers", "crowd"}


def _dataclass_model(config_cls: Any, kind: str | None = None) -> type[BaseModel]:
    key = (config_cls, kind)
    if key not in _MODELS:
        hints = typing.get_type_hints(config_cls)
        fields: dict[str, Any] = {}
        if kind is not None:
            fields["kind"] = (Literal[kind], ...)
            fields["label"] = (str | None, None)
            fields["at"] = (tuple[NonNegative, NonNegative] | None, None)
        for f in dataclasses.fields(config_cls):
            if f.name not in _WIRED_BY_BUILDER:
                fields[f.name] = (_field_type(f.name, hints[f.name], f.metadata), None)
        _MODELS[key] = create_model(f"{config_cls.__name__}File", __base__=_Strict, **fields)
    return _MODELS[key]


def _to_config(config_cls: Any, values: Mapping[str, Any]) -> Any:
    """The dataclass from validated values: unset keys keep the kind's cited defaults."""
    hints = typing.get_type_hints(config_cls)
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        if value is None or name in ("kind", "label", "at"):
            continue
        if isinstance(value, BaseModel) and hasattr(value, "build"):
            kwargs[name] = value.build()
        elif isinstance(value, BaseModel):
            kwargs[name] = _to_config(hints[name], dict(value))
        else:
            kwargs[name] = value
    return config_cls(**kwargs)


# ---- the rest of the file ----------------------------------------------------------


MOST_HORIZON_S = 366 * 86400.0


def _within_a_year(seconds: float) -> float:
    if seconds > MOST_HORIZON_S:
        raise ValueError(f"{seconds:g} s is longer than the most a run may cover, {MOST_HORIZON_S / 86400:g} days")
    return seconds


class ScenarioSection(_Strict):
    name: Identifier
    title: str = ""
    description: str = ""
    start: datetime
    horizon: Annotated[Duration, Field(gt=0), AfterValidator(_within_a_year)]
    """At most a year (and a day): no planner's question needs more, and an endless one would never end."""
    warmup: Duration = 0.0
    replications: Annotated[int, Field(ge=1, le=10_000)] = 10
    seed: Annotated[int, Field(ge=0)] = 1
    service_levels: Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=100)] = []
    """What the station must achieve, as "wait_p95_s[microwave] <= 180"; none: every serving device's p95 wait <= 3 min."""

    @model_validator(mode="before")
    @classmethod
    def _date_is_midnight(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("start"), date) and not isinstance(data["start"], datetime):
            data = {**data, "start": datetime.combine(data["start"], datetime.min.time())}
        return data

    @model_validator(mode="after")
    def _warmup_inside(self) -> ScenarioSection:
        if self.warmup >= self.horizon:
            raise ValueError(f"warmup ({self.warmup:g} s) must be shorter than horizon ({self.horizon:g} s)")
        return self


class FloorSection(_Strict):
    """The floor plan's size; devices placed with ``at = [x, y]`` in metres from its top-left corner."""

    width_m: Annotated[float, Field(gt=0, le=1000)] = 8.0
    depth_m: Annotated[float, Field(gt=0, le=1000)] = 5.0
    """ASSUMPTION (SD §5 "Typical smart-station floor area"): Yunting's area is not published; 8 m x 5 m = 40 m²."""


class StationSection(_Strict):
    id: Identifier
    name: str = ""
    floor: FloorSection = FloorSection()
    timezone: str = "Asia/Shanghai"
    """IANA name; the live station's "today" and its automations' hours are in this zone, not the server's."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of the zone database ("Asia")
            raise ValueError(f"unknown time zone {value!r}; an IANA name such as 'Asia/Shanghai'") from None
        return value


class NeedSection(_Strict):
    device: Identifier
    probability: Probability
    peak_probability: Probability | None = None
    peak_hours: list[Window] = []
    hold: DistributionSpec | None = None
    peak_hold: DistributionSpec | None = None
    hold_like: Identifier | None = None
    background: bool = False
    patience: DistributionSpec | None = None
    balk_queue: Annotated[int, Field(ge=0)] | None = None
    balk_chance: BalkChance | None = None


class NeedOverride(_Strict):
    probability: Probability | None = None
    peak_probability: Probability | None = None
    peak_hours: list[Window] | None = None
    hold: DistributionSpec | None = None
    peak_hold: DistributionSpec | None = None
    patience: DistributionSpec | None = None
    balk_queue: Annotated[int, Field(ge=0)] | None = None
    balk_chance: BalkChance | None = None


def _profile(value: object) -> object:
    if isinstance(value, str):
        if value not in PROFILES:
            raise ValueError(f"unknown profile {value!r}; one of {', '.join(sorted(PROFILES))} or 24 numbers")
        return PROFILES[value]
    return value


class StreamSection(_Strict):
    visit_probability: Annotated[float, Field(ge=0)]
    """Chance that one worker of the group comes on a given day."""
    visits_per_visitor: Annotated[float, Field(ge=0)] = 1.0
    hourly_share: Annotated[tuple[NonNegative, ...], BeforeValidator(_profile), Field(min_length=24, max_length=24)] | None = None
    day_profile: Annotated[dict[ClockTime, NonNegative], Field(min_length=1, max_length=1440)] | None = None
    """A rate table: the relative arrival rate from each clock time until the next ("12:00" = 8), at any resolution."""
    weekday_factor: Annotated[tuple[NonNegative, ...], Field(min_length=7, max_length=7)] = (1.0,) * 7
    needs: list[Identifier]
    enters_station: bool = True

    @model_validator(mode="after")
    def _some_hour(self) -> StreamSection:
        if (self.hourly_share is None) == (self.day_profile is None):
            raise ValueError("give the arrivals' daily shape once: hourly_share (24 numbers or a profile) or day_profile (a rate table)")
        if self.hourly_share is not None and sum(self.hourly_share) <= 0:
            raise ValueError("hourly_share must have at least one hour above zero")
        if self.day_profile is not None and sum(self.day_profile.values()) <= 0:
            raise ValueError("day_profile must have at least one rate above zero")
        return self

    def day_share(self) -> tuple[float, ...]:
        return hourly_share(self.hourly_share) if self.hourly_share is not None else day_share(self.day_profile or {})


class GroupSection(_Strict):
    share: Probability
    patience: DistributionSpec | None = None
    balk_queue: Annotated[int, Field(ge=0)] | None = None
    balk_chance: BalkChance | None = None
    heat_sensitivity: NonNegative = 1.0
    rain_sensitivity: NonNegative = 1.0
    cold_sensitivity: NonNegative = 1.0
    shelter_hours: list[Window] = []
    shelter_factor: NonNegative = 1.0
    member_share: Probability = 1.0
    pass_failure_share: Probability = 0.0
    visitor_approval_share: Probability = 1.0
    streams: Annotated[dict[Identifier, StreamSection], Field(min_length=1)]
    needs: dict[Identifier, NeedOverride] = {}


class WeatherResponseSection(_Strict):
    heat_steps: list[tuple[float, NonNegative]] = [(35.0, 1.5), (37.0, 1.8), (40.0, 2.5)]
    rain: NonNegative = 1.4
    cold_below_c: float = 5.0
    cold: NonNegative = 1.3
    shelter_from_c: float = 37.0


class PopulationSection(_Strict):
    workers: Annotated[int, Field(ge=0, le=10_000_000)]
    door: Identifier | None = None
    weather_response: WeatherResponseSection = WeatherResponseSection()
    groups: Annotated[dict[Identifier, GroupSection], Field(min_length=1)]

    @model_validator(mode="after")
    def _shares(self) -> PopulationSection:
        total = sum(g.share for g in self.groups.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"group shares add up to {total:g}, not 1")
        return self


class DaySection(_Strict):
    max_c: Annotated[float, Field(ge=-50, le=60)]
    min_c: Annotated[float, Field(ge=-50, le=60)]
    rain_hours: list[Window] = []

    @model_validator(mode="after")
    def _ordered(self) -> DaySection:
        if self.min_c > self.max_c:
            raise ValueError("min_c must not exceed max_c")
        return self


class WeatherSection(_Strict):
    """One of: a named profile, days (max, min, rain hours), or hourly readings."""

    profile: str | None = None
    days: Annotated[list[DaySection], Field(min_length=1)] | None = None
    temp_c: list[Annotated[float, Field(ge=-50, le=60)]] | None = None
    """Hourly outdoor temperature from midnight of the start date, whole days; the last day repeats."""
    rain: list[bool] | None = None
    """Hourly rain, as long as ``temp_c``; no rain when left out."""

    @model_validator(mode="after")
    def _one_source(self) -> WeatherSection:
        given = [name for name in ("profile", "days", "temp_c") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of profile, days or temp_c (hourly); got {', '.join(given) or 'none'}")
        if self.profile is not None and self.profile not in NAMED_DAYS:
            raise ValueError(f"unknown profile {self.profile!r}; one of {', '.join(sorted(NAMED_DAYS))}")
        if self.temp_c is not None and (not self.temp_c or len(self.temp_c) % 24):
            raise ValueError(f"temp_c has {len(self.temp_c)} hourly values; give whole days (a multiple of 24)")
        if self.rain is not None and (self.temp_c is None or len(self.rain) != len(self.temp_c)):
            raise ValueError("rain needs temp_c and one value for each of its hours")
        return self

    def hourly(self) -> tuple[tuple[float, ...], tuple[bool, ...]]:
        if self.temp_c is not None:
            return tuple(self.temp_c), tuple(self.rain or [False] * len(self.temp_c))
        if self.profile is not None:
            return hourly(NAMED_DAYS[self.profile])
        return hourly(tuple(Day(d.max_c, d.min_c, tuple(d.rain_hours)) for d in self.days or ()))


class _RuleSpec(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class LightsRuleSpec(_RuleSpec):
    type: Literal["lights_by_occupancy"]
    lights: Identifier
    occupancy_from: Identifier
    daylight: Window = (6.0, 18.0)
    manual_hold_s: Duration = Field(automation.MANUAL_HOLD_S, alias="manual_hold")
    """How long a person's command to the lights holds against this rule ("30m"; "0s": never)."""

    def build(self) -> automation.Rule:
        return automation.LightsByOccupancy(self.lights, self.occupancy_from, *self.daylight, self.manual_hold_s)


class AirConditioningRuleSpec(_RuleSpec):
    type: Literal["air_conditioning_by_temperature"]
    ac: Identifier
    occupancy_from: Identifier
    outdoor_from: Identifier | None = None
    min_occupancy: Annotated[int, Field(ge=0)] = 1
    cool_above_c: Annotated[float, Field(ge=10, le=40)] = 27.0
    heat_below_c: Annotated[float, Field(ge=0, le=30)] = 16.0
    cooling_setpoint_c: Annotated[float, Field(ge=16, le=32)] = 26.0
    heating_setpoint_c: Annotated[float, Field(ge=16, le=32)] = 20.0
    max_below_outdoor_c: Annotated[float, Field(gt=0, le=30)] = 10.0
    manual_hold_s: Duration = Field(automation.MANUAL_HOLD_S, alias="manual_hold")
    """How long a person's command to the AC holds against this rule."""

    def build(self) -> automation.Rule:
        return automation.AirConditioningByTemperature(**self.model_dump(exclude={"type"}))


class ConditionAlarmSpec(_RuleSpec):
    type: Literal["condition_alarm"]
    entity: Identifier
    field: Identifier
    op: Literal[">", ">=", "<", "<=", "==", "!="]
    value: bool | float | str
    alarm: Identifier
    hold_for: Duration = Field(0.0, alias="for")
    severity: Literal["info", "warning", "critical"] = "warning"
    detail: str = ""

    def build(self) -> automation.Rule:
        return automation.ConditionAlarm(
            self.entity, self.field, self.op, self.value, self.alarm, self.hold_for, self.severity, self.detail
        )


class OfflineAlarmSpec(_RuleSpec):
    type: Literal["offline_alarm"]
    entities: list[Identifier] = []
    hold_for: Duration = Field(0.0, alias="for")
    severity: Literal["info", "warning", "critical"] = "warning"

    def build(self) -> automation.Rule:
        return automation.OfflineAlarm(tuple(self.entities), self.hold_for, self.severity)


RuleSpec = Annotated[LightsRuleSpec | AirConditioningRuleSpec | ConditionAlarmSpec | OfflineAlarmSpec, Field(discriminator="type")]


class AutomationsSection(_Strict):
    every: Annotated[Duration, Field(gt=0)] = 60.0
    cooldown: Duration = 60.0
    rules: Annotated[list[RuleSpec], Field(min_length=1)]

    def build(self) -> automation.AutomationsConfig:
        return automation.AutomationsConfig(tuple(r.build() for r in self.rules), self.every, self.cooldown)

    def entities(self) -> list[tuple[int, str, str]]:
        """(rule index, key, entity id) of every entity the rules name."""
        found = []
        for index, rule in enumerate(self.rules):
            for key in ("lights", "ac", "occupancy_from", "outdoor_from", "entity"):
                value = getattr(rule, key, None)
                if isinstance(value, str):
                    found.append((index, key, value))
            for value in getattr(rule, "entities", []):
                found.append((index, "entities", value))
        return found


class BrokerSection(_Strict):
    """How the live station reaches its devices; each key is also a ``YXY_`` variable and an option, which win."""

    url: str | None = None
    """A real broker (``mqtt://``, ``mqtts://``); none: the embedded broker starts."""
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    """The embedded broker's port."""
    secret_file: str | None = None
    """The station's broker secret (``yxy broker config``), relative to the station file that names it."""
    discovery: bool | None = None
    """Announce the devices to Home Assistant."""

    def settings(self) -> dict[str, Any]:
        named = {"mqtt_url": self.url, "broker_port": self.port, "broker_secret_file": self.secret_file, "discovery": self.discovery}
        return {key: value for key, value in named.items() if value is not None}


class SecuritySection(_Strict):
    session_ttl: Annotated[Duration, Field(gt=0)] | None = None
    login_max_failures: Annotated[int, Field(ge=1, le=100)] | None = None
    """Failed sign-ins in a row from one place before it must wait."""
    login_first_wait: Annotated[Duration, Field(gt=0)] | None = None
    """The first wait; each failure after one doubles it."""
    login_longest_wait: Annotated[Duration, Field(gt=0)] | None = None
    trusted_proxies: list[str] | None = None
    """Reverse proxies whose X-Forwarded-For is believed."""
    retention: Annotated[Duration, Field(gt=0)] | None = None
    """How long the history (who came in, what was done) is kept before it is purged."""
    secure_cookies: bool | None = None
    """True behind HTTPS."""

    def settings(self) -> dict[str, Any]:
        named = {
            "session_ttl_s": self.session_ttl, "login_max_failures": self.login_max_failures,
            "login_first_wait_s": self.login_first_wait, "login_longest_wait_s": self.login_longest_wait,
            "trusted_proxies": None if self.trusted_proxies is None else ",".join(self.trusted_proxies),
            "retention_days": None if self.retention is None else self.retention / 86400, "secure_cookies": self.secure_cookies,
        }  # fmt: skip
        return {key: value for key, value in named.items() if value is not None}


class PrivacySection(_Strict):
    """How long the station keeps what it knows of people (PIPL: no longer than needed); a purge job forgets the rest.
    Each at least a day: the door log feeds today's figures and the passes read back after a restart."""

    door_log: Annotated[Duration, Field(ge=86400)] | None = None
    """Who the door let in or turned away, and why (default 30 days)."""
    visitor_records: Annotated[Duration, Field(ge=86400)] | None = None
    """Visitors' asks: their needs, the answer, a visit key (default 30 days)."""
    face_consent: Annotated[Duration, Field(ge=86400)] | None = None
    """A consent to face entry lapses this long after it was given (default 365 days): asked again, or the face goes."""
    camera_evidence: Annotated[Duration, Field(ge=3600)] | None = None
    """A camera's incident, its blurred snapshot and keypoints, kept this long after it ended (default 7 days)."""

    def settings(self) -> dict[str, Any]:
        named = {
            "door_log_days": self.door_log, "visitor_records_days": self.visitor_records, "face_consent_days": self.face_consent,
            "camera_evidence_days": self.camera_evidence,
        }  # fmt: skip
        return {key: value / 86400 for key, value in named.items() if value is not None}


Quantity = Annotated[int, Field(ge=0, le=10**6)]
"""A stock level or a reorder point: whole units of the item's own unit (cups, portions, barrels, umbrellas); at most what one
move may carry (``store.supplies.MOST_AT_ONCE``)."""


class SupplySection(_Strict):
    """One item the station keeps in stock (``[supplies.cups]``): what it is, where it is kept, when to reorder, and
    what each use of a device takes of it."""

    label: str = Field(min_length=1, max_length=64)
    """Its name, Chinese then English as device labels are ("纸杯 Paper cups")."""
    unit: str = Field("", max_length=16)
    kind: Literal["consumable", "loan", "donation"] = "consumable"
    """``loan``: lent out and brought back (umbrellas, raincoats); ``donation``: a shelf people give to and take from."""
    per_use: dict[Identifier, Annotated[int, Field(ge=1, le=1000)]] = {}
    """Units one use of a device takes (``{coffee = 1}``): its uses, counted by the device, are the item's consumption."""
    reorder_at: Quantity = 0
    """At or below this, a low-stock alarm says to reorder; at nought, a stock-out alarm."""
    restock_to: Annotated[int, Field(ge=1, le=10**6)]
    """What a delivery brings it back up to (the forecast says when the next one is due)."""
    places: Annotated[list[Identifier], Field(min_length=1, max_length=16)] = ["storeroom"]
    """Where it is kept; the first is where the devices take it from."""

    @model_validator(mode="after")
    def _reorder_below_restock(self) -> SupplySection:
        if self.reorder_at >= self.restock_to:
            raise ValueError(f"reorder_at ({self.reorder_at}) must be below restock_to ({self.restock_to})")
        return self


ChecklistItem = Annotated[str, Field(min_length=1, max_length=64)]
"""A line of a checklist, Chinese then English as labels are ("灯光正常 Lights work")."""


class SafetyCheckSection(_Strict):
    label: str = Field(min_length=1, max_length=64)
    every: Annotated[Duration, Field(ge=3600, le=366 * 86400)]
    """How often it is due: signed by who did it, and overdue once this long has passed since the last."""


class DutiesSection(_Strict):
    """The custodian's checklists (``[duties]``). ASSUMPTION: the lists below are a union station's usual ones, for
    the station to replace with its own."""

    opening: Annotated[list[ChecklistItem], Field(min_length=1, max_length=40)] = [
        "门禁与灯光正常 Door and lights work", "饮水机与微波炉正常 Water and microwave work", "卫生间干净有纸 Toilets clean and stocked",
        "急救包与AED在位 First-aid kit and AED in place", "通道畅通 Exits clear",
    ]  # fmt: skip
    closing: Annotated[list[ChecklistItem], Field(min_length=1, max_length=40)] = [
        "电器已关或转夜间模式 Appliances off or in night mode", "垃圾已清 Rubbish out", "夜间门禁已开启 Night door rule on",
        "无人滞留需要帮助 Nobody left needing help",
    ]  # fmt: skip
    safety: Annotated[dict[Identifier, SafetyCheckSection], Field(max_length=40)] = {
        "extinguisher": SafetyCheckSection(label="灭火器压力与有效期 Fire extinguisher pressure and date", every=30 * 86400),
        "aed": SafetyCheckSection(label="AED电极片与电池 AED pads and battery", every=30 * 86400),
        "exits": SafetyCheckSection(label="安全出口与应急灯 Exits and emergency lights", every=7 * 86400),
    }


class RatingSection(_Strict):
    """The thresholds of the city's star rating (``[rating]``): a station starts at five stars and loses one for each
    it misses in a month. ASSUMPTION: Fuzhou's kind of scheme (stars taken away for unrepaired damage, stock-outs and
    unresolved complaints); its exact thresholds are not published, so these are a union's plausible ones."""

    repair_hours: Annotated[float, Field(gt=0, le=24 * 31)] = 72.0
    """A device fault open longer than this (raised to cleared, or still open): a star off."""
    stock_out_hours: Annotated[float, Field(ge=0, le=24 * 31)] = 24.0
    """An item out where people take it from for longer than this in the month: a star off."""
    satisfaction: Annotated[float, Field(ge=1, le=5)] = 4.0
    """A mean rating below this: a star off."""
    min_ratings: Annotated[int, Field(ge=1, le=100_000)] = 10
    """Fewer ratings than this in the month say nothing of satisfaction: one unhappy worker does not cost a star."""
    overdue_complaints: Annotated[int, Field(ge=0, le=1000)] = 0
    """More complaints unresolved past their deadline than this: a star off."""
    open_share: Annotated[float, Field(ge=0, le=1)] = 0.95
    """Open (the station up, the door not locked) less of the month's hours than this: a star off."""
    not_faults: Annotated[tuple[Identifier, ...], Field(max_length=100)] = ("door_held_open", "tank_low", "no_charged_battery")
    """Alarm types that tell of use, not of damage: not repairs (a camera's incidents never are). The station's own
    condition alarms name their types, so the station says which of them are no fault of a device."""


class StationFile(_Strict):
    """What a station is: a station file, and the part of a scenario that the scenario's ``extends`` brings in."""

    station: StationSection
    devices: Annotated[dict[Identifier, dict[str, Any]], Field(min_length=1)]
    automations: AutomationsSection | None = None
    broker: BrokerSection = BrokerSection()
    security: SecuritySection = SecuritySection()
    privacy: PrivacySection = PrivacySection()
    supplies: Annotated[dict[Identifier, SupplySection], Field(max_length=200)] = {}
    rating: RatingSection = RatingSection()
    duties: DutiesSection = DutiesSection()


class ScenarioFile(StationFile):
    """A station with demand, weather and run settings: what a planner simulates."""

    scenario: ScenarioSection
    needs: dict[Identifier, NeedSection] = {}
    population: PopulationSection
    weather: WeatherSection = WeatherSection(profile="neutral")


@dataclasses.dataclass(frozen=True)
class Device:
    id: str
    kind: str
    label: str
    config: Any
    at: tuple[float, float] | None = None
    """Where it stands on the floor plan (metres from the top-left corner); None: not placed."""


@dataclasses.dataclass(frozen=True)
class Supply:
    """An item kept in stock, validated: its devices exist and count their uses."""

    id: str
    label: str
    unit: str
    kind: str
    per_use: tuple[tuple[str, int], ...]
    reorder_at: int
    restock_to: int
    places: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Station:
    """A validated station: what live mode runs, and what every scenario of it simulates."""

    id: str
    devices: tuple[Device, ...]
    automations: automation.AutomationsConfig | None = None
    timezone: str = "Asia/Shanghai"
    name: str = ""
    floor_m: tuple[float, float] = (8.0, 5.0)
    """The floor plan's width and depth."""
    settings: tuple[tuple[str, Any], ...] = ()
    """Live settings from the file's [broker], [security] and [privacy], by ``Settings`` field name (the environment wins)."""
    source: str = ""
    supplies: tuple[Supply, ...] = ()
    """What the station keeps in stock, and what its devices' uses take of it."""
    rating: RatingSection = RatingSection()
    """The star rating's thresholds the station is judged by."""
    duties: DutiesSection = DutiesSection()
    """The custodian's opening and closing checklists and periodic safety checks."""

    def device(self, device_id: str) -> Device:
        return next(d for d in self.devices if d.id == device_id)


@dataclasses.dataclass(frozen=True)
class Scenario:
    """A validated scenario, ready to build replications from: a station with demand, weather and run settings."""

    source: str
    name: str
    title: str
    description: str
    start: datetime
    horizon_s: float
    warmup_s: float
    replications: int
    seed: int
    station: Station
    population: PopulationConfig
    temp_c: tuple[float, ...]
    rain: tuple[bool, ...]
    overrides: tuple[tuple[str, str], ...] = ()
    changes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(language, the overrides in its words: "微波炉 2 → 1 台"): what names a variant in a report."""
    service_levels: tuple[str, ...] = ()
    """As written in the file (scenarios/service_levels.py reads them); empty: the planners' default."""


# ---- loading -----------------------------------------------------------------------


def apply_overrides(raw: dict[str, Any], overrides: list[str], source: str) -> tuple[tuple[str, str], ...]:
    """Apply ``key.path=value`` overrides in place; a value is read as TOML, else as text."""
    applied = []
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise ScenarioValueError(
                Problem("", "", f"--set {item!r}: write KEY=VALUE with a dotted key, e.g. devices.microwave.units=3", "override_form",
                        {"override": item[:100]})
            )  # fmt: skip
        try:
            value = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = text.strip()
        node: Any = raw
        parts = key.split(".")
        if len(parts) == 2 and parts[0] == "weather" and isinstance(raw.get("weather"), dict) and parts[1] != "rain":
            raw["weather"] = weather_form_wins(raw["weather"], [parts[1]])
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part) if isinstance(node, dict) else None
            if child is None and isinstance(node, dict):
                child = node[part] = {}
            if not isinstance(child, dict):
                table = ".".join(parts[: depth + 1])
                raise ScenarioValueError(Problem(source, key, f"{table} is a value, not a table", "not_a_table", {"table": table}, key))
            node = child
        if parts[-1] in ARRIVAL_SHAPES:
            for other in ARRIVAL_SHAPES:
                if other != parts[-1]:
                    node.pop(other, None)
        node[parts[-1]] = value
        applied.append((key, text.strip()))
    return tuple(applied)


def _format_errors(
    source: str, prefix: str, error: ValidationError, model: type[BaseModel] | None = None, overridden: Sequence[str] = ()
) -> list[Problem]:
    """Each of pydantic's errors as a Problem: its type is the catalog code, its context the parameters."""
    problems = []
    for item in error.errors(include_url=False):
        loc = [str(p) for p in item["loc"] if not (isinstance(p, str) and p in _TAGS)]
        key = ".".join(([prefix] if prefix else []) + loc) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        code = item["type"]
        params = {name: str(value) for name, value in (item.get("ctx") or {}).items() if name != "error"}
        if item["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, item["loc"][:-1])
            message = "unknown key" + (f"; allowed here: {', '.join(allowed)}" if allowed else "")
            params = {"allowed": ", ".join(allowed)}
        elif item["type"] == "missing":
            message = "required key is missing"
        elif item["type"] == "union_tag_invalid":
            message = f"unknown dist {item['input'].get('dist')!r}; one of {', '.join(sorted(_TAGS))}"
            params = {"tag": str(item["input"].get("dist"))[:40], "allowed": ", ".join(sorted(_TAGS))}
        elif item["type"] == "union_tag_not_found":
            message = f"a distribution needs dist = one of {', '.join(sorted(_TAGS))}"
            params = {"allowed": ", ".join(sorted(_TAGS))}
        elif item["type"] == "value_error":
            code = "text"  # a validator's own words: English only
        problems.append(Problem(source, key, message, code, params, _origin(key, overridden)))
    return problems


def _origin(key: str, overridden: Sequence[str]) -> str | None:
    """The --set that wrote a key, when one did: it is to blame, not the file."""
    for written in overridden:
        if key == written or key.startswith(written + ".") or written.startswith(key + "."):
            return written
    return None


_TAGS = {"constant", "exponential", "uniform", "triangular", "lognormal", "gamma", "weibull", "empirical"}


def _allowed_keys(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> list[str]:
    """The keys a table at ``loc`` accepts, walking the model; empty when not knowable."""
    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        if isinstance(part, str) and part in current.model_fields:
            current = _model_of(current.model_fields[part].annotation)
        else:
            continue
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(current.model_fields)
    return []


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def is_scenario(raw: Mapping[str, Any]) -> bool:
    """A scenario has a [scenario] table (after its ``extends``); a station file has none."""
    return "scenario" in raw


def load_station(path: str | Path, overrides: list[str] | None = None, raw: dict[str, Any] | None = None) -> Station:
    """Read, override and validate a station file; raises ScenarioError with every problem found.

    A scenario's [scenario], [needs], [population] and [weather] are not a station's: given one, name the
    scenario's station instead (``Scenario.station``)."""
    path = Path(path)
    source = str(path)
    raw = read_scenario_tree(path) if raw is None else raw
    applied = apply_overrides(raw, overrides or [], source)
    overridden = [key for key, _ in applied]
    try:
        parsed = StationFile.model_validate(raw)
    except ValidationError as exc:
        problems = [*_format_errors(source, "", exc, StationFile, overridden), *_device_problems(raw, source, overridden)]
        raise ScenarioValueError(*problems) from None
    return _station(parsed, source, overridden)


def _station(parsed: StationFile, source: str, overridden: Sequence[str]) -> Station:
    devices, problems = _devices(parsed.devices, parsed.station.floor, source, overridden)
    if problems:
        raise ScenarioValueError(*problems)
    if parsed.automations is not None:
        known = {d.id for d in devices} | {WEATHER_ID}
        missing = []
        for index, key, entity in parsed.automations.entities():
            if entity not in known:
                where, named = f"automations.rules.{index}.{key}", ", ".join(sorted(known))
                missing.append(Problem(source, where, f"no device {entity!r}; devices are {named}", "no_device",
                                       {"device": entity, "devices": named}, _origin(where, overridden)))  # fmt: skip
        if missing:
            raise ScenarioValueError(*missing)
    supplies = _supplies(parsed.supplies, devices, source, overridden)
    return Station(
        id=parsed.station.id,
        devices=tuple(devices),
        automations=parsed.automations.build() if parsed.automations is not None else None,
        timezone=parsed.station.timezone,
        name=parsed.station.name,
        floor_m=(parsed.station.floor.width_m, parsed.station.floor.depth_m),
        settings=tuple({**parsed.broker.settings(), **parsed.security.settings(), **parsed.privacy.settings()}.items()),
        source=source,
        supplies=supplies,
        rating=parsed.rating,
        duties=parsed.duties,
    )


def _supplies(
    sections: Mapping[str, SupplySection], devices: Sequence[Device], source: str, overridden: Sequence[str]
) -> tuple[Supply, ...]:
    """Each item, its ``per_use`` devices checked: they exist and count their uses (serve workers)."""
    counting = {d.id for d in devices if DEVICE_KINDS[d.kind].serves_workers}
    problems = []
    for item, section in sections.items():
        for device in section.per_use:
            if device not in counting:
                where, named = f"supplies.{item}.per_use.{device}", ", ".join(sorted(counting))
                problems.append(Problem(source, where, f"no device {device!r} that counts its uses; those that do are {named}",
                                        "no_device", {"device": device, "devices": named}, _origin(where, overridden)))  # fmt: skip
    if problems:
        raise ScenarioValueError(*problems)
    return tuple(
        Supply(item, section.label, section.unit, section.kind, tuple(section.per_use.items()), section.reorder_at, section.restock_to,
               tuple(section.places))
        for item, section in sections.items()
    )  # fmt: skip


def _devices(
    tables: Mapping[str, Any], floor: FloorSection | None, source: str, overridden: Sequence[str]
) -> tuple[list[Device], list[Problem]]:
    """Each device table validated against its kind's config: the devices, and every problem of every table."""
    devices = []
    problems: list[Problem] = []
    for device_id, table in tables.items():
        key = f"devices.{device_id}"
        if device_id in RESERVED_IDS:
            problems.append(Problem(source, key, f"the id {device_id!r} is the station's own; choose another", "reserved_id",
                                    {"id": device_id}, _origin(key, overridden)))  # fmt: skip
            continue
        kind = table.get("kind")
        if kind not in DEVICE_KINDS:
            what = "missing" if kind is None else f"unknown kind {kind!r}"
            allowed = ", ".join(sorted(DEVICE_KINDS))
            problems.append(Problem(source, f"{key}.kind", f"{what}; one of {allowed}", "missing" if kind is None else "unknown_kind",
                                    {"kind": str(kind)[:40], "allowed": allowed}, _origin(f"{key}.kind", overridden)))  # fmt: skip
            continue
        config_cls = DEVICE_KINDS[kind].config
        model = _dataclass_model(config_cls, kind)
        try:
            validated = model.model_validate(table)
            config = _to_config(config_cls, dict(validated))
        except ValidationError as exc:
            problems += _format_errors(source, key, exc, model, overridden)
            continue
        except ValueError as exc:
            problems.append(Problem(source, key, str(exc), override=_origin(key, overridden)))
            continue
        at = validated.at  # type: ignore[attr-defined]
        if floor is not None and at is not None and (at[0] > floor.width_m or at[1] > floor.depth_m):
            where, width, depth = f"({at[0]:g}, {at[1]:g})", f"{floor.width_m:g}", f"{floor.depth_m:g}"
            problems.append(Problem(source, f"{key}.at", f"{where} is off the {width} m x {depth} m floor", "off_floor",
                                    {"at": where, "width": width, "depth": depth}, _origin(f"{key}.at", overridden)))  # fmt: skip
            continue
        devices.append(Device(device_id, kind, table.get("label") or device_id, config, at))
    return devices, problems


def _device_problems(raw: Mapping[str, Any], source: str, overridden: Sequence[str]) -> list[Problem]:
    """The device tables' own problems, when the file's other tables already failed: every mistake is told at once."""
    tables = raw.get("devices")
    if not isinstance(tables, Mapping):
        return []
    well_formed = {str(k): v for k, v in tables.items() if isinstance(v, Mapping) and re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", str(k))}
    return _devices(well_formed, None, source, overridden)[1]


def load_scenario(path: str | Path, overrides: list[str] | None = None, raw: dict[str, Any] | None = None) -> Scenario:
    """Read, override and validate a scenario; raises ScenarioError with every problem found."""
    path = Path(path)
    source = str(path)
    raw = read_scenario_tree(path) if raw is None else raw
    base = copy.deepcopy(raw) if overrides else raw
    applied = apply_overrides(raw, overrides or [], source)
    overridden = [key for key, _ in applied]
    try:
        parsed = ScenarioFile.model_validate(raw)
    except ValidationError as exc:
        problems = [*_format_errors(source, "", exc, ScenarioFile, overridden), *_device_problems(raw, source, overridden)]
        raise ScenarioValueError(*problems) from None
    station = _station(parsed, source, overridden)
    population = _population(parsed, {d.id: d.kind for d in station.devices}, source)
    door = next((d for d in station.devices if d.id == population.door), None)
    if door is not None and door.config.capacity is not None:
        population = dataclasses.replace(population, door_checks=True)
    temp_c, rain = parsed.weather.hourly()
    s = parsed.scenario
    scenario = Scenario(
        source=source,
        name=s.name,
        title=s.title or s.name,
        description=s.description,
        start=s.start,
        horizon_s=s.horizon,
        warmup_s=s.warmup,
        replications=s.replications,
        seed=s.seed,
        station=station,
        population=population,
        temp_c=temp_c,
        rain=rain,
        overrides=applied,
        changes=tuple((lang, tuple(change_phrases(base, applied, lang))) for lang in LANGUAGES),
        service_levels=tuple(s.service_levels),
    )
    if scenario.service_levels:
        from scenarios.service_levels import parse_constraint  # the KPI names, without numpy

        problems = []
        for index, text in enumerate(scenario.service_levels):
            try:
                parse_constraint(text, scenario, "")
            except ScenarioValueError as exc:
                key = f"scenario.service_levels.{index}"
                problems.append(Problem(source, key, str(exc).strip(), override=_origin(key, overridden)))
        if problems:
            raise ScenarioValueError(*problems)
    return scenario


def _population(parsed: ScenarioFile, kinds: dict[str, str], source: str) -> PopulationConfig:
    problems: list[Problem] = []

    def problem(key: str, message: str, code: str = "text", **params: str) -> None:
        problems.append(Problem(source, key, message, code, params))

    pop = parsed.population
    if pop.door is not None and kinds.get(pop.door) != "door":
        problem("population.door", f"{pop.door!r} is not a device of kind door", "not_a_door", device=pop.door)
    for name, need in parsed.needs.items():
        kind = kinds.get(need.device)
        if kind is None:
            problem(
                f"needs.{name}.device",
                f"no device {need.device!r}; devices are {', '.join(kinds)}",
                "no_device",
                device=need.device,
                devices=", ".join(kinds),
            )
        elif not DEVICE_KINDS[kind].serves_workers:
            problem(f"needs.{name}.device", f"{need.device!r} is a {kind}, which serves nobody", "serves_nobody", device=need.device)
        if need.hold_like is not None and need.hold_like not in parsed.needs:
            problem(f"needs.{name}.hold_like", f"no need {need.hold_like!r}", "no_need", need=need.hold_like)
    groups = []
    for group_name, group in pop.groups.items():
        for need_name in group.needs:
            if need_name not in parsed.needs:
                problem(f"population.groups.{group_name}.needs.{need_name}", "no such need in [needs]", "no_need", need=need_name)
        streams = []
        for stream_name, stream in group.streams.items():
            for need_name in stream.needs:
                if need_name not in parsed.needs:
                    known_needs = ", ".join(parsed.needs) or "(none)"
                    where = f"population.groups.{group_name}.streams.{stream_name}.needs"
                    problem(where, f"no need {need_name!r}; needs are {known_needs}", "no_need", need=need_name)
            if problems:
                continue
            rules = tuple(_need_rule(n, parsed.needs[n], group.needs.get(n)) for n in stream.needs)
            per_day = pop.workers * group.share * stream.visit_probability * stream.visits_per_visitor
            streams.append(ArrivalStream(stream_name, per_day, stream.day_share(), rules, stream.weekday_factor, stream.enters_station))
        groups.append(
            WorkerGroup(
                group_name,
                tuple(streams),
                group.patience.build() if group.patience else None,
                group.balk_queue,
                group.heat_sensitivity,
                group.rain_sensitivity,
                group.cold_sensitivity,
                tuple(group.shelter_hours),
                group.shelter_factor,
                tuple(group.balk_chance) if group.balk_chance is not None else None,
                group.member_share,
                group.pass_failure_share,
                group.visitor_approval_share,
            )
        )
    if problems:
        raise ScenarioValueError(*problems)
    r = pop.weather_response
    response = WeatherResponse(tuple(sorted(r.heat_steps)), r.rain, r.cold_below_c, r.cold, r.shelter_from_c)
    return PopulationConfig(tuple(groups), pop.door, response)


def _need_rule(name: str, need: NeedSection, override: NeedOverride | None) -> NeedRule:
    merged = need.model_copy(update={k: v for k, v in dict(override or NeedOverride()).items() if v is not None})

    def build(spec: Any) -> Distribution | None:
        return spec.build() if spec is not None else None

    return NeedRule(
        need=name,
        device=merged.device,
        probability=merged.probability,
        peak_probability=merged.peak_probability,
        peak_hours=tuple(merged.peak_hours),
        hold=build(merged.hold),
        peak_hold=build(merged.peak_hold),
        hold_like=merged.hold_like,
        background=merged.background,
        patience=build(merged.patience),
        balk_queue=merged.balk_queue,
        balk_chance=tuple(merged.balk_chance) if merged.balk_chance is not None else None,
    )
