"""Phone-charging points, held for the worker's whole stay."""

from __future__ import annotations

from dataclasses import dataclass

from actors.distribution import Distribution, LogNormal
from actors.service_point import ServicePoint, ServicePointConfig


@dataclass(frozen=True, slots=True)
class ChargingPointConfig(ServicePointConfig):
    # STATION_DATA §3: the point is occupied for the whole stay (equal to rest time).
    service: Distribution = LogNormal(900.0, 0.6)


class ChargingPoint(ServicePoint):
    kind = "charging_point"
