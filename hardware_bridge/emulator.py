"""Emulated hardware: every device of a station over the same MQTT contract as the real ones.

Each device has its own connection and last will, publishes its state (retained) on
its report interval and whenever it changes, obeys ``set`` and acknowledges, and can
be told to misbehave (drop off, send garbage, stick, ack slowly or never).  The
station can be driven by a simulated population in real time or faster: the same
actors as the planner's simulation run on a real-time SimPy environment and their
published state becomes the devices' state.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import simpy
import simpy.rt

from actors.message import DeviceCommand
from actors.registry import DEVICE_KINDS
from hardware_bridge import payloads, topics
from hardware_bridge.clock import epoch_s
from hardware_bridge.errors import PayloadError
from hardware_bridge.mqtt import BrokerConfig, MqttClient, Will
from hardware_bridge.security import device_password, device_username
from hardware_bridge.topics import Channel
from scenarios.model import build_station, replication_seed
from scenarios.schema import Scenario
from scenarios.sim import SimBinding
from twin.clock import Clock
from twin.entity import Twin
from twin.feed import STATE, Change

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Faults:
    ack_delay_s: float = 0.0
    """Acknowledge this late (a slow device)."""
    drop_acks: bool = False
    """Never acknowledge (the command must then be reported failed)."""
    stuck: bool = False
    """Acknowledge but do not change (a stuck relay)."""
    garbage_every: int = 0
    """Every Nth state message is garbage instead (a flaky firmware)."""


class EmulatedDevice:
    def __init__(
        self,
        station: str,
        device: str,
        kind: str,
        broker: BrokerConfig,
        report_interval_s: float = 30.0,
        state: Mapping[str, Any] | None = None,
        faults: Faults | None = None,
    ) -> None:
        self.station, self.device, self.kind = station, device, kind
        self.report_interval_s = report_interval_s
        self.faults = faults or Faults()
        self.state: dict[str, Any] = dict(state or {})
        self._reports = frozenset(DEVICE_KINDS[kind].reports.model_fields)
        self.done: list[dict[str, Any]] = []
        """Every command carried out, in order (a test reads what a terminal was told to do)."""
        self.sent = 0
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._pending: set[threading.Timer] = set()
        self.forward: Callable[[str, dict[str, Any]], None] | None = None
        """Set when a simulation plays the device: commands go to it, and it acknowledges."""
        self._availability = topics.topic(station, kind, device, Channel.AVAILABILITY)
        self._state_topic = topics.topic(station, kind, device, Channel.STATE)
        self._ack_topic = topics.topic(station, kind, device, Channel.ACK)
        self.mqtt = MqttClient(
            broker,
            f"yxy-emu-{station}-{device}",
            self._on_message,
            will=Will(self._availability, topics.OFFLINE.encode()),
            on_connected=self._announce,
        )
        self._set_topic = topics.topic(station, kind, device, Channel.SET)
        self.mqtt.subscribe(self._set_topic, qos=1)
        self._reporter = threading.Thread(target=self._report_loop, name=f"emu-{device}", daemon=True)

    def start(self) -> EmulatedDevice:
        self.mqtt.start()
        self._reporter.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        for timer in list(self._pending):
            timer.cancel()
        self.mqtt.close(last_words=(self._availability, topics.OFFLINE.encode()))

    def drop_off(self) -> None:
        """Lose power: the connection dies without a goodbye, so the broker sends the last will."""
        self._stopped.set()
        self.mqtt.abort()

    def update(self, fields: Mapping[str, Any]) -> None:
        """The device's state changed by itself (the simulated station, a sensor)."""
        with self._lock:
            self.state.update(fields)
        self.publish_state()

    def press(self, fields: Mapping[str, Any]) -> None:
        """Someone changed it at the device (the wall switch)."""
        self.update(fields)

    def event(self, name: str, data: Mapping[str, Any]) -> None:
        event_topic = topics.topic(self.station, self.kind, self.device, Channel.EVENT)
        self.mqtt.publish(event_topic, payloads.event_payload(epoch_s(), name, dict(data)))

    def publish_state(self) -> None:
        self.sent += 1
        if self.faults.garbage_every and self.sent % self.faults.garbage_every == 0:
            self.mqtt.publish(self._state_topic, b'{"v": 1, "state": "\xff garbage', qos=1, retain=False)
            return
        with self._lock:
            body = payloads.state_payload(epoch_s(), dict(self.state))
        self.mqtt.publish(self._state_topic, body, qos=1, retain=True)

    def _announce(self) -> None:
        self.mqtt.publish(self._availability, topics.ONLINE, qos=1, retain=True)
        self.publish_state()

    def _report_loop(self) -> None:
        while not self._stopped.wait(self.report_interval_s):
            if self.mqtt.connected:
                self.publish_state()

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        if topic != self._set_topic:
            return  # not ours: a broker under load may deliver what was not asked for (seen with amqtt)
        if not payload:  # the bridge clearing a retained command
            return
        if retained:  # a command left on the broker was meant for an earlier time, or planted
            logger.warning("%s: a retained command is never carried out", self.device)
            return
        try:
            command_id, fields, expires = payloads.parse_set(self.kind, topic, payload)
        except PayloadError as exc:
            logger.warning("%s: bad command: %s", self.device, exc)
            refused = _command_id(payload)
            if refused:
                self.mqtt.publish(self._ack_topic, payloads.ack_payload(refused, False, str(exc)), qos=1)
            return
        if expires is not None and epoch_s() > expires:
            logger.info("%s: command %s expired before it arrived; not carried out", self.device, command_id)
            return
        if self.faults.drop_acks:
            return
        if self.forward is not None and not self.faults.stuck and not self.faults.ack_delay_s:
            self.forward(command_id, fields)
            return
        timer = threading.Timer(self.faults.ack_delay_s, self._obey, (command_id, fields))
        timer.daemon = True
        self._pending.add(timer)
        timer.start()

    def _obey(self, command_id: str, fields: dict[str, Any]) -> None:
        self._pending.difference_update([t for t in self._pending if not t.is_alive() or t is threading.current_thread()])
        if self._stopped.is_set():
            return
        if not self.faults.stuck:
            with self._lock:  # an action (let one through, forget a face) is done, not a state to report
                self.state.update({k: v for k, v in fields.items() if k in self._reports})
                self.done.append(fields)
            self.publish_state()
        self.acknowledge(command_id)

    def acknowledge(self, command_id: str) -> None:
        """Once applied: a later report of another value is then a change made at the device."""
        self.mqtt.publish(self._ack_topic, payloads.ack_payload(command_id, True), qos=1)


def _acknowledge_after(device: EmulatedDevice, command_id: str, _event: simpy.Event) -> None:
    device.acknowledge(command_id)


def _command_id(payload: bytes) -> str | None:
    """The id of a command that failed validation, if it has a usable one, to refuse it by name."""
    try:
        value = json.loads(payload).get("id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and topics.is_id(value) else None


class Emulator:
    """Every device of a scenario's station, optionally driven by its simulated population."""

    def __init__(
        self,
        scenario: Scenario,
        broker: BrokerConfig,
        report_interval_s: float = 30.0,
        faults: Mapping[str, Faults] | None = None,
        secret: bytes | None = None,
    ) -> None:
        """With the station's ``secret`` each device signs in with its own account, as real ones are provisioned."""
        self.scenario = scenario

        def signed_in(device: str) -> BrokerConfig:
            if secret is None:
                return broker
            username = device_username(scenario.station.id, device)
            return dataclasses.replace(broker, username=username, password=device_password(secret, scenario.station.id, device))

        self.devices = {
            d.id: EmulatedDevice(
                scenario.station.id, d.id, d.kind, signed_in(d.id), report_interval_s,
                state={"uses": 0} if "uses" in DEVICE_KINDS[d.kind].reports.model_fields else None, faults=(faults or {}).get(d.id),
            )
            for d in scenario.station.devices
            if not getattr(d.config, "url", "")  # a camera the station watches speaks for itself (vision/agent.py)
        }  # fmt: skip
        self._simulation: threading.Thread | None = None
        self._stopped = threading.Event()
        self.rounds = 0
        """Replications of the scenario played to their horizon so far."""
        self._inside: dict[str, str] = {}
        """Workers the door let in and has not let out: worker -> group."""
        self._commands: queue.Queue[tuple[str, str, dict[str, Any]]] = queue.Queue()

    def start(self, stagger_s: float = 0.02) -> Emulator:
        """Connect the devices one after another, as a station powering up does (and as amqtt copes with)."""
        for device in self.devices.values():
            device.start()
            time.sleep(stagger_s)
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._simulation is not None:
            self._simulation.join(5)
        for device in self.devices.values():
            device.stop()

    def drive(self, speed: float = 1.0, replication: int = 0, start: datetime | None = None) -> threading.Thread:
        """Run the scenario's population in real time (``speed`` times faster) and mirror its devices.

        The simulated devices are the physics: a command that arrives over MQTT is
        handed to the simulated device (every kind that takes commands), which
        acknowledges once it has obeyed.  The
        scenario's own automations stay off here: the live station runs them.  The
        population's clock starts at ``start`` (default: the scenario's start), and
        when the horizon is reached the next replication carries on from there, so an
        emulated station left running never goes quiet.
        """
        for device in self.devices.values():
            if payloads.obeys(device.kind) is not None:
                device.forward = functools.partial(self._queue_command, device.device)
        begin = self.scenario.start if start is None else start
        self._simulation = threading.Thread(target=self._play, args=(speed, replication, begin), name="emulated-population", daemon=True)
        self._simulation.start()
        return self._simulation

    def _play(self, speed: float, replication: int, start: datetime) -> None:
        while not self._stopped.is_set():
            self._round(speed, replication, start).run(self.scenario.horizon_s)
            if self._stopped.is_set():
                return
            self._empty_the_station()
            self.rounds += 1
            replication += 1
            start += timedelta(seconds=self.scenario.horizon_s)

    def _round(self, speed: float, replication: int, start: datetime) -> SimBinding:
        """One replication of the scenario from ``start``, on a real-time SimPy clock, mirrored onto the devices."""
        env = simpy.rt.RealtimeEnvironment(factor=1.0 / speed, strict=False)
        twin = Twin(self.scenario.station.id, retain=0)
        twin.subscribe(self._mirror, names=[STATE])
        twin.subscribe(self._door_log, names=["visit_started", "visit_ended"])
        twin.subscribe(self._count_use, names=["service_started"])
        station = dataclasses.replace(self.scenario.station, automations=None)  # the live station runs them
        scenario = dataclasses.replace(self.scenario, station=station, start=start)
        clock = Clock(start, functools.partial(getattr, env, "now"))
        seed = replication_seed(self.scenario.seed, replication)
        binding = build_station(scenario, SimBinding(env, twin, clock, seed), cameras_see=False)
        door = self.scenario.population.door
        if door in self.devices and self.devices[door].state.get("locked"):  # a new round's door is the same locked door
            binding.send(door, DeviceCommand({"locked": True}, "emulator"), 0.0)
        env.process(self._deliver_commands(env, binding, every_s=0.25 * speed))
        return binding

    def _queue_command(self, device: str, command_id: str, fields: dict[str, Any]) -> None:
        self._commands.put((device, command_id, fields))

    def _deliver_commands(self, env: simpy.Environment, binding: SimBinding, every_s: float) -> Generator[simpy.Event, None, None]:
        """Poll for commands (a quarter of a real second) and hand them to the simulated devices, in the sim's thread."""
        while True:
            yield env.timeout(every_s)
            if self._stopped.is_set():
                raise simpy.core.StopSimulation("the emulator stopped")
            while not self._commands.empty():
                device, command_id, fields = self._commands.get()
                binding.send(device, DeviceCommand(fields, "mqtt"), 1e-6)
                env.timeout(2e-6).callbacks.append(functools.partial(_acknowledge_after, self.devices[device], command_id))

    def _door_log(self, change: Change) -> None:
        """The smart door tells who came in and who left (QR scan or face), as the real one does."""
        door = self.scenario.population.door
        if door is None or door not in self.devices or not change.data.get("enters"):
            return
        event = "worker_entered" if change.name == "visit_started" else "worker_left"
        self.devices[door].event(event, {"worker": change.entity_id, "group": change.data["group"]})
        if event == "worker_entered":
            self._inside[change.entity_id] = change.data["group"]
        else:
            self._inside.pop(change.entity_id, None)

    def _empty_the_station(self) -> None:
        """A round ends with people inside: they leave through the door, so the next round starts as it does, empty."""
        door = self.scenario.population.door
        for worker, group in self._inside.items():
            if door is not None and door in self.devices:
                self.devices[door].event("worker_left", {"worker": worker, "group": group})
        self._inside.clear()

    def _count_use(self, change: Change) -> None:
        """Each device's cycle counter, as a real microwave or locker bank keeps one."""
        device = self.devices.get(change.entity_id)
        if device is not None:
            device.update({"uses": device.state.get("uses", 0) + 1})

    def _mirror(self, change: Change) -> None:
        device = self.devices.get(change.entity_id)
        if device is None:
            return
        schema = DEVICE_KINDS[device.kind].reports
        fields = {k: _plain(v) for k, v in change.data.items() if k in schema.model_fields}
        if fields:
            device.update(fields)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
