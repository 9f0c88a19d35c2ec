"""Every device kind the station knows, by the name a scenario file or a topic uses.

Adding a kind is its own module plus one line here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actors.actor import Actor
from actors.aed import Aed, AedConfig
from actors.air_conditioner import AirConditioner, AirConditionerConfig
from actors.battery_cabinet import BatteryCabinet, BatteryCabinetConfig
from actors.charging_point import ChargingPoint, ChargingPointConfig
from actors.coffee_machine import CoffeeMachine, CoffeeMachineConfig
from actors.door import Door, DoorConfig
from actors.ebook_kiosk import EbookKiosk, EbookKioskConfig
from actors.fridge import Fridge, FridgeConfig
from actors.lights import Lights, LightsConfig
from actors.locker_bank import LockerBank, LockerBankConfig
from actors.microwave import Microwave, MicrowaveConfig
from actors.seat import Seat, SeatConfig
from actors.toilet import Toilet, ToiletConfig
from actors.water_dispenser import WaterDispenser, WaterDispenserConfig


@dataclass(frozen=True, slots=True)
class DeviceKind:
    actor: type[Actor]
    config: type[Any]
    """A frozen dataclass; scenario files are validated against its fields."""
    serves_workers: bool


DEVICE_KINDS: dict[str, DeviceKind] = {
    "microwave": DeviceKind(Microwave, MicrowaveConfig, True),
    "water_dispenser": DeviceKind(WaterDispenser, WaterDispenserConfig, True),
    "coffee_machine": DeviceKind(CoffeeMachine, CoffeeMachineConfig, True),
    "seat": DeviceKind(Seat, SeatConfig, True),
    "toilet": DeviceKind(Toilet, ToiletConfig, True),
    "charging_point": DeviceKind(ChargingPoint, ChargingPointConfig, True),
    "locker_bank": DeviceKind(LockerBank, LockerBankConfig, True),
    "battery_cabinet": DeviceKind(BatteryCabinet, BatteryCabinetConfig, True),
    "fridge": DeviceKind(Fridge, FridgeConfig, True),
    "ebook_kiosk": DeviceKind(EbookKiosk, EbookKioskConfig, True),
    "air_conditioner": DeviceKind(AirConditioner, AirConditionerConfig, False),
    "lights": DeviceKind(Lights, LightsConfig, False),
    "door": DeviceKind(Door, DoorConfig, False),
    "aed": DeviceKind(Aed, AedConfig, False),
}
