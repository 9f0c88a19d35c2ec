"""A bank of lockers: a compartment is assigned, held for hours, then released.

Sanitation workers keep tools in one for the whole shift; the worker goes on with the
visit as soon as a compartment is assigned (``Request.notify_finish`` is False).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any

from actors.distribution import Constant, Distribution
from actors.message import Request
from actors.port import Port
from actors.service_point import ServicePoint, ServicePointConfig


@dataclass(frozen=True, slots=True)
class LockerBankConfig(ServicePointConfig):
    units: int = 20
    """ASSUMPTION (STATION_DATA §3): 1 locker per ~10 registered sanitation workers."""
    queue_limit: int | None = 0
    """Nobody waits for a locker: a full bank turns the worker away."""
    service: Distribution = Constant(4 * 3600.0)


class LockerBank(ServicePoint):
    kind = "locker_bank"

    def __init__(self, actor_id: str, port: Port, config: ServicePointConfig) -> None:
        super().__init__(actor_id, port, config)
        self._free = list(range(1, config.units + 1))
        self._held: dict[tuple[str, str], int] = {}
        """(worker, need) -> compartment: one visit may use two compartments."""

    def on_started(self, request: Request, now: float) -> dict[str, Any]:
        compartment = heapq.heappop(self._free)
        self._held[request.worker, request.need] = compartment
        return {"compartment": compartment}

    def on_finished(self, request: Request, now: float) -> None:
        compartment = self._held.pop((request.worker, request.need))
        heapq.heappush(self._free, compartment)
        self.port.record("locker_released", {"worker": request.worker, "compartment": compartment})

    def extra_state(self, now: float) -> dict[str, Any]:
        return {"free": len(self._free)}
