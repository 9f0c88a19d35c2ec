"""The twin bound to the station's devices over MQTT.

One thread owns the twin.  paho's network thread only queues what arrives, and
operators' and automations' commands are queued too; the bridge's loop applies
them in order and, between messages, fails commands whose acknowledgement is
overdue and marks silent devices unavailable.  Anything that breaks the contract
(an unknown topic, garbage, a wrong type, an oversized payload, a value the device
cannot have, an ack for a command never sent, a retained command) is counted by
reason and logged and never stops the loop.

It also keeps the contract readable for others: each device's full merged state,
retained on its ``twin`` topic (a device may report only what changed), and each
command's fate on ``bridge/result``.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from actors.actor import Actor, Device
from actors.automation import OBSERVED, Automations, AutomationsConfig
from actors.bounds import report_limits
from actors.door import DOOR_EVENTS
from actors.message import DeviceCommand, DeviceEvent, Reported
from actors.runtime import Placement
from hardware_bridge import discovery as ha
from hardware_bridge import payloads, topics
from hardware_bridge.clock import epoch_s, station_clock
from hardware_bridge.errors import BridgeError, OutOfRangeError, PassageError, PayloadError, RetainedCommandError
from hardware_bridge.live_binding import LiveBinding
from hardware_bridge.mqtt import BrokerConfig, MqttClient, Will
from hardware_bridge.topics import Channel
from twin.alarm import AlarmBook
from twin.clock import Clock
from twin.entity import CommandState, Twin
from twin.errors import UnknownCommandError
from twin.feed import STATE, Change

logger = logging.getLogger(__name__)

DEFAULT_REPORT_INTERVAL_S = 30.0
CHECK_EVERY_S = 0.1
KEEP_SETTLED_S = 86_400.0
MAX_ACTORS = 2_000
"""Visitors inside plus device actors; more means a door is lying (or nobody ever left)."""
AUTOMATIONS_ID = "automations"
CHANNELS = frozenset(channel.value for channel in Channel)
FEED_RETAINED = 20_000
"""Changes kept for consumers that resume (a web view reconnecting); older ones are in the history."""
TWIN_EVERY_S = 1.0
"""A device's retained full state is published at most this often: a chatty device must not double the broker's load."""
DIRECT_SETS_KEPT = 1_000
"""Ids of commands sent straight to devices by others, remembered so their acks are expected (oldest forgotten first)."""
FATES = ("command_acked", "command_failed")


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
        automations: AutomationsConfig | None = None,
        timezone: str = "UTC",
    ) -> None:
        """``devices`` maps each device id of the station to its kind; ``actors`` maps device ids to (actor
        class, config), by default the plain ``Device`` policy.  Every device's reports and commands go
        through its actor, placed inline or in Ray (which must then be running); ``automations`` run as
        their actor beside them, on the station's time of day in ``timezone``."""
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
        self.messages: Counter[tuple[str, str, str]] = Counter()
        """MQTT messages in by (device kind, channel, outcome), for /metrics."""
        self.lag_s = 0.0
        """How long the last message waited between arriving and being handled."""
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
            f"yxy-bridge-{station}",  # stable, so the broker resumes the bridge's persistent session after a restart
            lambda topic, payload, retained: self._inbox.put(_Incoming(topic, payload, retained, clock.now())),
            will=Will(availability, topics.OFFLINE.encode()),
            on_connected=self._announce,
        )
        # ``set`` too: a command another client sent straight to a device (or left retained) is the bridge's business.
        for channel in (Channel.STATE, Channel.AVAILABILITY, Channel.ACK, Channel.EVENT, Channel.SET):
            self.mqtt.subscribe(topics.station_filter(station, channel), qos=1)
        self._actors: dict[str, tuple[type[Actor], object]] = dict.fromkeys(self.devices, (Device, None))
        self._actors.update(actors or {})
        self._limits = {device: report_limits(config) for device, (_, config) in self._actors.items()}
        self._direct_sets: OrderedDict[str, str] = OrderedDict()
        """Command id -> device, of commands others sent straight to a device."""
        self._unpublished: set[str] = set()
        """Devices whose merged state changed since it was last published on their twin topic."""
        self._next_twin = 0.0
        self.twin.subscribe(lambda change: self._unpublished.add(change.entity_id), names=(STATE,))
        self.twin.subscribe(self._tell_fate, names=FATES)
        self.binding = LiveBinding(self.twin, station_clock(clock, timezone), seed, placement, self._actuate, self.alarms)
        self._actuated: set[str] = set()
        """Ids of operators' commands their device's actor sent out (one not here was refused by the actor)."""
        self.discovery = discovery
        self._names = dict(names or {})
        self._version = version
        self.mqtt.subscribe(ha.command_topic(station), qos=1)  # integrators command through it, announced to HA or not
        if discovery:
            self.mqtt.subscribe(ha.STATUS_TOPIC, qos=1)
        self._host_actors(automations)

    # ---- life cycle -------------------------------------------------------------

    def _announce(self) -> None:
        """On every (re)connect: a broker restarted without persistence forgot the retained "online" and twin states."""
        self.mqtt.publish(topics.bridge_availability(self.station), topics.ONLINE, qos=1, retain=True)
        # In paho's thread: the loop owns the set of states to publish, so it is asked to republish them all.
        self._inbox.put(
            _Call(lambda twin: self._unpublished.update(d for d in self.devices if twin.entities[d].reported), threading.Event(), [])
        )
        if self.discovery:
            self._announce_to_home_assistant()

    def _announce_to_home_assistant(self) -> None:
        for device, kind in self.devices.items():
            config = ha.device_config(self.station, device, kind, self._names.get(device, device), self._version)
            self.mqtt.publish(ha.config_topic(self.station, device), json.dumps(config, ensure_ascii=False), qos=1, retain=True)

    def _host_actors(self, automations: AutomationsConfig | None) -> None:
        binding = self.binding
        binding.advance_to(self.clock.now())
        if automations is not None:
            # First, so the automations hear every device's first report too.
            binding.host(Automations, AUTOMATIONS_ID, automations, register=False)
            binding.observe(AUTOMATIONS_ID, OBSERVED)
        for device, (actor_class, config) in self._actors.items():
            binding.host(actor_class, device, config, register=False)
        binding.drain()

    def start(self, connect_timeout_s: float = 10.0) -> Bridge:
        self.mqtt.start()
        self._thread.start()
        if not self.mqtt.wait_connected(connect_timeout_s):
            logger.warning("MQTT broker not reached within %s s; the bridge keeps trying", connect_timeout_s)
        return self

    def stop(self) -> None:
        self._inbox.put(None)
        self._thread.join(10)
        self.mqtt.close(last_words=(topics.bridge_availability(self.station), topics.OFFLINE.encode()))
        self.binding.stop_all()

    # ---- operators and automations (any thread) ------------------------------------

    def command(self, device: str, fields: Mapping[str, Any], by: str, command_id: str | None = None) -> str:
        """Validate and queue a command; returns its id (the caller's, if it gave one). Its fate arrives on the feed."""
        kind = self.devices.get(device)
        if kind is None:
            raise BridgeError(f"no device {device!r} in station {self.station!r}")
        checked = payloads.settable(kind, dict(fields), f"command to {device}")
        command_id = command_id or uuid.uuid4().hex[:16]
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
                    self._handle(item)
            except Exception:
                logger.exception("bridge %s: unexpected error, carrying on", self.station)

    def _handle(self, item: object) -> None:
        """One turn of the loop: the actors' due timers, then ``item``, then what is owed (deadlines, jobs)."""
        now = self.binding.advance_to(self.clock.now())
        if isinstance(item, _Incoming):
            self._receive(item, now)
        elif isinstance(item, _Outgoing):
            self._send(item, now)
        elif isinstance(item, _Call):
            self._run_call(item)
        self._housekeeping(now)
        self.binding.drain()

    def queued(self) -> int:
        """Messages and requests waiting for the loop (any thread)."""
        return self._inbox.qsize()

    def _receive(self, message: _Incoming, now: float) -> None:
        self.received += 1
        self._caught_up_to = message.arrived
        self.lag_s = max(0.0, now - message.arrived)
        parts = message.topic.split("/")
        kind_label, channel = (parts[2], parts[4]) if len(parts) == 5 else ("other", "other")
        if kind_label not in payloads.STATE:
            kind_label = "other"
        if channel not in CHANNELS:
            channel = "other"
        try:
            if self._home_assistant(message):
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
            self.messages[(kind_label, channel, "rejected")] += 1
            logger.warning("rejected (%s): %s", reason, exc)
            return
        self.applied += 1
        self.messages[(kind_label, channel, "applied")] += 1

    def _home_assistant(self, message: _Incoming) -> bool:
        """Home Assistant came back (send the configs again) or sent a command; False if neither."""
        if message.topic == ha.STATUS_TOPIC and self.discovery:
            if message.payload.strip() == topics.ONLINE.encode():
                self._announce_to_home_assistant()
            return True
        if message.topic == ha.command_topic(self.station):
            if self._retained_command(message):
                return True
            device, fields, by, command_id = ha.parse_command(message.payload)
            try:
                self.command(device, fields, by=by, command_id=command_id)
            except BridgeError as exc:  # an unknown device or fields it does not take: the sender hears why, by its id
                if command_id is not None:
                    fate = payloads.fate_payload(command_id, device, by, False, str(exc), fields)
                    self.mqtt.publish(topics.bridge_result(self.station), fate, qos=1)
                raise
            return True
        return False

    def _apply(self, device: str, kind: str, channel: Channel, message: _Incoming, now: float) -> None:
        if channel is Channel.STATE:
            _, state = payloads.parse_state(kind, message.topic, message.payload)
            self._check_range(device, kind, state, message.topic)
            if not message.retained:
                self.twin.set_availability(device, now, True, "reporting")
            try:
                self.binding.deliver(device, Reported(state))
            except Exception:  # the report must still reach the twin if the actor cannot take it
                logger.exception("the actor of %s failed on a report; reporting directly", device)
                self.twin.report(device, now, state)
        elif channel is Channel.AVAILABILITY:
            text = message.payload.decode("utf-8", "replace").strip()
            if text not in (topics.ONLINE, topics.OFFLINE):
                raise PayloadError(f"{message.topic}: availability must be online or offline, not {text[:40]!r}")
            self.twin.set_availability(device, now, text == topics.ONLINE, "announced")
        elif channel is Channel.ACK:
            ack = payloads.parse_ack(message.topic, message.payload)
            if self._direct_sets.get(ack.id) == device:
                del self._direct_sets[ack.id]
                self.twin.record(device, now, "set_at_device_acked" if ack.ok else "set_at_device_refused", ack.model_dump(exclude={"v"}))
                return
            command = self.twin.commands.get(ack.id)
            if command is not None and command.entity_id != device:
                raise PayloadError(f"{message.topic}: command {ack.id} was sent to {command.entity_id}, not {device}")
            self.twin.acknowledge(ack.id, now, ack.ok, ack.error)
        elif channel is Channel.EVENT:
            event = payloads.parse_event(message.topic, message.payload)
            if event.event in DOOR_EVENTS:
                self._check_passage(device, kind, event.event, event.data)
            self.twin.record(device, now, event.event, event.data)
            self.binding.deliver(device, DeviceEvent(event.event, event.data))
        elif channel is Channel.SET:
            self._seen_set(device, kind, message, now)
        else:
            raise BridgeError(f"{message.topic}: the bridge does not take {channel.value} messages")

    def _send(self, outgoing: _Outgoing, now: float) -> None:
        """An operator's command: desired at once (its id is the caller's), then the device's actor decides what goes out."""
        if outgoing.command_id in self.twin.commands:
            self.rejected["DuplicateCommand"] += 1
            logger.warning("command %s to %s: the id is already used; not sent again", outgoing.command_id, outgoing.device)
            return
        command = self.twin.desire(outgoing.device, now, outgoing.fields, outgoing.command_id, outgoing.by, self.ack_timeout_s)
        try:
            self.binding.deliver(outgoing.device, DeviceCommand(outgoing.fields, outgoing.by, outgoing.command_id))
        except Exception as exc:
            logger.exception("the actor of %s failed on a command", outgoing.device)
            self.twin.acknowledge(outgoing.command_id, now, False, f"the device's actor failed: {exc}")
        if outgoing.command_id not in self._actuated and command.state is CommandState.PENDING:
            self.twin.acknowledge(outgoing.command_id, now, False, "refused by the device's actor")
        self._actuated.discard(outgoing.command_id)

    def _actuate(self, device: str, fields: Mapping[str, Any], handling: object) -> None:
        """A device's actor drives its device: the operator's command it was handling, or one of its own (the automations')."""
        now = self.binding.env.now
        asked = handling if isinstance(handling, DeviceCommand) else None
        command_id = asked.command_id if asked is not None else None
        try:
            checked = payloads.settable(self.devices[device], dict(fields), f"command to {device}")
        except PayloadError as exc:
            self.rejected["actuation"] += 1
            logger.warning("the actor of %s asked for what the device does not take: %s", device, exc)
            if command_id is not None:
                self.twin.acknowledge(command_id, now, False, str(exc))
            return
        if command_id is not None and command_id in self.twin.commands:
            self._actuated.add(command_id)
            if checked != self.twin.commands[command_id].fields:
                self.twin.revise(command_id, now, checked)
        else:
            command_id = uuid.uuid4().hex[:16]
            by = asked.by if asked is not None else f"actor:{device}"
            self.twin.desire(device, now, checked, command_id, by, self.ack_timeout_s)
        self._publish_set(device, command_id, checked)

    def _publish_set(self, device: str, command_id: str, fields: dict[str, Any]) -> None:
        """QoS 1 and never retained (a retained command would replay on every reconnect), and never late.

        Offline, the command fails at once rather than wait in paho's queue to be carried
        out after the twin has called it failed; on the wire it expires with its deadline
        (MQTT 5 message expiry for the broker, ``expires`` in the payload for the device).
        """
        now = self.binding.env.now
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

    def _check_range(self, device: str, kind: str, state: Mapping[str, Any], topic: str) -> None:
        """What the schema allows any device of a kind, narrowed to this device's config (units, places, batteries)."""
        for field, most in self._limits[device].items():
            value = state.get(field)
            if value is not None and value > most:
                raise OutOfRangeError(f"{topic}: {field} = {value} is more than {kind} {device} can have (at most {most}); not taken")

    def _retained_command(self, message: _Incoming) -> bool:
        """A command left retained on the broker (executed once already, or planted) is never run, and is cleared.

        True for the broker's empty message that clears one (ours, or anyone's): nothing to do."""
        if not message.payload:
            return True
        if message.retained:
            self.mqtt.publish(message.topic, b"", qos=1, retain=True)
            raise RetainedCommandError(f"{message.topic}: a retained command is never executed; cleared")
        return False

    def _seen_set(self, device: str, kind: str, message: _Incoming, now: float) -> None:
        """Another client's command straight to a device (an integrator the broker lets do so): a change made at the
        device, recorded as such, its ack expected; the bridge's own commands come back here too and are skipped."""
        if self._retained_command(message):
            return
        command_id, fields, _ = payloads.parse_set(kind, message.topic, message.payload)
        if command_id in self.twin.commands:
            return
        self._direct_sets[command_id] = device
        if len(self._direct_sets) > DIRECT_SETS_KEPT:
            self._direct_sets.popitem(last=False)
        self.twin.record(device, now, "set_at_device", {"id": command_id, "set": fields})

    def _publish_twins(self, now: float) -> None:
        """Each changed device's whole merged state, retained: what Home Assistant and integrators read."""
        if now < self._next_twin or not self.mqtt.connected:
            return
        self._next_twin = now + TWIN_EVERY_S
        for device in sorted(self._unpublished & self.devices.keys()):
            state = self.twin.entities[device].reported
            self.mqtt.publish(
                topics.twin_topic(self.station, self.devices[device], device),
                payloads.state_payload(epoch_s(), dict(state)), qos=1, retain=True,
            )  # fmt: skip
        self._unpublished.clear()

    def _tell_fate(self, change: Change) -> None:
        """Whoever sent a command (Home Assistant, an integrator) learns its fate by its id, with who asked."""
        command = self.twin.commands.get(change.data["command"])
        if command is None or not self.mqtt.connected:
            return
        ok = command.state is CommandState.ACKED
        fate = payloads.fate_payload(command.id, command.entity_id, command.by, ok, command.error, command.fields)
        self.mqtt.publish(topics.bridge_result(self.station), fate, qos=1)

    def _check_passage(self, device: str, kind: str, event: str, data: Mapping[str, Any]) -> None:
        """Who came in or left is told by a door and nobody else, of a worker id and group the contract allows."""
        if kind != "door":
            raise PassageError(f"{device}: a {kind} cannot tell {event}; only a door can")
        worker, group = data.get("worker"), data.get("group")
        if (
            not isinstance(worker, str)
            or not topics.is_id(worker.replace(".", "_"))
            or not isinstance(group, str)
            or not topics.is_id(group)
        ):
            raise PayloadError(f"door {device}: {event} needs a worker and a group made of A-Z, a-z, 0-9, _, - or .")
        if event == "worker_entered" and len(self.binding.actors) >= MAX_ACTORS:
            raise BridgeError(f"door {device}: {MAX_ACTORS} actors already; a visitor was not hosted")

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
        due = self.binding.next_due()
        return 0.2 if due is None else min(0.2, max(0.0, due - self.clock.now()))

    def _housekeeping(self, now: float) -> None:
        """Deadlines and periodic jobs at most every ``CHECK_EVERY_S`` (actor timers ran as the loop advanced).

        A scan of every device per message would cap ingest.
        """
        if now < self._next_check:
            return
        self._next_check = now + CHECK_EVERY_S
        self._check_deadlines(now)
        self._run_jobs(now)
        self._publish_twins(now)

    def _run_jobs(self, now: float) -> None:
        for job in self._jobs:
            if now >= job.due:
                job.due = now + job.period_s
                job.action(self.twin, now)

    def _check_deadlines(self, now: float) -> None:
        # With messages still queued (the loop fell behind), fail only what was overdue before the last one
        # handled arrived: an ack waiting in the queue was in time.
        self.twin.expire(now if self._inbox.empty() else min(now, self._caught_up_to))
        self.alarms.escalate(now, self.escalate_after_s)
        for entity in self.twin.silent(now, self.silence_intervals):
            self.twin.set_availability(entity.id, now, False, "silent")


_IDLE = object()
"""Nothing arrived for a while: the loop still checks deadlines."""
