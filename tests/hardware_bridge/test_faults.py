"""Faults on the wire: a broker restarted mid-stream, slow and stuck devices."""

from __future__ import annotations

from hardware_bridge.bridge import Bridge
from hardware_bridge.clock import wall_clock
from hardware_bridge.emulator import EmulatedDevice, Faults
from hardware_bridge.mqtt import BrokerConfig
from tests.hardware_bridge.conftest import PrivateMosquitto, wait_for
from tests.hardware_bridge.test_bridge import DEVICES, command_state, reported
from twin.entity import CommandState


def test_broker_restart_mid_stream(private_mosquitto: PrivateMosquitto, station: str) -> None:
    """Every command is acknowledged or reported failed; devices go unavailable and come back."""
    config = BrokerConfig("127.0.0.1", private_mosquitto.port, protocol="5")
    bridge = Bridge(station, DEVICES, config, wall_clock(), ack_timeout_s=2.0, silence_intervals=2, report_interval_s=0.5).start()
    lights = EmulatedDevice(station, "lights", "lights", config, report_interval_s=0.5, state={"on": False}).start()
    try:
        wait_for(lambda: bridge.read(lambda t: t.entity("lights").available) is True, what="lights online")
        before = bridge.command("lights", {"on": True}, by="op")
        wait_for(lambda: command_state(bridge, before) is CommandState.ACKED, what="the first ack")

        private_mosquitto.stop()
        wait_for(lambda: not bridge.mqtt.connected, what="the bridge to notice")
        during = bridge.command("lights", {"on": False}, by="op")  # sent into the void
        wait_for(lambda: command_state(bridge, during) is CommandState.FAILED, timeout_s=10, what="the lost command to fail")
        wait_for(lambda: bridge.read(lambda t: t.entity("lights").available) is False, timeout_s=10, what="silence")

        private_mosquitto.start()
        wait_for(lambda: bridge.mqtt.connected and lights.mqtt.connected, timeout_s=30, what="both to reconnect")
        wait_for(lambda: bridge.read(lambda t: t.entity("lights").available) is True, timeout_s=10, what="lights back")
        after = bridge.command("lights", {"on": False}, by="op")
        wait_for(lambda: command_state(bridge, after) is CommandState.ACKED, timeout_s=10, what="an ack after the restart")
        states = [bridge.read(lambda t, c=c: t.commands[c].state) for c in (before, during, after)]
        assert all(s in (CommandState.ACKED, CommandState.FAILED) for s in states), states
        wait_for(lambda: reported(bridge, "lights").get("on") is False, what="the lights off")
    finally:
        lights.stop()
        bridge.stop()


def test_slow_and_stuck_devices(private_mosquitto: PrivateMosquitto, station: str) -> None:
    config = BrokerConfig("127.0.0.1", private_mosquitto.port, protocol="3.1.1")
    bridge = Bridge(station, DEVICES, config, wall_clock(), ack_timeout_s=1.0).start()
    slow = EmulatedDevice(station, "lights", "lights", config, state={"on": False}, faults=Faults(ack_delay_s=2.0)).start()
    stuck = EmulatedDevice(station, "ac", "air_conditioner", config, state={"mode": "off"}, faults=Faults(stuck=True)).start()
    try:
        wait_for(lambda: "on" in reported(bridge, "lights") and "mode" in reported(bridge, "ac"), what="first reports")
        late = bridge.command("lights", {"on": True}, by="op")
        wait_for(lambda: command_state(bridge, late) is CommandState.FAILED, timeout_s=5, what="the slow ack to be too late")
        ignored = bridge.command("ac", {"mode": "cool"}, by="op")
        wait_for(lambda: command_state(bridge, ignored) is CommandState.ACKED, what="the stuck AC to ack")
        stuck.publish_state()  # it still says off after taking the command: changed back at the device
        wait_for(lambda: bridge.read(lambda t: t.entity("ac").desired) == {}, what="desired to give way")
        assert reported(bridge, "ac")["mode"] == "off"
    finally:
        slow.stop()
        stuck.stop()
        bridge.stop()


def test_an_ack_waiting_behind_a_stalled_loop_was_in_time() -> None:
    """The loop fell 3 s behind (a slow database, say); the device's report and ack arrived in time and wait in
    its queue. Deadlines are judged by arrival: the command is acknowledged, not failed."""
    from datetime import UTC, datetime

    from hardware_bridge import payloads
    from hardware_bridge.loop import Incoming
    from twin.clock import Clock

    now = [0.0]
    bridge = Bridge(
        "stalled", {"lights": "lights"}, BrokerConfig("127.0.0.1", 1), Clock(datetime.now(UTC), lambda: now[0]), ack_timeout_s=1.0
    )
    bridge.twin.desire("lights", 0.0, {"on": True}, "c1", "op", 1.0)
    state = payloads.state_payload(0.0, {"on": True})
    bridge.loop.submit(Incoming("yxy/stalled/lights/lights/state", state, False, 0.2))
    bridge.loop.submit(Incoming("yxy/stalled/lights/lights/ack", payloads.ack_payload("c1", True), False, 0.3))
    now[0] = 3.0  # the loop comes back
    bridge.loop.step()  # the report; the ack is still queued: nothing that arrived in time may be failed
    assert bridge.twin.commands["c1"].state is CommandState.PENDING
    bridge.loop.step()  # the ack
    assert bridge.twin.commands["c1"].state is CommandState.ACKED
    bridge.check_deadlines(bridge.twin, now[0])
    assert bridge.twin.commands["c1"].state is CommandState.ACKED
