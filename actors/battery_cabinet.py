"""The e-bike battery-swap cabinet outside the station (run by the tower operator).

Each slot holds a battery charging along a CC-CV curve at the slot's power, or is
empty.  A swap puts the rider's depleted battery into an empty slot and releases the
fullest battery that has reached the release threshold.  A rider who finds no
battery that will be releasable within ``max_wait_for_charge_s`` is turned away
(a lost swap: the rider rides on to another cabinet).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from actors.bounds import FRACTION, POSITIVE
from actors.distribution import Distribution, Triangular, Uniform
from actors.message import Request
from actors.port import Port
from actors.service_point import ServicePoint, ServicePointConfig


@dataclass(frozen=True, slots=True)
class ChargingCurve:
    """Constant current up to ``cv_from_soc``, then an exponential constant-voltage tail.

    Defaults (STATION_DATA §2, ASSUMPTION: "2.5 h from ~10 % to >= 90 %, the last 10 %
    taking 25 % of the time"): 400 W into 1.0 kWh usable gives 0.4 of charge an hour,
    and the tail constant makes 80 % -> 90 % take 0.625 h, so 10 % -> 90 % takes 2.4 h.
    """

    power_w: float = field(default=400.0, metadata=POSITIVE)
    capacity_wh: float = field(default=1000.0, metadata=POSITIVE)
    cv_from_soc: float = field(default=0.8, metadata=FRACTION)
    cv_time_constant_s: float = field(default=3246.0, metadata=POSITIVE)

    @property
    def cc_rate_per_s(self) -> float:
        return self.power_w / self.capacity_wh / 3600.0

    def soc_after(self, soc: float, dt_s: float) -> float:
        if dt_s <= 0 or soc >= 1.0:
            return min(soc, 1.0)
        if soc < self.cv_from_soc:
            to_cv = (self.cv_from_soc - soc) / self.cc_rate_per_s
            if dt_s <= to_cv:
                return soc + dt_s * self.cc_rate_per_s
            soc, dt_s = self.cv_from_soc, dt_s - to_cv
        return 1.0 - (1.0 - soc) * math.exp(-dt_s / self.cv_time_constant_s)

    def seconds_to(self, soc: float, target: float) -> float:
        """Seconds from ``soc`` to ``target``; never (inf) for a full 1.0 on the CV tail."""
        if soc >= target:
            return 0.0
        if target >= 1.0:
            return math.inf
        seconds = 0.0
        if soc < self.cv_from_soc:
            cc_target = min(target, self.cv_from_soc)
            seconds = (cc_target - soc) / self.cc_rate_per_s
            soc = cc_target
            if soc >= target:
                return seconds
        return seconds + self.cv_time_constant_s * math.log((1.0 - soc) / (1.0 - target))


@dataclass(frozen=True, slots=True)
class BatteryCabinetConfig(ServicePointConfig):
    # One rider at the cabinet's screen at a time. STATION_DATA §2: a swap is
    # triangular(15, 30, 90) s including scan and plug.
    service: Distribution = Triangular(15.0, 30.0, 90.0)
    slots: int = 12
    batteries: int = 10
    """STATION_DATA §2: 12 slots, 10 batteries stocked, so a swap always finds an empty slot."""
    release_soc: float = field(default=0.9, metadata=FRACTION)
    """STATION_DATA §2: releasable at SOC >= 90 % (the cabinet's 可换电值, ASSUMPTION)."""
    max_wait_for_charge_s: float = 600.0
    """STATION_DATA §2: a rider waits up to 10 min for a battery, else goes elsewhere."""
    returned_soc: Distribution = Uniform(0.05, 0.25)
    """ASSUMPTION: riders swap at 5-25 % left."""
    curve: ChargingCurve = ChargingCurve()
    report_every_s: float = field(default=600.0, metadata=POSITIVE)

    def __post_init__(self) -> None:
        if self.batteries >= self.slots:
            raise ValueError(f"batteries ({self.batteries}) must be fewer than slots ({self.slots}): a swap needs an empty slot")

    def report_limits(self) -> dict[str, int]:
        return {**ServicePointConfig.report_limits(self), "charged": self.batteries}


@dataclass(slots=True)
class _Slot:
    soc: float
    since: float


class _Report(NamedTuple):
    pass


class BatteryCabinet(ServicePoint):
    kind = "battery_cabinet"
    config: BatteryCabinetConfig

    def __init__(self, actor_id: str, port: Port, config: BatteryCabinetConfig) -> None:
        super().__init__(actor_id, port, config)
        self.max_ready_wait_s = config.max_wait_for_charge_s
        self.slots: list[_Slot | None] = [_Slot(1.0, 0.0) for _ in range(config.batteries)]
        self.slots += [None] * (config.slots - config.batteries)

    def start(self) -> None:
        super().start()
        self.port.timer(self.config.report_every_s, _Report())

    def receive(self, message: object) -> None:
        if isinstance(message, _Report):
            self.publish(self.port.now())
            self.port.timer(self.config.report_every_s, _Report())
        else:
            super().receive(message)

    def soc(self, slot: _Slot, now: float) -> float:
        return self.config.curve.soc_after(slot.soc, now - slot.since)

    def socs(self, now: float) -> list[float | None]:
        return [None if slot is None else self.soc(slot, now) for slot in self.slots]

    def ready_in(self, now: float, position: int) -> float | None:
        curve, target = self.config.curve, self.config.release_soc
        etas = sorted(curve.seconds_to(self.soc(slot, now), target) for slot in self.slots if slot is not None)
        if position >= len(etas) or math.isinf(etas[position]):
            return None
        return etas[position]

    def on_started(self, request: Request, now: float) -> dict[str, Any]:
        socs = self.socs(now)
        taken = max((i for i, soc in enumerate(socs) if soc is not None), key=lambda i: socs[i] or 0.0)
        taken_soc = socs[taken] or 0.0
        empty = next(i for i, slot in enumerate(self.slots) if slot is None)
        returned = min(1.0, max(0.0, self.config.returned_soc.sample(self.port.rng)))
        self.slots[empty] = _Slot(returned, now)
        self.slots[taken] = None
        return {"slot_taken": taken + 1, "soc_taken": round(taken_soc, 4), "slot_returned": empty + 1, "soc_returned": round(returned, 4)}

    def extra_state(self, now: float) -> dict[str, Any]:
        socs = self.socs(now)
        held = [soc for soc in socs if soc is not None]
        return {
            "charged": sum(1 for soc in held if soc >= self.config.release_soc),
            "mean_soc": round(sum(held) / len(held), 4) if held else 0.0,
            "soc": tuple(None if soc is None else round(soc, 4) for soc in socs),
        }
