"""Lights: by default on while someone is inside and it is dark; or as commanded.

``automatic`` is the fitting's own sensor; a command (an operator, the automations)
takes over from it for good, as a wall panel set to manual would.  The station has
no rule of its own for lights, so live they are the plain ``Device`` policy; this class
is the simulated fitting, which a command reaches through ``port.actuate`` as an
``Actuate``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from actors.actor import Device
from actors.bounds import CLOCK_HOUR
from actors.message import Actuate, NextHour, OccupancyChanged
from actors.port import Port


@dataclass(frozen=True, slots=True)
class LightsConfig:
    power_w: float = 320.0
    """ASSUMPTION: LED lighting at 8 W/m² over the 40 m² of STATION_DATA §5."""
    daylight_from_h: float = field(default=6.0, metadata=CLOCK_HOUR)
    daylight_to_h: float = field(default=18.0, metadata=CLOCK_HOUR)
    on_in_daylight: bool = False
    """True for a reading room that needs light whatever the hour."""
    automatic: bool = True
    """False: only commands switch them (the station's automations do the thinking)."""
    unit_cost_cny: float = 0.0
    monthly_cost_cny: float = 0.0


class Lights(Device):
    kind = "lights"

    def __init__(self, actor_id: str, port: Port, config: LightsConfig) -> None:
        super().__init__(actor_id, port)
        self.config = config
        self.automatic = config.automatic
        self.occupancy = 0
        self.on = False
        self.energy_kwh = 0.0
        self._since = 0.0

    def start(self) -> None:
        self._since = self.port.now()
        self._update(None)
        self.at_next_hour(NextHour())

    def receive(self, message: object) -> None:
        if isinstance(message, OccupancyChanged):
            self.occupancy = message.occupancy
            self._update(None)
        elif isinstance(message, NextHour):
            self.at_next_hour(NextHour())
            self._update(None)
        elif isinstance(message, Actuate):
            if "on" in message.fields:
                self.automatic = False
                self._update(bool(message.fields["on"]))
        else:
            super().receive(message)

    def _update(self, commanded: bool | None) -> None:
        now = self.port.now()
        if self.on:
            self.energy_kwh += self.config.power_w / 1000.0 * (now - self._since) / 3600.0
        self._since = now
        if commanded is not None:
            self.on = commanded
        elif self.automatic:
            hour = self.port.clock.hour_of_day(now)
            daylight = self.config.daylight_from_h <= hour < self.config.daylight_to_h
            self.on = self.occupancy > 0 and (self.config.on_in_daylight or not daylight)
        self.port.publish({"on": self.on, "power_w": self.config.power_w if self.on else 0.0, "energy_kwh": round(self.energy_kwh, 3)})
