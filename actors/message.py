"""Messages between workers and the devices that serve them.

Devices own their queues, so a device's answer is the truth about what happened to
a request: a worker whose patience runs out asks to withdraw and learns from the
device whether it was still waiting (reneged) or already being served.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Refusal(StrEnum):
    BALKED = "balked"
    """The queue was longer than the worker would join."""
    BLOCKED = "blocked"
    """Turned away: no room to wait, no free compartment, no charged battery."""
    RENEGED = "reneged"
    """The worker's patience ran out while waiting."""


@dataclass(frozen=True, slots=True)
class Request:
    worker: str
    group: str
    need: str
    hold_s: float | None = None
    """How long the worker keeps the unit (a seat, a locker); ``None``: the device decides."""
    balk_queue: int | None = None
    """The worker does not join a queue this long or longer; ``None``: always joins."""
    notify_finish: bool = True
    """False when the worker goes on once served (a locker held for hours)."""


@dataclass(frozen=True, slots=True)
class Withdraw:
    worker: str


@dataclass(frozen=True, slots=True)
class Started:
    device: str
    wait_s: float


@dataclass(frozen=True, slots=True)
class Finished:
    device: str


@dataclass(frozen=True, slots=True)
class Refused:
    device: str
    reason: Refusal


@dataclass(frozen=True, slots=True)
class Entered:
    worker: str
    group: str


@dataclass(frozen=True, slots=True)
class Left:
    worker: str
    group: str


@dataclass(frozen=True, slots=True)
class OccupancyChanged:
    occupancy: int


@dataclass(frozen=True, slots=True)
class WeatherChanged:
    temp_c: float
    rain: bool
    day_max_c: float
