"""Outdoor weather for a scenario: named multi-day profiles or the planner's own days.

A day is given by its maximum and minimum; the hours follow a sinusoid with the
minimum at 05:00 and the maximum at 14:00 (STATION_DATA §4.2: the hottest hour in
Wuxi is about 14:00).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from actors.population import Hours, in_hours


@dataclass(frozen=True, slots=True)
class Day:
    max_c: float
    min_c: float
    rain_hours: Hours = ()


# STATION_DATA §4.2 (Wuxi as proxy for Jiangyin).
NAMED_DAYS: dict[str, tuple[Day, ...]] = {
    # Late spring/autumn week: mild, one wet afternoon (P(rain day) ≈ 0.35).
    "mild_week": (
        Day(23, 14),
        Day(24, 15),
        Day(22, 15, ((14.0, 18.0),)),
        Day(21, 13),
        Day(23, 14),
        Day(25, 16),
        Day(24, 16),
    ),
    # July-August: max 33, min 26 typical, rising into a heat wave with days >= 35, >= 37
    # (orange warning) and one >= 38; a thunder shower on the fifth afternoon.
    "summer_heat_wave": (
        Day(34, 27),
        Day(35.5, 27.5),
        Day(36.5, 28),
        Day(37.5, 28.5),
        Day(38.5, 29, ((17.0, 18.0),)),
        Day(37.2, 28.5),
        Day(35.5, 28),
    ),
    # January: max ~6-9, min ~-1 to -2; a cold snap with days whose max is below 5 °C.
    "winter_cold_week": (
        Day(6, -1),
        Day(4, -3),
        Day(3, -4),
        Day(2.5, -5, ((0.0, 6.0),)),
        Day(4, -3),
        Day(6, -1),
        Day(7, 0),
    ),
    # A plum-rain (梅雨) rainstorm day: rain all day, little daily range.
    "rainstorm_day": (Day(27, 23, ((0.0, 24.0),)),),
    # Constant mild weather for the validation stations: no weather effect at all.
    "neutral": (Day(20, 20),),
}


def hourly(days: tuple[Day, ...]) -> tuple[tuple[float, ...], tuple[bool, ...]]:
    temps: list[float] = []
    rain: list[bool] = []
    for day in days:
        mean, amplitude = (day.max_c + day.min_c) / 2, (day.max_c - day.min_c) / 2
        for hour in range(24):
            # Rising from 05:00 to 14:00 (9 h), falling over the other 15 h.
            if 5 <= hour <= 14:
                phase = (hour - 5) / 9 * math.pi
            else:
                phase = math.pi + ((hour - 14) % 24) / 15 * math.pi
            temps.append(round(mean - amplitude * math.cos(phase), 2))
            rain.append(in_hours(hour + 0.5, day.rain_hours))
    return tuple(temps), tuple(rain)
