"""The fridge: workers store drinks and lunch boxes; a capacity constraint only."""

from __future__ import annotations

from dataclasses import dataclass

from actors.distribution import Constant, Distribution
from actors.service_point import ServicePoint, ServicePointConfig


@dataclass(frozen=True, slots=True)
class FridgeConfig(ServicePointConfig):
    # STATION_DATA §3: 10 s per access (ASSUMPTION).
    service: Distribution = Constant(10.0)


class Fridge(ServicePoint):
    kind = "fridge"
