"""Limits on config values, as dataclass field metadata the scenario schema enforces.

A zero timer step loops for ever and a zero capacity divides by zero, so these are
refused at the edge, by key, instead of failing deep inside a run.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Protocol, runtime_checkable

POSITIVE = MappingProxyType({"gt": 0.0})
FRACTION = MappingProxyType({"gt": 0.0, "lt": 1.0})
"""Strictly between 0 and 1 (a charging tail never reaches 1)."""
CLOCK_HOUR = MappingProxyType({"ge": 0.0, "le": 24.0})

MOST_INSIDE = 200
"""ASSUMPTION: the most people a station holds at once, five times the 40 m² Yunting standing at one per m²
(STATION_DATA §5: 5-star stations hold 20 or more).  A door or a queue sensor counting more is broken or lying."""


@runtime_checkable
class ReportLimits(Protocol):
    """A device config that knows the most its device can truthfully report (a queue of 5000 at two microwaves is a lie)."""

    def report_limits(self) -> Mapping[str, int]: ...


def report_limits(config: object) -> Mapping[str, int]:
    """The largest value, by state field, a device hosted with ``config`` can report; a kind with no config knows none."""
    return config.report_limits() if isinstance(config, ReportLimits) else {}
