"""Every device kind the station knows, by the name a scenario file or a topic uses.

Adding a kind is its own module plus one line here.  Each kind names its policy (the
actor live mode hosts: what the station makes of the real device's reports and of the
commands it is sent) and its simulated self (the policy plus physics, for planners'
runs and the emulator); most kinds have no rule of their own and take the plain
``Device`` policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actors.actor import Device
from actors.aed import Aed, AedConfig
from actors.air_conditioner import AirConditioner, AirConditionerConfig, AirConditionerPolicy
from actors.battery_cabinet import BatteryCabinet, BatteryCabinetConfig
from actors.charging_point import ChargingPoint, ChargingPointConfig
from actors.coffee_machine import CoffeeMachine, CoffeeMachineConfig
from actors.door import Door, DoorConfig, DoorPolicy
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
    simulated: type[Device]
    """The device with its physics: what a simulation and the emulator host."""
    config: type[Any]
    """A frozen dataclass; scenario files are validated against its fields."""
    serves_workers: bool
    policy: type[Device] = Device
    """What live mode hosts; the simulated class is always a subclass of it."""


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
    "air_conditioner": DeviceKind(AirConditioner, AirConditionerConfig, False, AirConditionerPolicy),
    "lights": DeviceKind(Lights, LightsConfig, False),
    "door": DeviceKind(Door, DoorConfig, False, DoorPolicy),
    "aed": DeviceKind(Aed, AedConfig, False),
}
