"""The bridge against real brokers: state in, commands out, acks, failures, availability, garbage."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hardware_bridge import topics
from hardware_bridge.bridge import Bridge
from hardware_bridge.clock import wall_clock
from hardware_bridge.emulator import EmulatedDevice, Faults
from hardware_bridge.errors import BridgeError, PayloadError
from hardware_bridge.mqtt import BrokerConfig
from hardware_bridge.topics import Channel
from tests.hardware_bridge.conftest import wait_for
from twin.entity import CommandState, Twin

DEVICES = {"lights": "lights", "ac": "air_conditioner", "fridge": "fridge"}


def bridge_for(station: str, broker: BrokerConfig, **kwargs: float) -> Bridge:
    return Bridge(station, DEVICES, broker, wall_clock(), **kwargs).start()


def reported(bridge: Bridge, device: str) -> dict[str, object]:
    return bridge.read(lambda twin: dict(twin.entity(device).reported))  # type: ignore[no-any-return]


def command_state(bridge: Bridge, command_id: str) -> CommandState | None:
    def state(twin: Twin) -> CommandState | None:
        command = twin.commands.get(command_id)
        return command.state if command else None

    return bridge.read(state)  # type: ignore[no-any-return]


def test_state_and_availability_reach_the_twin(broker: BrokerConfig, station: str) -> None:
    bridge = bridge_for(station, broker)
    lights = EmulatedDevice(station, "lights", "lights", broker, state={"on": False, "power_w": 0}).start()
    try:
        wait_for(lambda: reported(bridge, "lights") == {"on": False, "power_w": 0}, what="the first report")
        wait_for(lambda: bridge.read(lambda t: t.entity("lights").available), what="lights online")
        lights.update({"on": True, "power_w": 320})
        wait_for(lambda: reported(bridge, "lights").get("on") is True, what="the change")
        assert bridge.rejected == {}
    finally:
        lights.stop()
        bridge.stop()


def test_a_command_is_acknowledged_and_desired_cleared(broker: BrokerConfig, station: str) -> None:
    bridge = bridge_for(station, broker)
    ac = EmulatedDevice(station, "ac", "air_conditioner", broker, state={"on": False, "mode": "off", "setpoint_c": 26}).start()
    try:
        wait_for(lambda: reported(bridge, "ac").get("mode") == "off", what="the AC's first report")
        command = bridge.command("ac", {"on": True, "mode": "cool", "setpoint_c": 25}, by="custodian")
        wait_for(lambda: command_state(bridge, command) is CommandState.ACKED, what="the ack")
        wait_for(lambda: reported(bridge, "ac").get("setpoint_c") == 25, what="the AC to report the setpoint")
        assert bridge.read(lambda t: t.entity("ac").desired) == {}
    finally:
        ac.stop()
        bridge.stop()


def test_no_ack_means_a_failed_command(broker: BrokerConfig, station: str) -> None:
    bridge = bridge_for(station, broker, ack_timeout_s=1.0)
    lights = EmulatedDevice(station, "lights", "lights", broker, state={"on": False}, faults=Faults(drop_acks=True)).start()
    try:
        wait_for(lambda: "on" in reported(bridge, "lights"), what="the first report")
        command = bridge.command("lights", {"on": True}, by="automation")
        wait_for(lambda: command_state(bridge, command) is CommandState.FAILED, timeout_s=5, what="the command to fail")
        assert bridge.read(lambda t: t.entity("lights").desired) == {}
    finally:
        lights.stop()
        bridge.stop()


def test_a_change_at_the_device_wins(broker: BrokerConfig, station: str) -> None:
    bridge = bridge_for(station, broker)
    lights = EmulatedDevice(station, "lights", "lights", broker, state={"on": False}).start()
    try:
        wait_for(lambda: "on" in reported(bridge, "lights"), what="the first report")
        command = bridge.command("lights", {"on": True}, by="automation")
        wait_for(lambda: command_state(bridge, command) is CommandState.ACKED, what="the ack")
        wait_for(lambda: reported(bridge, "lights").get("on") is True, what="lights on")
        lights.press({"on": False})
        wait_for(lambda: reported(bridge, "lights").get("on") is False, what="the wall switch")
        assert bridge.read(lambda t: t.entity("lights").desired) == {}
    finally:
        lights.stop()
        bridge.stop()


def test_a_device_that_drops_off_goes_unavailable(broker: BrokerConfig, station: str) -> None:
    bridge = bridge_for(station, broker)
    fridge = EmulatedDevice(station, "fridge", "fridge", broker, state={"temp_c": 4.0}).start()
    try:
        wait_for(lambda: bridge.read(lambda t: t.entity("fridge").available) is True, what="fridge online")
        fridge.drop_off()
        wait_for(lambda: bridge.read(lambda t: t.entity("fridge").available) is False, timeout_s=90, what="the last will")
    finally:
        bridge.stop()


def test_silence_makes_a_device_unavailable(station: str) -> None:
    """Silence is the twin's own rule, checked by the bridge's loop: no broker needed to see it."""
    twin = Twin(station)
    twin.add("fridge", "fridge", {"report_interval_s": 0.2})
    twin.report("fridge", 0.0, {"temp_c": 4.0})
    twin.set_availability("fridge", 0.0, True, "reporting")
    assert [e.id for e in twin.silent(0.7, intervals=3)] == ["fridge"]


def test_commands_are_checked_before_they_leave(broker: BrokerConfig, station: str) -> None:
    bridge = bridge_for(station, broker)
    try:
        with pytest.raises(PayloadError, match="setpoint_c"):
            bridge.command("ac", {"setpoint_c": 40}, by="op")
        with pytest.raises(PayloadError, match="command to fridge: on: Extra inputs are not permitted"):
            bridge.command("fridge", {"on": True}, by="op")
        with pytest.raises(BridgeError, match="no device 'oven'"):
            bridge.command("oven", {"on": True}, by="op")
    finally:
        bridge.stop()


garbage = st.one_of(
    st.binary(max_size=300),
    st.dictionaries(st.text(max_size=10), st.one_of(st.integers(), st.text(max_size=20), st.none(), st.floats()), max_size=5).map(
        lambda d: json.dumps(d).encode()
    ),
    st.builds(lambda v: json.dumps({"v": 1, "ts": 1.0, "state": {"on": v}}).encode(), st.one_of(st.integers(2, 9), st.text(max_size=5))),
    st.just(b"{" * 70_000),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payloads=st.lists(garbage, min_size=1, max_size=5), where=st.sampled_from(["state", "ack", "event", "availability", "bogus"]))
def test_garbage_is_counted_and_never_stops_the_bridge(
    embedded_bridge: tuple[Bridge, EmulatedDevice], payloads: list[bytes], where: str
) -> None:
    bridge, lights = embedded_bridge
    before = sum(bridge.rejected.values())
    target = f"yxy/{bridge.station}/lights/lights/{where}" if where != "bogus" else f"yxy/{bridge.station}/oven/x1/state"
    for payload in payloads:
        lights.mqtt.publish(target, payload, qos=1)
    flag = not reported(bridge, "lights").get("on", False)
    lights.update({"on": flag})
    wait_for(lambda: reported(bridge, "lights").get("on") is flag, what="a good report after the garbage")
    rejected = sum(bridge.rejected.values()) - before
    assert rejected <= len(payloads)
    if where == "bogus":
        assert rejected == len(payloads), "a device the station does not have is never applied"
    assert rejected >= sum(1 for p in payloads if p.startswith(b"{{")), "oversized payloads are rejected"


@pytest.fixture(scope="module")
def embedded_bridge() -> object:
    from hardware_bridge.broker import EmbeddedBroker
    from tests.hardware_bridge.conftest import free_port

    with EmbeddedBroker(port=free_port()) as embedded:
        config = BrokerConfig.from_url(embedded.url)
        station = "garbage"
        bridge = bridge_for(station, config)
        lights = EmulatedDevice(station, "lights", "lights", config, state={"on": False}).start()
        wait_for(lambda: "on" in reported(bridge, "lights"), what="the first report")
        yield bridge, lights
        lights.stop()
        bridge.stop()


def test_topic_contract() -> None:
    assert topics.topic("yunting", "lights", "hall-1", Channel.SET) == "yxy/yunting/lights/hall-1/set"
    parsed = topics.parse("yxy/yunting/lights/hall-1/state", "yunting")
    assert (parsed.kind, parsed.device, parsed.channel) == ("lights", "hall-1", Channel.STATE)
    for bad in ("yxy/yunting/lights/hall-1", "yxy/other/lights/x/state", "yxy/yunting/lights/a+b/state", "yxy/yunting/lights/x/reboot"):
        with pytest.raises(BridgeError):
            topics.parse(bad, "yunting")
    with pytest.raises(BridgeError):
        topics.topic("yunting", "lights", "hall/1", Channel.SET)
