"""The AED (automated external defibrillator) in the workshop: it tests itself daily and its pads expire.

Not a queue: it reports whether its last self-test passed, its battery and the pads'
expiry date, which the automations watch (a failed self-test, expired pads).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from actors.actor import Device
from actors.port import Port


@dataclass(frozen=True, slots=True)
class AedConfig:
    pads_expiry: date = date(2027, 6, 30)
    """ASSUMPTION: pads last about two years; set the real date from the device's label."""
    battery_pct: float = 100.0
    battery_drain_pct_per_day: float = 0.05
    """ASSUMPTION: a standby battery lasting about five years."""
    unit_cost_cny: float = 0.0
    """STATION_DATA §6: 15,000-30,000 CNY (ASSUMPTION); 0 where donated."""
    monthly_cost_cny: float = 0.0


class _SelfTest(NamedTuple):
    pass


class Aed(Device):
    kind = "aed"

    def __init__(self, actor_id: str, port: Port, config: AedConfig) -> None:
        super().__init__(actor_id, port)
        self.config = config

    def start(self) -> None:
        self._test()

    def receive(self, message: object) -> None:
        if isinstance(message, _SelfTest):
            self._test()
        else:
            super().receive(message)

    def _test(self) -> None:
        now = self.port.now()
        battery = max(0.0, self.config.battery_pct - self.config.battery_drain_pct_per_day * now / 86400.0)
        self.port.publish(
            {"self_test_ok": battery > 10.0, "battery_pct": round(battery, 1), "pads_expiry": self.config.pads_expiry.isoformat()}
        )
        self.port.timer(86400.0, _SelfTest())
