"""Named hourly arrival profiles: the share of a day's arrivals starting in each clock hour."""

from __future__ import annotations

PROFILES: dict[str, tuple[float, ...]] = {
    # STATION_DATA §1.4 (ASSUMPTION shaped by shift windows): non-swap station visits.
    "station_visits": (
        1.0, 0.7, 0.5, 0.5, 0.8, 1.5, 2.5, 3.0, 3.5, 4.5, 6.5, 6.5,
        8.0, 10.0, 9.0, 6.0, 5.0, 4.5, 4.5, 5.5, 7.0, 5.0, 2.5, 1.5,
    ),
    # STATION_DATA §2.1 (ASSUMPTION): battery swaps before and after meal peaks.
    "battery_swaps": (
        1.0, 0.5, 0.3, 0.3, 0.3, 0.5, 1.5, 3.5, 5.0, 6.0, 7.0, 5.0,
        4.5, 7.5, 9.0, 7.0, 7.5, 5.5, 4.0, 4.5, 6.5, 6.6, 4.0, 2.5,
    ),
    # STATION_DATA §1.3: sanitation shifts 4:30-10:30 and 14:30-18:30, breaks at their ends
    # and the 10:00-11:00 break; a thin night tail (ASSUMPTION for the exact split).
    "sanitation": (
        0.5, 0.3, 0.3, 0.5, 2.0, 4.0, 4.0, 4.0, 5.0, 7.0, 12.0, 11.0,
        7.0, 6.0, 5.0, 5.0, 5.0, 5.0, 6.0, 3.5, 1.5, 0.8, 0.3, 0.3,
    ),
    # STATION_DATA §1.3: construction 7:00-11:30 and 13:00-17:30, lunch 11:30-13:00.
    "construction": (
        0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 3.0, 6.0, 4.0, 5.0, 6.0, 14.0,
        20.0, 8.0, 5.0, 6.0, 6.0, 9.0, 5.0, 2.0, 0.0, 0.0, 0.0, 0.0,
    ),
    # Poisson arrivals at a constant rate, for the queueing-theory validation stations.
    "flat": (1.0,) * 24,
}


def hourly_share(profile: tuple[float, ...]) -> tuple[float, ...]:
    total = sum(profile)
    return tuple(p / total for p in profile)
