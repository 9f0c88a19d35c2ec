"""Messages between workers and the devices that serve them.

Devices own their queues, so a device's answer is the truth about what happened to
a request: a worker whose patience runs out asks to withdraw and learns from the
device whether it was still waiting (reneged) or already being served.

Messages are NamedTuples, immutable like frozen dataclasses but four times cheaper to
make (a customer costs about five of them, bench/sim_speed.py).  Handlers tell them
apart with ``isinstance``, never with ``==``: two tuples of equal fields are equal
whatever their class.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, NamedTuple


class Refusal(StrEnum):
    BALKED = "balked"
    """The queue was longer than the worker would join."""
    BLOCKED = "blocked"
    """Turned away: no room to wait, no free compartment, no charged battery."""
    RENEGED = "reneged"
    """The worker's patience ran out while waiting."""


class Request(NamedTuple):
    worker: str
    group: str
    need: str
    hold_s: float | None = None
    """How long the worker keeps the unit (a seat, a locker); ``None``: the device decides."""
    balk_queue: int | None = None
    """The worker does not join a queue this long or longer; ``None``: always joins."""
    notify_finish: bool = True
    """False when the worker goes on once served (a locker held for hours)."""
    notify_start: bool = True
    """False when nothing waits on the start (no patience to stop, nothing to go on to): no ``Started`` is sent."""
    balk_chance: tuple[float, ...] | None = None
    """The chance the worker does not join on finding 0, 1, 2, ... waiting (the last holds beyond); None: joins."""
    balk_draw: float = 1.0
    """The worker's uniform draw for that choice, made with the plan (balks when below the chance)."""


class Withdraw(NamedTuple):
    worker: str


class Started(NamedTuple):
    device: str
    wait_s: float


class Finished(NamedTuple):
    device: str


class Refused(NamedTuple):
    device: str
    reason: Refusal


class DoorLocked(NamedTuple):
    """The door was told to lock or unlock: while locked, nobody comes in (the crowd is told at each such command)."""

    locked: bool


class Entered(NamedTuple):
    worker: str
    group: str


class Left(NamedTuple):
    worker: str
    group: str


class AtDoor(NamedTuple):
    """A worker at a door that checks who comes in, with what they show: a pass's text, or a visitor's ``AsVisitor``."""

    worker: str
    group: str
    shows: object


class Register(NamedTuple):
    """What the live station tells each door that checks: the key passes are signed with, the station id they name,
    and every member's standing (``actors.door_access.MemberStanding`` by member number); sent again on a change."""

    key: bytes
    station: str
    members: Mapping[int, Any]
    epoch_at_zero_s: float
    """The Unix time at run second 0: passes carry Unix times, and the actors' clock is the station's local one (and
    an emulated demo's runs faster than the wall), so the door reads the wall as this plus its run seconds."""


class PassesSpent(NamedTuple):
    """Passes a door of this station took (``door_pass.spent_key`` -> when each expires, Unix seconds): every door
    refuses them too, and a door restarted refuses those it took before (the live station reads them from the history)."""

    spent: Mapping[str, float]


class VisitorAtDoor(NamedTuple):
    """A visitor's ask, told to the live door by the station: who (a visit key), what for, whether the custodian
    approved it, until when it holds. The door decides only when the visitor shows the ask's pass at its scanner (they
    must be at the door), by its own rules then (the night rule, the lock, the capacity); an ``until_s`` already past
    withdraws the ask (the custodian refused it)."""

    ask: int
    visit: str
    """Their visit key: the door log links a visitor's repeat visits by this, never by the phone."""
    needs: tuple[str, ...]
    approved: bool
    until_s: float
    """Unix seconds."""


class Admitted(NamedTuple):
    """The door let the worker in (after a wait, when the station was full)."""


class Denied(NamedTuple):
    """The door stayed shut, and why (``actors.door_access.Verdict`` or ``actors.door_pass.Refusal``)."""

    reason: str


class OccupancyChanged(NamedTuple):
    occupancy: int


class WeatherChanged(NamedTuple):
    temp_c: float
    rain: bool
    day_max_c: float


class NextHour(NamedTuple):
    """An actor's own reminder that a clock hour has begun."""


class DeviceCommand(NamedTuple):
    """What automations or an operator ask of a device (switch on, a setpoint); the device does what it can."""

    fields: Mapping[str, Any]
    by: str
    command_id: str | None = None
    """Live: the id an operator's command was given when it was queued; None: the binding gives one if it goes out."""
    reason: Mapping[str, Any] | None = None
    """Why the automations ask (``{"why": "nobody_inside"}``), for the page and the audit log; a person says nothing."""
    audited: bool = True
    """False for a device's own reflex (a door letting through a member it has just admitted): its record is the
    device's event (``door_decided``), not an entry in the audit log, and it does not wait for one."""


class Actuate(NamedTuple):
    """In a simulation, what a device's actor told its (simulated) hardware to do."""

    fields: Mapping[str, Any]


class Reported(NamedTuple):
    """Live: what the real device reported; its actor takes it in and publishes it to the twin."""

    fields: Mapping[str, Any]


class Observed(NamedTuple):
    """A change of the twin handed to an actor that watches the station (the automations)."""

    entity: str
    name: str
    data: Mapping[str, Any]


class DeviceEvent(NamedTuple):
    """Live: something the real device told of (a door's ``worker_entered``), handed to its actor."""

    event: str
    data: Mapping[str, Any]
