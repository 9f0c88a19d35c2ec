"""The station's day book: today's figures, kept by the hour as the feed goes by.

"Today" is the station's calendar day in its own time zone (a server in UTC would
start the day at 08:00 in Shanghai). The figures are integrals over time, so they
are accrued as changes arrive rather than recomputed from the day's history on every
page view; at start-up the day's history is replayed through the same ``observe``, up
to the station's last change or its ``station_stopped``: the time it was down counts
as not observed, and a device counts again once the bridge says it is online.

Waits: no microwave knows how long a worker waited for it, but its queue sensor knows
how many are waiting. By Little's law the person-seconds spent waiting in an hour,
divided by the uses started in that hour, is the mean wait of those served then (it
reads a little high when some give up and leave). A use is counted from the device's
cycle counter (``uses``) when it reports one, else from rises in ``busy`` (a floor:
a unit freed and taken again between two reports is missed). The first counter value
heard is the baseline, so a replay after a restart may miss one use per device.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from twin.entity import AVAILABILITY, DESIRED
from twin.feed import STATE

HOURS = 24
STATION_STOPPED = "station_stopped"
"""Recorded as the live station shuts down: a replay after a restart knows until when the levels held."""
COUNTED_EVENTS = ("worker_entered", DESIRED, "alarm_raised", "alarm_reopened", STATION_STOPPED)
"""The event names the day book reads besides state and availability (for a replay's query)."""


@dataclass(slots=True)
class _DeviceDay:
    units: int
    busy_s: list[float] = field(default_factory=lambda: [0.0] * HOURS)
    """Unit-seconds busy in each hour."""
    queue_s: list[float] = field(default_factory=lambda: [0.0] * HOURS)
    """Person-seconds waiting in each hour."""
    seen_s: list[float] = field(default_factory=lambda: [0.0] * HOURS)
    """Seconds of each hour the device's levels were known (online and reporting)."""
    uses: list[int] = field(default_factory=lambda: [0] * HOURS)
    queue_peak: int = 0
    busy: int = 0
    queue: int = 0
    counter: int | None = None
    available: bool | None = None
    """As the bridge last said; None until it has said anything."""
    heard: bool = False
    """The levels come from a report (not from before a restart)."""
    restarted: bool = False
    """Since a restart nothing counts until the bridge says the device is online: a retained report may be a dead device's."""
    since: datetime | None = None
    """Time is counted from here; None while it is not (offline, or not heard from since start-up)."""

    def new_day(self) -> None:
        for hourly in (self.busy_s, self.queue_s, self.seen_s):
            hourly[:] = [0.0] * HOURS
        self.uses[:] = [0] * HOURS
        self.queue_peak = self.queue


@dataclass(frozen=True, slots=True)
class DeviceFigures:
    device: str
    units: int
    uses: int
    utilisation: float | None
    """Busy unit-seconds over unit-seconds observed today; None if never observed."""
    wait_mean_s: float | None
    """Little's-law mean wait of today's uses; None if nobody was served."""
    queue_peak: int
    uses_by_hour: tuple[int, ...]
    wait_by_hour_s: tuple[float | None, ...]


@dataclass(frozen=True, slots=True)
class DayFigures:
    day: date
    timezone: str
    visitors_by_hour: tuple[int, ...]
    commands: int
    alarms_raised: int
    devices: tuple[DeviceFigures, ...]
    """Busiest first."""

    @property
    def visitors(self) -> int:
        return sum(self.visitors_by_hour)


class Daybook:
    """Today's figures for the devices in ``units`` (device id to number of units)."""

    def __init__(self, timezone: tzinfo, units: Mapping[str, int], now: datetime) -> None:
        self.timezone = timezone
        self._devices = {device: _DeviceDay(count) for device, count in units.items()}
        self.day = now.astimezone(timezone).date()
        self._visitors = [0] * HOURS
        self._commands = 0
        self._alarms = 0

    def observe(self, at: datetime, entity_id: str, name: str, data: Mapping[str, Any]) -> None:
        """One change of the feed (or of the history, replayed), at the aware moment ``at``."""
        local = at.astimezone(self.timezone)
        if local.date() < self.day:
            return  # yesterday's, replayed or late: today's book does not take it
        if local.date() > self.day:
            self._turn_page(local.date())
        device = self._devices.get(entity_id)
        if device is not None and name == STATE:
            self._accrue(device, at)
            self._report(device, at, data)
        elif device is not None and name == AVAILABILITY:
            self._accrue(device, at)
            device.available = bool(data.get("available"))
            device.restarted = False
            if not device.available:
                device.since = None
            elif device.heard and device.since is None:
                device.since = at  # back with the levels it had: a repeated report would change nothing in the twin
        elif name == "worker_entered":
            self._visitors[local.hour] += 1
        elif name == DESIRED and "command" in data and not data.get("revised"):
            self._commands += 1
        elif name in ("alarm_raised", "alarm_reopened"):
            self._alarms += 1

    def pause(self, at: datetime) -> None:
        """Nothing is known from ``at`` on until each device reports again (the station stopped at ``at``)."""
        for device in self._devices.values():
            self._accrue(device, at)
            device.since = None
            device.heard = False
            device.restarted = True

    def figures(self, at: datetime) -> DayFigures:
        local = at.astimezone(self.timezone)
        if local.date() > self.day:
            self._turn_page(local.date())
        for device in self._devices.values():
            self._accrue(device, at)
        devices = [_figures(name, d) for name, d in self._devices.items()]
        devices.sort(key=lambda f: (-(f.utilisation or 0.0), -f.uses, f.device))
        return DayFigures(self.day, str(self.timezone), tuple(self._visitors), self._commands, self._alarms, tuple(devices))

    # ---- inside ------------------------------------------------------------------

    def _turn_page(self, day: date) -> None:
        midnight = datetime.combine(day, time(), self.timezone)
        for device in self._devices.values():
            self._accrue(device, midnight)
            device.new_day()
        self.day = day
        self._visitors = [0] * HOURS
        self._commands = self._alarms = 0

    def _accrue(self, device: _DeviceDay, until: datetime) -> None:
        """Add the current levels' time up to ``until``, split at the station's clock hours.

        In UTC: aware datetimes in one zone subtract as wall-clock times, which a
        daylight-saving change would make an hour too long or too short.
        """
        if device.since is None or until <= device.since:
            return
        start, stop = device.since.astimezone(UTC), until.astimezone(UTC)
        while start < stop:
            local = start.astimezone(self.timezone)
            into_hour = timedelta(minutes=local.minute, seconds=local.second, microseconds=local.microsecond)
            end = min(stop, start + timedelta(hours=1) - into_hour)  # by elapsed time: zones shift by half hours too
            seconds = (end - start).total_seconds()
            device.busy_s[local.hour] += device.busy * seconds
            device.queue_s[local.hour] += device.queue * seconds
            device.seen_s[local.hour] += seconds
            start = end
        device.since = until

    def _report(self, device: _DeviceDay, at: datetime, data: Mapping[str, Any]) -> None:
        busy = min(data.get("busy", device.busy), device.units)  # a sensor counting more units than there are is wrong
        hour = at.astimezone(self.timezone).hour
        if "uses" in data:
            counter = data["uses"]
            if device.counter is not None:
                device.uses[hour] += counter - device.counter if counter >= device.counter else counter  # a reset restarts at 0
            device.counter = counter
        elif device.counter is None and busy > device.busy and device.available is not False:
            device.uses[hour] += busy - device.busy
        device.busy = busy
        device.queue = data.get("queue", device.queue)
        if device.available is not False:
            device.queue_peak = max(device.queue_peak, device.queue)
        device.heard = True
        if device.available is not False and not device.restarted and device.since is None:
            device.since = at  # a retained report of a device that is offline (or maybe dead, after a restart) starts nothing


def _figures(name: str, d: _DeviceDay) -> DeviceFigures:
    seen = sum(d.seen_s)
    uses = sum(d.uses)
    return DeviceFigures(
        device=name,
        units=d.units,
        uses=uses,
        utilisation=sum(d.busy_s) / (d.units * seen) if seen > 0 else None,
        wait_mean_s=sum(d.queue_s) / uses if uses else None,
        queue_peak=d.queue_peak,
        uses_by_hour=tuple(d.uses),
        wait_by_hour_s=tuple(q / n if n else None for q, n in zip(d.queue_s, d.uses, strict=True)),
    )
