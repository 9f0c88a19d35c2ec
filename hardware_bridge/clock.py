"""The wall clock, read at the edge: the twin's Clock over real time."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from twin.clock import Clock


def wall_clock() -> Clock:
    """Seconds since now (monotonic, so a clock step does not reorder the feed), dated in UTC."""
    started = time.monotonic()
    return Clock(datetime.now(UTC), lambda: time.monotonic() - started)


def station_now(timezone: str) -> datetime:
    """The station's wall-clock time, naive, as a scenario writes its local times (its start)."""
    return datetime.now(ZoneInfo(timezone)).replace(tzinfo=None, microsecond=0)


def epoch_s() -> float:
    """Device timestamps in payloads are Unix seconds."""
    return time.time()


def station_clock(clock: Clock, timezone: str) -> Clock:
    """The same run seconds, dated in the station's own time of day: the actors' hours (dark, lunch) are local.

    The twin and its history keep UTC; only the actors read the hour.  A naive start is
    taken as already local.
    """
    start = clock.start
    if start.tzinfo is not None:
        start = start.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
    return Clock(start, clock.elapsed, clock.speed)


def emulated_clock(clock: Clock, now: datetime, timezone: str, speed: float) -> Clock:
    """The station's time in an emulated demo: ``now`` (naive, local) at this moment, ``speed`` times the wall's pace.

    Run seconds stay the wall ``clock``'s (acks, silences and the history are real), so
    the two clocks share one ``t``: only the date and hour they give it differ.
    """
    moment = now.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)
    return Clock(moment - timedelta(seconds=speed * clock.now()), clock.elapsed, speed)
