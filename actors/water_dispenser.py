"""The drinking-water dispenser: a purified-water tank that refills slowly from the mains.

When the tank runs low the next worker waits for it to refill; that is the queue
a heat wave builds at the dispenser even when the tap itself is quick.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from actors.bounds import POSITIVE
from actors.distribution import Distribution, Triangular, Uniform
from actors.message import Request
from actors.port import Port
from actors.service_point import ServicePoint, ServicePointConfig


@dataclass(frozen=True, slots=True)
class WaterDispenserConfig(ServicePointConfig):
    # STATION_DATA §3: triangular(10, 25, 60) s per user including handling.
    service: Distribution = Triangular(10.0, 25.0, 60.0)
    tank_l: float = field(default=20.0, metadata=POSITIVE)
    """ASSUMPTION: a commercial RO direct-drinking machine's purified tank."""
    refill_l_per_min: float = field(default=0.3, metadata=POSITIVE)
    """ASSUMPTION: an RO membrane of ~100 gallons a day."""
    draw_l: Distribution = Uniform(0.25, 1.0)
    """STATION_DATA §3: a 250 mL cup to a 1 L bottle."""


class WaterDispenser(ServicePoint):
    kind = "water_dispenser"
    config: WaterDispenserConfig

    def __init__(self, actor_id: str, port: Port, config: WaterDispenserConfig) -> None:
        super().__init__(actor_id, port, config)
        self._level_l = config.tank_l
        self._level_at = 0.0
        self._next_draw_l: float | None = None
        """What the worker at the head of the line will draw, drawn once they get there."""

    def level_l(self, now: float) -> float:
        refilled = self.config.refill_l_per_min * (now - self._level_at) / 60.0
        return min(self.config.tank_l, self._level_l + refilled)

    def _head_draw_l(self) -> float:
        if self._next_draw_l is None:
            # A bottle bigger than the tank is filled from a full tank.
            self._next_draw_l = min(self.config.tank_l, max(0.0, self.config.draw_l.sample(self.port.rng)))
        return self._next_draw_l

    def ready_in(self, now: float, position: int) -> float | None:
        """Until the tank holds what the next worker draws; the line behind waits its turn anyway."""
        missing = self._head_draw_l() - self.level_l(now)
        return 0.0 if missing <= 0 else missing / self.config.refill_l_per_min * 60.0

    def on_started(self, request: Request, now: float) -> dict[str, Any]:
        drawn = self._head_draw_l()
        self._next_draw_l = None
        self._level_l, self._level_at = max(0.0, self.level_l(now) - drawn), now
        return {"drawn_l": drawn}

    def extra_state(self, now: float) -> dict[str, Any]:
        return {"level_l": round(self.level_l(now), 2)}
