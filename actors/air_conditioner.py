"""Air conditioning and the room it keeps: indoor temperature from outdoor temperature,
occupancy and setpoint.

The room is one thermal mass losing heat through its shell (a first-order model,
integrated exactly over each step); people add heat, the unit adds or removes it.
The thermostat with its dead band is the unit's own behaviour.  A command (the
automations, an operator) switches it on or off, picks cool or heat, or moves the
setpoint; in ``auto`` it keeps the room between the heating and cooling setpoints.

``AirConditionerPolicy`` is what the station allows whoever commands the unit (no
cooling below the public-building floor): it runs live and in a simulation alike.
``AirConditioner`` adds the room and the unit's physics, which only a simulation (or
the emulator) runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from actors.actor import Device
from actors.bounds import POSITIVE
from actors.message import Actuate, DeviceCommand, OccupancyChanged, WeatherChanged
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
    start_on: bool = True
    """Powered in ``auto`` from the start; False leaves switching it on to the automations."""
    unit_cost_cny: float = 0.0
    monthly_cost_cny: float = 0.0


class _Step(NamedTuple):
    pass


class AirConditionerPolicy(Device):
    kind = "air_conditioner"

    def __init__(self, actor_id: str, port: Port, config: AirConditionerConfig) -> None:
        super().__init__(actor_id, port)
        self.config = config

    def shape(self, command: DeviceCommand) -> dict[str, Any]:
        """Cooling not below the public-building floor, whoever asks."""
        wanted = dict(command.fields)
        if wanted.get("mode") == "cool" and "setpoint_c" in wanted:
            wanted["setpoint_c"] = max(float(wanted["setpoint_c"]), self.config.cooling_setpoint_c)
        return wanted


class AirConditioner(AirConditionerPolicy):
    """The unit and the room it keeps, simulated."""

    def __init__(self, actor_id: str, port: Port, config: AirConditionerConfig) -> None:
        super().__init__(actor_id, port, config)
        self.outdoor_c: float | None = None
        self.indoor_c: float | None = None
        self.occupancy = 0
        self.powered = config.start_on
        self.setting = "auto"
        """auto, cool or heat: what the unit was told to do."""
        self.setpoint_c: float | None = None
        """A commanded setpoint; None uses the config's cooling and heating setpoints."""
        self.activity = "off"
        """What it is doing now: cool, heat or off (idle within the dead band)."""
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
        elif isinstance(message, Actuate):
            self._advance(now)
            self._obey(message.fields)
        else:
            super().receive(message)
            return
        self._thermostat()
        self._publish()

    @property
    def hvac_kw(self) -> float:
        """Heat the unit adds to the room (negative when cooling)."""
        return {"cool": -self.config.cooling_kw, "heat": self.config.heating_kw}.get(self.activity, 0.0)

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

    def _obey(self, fields: Mapping[str, Any]) -> None:
        if "on" in fields:
            self.powered = bool(fields["on"])
        if fields.get("mode") in ("cool", "heat", "auto"):
            self.setting = str(fields["mode"])
        elif fields.get("mode") == "off":
            self.powered = False
        if "setpoint_c" in fields:
            self.setpoint_c = float(fields["setpoint_c"])

    def _thermostat(self) -> None:
        if self.indoor_c is None:
            return
        if not self.powered:
            self.activity = "off"
            return
        c, half, t = self.config, self.config.dead_band_c / 2, self.indoor_c
        cool_at = self.setpoint_c if self.setpoint_c is not None and self.setting != "heat" else c.cooling_setpoint_c
        heat_at = self.setpoint_c if self.setpoint_c is not None and self.setting != "cool" else c.heating_setpoint_c
        may_cool, may_heat = self.setting in ("auto", "cool"), self.setting in ("auto", "heat")
        if may_cool and t > cool_at + half:
            self.activity = "cool"
        elif may_heat and t < heat_at - half:
            self.activity = "heat"
        elif (self.activity == "cool" and (t < cool_at - half or not may_cool)) or (
            self.activity == "heat" and (t > heat_at + half or not may_heat)
        ):
            self.activity = "off"

    def _publish(self) -> None:
        self.port.publish(
            {
                "on": self.powered,
                "indoor_temp_c": None if self.indoor_c is None else round(self.indoor_c, 2),
                "mode": self.setting if self.powered else "off",
                "setpoint_c": self.setpoint_c if self.setpoint_c is not None else self.config.cooling_setpoint_c,
                "power_kw": round(abs(self.hvac_kw) / self.config.cop, 3),
                "energy_kwh": round(self.energy_kwh, 3),
            }
        )
