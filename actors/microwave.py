"""Microwave ovens: workers reheat the lunch they brought (riders, sanitation workers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actors.distribution import Distribution, Triangular
from actors.service_point import ServicePoint, ServicePointConfig


@dataclass(frozen=True, slots=True)
class MicrowaveConfig(ServicePointConfig):
    # STATION_DATA §3: triangular(1.5, 2.5, 4) min heating + 20 s handling.
    service: Distribution = Triangular(110.0, 170.0, 260.0)
    power_w: float = 900.0
    """STATION_DATA §6: 0.8-1.0 kW (ASSUMPTION)."""


class Microwave(ServicePoint):
    kind = "microwave"
    config: MicrowaveConfig

    def extra_state(self, now: float) -> dict[str, Any]:
        return {"power_w": self.busy * self.config.power_w}
