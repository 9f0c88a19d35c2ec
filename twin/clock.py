"""Time as the station sees it: seconds since the start of a run, and the calendar.

Demand depends on the hour of day, the weekday and the season, so every clock is
calendar-aware.  The clock never reads the wall itself: a simulation hands in the
SimPy environment's ``now``, the live bridge hands in a wall-clock function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True, slots=True)
class Clock:
    """Seconds since ``start`` (read through ``elapsed``) and what date and hour that is.

    ``speed`` is station seconds per run second: 1 in a simulation (its seconds are the
    station's) and live; 60 in a demo whose emulated crowd lives an hour a minute, so the
    automations' dark hours and the day's book follow the crowd's clock, not the wall's.
    """

    start: datetime
    elapsed: Callable[[], float]
    speed: float = 1.0

    def now(self) -> float:
        return self.elapsed()

    def datetime_at(self, t: float) -> datetime:
        return self.start + timedelta(seconds=self.speed * t)

    def hour_of_day(self, t: float) -> float:
        """Fractional hour of day in [0, 24) at run time ``t``."""
        start_s = self.start.hour * 3600 + self.start.minute * 60 + self.start.second
        return ((start_s + self.speed * t) % SECONDS_PER_DAY) / SECONDS_PER_HOUR

    def weekday(self, t: float) -> int:
        """Monday is 0, as in :meth:`datetime.weekday`."""
        return self.datetime_at(t).weekday()

    def day_index(self, t: float) -> int:
        """Whole days since midnight of the start date."""
        start_s = self.start.hour * 3600 + self.start.minute * 60 + self.start.second
        return int((start_s + self.speed * t) // SECONDS_PER_DAY)

    def seconds_to_next_hour(self, t: float) -> float:
        """Run seconds until the station's next whole hour."""
        return self.seconds_to_next(t, SECONDS_PER_HOUR)

    def seconds_to_next(self, t: float, period_s: float) -> float:
        """Run seconds until the station's clock next reaches a whole multiple of ``period_s`` (a quarter hour: 900)."""
        of_day = self.hour_of_day(t) * SECONDS_PER_HOUR
        return ((of_day // period_s + 1) * period_s - of_day) / self.speed

    def run_seconds(self, station_s: float) -> float:
        """How many run seconds ``station_s`` of the station's time take (a rule's minute is a second at 60x)."""
        return station_s / self.speed
