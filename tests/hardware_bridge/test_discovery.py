"""Home Assistant discovery: configs announced (and again when HA returns), HA's switch goes through the bridge."""

from __future__ import annotations

import json

import pytest

from hardware_bridge.bridge import Bridge
from hardware_bridge.clock import wall_clock
from hardware_bridge.discovery import STATUS_TOPIC, command_topic, device_config, parse_command
from hardware_bridge.emulator import EmulatedDevice
from hardware_bridge.errors import PayloadError
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
    assert (
        config["availability"]
        == [
            {"topic": "yxy/yunting/air_conditioner/ac/availability"},
            {"topic": "yxy/yunting/bridge/availability"},
        ]
        and config["availability_mode"] == "all"
    ), "unavailable when the device or the bridge is down"
    assert all(c["qos"] == 1 for c in components.values()), "Home Assistant takes qos only per component"
    assert components["energy_kwh"]["state_class"] == "total_increasing"
    assert components["indoor_temp_c"]["state_class"] == "measurement"
    assert "state_class" not in components["mode"], "Home Assistant refuses a state class on text (seen with 2025.4)"
    assert '"by": "home_assistant"' in components["switch"]["command_template"]
    assert "switch" not in device_config("yunting", "fridge", "fridge", "Fridge", "0.1.0")["cmps"]
    aed = device_config("yunting", "aed", "aed", "AED", "0.1.0")["cmps"]
    assert "state_class" not in aed["pads_expiry"], "a date has no statistics"
    assert "is defined else 'None'" in aed["self_test_ok"]["value_template"], "a missing field is unknown, never false"
    door = device_config("yunting", "door", "door", "Door", "0.1.0")["cmps"]
    assert door["entries"]["state_class"] == "total_increasing"


def test_bridge_commands_carry_who_and_an_id() -> None:
    assert parse_command(b'{"device": "lights", "set": {"on": true}}') == ("lights", {"on": True}, "mqtt", None)
    attributed = parse_command(b'{"device": "lights", "set": {"on": true}, "by": "home_assistant", "id": "ha-1"}')
    assert attributed[2:] == ("home_assistant", "ha-1")
    for bad in (
        b'{"device": "l", "set": {}, "by": "a b"}',
        b'{"device": "l", "set": {}, "id": "x/y"}',
        b'{"device": "l", "set": {}, "by": 3}',
    ):
        with pytest.raises(PayloadError):
            parse_command(bad)


def test_home_assistant_sees_the_station_and_switches_the_lights(
    broker: BrokerConfig, station: str, request: pytest.FixtureRequest
) -> None:
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
        home_assistant.publish(command_topic(station), json.dumps({"device": "lights", "set": {"on": True}, "by": "home_assistant"}))

        def by_home_assistant() -> CommandState | None:
            ids = bridge.read(lambda t: [c.id for c in t.commands.values() if c.by == "home_assistant"])
            return command_state(bridge, ids[0]) if ids else None

        wait_for(lambda: by_home_assistant() is CommandState.ACKED, what="Home Assistant's command acknowledged")
        home_assistant.publish(command_topic(station), json.dumps({"device": "lights", "set": {"on": False}, "id": "int-7"}))
        wait_for(lambda: command_state(bridge, "int-7") is CommandState.ACKED, what="an integrator's command, by its own id")
        assert bridge.read(lambda t: t.commands["int-7"].by) == "mqtt", "unattributed is recorded as mqtt, not Home Assistant"
        bridge.stop()  # a command left retained while the bridge is away must not run when it comes back
        home_assistant.publish(command_topic(station), json.dumps({"device": "lights", "set": {"on": True}}), retain=True)
        bridge = Bridge(station, {"lights": "lights", "fridge": "fridge"}, broker, wall_clock(), discovery=True).start()
        restarted = bridge
        wait_for(lambda: restarted.rejected.get("RetainedCommandError", 0) >= 1, what="a retained command refused")
        # Mosquitto also queued it for the bridge's persistent session and hands it over once on reconnect (the embedded
        # broker keeps no session across this restart): at most once, and the retained copy is never run again.
        executed = bridge.read(lambda t: len(t.commands))
        if executed > 1 and "embedded" in request.node.name:
            pytest.xfail("open: amqtt may hand a retained message over without its retain flag, so the bridge ran it")
        assert executed <= 1, "the retained copy is not executed"
        home_assistant.publish(command_topic(station), b"not json")
        home_assistant.publish(command_topic(station), json.dumps({"device": "fridge", "set": {"on": True}}))
        wait_for(lambda: sum(bridge.rejected.values()) >= 2, what="bad commands from Home Assistant refused")
    finally:
        home_assistant.close()
        lights.stop()
        bridge.stop()


def test_a_huge_or_deeply_nested_bridge_command_is_one_clear_refusal() -> None:
    for payload, words in (
        (b'{"device": "lights", "set": {"on": true}, "pad": "' + b"x" * 70_000 + b'"}', "over the 65536-byte limit"),
        (b"[" * 20_000 + b"]" * 20_000, "nested too deeply"),
    ):
        with pytest.raises(PayloadError, match=words):
            parse_command(payload)
