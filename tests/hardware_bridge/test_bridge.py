"""The bridge against real brokers: state in, commands out, acks, failures, availability, garbage."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.actor import Device
from actors.bounds import MOST_INSIDE
from actors.message import DeviceCommand
from actors.microwave import MicrowaveConfig
from hardware_bridge import payloads, topics
from hardware_bridge.bridge import Bridge, RejectionLog
from hardware_bridge.clock import wall_clock
from hardware_bridge.emulator import EmulatedDevice, Faults
from hardware_bridge.errors import BridgeError, PayloadError
from hardware_bridge.loop import Incoming
from hardware_bridge.mqtt import BrokerConfig, MqttClient
from hardware_bridge.topics import Channel
from tests.hardware_bridge.conftest import free_port, wait_for
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


def test_a_spray_of_garbage_is_counted_whole_but_logged_a_line_per_reason(
    embedded_bridge: tuple[Bridge, EmulatedDevice], caplog: pytest.LogCaptureFixture
) -> None:
    bridge, lights = embedded_bridge
    before = sum(bridge.rejected.values())
    with caplog.at_level(logging.WARNING, logger="hardware_bridge.bridge"):
        for n in range(300):
            lights.mqtt.publish(f"yxy/{bridge.station}/oven/x{n % 7}/state", b"not json", qos=1)
        wait_for(lambda: sum(bridge.rejected.values()) - before >= 300 or False, timeout_s=30, what="every piece of garbage counted")
    lines = [r for r in caplog.records if r.getMessage().startswith("rejected (")]
    # at most a line per reason per 10 s, not one per message (none if the tests before logged this reason just now)
    assert len(lines) <= 2, [r.getMessage() for r in lines]


def test_the_rejection_log_says_how_many_it_left_out(caplog: pytest.LogCaptureFixture) -> None:
    log = RejectionLog(every_s=10.0)
    with caplog.at_level(logging.WARNING, logger="hardware_bridge.bridge"):
        for t in range(25):
            log.log("PayloadError", f"bad payload {t}", now=float(t))
    assert [r.getMessage() for r in caplog.records] == [
        "rejected (PayloadError): bad payload 0",
        "rejected (PayloadError): bad payload 10 (and 9 more like it in the last 10 s)",
        "rejected (PayloadError): bad payload 20 (and 9 more like it in the last 10 s)",
    ]


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


def test_integrators_read_the_whole_state_and_each_commands_fate(broker: BrokerConfig, station: str) -> None:
    """A device reporting only what changed still leaves its whole state retained on ``twin``; a command's fate goes to
    ``bridge/result`` with its id and who asked."""
    heard: list[tuple[str, bytes, bool]] = []
    integrator = MqttClient(broker, f"integrator-{station}", lambda t, p, r: heard.append((t, p, r)))
    integrator.subscribe(topics.bridge_result(station))
    integrator.subscribe(topics.twin_topic(station, "air_conditioner", "ac"))
    integrator.start()
    bridge = bridge_for(station, broker)
    lights = EmulatedDevice(station, "lights", "lights", broker, state={"on": False, "power_w": 0.0}).start()
    ac_state = topics.topic(station, "air_conditioner", "ac", Channel.STATE)
    try:
        assert integrator.wait_connected(10)
        for partial in ({"on": True, "mode": "cool"}, {"setpoint_c": 26.0}, {"indoor_temp_c": 29.5}):
            lights.mqtt.publish(ac_state, payloads.state_payload(1.0, partial), qos=1)  # the AC speaks only of changes
        wait_for(lambda: "indoor_temp_c" in reported(bridge, "ac"), what="the AC's partial reports")
        twin_topic = topics.twin_topic(station, "air_conditioner", "ac")
        whole = {"on": True, "mode": "cool", "setpoint_c": 26.0, "indoor_temp_c": 29.5}
        wait_for(lambda: any(t == twin_topic and json.loads(p)["state"] == whole for t, p, _ in heard), what="the whole state published")
        command = bridge.command("lights", {"on": True}, by="custodian", command_id="shift-7")
        wait_for(lambda: any(t == topics.bridge_result(station) for t, _, _ in heard), what="the command's fate")
        fate = json.loads(next(p for t, p, _ in heard if t == topics.bridge_result(station)))
        assert fate == {"v": 1, "id": command, "device": "lights", "by": "custodian", "ok": True, "error": None, "set": {"on": True}}

        def fate_of(command_id: str) -> dict[str, object] | None:
            fates = [json.loads(p) for t, p, _ in list(heard) if t == topics.bridge_result(station)]
            return next((f for f in fates if f["id"] == command_id), None)

        # Through the bridge's command topic, with no Home Assistant discovery: done, or refused with the reason why.
        command_topic = f"yxy/{station}/bridge/command"
        integrator.publish(command_topic, json.dumps({"device": "lights", "set": {"on": False}, "by": "bms", "id": "bms-1"}))
        integrator.publish(command_topic, json.dumps({"device": "nope", "set": {"on": True}, "by": "bms", "id": "bms-2"}))
        wait_for(lambda: fate_of("bms-1") is not None and fate_of("bms-2") is not None, what="both fates")
        assert fate_of("bms-1") == {"v": 1, "id": "bms-1", "device": "lights", "by": "bms", "ok": True, "error": None, "set": {"on": False}}
        refused = fate_of("bms-2")
        assert refused is not None and refused["ok"] is False and "no device 'nope'" in str(refused["error"])

        late: list[tuple[str, bytes, bool]] = []
        reader = MqttClient(broker, f"late-{station}", lambda t, p, r: late.append((t, p, r)))
        reader.subscribe(topics.twin_topic(station, "air_conditioner", "ac"))
        reader.start()
        try:
            # a newcomer gets it retained (amqtt delivers the odd topic nobody asked for, hence the topic check)
            wait_for(lambda: any(t == twin_topic and json.loads(p)["state"] == whole for t, p, r in late if r), what="the whole state")
        finally:
            reader.close()
    finally:
        integrator.close()
        lights.stop()
        bridge.stop()


def test_a_set_sent_straight_to_a_device_is_a_change_at_the_device(broker: BrokerConfig, station: str) -> None:
    """An integrator the broker lets command a device directly: recorded as such, its ack expected, nothing failed."""
    bridge = bridge_for(station, broker)
    lights = EmulatedDevice(station, "lights", "lights", broker, state={"on": False}).start()
    other = MqttClient(broker, f"other-{station}", lambda *_: None)
    other.start()
    try:
        wait_for(lambda: "on" in reported(bridge, "lights"), what="the first report")
        assert other.wait_connected(10)
        other.publish(topics.topic(station, "lights", "lights", Channel.SET), payloads.set_payload("wall-panel-1", {"on": True}), qos=1)
        wait_for(lambda: reported(bridge, "lights").get("on") is True, what="the lights switched by the integrator")

        def events() -> list[str]:
            return bridge.read(lambda t: [c.name for c in t.feed.since(0) if c.entity_id == "lights" and c.name.startswith("set_at")])

        wait_for(lambda: events() == ["set_at_device", "set_at_device_acked"], what="the direct command and its ack recorded")
        assert bridge.rejected == {}, "neither the command nor its ack is an error"
        assert bridge.read(lambda t: dict(t.commands)) == {}, "not one of the bridge's commands"
    finally:
        other.close()
        lights.stop()
        bridge.stop()


def test_a_retained_set_is_never_carried_out_and_is_cleared(broker: BrokerConfig, station: str) -> None:
    """A command left retained on a device's topic (planted, or by a misconfigured integrator) runs neither at the device
    nor through the bridge, and the bridge clears it."""
    set_topic = topics.topic(station, "lights", "lights", Channel.SET)
    planter = MqttClient(broker, f"planter-{station}", lambda *_: None)
    planter.start()
    assert planter.wait_connected(10)
    planter.publish(set_topic, payloads.set_payload("planted-1", {"on": True}), qos=1, retain=True).wait_for_publish(5)
    planter.close()
    lights = EmulatedDevice(station, "lights", "lights", broker, state={"on": False}).start()
    bridge = bridge_for(station, broker)
    try:
        # amqtt may hand the retained copy over twice (on subscribe and with the resumed session): refused each time.
        wait_for(lambda: bridge.rejected.get("RetainedCommandError", 0) >= 1, what="the retained command refused")
        assert bridge.read(lambda t: dict(t.commands)) == {}, "the bridge ran nothing"
        wait_for(lambda: "on" in reported(bridge, "lights"), what="the first report")
        assert reported(bridge, "lights")["on"] is False, "the device did not carry it out"
        state_topic = topics.topic(station, "lights", "lights", Channel.STATE)

        def a_newcomer_finds_no_command() -> bool:
            """The clear travels on the bridge's connection, the newcomer's subscription on its own: no order between them."""
            seen: list[tuple[str, bytes]] = []
            newcomer = MqttClient(broker, f"newcomer-{station}", lambda t, p, _r: seen.append((t, p)))
            newcomer.subscribe(set_topic)
            newcomer.subscribe(state_topic)
            newcomer.start()
            try:
                wait_for(lambda: any(t == state_topic for t, _ in list(seen)), what="the retained state (the retained ones came)")
                return not [p for t, p in seen if t == set_topic and p]
            finally:
                newcomer.close()

        wait_for(a_newcomer_finds_no_command, what="the retained command cleared")
    finally:
        lights.stop()
        bridge.stop()


@settings(max_examples=60, deadline=None)
@given(units=st.integers(1, 30), places=st.none() | st.integers(0, 50), busy=st.integers(0, 100_000), queue=st.integers(0, 100_000))
def test_a_report_is_taken_exactly_when_the_device_could_have_it(units: int, places: int | None, busy: int, queue: int) -> None:
    """busy at most the units, queue at most the places (or the most people inside): a lie is refused, the truth taken."""
    config = MicrowaveConfig(units=units, queue_limit=places)
    bridge = Bridge("limits", {"m": "microwave"}, BrokerConfig(port=free_port()), wall_clock(), actors={"m": (Device, config)})
    try:
        possible = busy <= units and queue <= (MOST_INSIDE if places is None else places)
        report = payloads.state_payload(1.0, {"busy": busy, "queue": queue})
        bridge.loop.submit(Incoming("yxy/limits/microwave/m/state", report, False, 0.0))
        bridge.loop.step()
        assert bridge.rejected == ({} if possible else {"OutOfRangeError": 1})
        assert reported(bridge, "m") == ({"busy": busy, "queue": queue} if possible else {})
    finally:
        bridge.binding.stop_all()


class _Wary(Device):
    """A policy that will not let strangers switch the lights, and dims what it does let through."""

    def receive(self, message: object) -> None:
        if isinstance(message, DeviceCommand) and message.by.startswith("stranger"):
            return  # refused: nothing goes out
        super().receive(message)

    def shape(self, command: DeviceCommand) -> dict[str, object]:
        return {**command.fields, "brightness_pct": 40.0} if command.fields.get("on") else dict(command.fields)


@settings(max_examples=40, deadline=None)
@given(asks=st.lists(st.tuples(st.sampled_from(["custodian", "stranger:1"]), st.booleans()), min_size=1, max_size=8))
def test_each_command_is_sent_as_its_actor_shaped_it_or_refused_by_it(asks: list[tuple[str, bool]]) -> None:
    """Which command a ``set`` carries out is data (the actuation names it): refused ones fail as refused, the others
    go out (here to a broker that is not there, so they fail as not sent) with the fields the actor chose."""
    bridge = Bridge("wary", {"lights": "lights"}, BrokerConfig(port=free_port()), wall_clock(), actors={"lights": (_Wary, None)})
    try:
        ids = [bridge.command("lights", {"on": on}, by=by) for by, on in asks]
        for _ in ids:
            bridge.loop.step()
        for command_id, (by, on) in zip(ids, asks, strict=True):
            command = bridge.twin.commands[command_id]
            assert command.state is CommandState.FAILED
            if by.startswith("stranger"):
                assert (command.error, command.sent_at) == ("refused by the device's actor", None)
            else:
                assert command.error == "the bridge is offline: the command was not sent"
                assert command.fields == ({"on": True, "brightness_pct": 40.0} if on else {"on": False})
    finally:
        bridge.binding.stop_all()
