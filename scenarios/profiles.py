"""Arrival profiles: the share of a day's arrivals starting in each clock hour (named ones), or in finer slots of a rate table."""

from __future__ import annotations

import math
from collections.abc import Mapping

PROFILES: dict[str, tuple[float, ...]] = {
    # STATION_DATA §1.4 (ASSUMPTION shaped by shift windows): non-swap station visits.
    "station_visits": (
        1.0,
        0.7,
        0.5,
        0.5,
        0.8,
        1.5,
        2.5,
        3.0,
        3.5,
        4.5,
        6.5,
        6.5,
        8.0,
        10.0,
        9.0,
        6.0,
        5.0,
        4.5,
        4.5,
        5.5,
        7.0,
        5.0,
        2.5,
        1.5,
    ),
    # STATION_DATA §2.1 (ASSUMPTION): battery swaps before and after meal peaks.
    "battery_swaps": (
        1.0,
        0.5,
        0.3,
        0.3,
        0.3,
        0.5,
        1.5,
        3.5,
        5.0,
        6.0,
        7.0,
        5.0,
        4.5,
        7.5,
        9.0,
        7.0,
        7.5,
        5.5,
        4.0,
        4.5,
        6.5,
        6.6,
        4.0,
        2.5,
    ),
    # STATION_DATA §1.3: sanitation shifts 4:30-10:30 and 14:30-18:30, breaks at their ends
    # and the 10:00-11:00 break; a thin night tail (ASSUMPTION for the exact split).
    "sanitation": (
        0.5,
        0.3,
        0.3,
        0.5,
        2.0,
        4.0,
        4.0,
        4.0,
        5.0,
        7.0,
        12.0,
        11.0,
        7.0,
        6.0,
        5.0,
        5.0,
        5.0,
        5.0,
        6.0,
        3.5,
        1.5,
        0.8,
        0.3,
        0.3,
    ),
    # STATION_DATA §1.3: construction 7:00-11:30 and 13:00-17:30, lunch 11:30-13:00.
    "construction": (
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        1.0,
        3.0,
        6.0,
        4.0,
        5.0,
        6.0,
        14.0,
        20.0,
        8.0,
        5.0,
        6.0,
        6.0,
        9.0,
        5.0,
        2.0,
        0.0,
        0.0,
        0.0,
        0.0,
    ),
    # Poisson arrivals at a constant rate, for the queueing-theory validation stations.
    "flat": (1.0,) * 24,
}


def hourly_share(profile: tuple[float, ...]) -> tuple[float, ...]:
    total = sum(profile)
    return tuple(p / total for p in profile)


def day_share(profile: Mapping[str, float]) -> tuple[float, ...]:
    """A rate table with clock times ("11:30" = 6.0: the relative rate from 11:30 until the next time) as shares
    of the day's arrivals in equal slots, as fine as the times need (11:30 and 12:15 give 15-minute slots).

    Before the first time of the day the last one's rate holds: the table wraps past midnight like a timetable.
    """
    at = sorted((_minutes(clock), rate) for clock, rate in profile.items())
    slot = math.gcd(MINUTES_PER_DAY, *(minute for minute, _ in at))
    rates = []
    for start in range(0, MINUTES_PER_DAY, slot):
        earlier = [rate for minute, rate in at if minute <= start]
        rates.append(earlier[-1] if earlier else at[-1][1])
    total = sum(rates)
    return tuple(r / total for r in rates)


MINUTES_PER_DAY = 1440


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)
