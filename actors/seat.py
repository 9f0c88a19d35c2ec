"""Seats in the rest area or the reading room; the worker decides how long to stay."""

from __future__ import annotations

from dataclasses import dataclass

from actors.distribution import Distribution, LogNormal
from actors.service_point import ServicePoint, ServicePointConfig


@dataclass(frozen=True, slots=True)
class SeatConfig(ServicePointConfig):
    # Used only when a request names no stay. STATION_DATA §3: rest median 15 min (ASSUMPTION).
    service: Distribution = LogNormal(900.0, 0.6)


class Seat(ServicePoint):
    kind = "seat"
