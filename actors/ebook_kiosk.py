"""The e-book lending kiosk in the reading room."""

from __future__ import annotations

from dataclasses import dataclass

from actors.distribution import Distribution, Triangular
from actors.service_point import ServicePoint, ServicePointConfig


@dataclass(frozen=True, slots=True)
class EbookKioskConfig(ServicePointConfig):
    # STATION_DATA §3: 10 min per use (ASSUMPTION).
    service: Distribution = Triangular(300.0, 600.0, 900.0)


class EbookKiosk(ServicePoint):
    kind = "ebook_kiosk"
