"""The twin bound to the station's devices over MQTT.

One thread owns the twin.  paho's network thread only queues what arrives, and
operators' and automations' commands are queued too; the bridge's loop applies
them in order and, between messages, fails commands whose acknowledgement is
overdue and marks silent devices unavailable.  Anything that breaks the contract
(an unknown topic, garbage, a wrong type, an oversized payload, an ack for a command
never sent) is counted and logged and never stops the loop.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from actors.actor import Actor
from actors.message import DeviceCommand, Left, Reported
from actors.runtime import Placement
from actors.visitor import Visitor
from hardware_bridge import discovery as ha
from hardware_bridge import payloads, topics
from hardware_bridge.clock import epoch_s
from hardware_bridge.errors import BridgeError, PayloadError
from hardware_bridge.live_binding import LiveBinding
from hardware_bridge.mqtt import BrokerConfig, MqttClient, Will
from hardware_bridge.topics import Channel
from twin.alarm import AlarmBook
from twin.clock import Clock
from twin.entity import Command, CommandState, Twin
from twin.errors import UnknownCommandError

logger = logging.getLogger(__name__)

DEFAULT_REPORT_INTERVAL_S = 30.0
CHECK_EVERY_S = 0.1
KEEP_SETTLED_S = 86_400.0
MAX_ACTORS = 2_000
"""Visitors inside plus device actors; more means a door is lying (or nobody ever left)."""
FEED_RETAINED = 20_000
"""Changes kept for consumers that resume (a web view reconnecting); older ones are in the history."""


@dataclass(frozen=True)
class _Incoming:
    topic: str
    payload: bytes
    retained: bool
    arrived: float
    """On the twin's clock, when paho handed it over: deadlines are judged by arrival, not by when the loop got to it."""


@dataclass(frozen=True)
class _Outgoing:
    device: str
    fields: dict[str, Any]
    command_id: str
    by: str


@dataclass(frozen=True)
class _Call:
    action: Callable[[Twin], object]
    done: threading.Event
    result: list[object]


@dataclass
class _Job:
    period_s: float
    action: Callable[[Twin, float], None]
    due: float = 0.0


class Bridge:
    def __init__(
        self,
        station: str,
        devices: Mapping[str, str],
        broker: BrokerConfig,
        clock: Clock,
        twin: Twin | None = None,
        ack_timeout_s: float = 5.0,
        silence_intervals: float = 3.0,
        report_interval_s: float = DEFAULT_REPORT_INTERVAL_S,
        escalate_after_s: float = 600.0,
        discovery: bool = False,
        names: Mapping[str, str] | None = None,
        version: str = "0",
        actors: Mapping[str, tuple[type[Actor], object]] | None = None,
        placement: Placement = Placement.INLINE,
        seed: int = 0,
    ) -> None:
        """``devices`` maps each device id of the station to its kind; ``actors`` maps device ids to (actor
        class, config): those devices' reports and commands go through their actor, placed inline or in Ray
        (which must then be running)."""
        self.station = topics.check_id(station, "station")
        self.clock = clock
        self.twin = twin or Twin(station, retain=FEED_RETAINED)
        self.devices = dict(devices)
        for device, kind in self.devices.items():
            topics.check_id(device, "device")
            if device not in self.twin.entities:
                self.twin.add(device, kind, {"report_interval_s": report_interval_s})
        self.ack_timeout_s = ack_timeout_s
        self.silence_intervals = silence_intervals
        self.escalate_after_s = escalate_after_s
        self.received = 0
        self.applied = 0
        self.rejected: Counter[str] = Counter()
        self._inbox: queue.Queue[_Incoming | _Outgoing | _Call | None] = queue.Queue()
        self._jobs: list[_Job] = []
        self._caught_up_to = 0.0
        """Arrival time of the last message handled: everything that arrived before it has been seen."""
        self._next_check = 0.0
        self.every(600.0, self._forget)
        self.alarms = AlarmBook(self.twin)
        self._thread = threading.Thread(target=self._loop, name=f"bridge-{station}", daemon=True)
        self._lock = threading.Lock()
        """Held while the loop changes the twin; readers in other threads take it for a consistent view."""
        availability = topics.bridge_availability(station)
        self.mqtt = MqttClient(
            broker,
            f"yxy-bridge-{station}-{uuid.uuid4().hex[:8]}",
            lambda topic, payload, retained: self._inbox.put(_Incoming(topic, payload, retained, clock.now())),
            will=Will(availability, topics.OFFLINE.encode()),
            on_connected=self._announce,
        )
        for channel in (Channel.STATE, Channel.AVAILABILITY, Channel.ACK, Channel.EVENT):
            self.mqtt.subscribe(topics.station_filter(station, channel), qos=1)
        self._actors = dict(actors or {})
        self.binding = LiveBinding(self.twin, clock, seed, placement, self._actuate) if self._actors else None
        self._commanding: tuple[str, str] | None = None
        self._actuated = False
        """(device, command id) while a command is with the device's actor."""
        self.discovery = discovery
        self._names = dict(names or {})
        self._version = version
        if discovery:
            self.mqtt.subscribe(ha.STATUS_TOPIC, qos=1)
            self.mqtt.subscribe(ha.command_topic(station), qos=1)

    # ---- life cycle -------------------------------------------------------------

    def _announce(self) -> None:
        """On every (re)connect: a broker restarted without persistence forgot the retained "online"."""
        self.mqtt.publish(topics.bridge_availability(self.station), topics.ONLINE, qos=1, retain=True)
        if self.discovery:
            self._announce_to_home_assistant()

    def _announce_to_home_assistant(self) -> None:
        for device, kind in self.devices.items():
            config = ha.device_config(self.station, device, kind, self._names.get(device, device), self._version)
            self.mqtt.publish(ha.config_topic(self.station, device), json.dumps(config, ensure_ascii=False), qos=1, retain=True)

    def start(self, connect_timeout_s: float = 10.0) -> Bridge:
        if self.binding is not None:
            for device, (actor_class, config) in self._actors.items():
                self.binding.host(actor_class, device, config)
        self.mqtt.start()
        self._thread.start()
        if not self.mqtt.wait_connected(connect_timeout_s):
            logger.warning("MQTT broker not reached within %s s; the bridge keeps trying", connect_timeout_s)
        return self

    def stop(self) -> None:
        self._inbox.put(None)
        self._thread.join(10)
        self.mqtt.close(last_words=(topics.bridge_availability(self.station), topics.OFFLINE.encode()))
        if self.binding is not None:
            self.binding.stop()

    # ---- operators and automations (any thread) ------------------------------------

    def command(self, device: str, fields: Mapping[str, Any], by: str) -> str:
        """Validate and queue a command; returns its id. Its fate (acked or failed) arrives on the feed."""
        kind = self.devices.get(device)
        if kind is None:
            raise BridgeError(f"no device {device!r} in station {self.station!r}")
        checked = payloads.settable(kind, dict(fields), f"command to {device}")
        command_id = uuid.uuid4().hex[:16]
        self._inbox.put(_Outgoing(device, checked, command_id, by))
        return command_id

    def read(self, action: Callable[[Twin], Any]) -> Any:
        """Run ``action`` on the twin while the loop is not changing it."""
        with self._lock:
            return action(self.twin)

    def call(self, action: Callable[[Twin], Any], timeout_s: float = 5.0) -> Any:
        """Run ``action`` in the loop thread (to change the twin: acknowledge an alarm) and return its result."""
        call = _Call(action, threading.Event(), [])
        self._inbox.put(call)
        if not call.done.wait(timeout_s):
            raise TimeoutError("the bridge did not get to the request in time")
        result = call.result[0]
        if isinstance(result, Exception):
            raise result
        return result

    def every(self, period_s: float, action: Callable[[Twin, float], None]) -> None:
        """Run ``action(twin, now)`` in the loop thread every ``period_s`` (history flushes, automations)."""
        self._jobs.append(_Job(period_s, action))

    # ---- the loop (the twin's owner) ----------------------------------------------

    def _loop(self) -> None:
        item: object
        while True:
            try:
                item = self._inbox.get(timeout=self._wait_s())
            except queue.Empty:
                item = _IDLE
            if item is None:
                return
            try:
                with self._lock:
                    if isinstance(item, _Incoming):
                        self._receive(item)
                    elif isinstance(item, _Outgoing):
                        self._send(item)
                    elif isinstance(item, _Call):
                        self._run_call(item)
                    self._housekeeping()
            except Exception:
                logger.exception("bridge %s: unexpected error, carrying on", self.station)

    def _receive(self, message: _Incoming) -> None:
        self.received += 1
        self._caught_up_to = message.arrived
        now = self.clock.now()
        try:
            if self.discovery and self._home_assistant(message):
                self.applied += 1
                return
            where = topics.parse(message.topic, self.station)
            kind = self.devices.get(where.device)
            if kind is None:
                raise BridgeError(f"{message.topic}: no device {where.device!r} in this station")
            if kind != where.kind:
                raise BridgeError(f"{message.topic}: device {where.device!r} is a {kind}, not a {where.kind}")
            self._apply(where.device, kind, where.channel, message, now)
        except (BridgeError, UnknownCommandError) as exc:
            reason = type(exc).__name__
            self.rejected[reason] += 1
            logger.warning("rejected (%s): %s", reason, exc)
            return
        self.applied += 1

    def _home_assistant(self, message: _Incoming) -> bool:
        """Home Assistant came back (send the configs again) or sent a command; False if neither."""
        if message.topic == ha.STATUS_TOPIC:
            if message.payload.strip() == topics.ONLINE.encode():
                self._announce_to_home_assistant()
            return True
        if message.topic == ha.command_topic(self.station):
            device, fields = ha.parse_command(message.payload)
            self.command(device, fields, by="home_assistant")
            return True
        return False

    def _apply(self, device: str, kind: str, channel: Channel, message: _Incoming, now: float) -> None:
        if channel is Channel.STATE:
            _, state = payloads.parse_state(kind, message.topic, message.payload)
            if not message.retained:
                self.twin.set_availability(device, now, True, "reporting")
            if self.binding is not None and device in self.binding.handles:
                try:
                    self.binding.deliver(device, Reported(state))
                except Exception:  # the report must still reach the twin if the actor cannot take it
                    logger.exception("the actor of %s failed on a report; reporting directly", device)
                    self.twin.report(device, now, state)
            else:
                self.twin.report(device, now, state)
        elif channel is Channel.AVAILABILITY:
            text = message.payload.decode("utf-8", "replace").strip()
            if text not in (topics.ONLINE, topics.OFFLINE):
                raise PayloadError(f"{message.topic}: availability must be online or offline, not {text[:40]!r}")
            self.twin.set_availability(device, now, text == topics.ONLINE, "announced")
        elif channel is Channel.ACK:
            ack = payloads.parse_ack(message.topic, message.payload)
            command = self.twin.commands.get(ack.id)
            if command is not None and command.entity_id != device:
                raise PayloadError(f"{message.topic}: command {ack.id} was sent to {command.entity_id}, not {device}")
            self.twin.acknowledge(ack.id, now, ack.ok, ack.error)
        elif channel is Channel.EVENT:
            event = payloads.parse_event(message.topic, message.payload)
            self._visitors(device, event.event, event.data)
            self.twin.record(device, now, event.event, event.data)
        else:
            raise BridgeError(f"{message.topic}: the bridge does not take {channel.value} messages")

    def _send(self, outgoing: _Outgoing) -> Command:
        now = self.clock.now()
        command = self.twin.desire(outgoing.device, now, outgoing.fields, outgoing.command_id, outgoing.by, self.ack_timeout_s)
        if self.binding is not None and outgoing.device in self.binding.handles:
            # The device's actor decides what the hardware is told: it may adjust the command, or refuse it.
            self._commanding = (outgoing.device, outgoing.command_id)
            self._actuated = False
            try:
                self.binding.deliver(outgoing.device, DeviceCommand(outgoing.fields, outgoing.by))
            except Exception as exc:
                logger.exception("the actor of %s failed on a command", outgoing.device)
                self.twin.acknowledge(outgoing.command_id, now, False, f"the device's actor failed: {exc}")
            finally:
                self._commanding = None
            if not self._actuated and command.state is CommandState.PENDING:
                self.twin.acknowledge(outgoing.command_id, now, False, "refused by the device's actor")
        else:
            self._publish_set(outgoing.device, outgoing.command_id, outgoing.fields)
        return command

    def _actuate(self, device: str, fields: Mapping[str, Any]) -> None:
        """An actor drives its device: the command being handled, or one of the actor's own."""
        if self._commanding is not None and self._commanding[0] == device:
            command_id = self._commanding[1]
            self._actuated = True
            if dict(fields) != self.twin.commands[command_id].fields:
                self.twin.revise(command_id, self.clock.now(), fields)
            self._publish_set(device, command_id, dict(fields))
            return
        command_id = uuid.uuid4().hex[:16]
        self.twin.desire(device, self.clock.now(), dict(fields), command_id, f"actor:{device}", self.ack_timeout_s)
        self._publish_set(device, command_id, dict(fields))

    def _publish_set(self, device: str, command_id: str, fields: dict[str, Any]) -> None:
        """QoS 1 and never retained (a retained command would replay on every reconnect), and never late.

        Offline, the command fails at once rather than wait in paho's queue to be carried
        out after the twin has called it failed; on the wire it expires with its deadline
        (MQTT 5 message expiry for the broker, ``expires`` in the payload for the device).
        """
        now = self.clock.now()
        if not self.mqtt.connected:
            self.twin.acknowledge(command_id, now, False, "the bridge is offline: the command was not sent")
            return
        self.mqtt.publish(
            topics.topic(self.station, self.devices[device], device, Channel.SET),
            payloads.set_payload(command_id, fields, expires=epoch_s() + self.ack_timeout_s),
            qos=1,
            retain=False,
            expiry_s=self.ack_timeout_s,
        )

    def _visitors(self, device: str, event: str, data: Mapping[str, Any]) -> None:
        """A worker the door let in becomes an actor until the door lets them out."""
        worker, group = data.get("worker"), data.get("group")
        if self.binding is None or self.devices.get(device) != "door" or event not in ("worker_entered", "worker_left"):
            return
        if (
            not isinstance(worker, str)
            or not topics.is_id(worker.replace(".", "_"))
            or not isinstance(group, str)
            or not topics.is_id(group)
        ):
            raise PayloadError(f"door {device}: {event} needs a worker and a group made of A-Z, a-z, 0-9, _, - or .")
        if event == "worker_entered" and len(self.binding.handles) >= MAX_ACTORS:
            raise BridgeError(f"door {device}: {MAX_ACTORS} actors already; a visitor was not hosted")
        if event == "worker_entered" and f"visitor:{worker}" not in self.binding.handles:
            self.binding.host(Visitor, f"visitor:{worker}", group)
        elif event == "worker_left":
            self.binding.deliver(f"visitor:{worker}", Left(worker, group))

    def _forget(self, twin: Twin, now: float) -> None:
        """A station runs for months: settled commands and closed alarms leave memory after a day (history keeps them)."""
        twin.forget_commands(now - KEEP_SETTLED_S)
        self.alarms.forget_cleared(now - KEEP_SETTLED_S)

    def _run_call(self, call: _Call) -> None:
        try:
            call.result.append(call.action(self.twin))
        except Exception as exc:  # handed back to the caller's thread
            call.result.append(exc)
        call.done.set()

    def _wait_s(self) -> float:
        """Until the next actor timer, at most 0.2 s (deadlines are checked on the way)."""
        due = self.binding.next_due() if self.binding is not None else None
        return 0.2 if due is None else min(0.2, max(0.0, due - self.clock.now()))

    def _housekeeping(self) -> None:
        """Actor timers now; deadlines and periodic jobs at most every ``CHECK_EVERY_S``.

        A scan of every device per message would cap ingest.
        """
        if self.binding is not None:
            self.binding.run_due()
        now = self.clock.now()
        if now < self._next_check:
            return
        self._next_check = now + CHECK_EVERY_S
        self._check_deadlines()
        self._run_jobs()

    def _run_jobs(self) -> None:
        now = self.clock.now()
        for job in self._jobs:
            if now >= job.due:
                job.due = now + job.period_s
                job.action(self.twin, now)

    def _check_deadlines(self) -> None:
        now = self.clock.now()
        # With messages still queued (the loop fell behind), fail only what was overdue before the last one
        # handled arrived: an ack waiting in the queue was in time.
        self.twin.expire(now if self._inbox.empty() else min(now, self._caught_up_to))
        self.alarms.escalate(now, self.escalate_after_s)
        for entity in self.twin.silent(now, self.silence_intervals):
            self.twin.set_availability(entity.id, now, False, "silent")


_IDLE = object()
"""Nothing arrived for a while: the loop still checks deadlines."""
