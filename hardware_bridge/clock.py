"""The wall clock, read at the edge: the twin's Clock over real time."""

from __future__ import annotations

import time
from datetime import UTC, datetime
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
