"""Every device kind the station knows, by the name a station file or a topic uses: one entry per kind.

Adding a kind is its own module plus one entry here.  Each entry names its policy
(the actor live mode hosts: what the station makes of the real device's reports and
of the commands it is sent) and its simulated self (the policy plus physics, for
planners' runs and the emulator), its config, what it reports and what it obeys (the
MQTT contract's schemas, actors/contract.py), and its name in both languages (the
reports and the web page take it from here).  Most kinds have no rule of their own
and take the plain ``Device`` policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from actors import contract as c
from actors.actor import Device
from actors.aed import Aed, AedConfig
from actors.air_conditioner import AirConditioner, AirConditionerConfig, AirConditionerPolicy
from actors.battery_cabinet import BatteryCabinet, BatteryCabinetConfig
from actors.camera import CameraConfig, CameraPolicy
from actors.charging_point import ChargingPoint, ChargingPointConfig
from actors.coffee_machine import CoffeeMachine, CoffeeMachineConfig
from actors.door import Door, DoorConfig, DoorPolicy
from actors.ebook_kiosk import EbookKiosk, EbookKioskConfig
from actors.fridge import Fridge, FridgeConfig
from actors.lights import Lights, LightsConfig
from actors.locker_bank import LockerBank, LockerBankConfig
from actors.microwave import Microwave, MicrowaveConfig
from actors.screen import ScreenConfig
from actors.seat import Seat, SeatConfig
from actors.toilet import Toilet, ToiletConfig
from actors.water_dispenser import WaterDispenser, WaterDispenserConfig


class Label(NamedTuple):
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class DeviceKind:
    simulated: type[Device]
    """The device with its physics: what a simulation and the emulator host."""
    config: type[Any]
    """A frozen dataclass; station files are validated against its fields."""
    serves_workers: bool
    reports: type[c.Schema]
    """What the device says on its ``state`` topic, every field optional (a report may carry only what changed)."""
    label: Label
    obeys: type[c.Schema] | None = None
    """What a command to it may set; None: it takes no commands (an AED, a seat)."""
    policy: type[Device] = Device
    """What live mode hosts; the simulated class is always a subclass of it."""
    actions: frozenset[str] = frozenset()
    """Settable fields that are things to do, not a state to reach (a door letting one through, forgetting a face): a
    command of only these is done when the device acknowledges it, not when a report matches it."""


DEVICE_KINDS: dict[str, DeviceKind] = {
    "microwave": DeviceKind(Microwave, MicrowaveConfig, True, c.MicrowaveState, Label("微波炉", "Microwave")),
    "water_dispenser": DeviceKind(WaterDispenser, WaterDispenserConfig, True, c.WaterDispenserState, Label("直饮机", "Water dispenser")),
    "coffee_machine": DeviceKind(CoffeeMachine, CoffeeMachineConfig, True, c.CoffeeMachineState, Label("咖啡机", "Coffee machine")),
    "seat": DeviceKind(Seat, SeatConfig, True, c.QueueState, Label("座位", "Seats")),
    "toilet": DeviceKind(Toilet, ToiletConfig, True, c.QueueState, Label("卫生间", "Toilets")),
    "charging_point": DeviceKind(ChargingPoint, ChargingPointConfig, True, c.QueueState, Label("手机充电", "Phone charging")),
    "locker_bank": DeviceKind(LockerBank, LockerBankConfig, True, c.LockerBankState, Label("储物柜", "Lockers")),
    "battery_cabinet": DeviceKind(
        BatteryCabinet, BatteryCabinetConfig, True, c.BatteryCabinetState, Label("换电柜", "Battery-swap cabinet")
    ),
    "fridge": DeviceKind(Fridge, FridgeConfig, True, c.FridgeState, Label("冰箱", "Fridge"), obeys=c.FridgeSet),
    "ebook_kiosk": DeviceKind(EbookKiosk, EbookKioskConfig, True, c.QueueState, Label("电子书借阅机", "E-book kiosk")),
    "air_conditioner": DeviceKind(
        AirConditioner,
        AirConditionerConfig,
        False,
        c.AirConditionerState,
        Label("空调", "Air conditioning"),
        obeys=c.AirConditionerSet,
        policy=AirConditionerPolicy,
    ),
    "lights": DeviceKind(Lights, LightsConfig, False, c.LightsState, Label("照明", "Lights"), obeys=c.LightsSet),
    "door": DeviceKind(
        Door,
        DoorConfig,
        False,
        c.DoorState,
        Label("智能门禁", "Smart door"),
        obeys=c.DoorSet,
        policy=DoorPolicy,
        actions=frozenset({"open", "forget_face"}),
    ),
    "aed": DeviceKind(Aed, AedConfig, False, c.AedState, Label("除颤仪", "AED")),
    "camera": DeviceKind(CameraPolicy, CameraConfig, False, c.CameraState, Label("摄像头", "Camera"), policy=CameraPolicy),
    "screen": DeviceKind(Device, ScreenConfig, False, c.ScreenState, Label("信息屏", "Screen"), obeys=c.ScreenSet),
    "tv": DeviceKind(Device, ScreenConfig, False, c.ScreenState, Label("电视", "TV"), obeys=c.ScreenSet),
}
