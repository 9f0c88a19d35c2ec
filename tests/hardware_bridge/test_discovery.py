"""Home Assistant discovery: configs announced (and again when HA returns), HA's switch goes through the bridge."""

from __future__ import annotations

import json

from hardware_bridge.bridge import Bridge
from hardware_bridge.clock import wall_clock
from hardware_bridge.discovery import STATUS_TOPIC, command_topic, device_config
from hardware_bridge.emulator import EmulatedDevice
from hardware_bridge.mqtt import BrokerConfig, MqttClient
from tests.hardware_bridge.conftest import wait_for
from tests.hardware_bridge.test_bridge import command_state
from twin.entity import CommandState


def test_configs_describe_fields_with_units_and_a_switch() -> None:
    config = device_config("yunting", "ac", "air_conditioner", "空调 AC", "0.1.0")
    components = config["cmps"]
    assert components["indoor_temp_c"]["unit_of_measurement"] == "°C"
    assert components["indoor_temp_c"]["device_class"] == "temperature"
    assert components["on"]["p"] == "binary_sensor"
    assert components["switch"]["command_topic"] == "yxy/yunting/bridge/command"
    assert '"device": "ac"' in components["switch"]["command_template"]
    assert config["availability_topic"] == "yxy/yunting/air_conditioner/ac/availability"
    assert "switch" not in device_config("yunting", "fridge", "fridge", "Fridge", "0.1.0")["cmps"]


def test_home_assistant_sees_the_station_and_switches_the_lights(broker: BrokerConfig, station: str) -> None:
    bridge = Bridge(station, {"lights": "lights", "fridge": "fridge"}, broker, wall_clock(), discovery=True).start()
    lights = EmulatedDevice(station, "lights", "lights", broker, state={"on": False}).start()
    seen: list[tuple[str, dict[str, object]]] = []

    def heard(topic: str, payload: bytes, _retained: bool) -> None:
        if f"/yxy_{station}_" in topic:  # other tests' stations share the broker
            seen.append((topic, json.loads(payload)))

    home_assistant = MqttClient(broker, f"ha-{station}", heard)
    home_assistant.subscribe("homeassistant/device/+/config")
    home_assistant.start()
    try:
        wait_for(lambda: len({t for t, _ in seen}) == 2, what="both device configs")
        announced = len(seen)
        home_assistant.publish(STATUS_TOPIC, "online")
        wait_for(lambda: len(seen) >= announced + 2, what="configs sent again when Home Assistant returns")
        wait_for(lambda: "on" in bridge.read(lambda t: t.entity("lights").reported), what="lights report")
        home_assistant.publish(command_topic(station), json.dumps({"device": "lights", "set": {"on": True}}))

        def by_home_assistant() -> CommandState | None:
            ids = bridge.read(lambda t: [c.id for c in t.commands.values() if c.by == "home_assistant"])
            return command_state(bridge, ids[0]) if ids else None

        wait_for(lambda: by_home_assistant() is CommandState.ACKED, what="Home Assistant's command acknowledged")
        home_assistant.publish(command_topic(station), b"not json")
        home_assistant.publish(command_topic(station), json.dumps({"device": "fridge", "set": {"on": True}}))
        wait_for(lambda: sum(bridge.rejected.values()) >= 2, what="bad commands from Home Assistant refused")
    finally:
        home_assistant.close()
        lights.stop()
        bridge.stop()
