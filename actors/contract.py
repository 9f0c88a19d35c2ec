"""What each device kind reports and what a command to it may set, field by field, as the MQTT contract carries them.

A kind's entry in actors/registry.py names its two schemas, so a kind is declared in
one place; hardware_bridge/payloads.py checks every message against them.  Every
field is optional: a device may report only what changed.  Strict: "yes" is not a
boolean and "3" not a number, whatever lax parsing would make of them.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Count = Annotated[int, Field(ge=0, le=100_000)]
Watts = Annotated[float, Field(ge=0, le=100_000)]
Percent = Annotated[float, Field(ge=0, le=100)]
Charge = Annotated[float, Field(ge=0, le=1)]


class Schema(BaseModel):
    # defer_build: a schema is built the first time a message of its kind is checked, not by `yxy --help`
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False, defer_build=True)


class QueueState(Schema):
    """Devices with units that workers use (occupancy sensors, cycle counters)."""

    busy: Count | None = None
    """Units in use now."""
    queue: Count | None = None
    """Workers waiting now (a queue sensor or camera count)."""
    uses: Annotated[int, Field(ge=0, le=10**12)] | None = None
    """Cycle counter: uses started since the device was powered up; it may restart from 0."""


class LightsState(Schema):
    on: bool | None = None
    power_w: Watts | None = None
    brightness_pct: Percent | None = None
    energy_kwh: Annotated[float, Field(ge=0)] | None = None


class LightsSet(Schema):
    on: bool | None = None
    brightness_pct: Percent | None = None


class AirConditionerState(Schema):
    on: bool | None = None
    mode: Literal["off", "cool", "heat", "fan", "auto"] | None = None
    setpoint_c: Annotated[float, Field(ge=16, le=32)] | None = None
    indoor_temp_c: Annotated[float, Field(ge=-30, le=60)] | None = None
    power_kw: Annotated[float, Field(ge=0, le=100)] | None = None
    energy_kwh: Annotated[float, Field(ge=0)] | None = None


class AirConditionerSet(Schema):
    on: bool | None = None
    mode: Literal["off", "cool", "heat", "fan", "auto"] | None = None
    setpoint_c: Annotated[float, Field(ge=16, le=32)] | None = None


class DoorState(Schema):
    open: bool | None = None
    locked: bool | None = None
    occupancy: Count | None = None
    entries: Count | None = None
    exits: Count | None = None


class DoorSet(Schema):
    locked: bool | None = None
    open: bool | None = None
    """True: let one person through now (the door's decision on a pass or a face); the door closes by itself."""
    forget_face: Annotated[int, Field(ge=1)] | None = None
    """A member withdrew consent to face entry: the terminal deletes the face template it holds for this member
    number (commercial terminals keep templates; the station never had the face), and acknowledges like any command."""


class MicrowaveState(QueueState):
    power_w: Watts | None = None


class WaterDispenserState(QueueState):
    level_l: Annotated[float, Field(ge=0, le=1000)] | None = None
    filter_life_pct: Percent | None = None
    tank_low: bool | None = None


class CoffeeMachineState(QueueState):
    beans_low: bool | None = None


class FridgeState(QueueState):
    temp_c: Annotated[float, Field(ge=-40, le=40)] | None = None
    setpoint_c: Annotated[float, Field(ge=-5, le=10)] | None = None
    door_open: bool | None = None


class FridgeSet(Schema):
    setpoint_c: Annotated[float, Field(ge=-5, le=10)] | None = None


class BatteryCabinetState(QueueState):
    charged: Count | None = None
    mean_soc: Charge | None = None
    soc: Annotated[list[Charge | None], Field(max_length=64)] | None = None


class LockerBankState(QueueState):
    free: Count | None = None


class AedState(Schema):
    self_test_ok: bool | None = None
    battery_pct: Percent | None = None
    pads_expiry: Annotated[date, Field(strict=False)] | None = None
    """An ISO date string in JSON."""


class CameraState(Schema):
    """A camera's agent (``vision.agent``) on how the camera is and what it costs."""

    lens: Literal["ok", "dark", "covered", "frozen", "no_frames"] | None = None
    problem: Annotated[str, Field(max_length=500)] | None = None
    fps: Annotated[float, Field(ge=0, le=120)] | None = None
    inference_ms: Annotated[float, Field(ge=0, le=60_000)] | None = None
    frames: Annotated[int, Field(ge=0, le=10**12)] | None = None
    frames_skipped: Annotated[int, Field(ge=0, le=10**12)] | None = None
    people: Annotated[int, Field(ge=0, le=100)] | None = None
    incidents: Annotated[int, Field(ge=0, le=10**9)] | None = None


class ScreenState(Schema):
    on: bool | None = None
    content: Annotated[str, Field(max_length=500)] | None = None


class ScreenSet(Schema):
    on: bool | None = None
    content: Annotated[str, Field(max_length=500)] | None = None
