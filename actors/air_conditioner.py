"""Air conditioning and the room it keeps: indoor temperature from outdoor temperature,
occupancy and setpoint.

The room is one thermal mass losing heat through its shell (a first-order model,
integrated exactly over each step); people add heat, the unit adds or removes it.
The thermostat with its dead band is the unit's own behaviour; automations that
move the setpoint come on top.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

from actors.actor import Actor
from actors.bounds import POSITIVE
from actors.message import OccupancyChanged, WeatherChanged
from actors.port import Port


@dataclass(frozen=True, slots=True)
class AirConditionerConfig:
    cooling_kw: float = 7.2
    """STATION_DATA §5: 40 m² x 180 W/m² = 7.2 kW of cooling (about 3 匹)."""
    heating_kw: float = 5.0
    """ASSUMPTION: the same unit heating in winter."""
    cop: float = field(default=3.0, metadata=POSITIVE)
    """ASSUMPTION: electricity in per unit of heat moved."""
    cooling_setpoint_c: float = 26.0
    """China's rule for public buildings: cooling not below 26 °C."""
    heating_setpoint_c: float = 20.0
    """China's rule for public buildings: heating not above 20 °C."""
    dead_band_c: float = 1.0
    room_ua_kw_per_c: float = field(default=0.25, metadata=POSITIVE)
    """ASSUMPTION: heat loss of a 40 m² shop front with a door that opens often."""
    room_heat_capacity_kwh_per_c: float = field(default=1.5, metadata=POSITIVE)
    """ASSUMPTION: air and furnishings of a 40 m² room."""
    person_heat_kw: float = 0.1
    """Sensible heat of one seated adult (~100 W)."""
    step_s: float = field(default=300.0, metadata=POSITIVE)
    unit_cost_cny: float = 0.0
    monthly_cost_cny: float = 0.0


class _Step(NamedTuple):
    pass


class AirConditioner(Actor):
    kind = "air_conditioner"

    def __init__(self, actor_id: str, port: Port, config: AirConditionerConfig) -> None:
        super().__init__(actor_id, port)
        self.config = config
        self.outdoor_c: float | None = None
        self.indoor_c: float | None = None
        self.occupancy = 0
        self.mode = "off"
        self.energy_kwh = 0.0
        self._last = 0.0

    def start(self) -> None:
        self._last = self.port.now()
        self.port.timer(self.config.step_s, _Step())

    def receive(self, message: object) -> None:
        now = self.port.now()
        if isinstance(message, WeatherChanged):
            self._advance(now)
            self.outdoor_c = message.temp_c
            if self.indoor_c is None:
                self.indoor_c = message.temp_c
        elif isinstance(message, OccupancyChanged):
            self._advance(now)
            self.occupancy = message.occupancy
        elif isinstance(message, _Step):
            self._advance(now)
            self.port.timer(self.config.step_s, _Step())
        else:
            super().receive(message)
            return
        self._thermostat()
        self._publish()

    @property
    def hvac_kw(self) -> float:
        """Heat the unit adds to the room (negative when cooling)."""
        return {"cool": -self.config.cooling_kw, "heat": self.config.heating_kw}.get(self.mode, 0.0)

    def _advance(self, now: float) -> None:
        dt = now - self._last
        self._last = now
        if dt <= 0 or self.indoor_c is None or self.outdoor_c is None:
            return
        c = self.config
        gains_kw = self.occupancy * c.person_heat_kw + self.hvac_kw
        equilibrium = self.outdoor_c + gains_kw / c.room_ua_kw_per_c
        decay = math.exp(-dt / 3600.0 * c.room_ua_kw_per_c / c.room_heat_capacity_kwh_per_c)
        self.indoor_c = equilibrium + (self.indoor_c - equilibrium) * decay
        self.energy_kwh += abs(self.hvac_kw) / c.cop * dt / 3600.0

    def _thermostat(self) -> None:
        if self.indoor_c is None:
            return
        c, half = self.config, self.config.dead_band_c / 2
        if self.indoor_c > c.cooling_setpoint_c + half:
            self.mode = "cool"
        elif self.indoor_c < c.heating_setpoint_c - half:
            self.mode = "heat"
        elif (self.mode == "cool" and self.indoor_c < c.cooling_setpoint_c - half) or (
            self.mode == "heat" and self.indoor_c > c.heating_setpoint_c + half
        ):
            self.mode = "off"

    def _publish(self) -> None:
        self.port.publish(
            {
                "indoor_temp_c": None if self.indoor_c is None else round(self.indoor_c, 2),
                "mode": self.mode,
                "power_kw": round(abs(self.hvac_kw) / self.config.cop, 3),
                "energy_kwh": round(self.energy_kwh, 3),
            }
        )
