"""Toilet cubicles."""

from __future__ import annotations

from dataclasses import dataclass

from actors.distribution import Distribution, LogNormal
from actors.service_point import ServicePoint, ServicePointConfig


@dataclass(frozen=True, slots=True)
class ToiletConfig(ServicePointConfig):
    # STATION_DATA §3: lognormal, mean 1.8 min (men) to 3.0 min (women); a median of
    # 110 s with sigma 0.5 gives a mean of 125 s for a mostly male workforce (ASSUMPTION).
    service: Distribution = LogNormal(110.0, 0.5)


class Toilet(ServicePoint):
    kind = "toilet"
