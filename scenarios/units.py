"""Durations and clock windows as planners write them: "90s", "15m", "1h30m", "7d", "10:30-14:30"."""

from __future__ import annotations

import math
import re

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_duration(value: object) -> float:
    """Seconds in ``value``: a number of seconds or a string of number-unit parts."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like '90s', '15m', '2h', '7d'")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        parts = _DURATION.findall(text)
        if not parts or _DURATION.sub("", text).strip():
            raise ValueError(f"{value!r} is not a duration; write e.g. '90s', '15m', '1h30m', '7d'")
        seconds = sum(float(number) * _SECONDS[unit] for number, unit in parts)
    else:
        raise ValueError("a duration is a number of seconds or a string like '90s', '15m', '2h', '7d'")
    if not math.isfinite(seconds):
        raise ValueError(f"{value!r} is not a finite duration")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


def parse_window(value: str) -> tuple[float, float]:
    """A clock window "HH:MM-HH:MM" as fractional hours; it may wrap past midnight."""
    match = _WINDOW.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a clock window; write e.g. '10:30-14:30'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59:
        raise ValueError(f"{value!r} has an hour past 24 or a minute past 59")
    return h1 + m1 / 60, h2 + m2 / 60
