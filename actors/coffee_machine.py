"""The coffee machine: one cup at a time, selection included."""

from __future__ import annotations

from dataclasses import dataclass

from actors.distribution import Distribution, Triangular
from actors.service_point import ServicePoint, ServicePointConfig


@dataclass(frozen=True, slots=True)
class CoffeeMachineConfig(ServicePointConfig):
    # STATION_DATA §3: triangular(40, 60, 120) s including selection.
    service: Distribution = Triangular(40.0, 60.0, 120.0)


class CoffeeMachine(ServicePoint):
    kind = "coffee_machine"
