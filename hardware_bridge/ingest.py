"""What the station's devices tell the bridge, into the twin through each device's actor.

A report goes to its device's actor (which publishes it to the twin, live as in a
simulation), availability and acks straight to the twin, an event to the twin and to
the actor (the door spawns a visitor).  Before anything is taken the contract is
checked: the topic names a device of this station of the right kind, the payload
parses against the kind's schema, a value is one the device can have with its config
(units, places, batteries), a passage is told by a door, an ack is for a command sent
to that device.  A ``BridgeError`` rejects the message; the bridge counts it by class.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from actors.bounds import report_limits
from actors.door import DOOR_EVENTS, FACE_ENROLLED, PASS_SCANNED, TERMINAL_EVENTS, WORKER_ENTERED
from actors.door_pass import MOST_PASS_CHARS
from actors.message import DeviceEvent, Reported
from hardware_bridge import payloads, topics
from hardware_bridge.clock import epoch_s
from hardware_bridge.commands import refuse_retained
from hardware_bridge.errors import BridgeError, OutOfRangeError, PassageError, PayloadError
from hardware_bridge.live_binding import LiveBinding
from hardware_bridge.loop import Incoming
from hardware_bridge.mqtt import MqttClient
from hardware_bridge.topics import Channel
from twin.entity import Twin

logger = logging.getLogger(__name__)

MAX_ACTORS = 2_000
"""Visitors inside plus device actors; more means a door is lying (or nobody ever left)."""
TEMPLATE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TERMINAL_FRESH_S = 10.0
"""How far a door terminal's moment may be from the bridge's: further, and the one asking may be gone."""
DIRECT_SETS_KEPT = 1_000
"""Ids of commands sent straight to devices by others, remembered so their acks are expected (oldest forgotten first)."""


class Ingest:
    def __init__(
        self,
        station: str,
        devices: Mapping[str, str],
        configs: Mapping[str, object],
        twin: Twin,
        binding: LiveBinding,
        mqtt: MqttClient,
    ) -> None:
        """``configs`` are the devices' configs, which bound what each may report."""
        self.station = station
        self.devices = devices
        self.twin = twin
        self.binding = binding
        self.mqtt = mqtt
        self._limits = {device: report_limits(config) for device, config in configs.items()}
        self._direct_sets: OrderedDict[str, str] = OrderedDict()
        """Command id -> device, of commands others sent straight to a device."""

    def take(self, message: Incoming, now: float) -> None:
        where = topics.parse(message.topic, self.station)
        kind = self.devices.get(where.device)
        if kind is None:
            raise BridgeError(f"{message.topic}: no device {where.device!r} in this station")
        if kind != where.kind:
            raise BridgeError(f"{message.topic}: device {where.device!r} is a {kind}, not a {where.kind}")
        device, channel = where.device, where.channel
        if channel is Channel.STATE:
            self._report(device, kind, message, now)
        elif channel is Channel.AVAILABILITY:
            text = message.payload.decode("utf-8", "replace").strip()
            if text not in (topics.ONLINE, topics.OFFLINE):
                raise PayloadError(f"{message.topic}: availability must be online or offline, not {text[:40]!r}")
            self.twin.set_availability(device, now, text == topics.ONLINE, "announced")
        elif channel is Channel.ACK:
            self._ack(device, message, now)
        elif channel is Channel.EVENT:
            event = payloads.parse_event(message.topic, message.payload)
            if event.event in TERMINAL_EVENTS:
                # Not recorded as it came: a pass's text must not outlive its use in the history; the door records
                # its decision (door_decided) instead.
                self._check_asked_now(message, event.event, event.ts)
                self._check_terminal(device, kind, event.event, event.data)
                self.binding.deliver(device, DeviceEvent(event.event, event.data))
                return
            if event.event in DOOR_EVENTS:
                self._check_passage(device, kind, event.event, event.data)
            self.twin.record(device, now, event.event, event.data)
            self.binding.deliver(device, DeviceEvent(event.event, event.data))
        elif channel is Channel.SET:
            self._seen_set(device, kind, message, now)
        else:
            raise BridgeError(f"{message.topic}: the bridge does not take {channel.value} messages")

    def _report(self, device: str, kind: str, message: Incoming, now: float) -> None:
        _, state = payloads.parse_state(kind, message.topic, message.payload)
        self._check_range(device, kind, state, message.topic)
        if not message.retained:
            self.twin.set_availability(device, now, True, "reporting")
        try:
            self.binding.deliver(device, Reported(state))
        except Exception:  # the report must still reach the twin if the actor cannot take it
            logger.exception("the actor of %s failed on a report; reporting directly", device)
            self.twin.report(device, now, state)

    def _ack(self, device: str, message: Incoming, now: float) -> None:
        ack = payloads.parse_ack(message.topic, message.payload)
        if self._direct_sets.get(ack.id) == device:
            del self._direct_sets[ack.id]
            self.twin.record(device, now, "set_at_device_acked" if ack.ok else "set_at_device_refused", ack.model_dump(exclude={"v"}))
            return
        command = self.twin.commands.get(ack.id)
        if command is not None and command.entity_id != device:
            raise PayloadError(f"{message.topic}: command {ack.id} was sent to {command.entity_id}, not {device}")
        self.twin.acknowledge(ack.id, now, ack.ok, ack.error)

    def _check_range(self, device: str, kind: str, state: Mapping[str, Any], topic: str) -> None:
        """What the schema allows any device of a kind, narrowed to this device's config (units, places, batteries)."""
        for field, most in self._limits.get(device, {}).items():
            value = state.get(field)
            if value is not None and value > most:
                raise OutOfRangeError(f"{topic}: {field} = {value} is more than {kind} {device} can have (at most {most}); not taken")

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
        if event == WORKER_ENTERED and len(self.binding.actors) >= MAX_ACTORS:
            raise BridgeError(f"door {device}: {MAX_ACTORS} actors already; a visitor was not hosted")

    def _check_asked_now(self, message: Incoming, event: str, ts: float) -> None:
        """Someone asking at the door is there now: a retained ask would open the door on every reconnect, and one
        queued while the bridge was away (its session keeps QoS 1 messages) may be for someone long gone."""
        if message.retained:
            self.mqtt.publish(message.topic, b"", qos=1, retain=True)
            raise PayloadError(f"{message.topic}: a retained {event} is never taken (it would open the door again); cleared")
        late_s = epoch_s() - ts
        if abs(late_s) > TERMINAL_FRESH_S:
            raise PayloadError(
                f"{message.topic}: {event} told {late_s:+.0f} s from now by the terminal's clock; a door opens only for who "
                f"is there (within {TERMINAL_FRESH_S:g} s: terminals keep their clocks by NTP)"
            )

    def _check_terminal(self, device: str, kind: str, event: str, data: Mapping[str, Any]) -> None:
        """Someone at a door, told by a door: the QR text it read (bounded), a member number and a score, or a member
        number and the template id the terminal made of their face."""
        if kind != "door":
            raise PassageError(f"{device}: a {kind} cannot tell {event}; only a door's terminal can")
        if event == PASS_SCANNED:
            text = data.get("text")
            if not isinstance(text, str) or len(text) > MOST_PASS_CHARS:
                raise PayloadError(f"door {device}: {event} needs the scanned text, at most {MOST_PASS_CHARS} characters")
            return
        member, score = data.get("member"), data.get("score")
        if not isinstance(member, int) or isinstance(member, bool) or not 1 <= member < 2**53:
            raise PayloadError(f"door {device}: {event} needs the member's number, a whole number from 1")
        if event == FACE_ENROLLED:
            template = data.get("template")
            if not isinstance(template, str) or not TEMPLATE_ID.match(template):
                raise PayloadError(f"door {device}: {event} needs the terminal's template id, 1-64 of A-Z, a-z, 0-9, _ or -")
            return
        if not isinstance(score, int | float) or isinstance(score, bool) or not 0.0 <= score <= 1.0:
            raise PayloadError(f"door {device}: {event} needs the match's score, from 0 to 1")

    def _seen_set(self, device: str, kind: str, message: Incoming, now: float) -> None:
        """Another client's command straight to a device (an integrator the broker lets do so): a change made at the
        device, recorded as such, its ack expected; the bridge's own commands come back here too and are skipped."""
        if refuse_retained(self.mqtt, message):
            return
        command_id, fields, _ = payloads.parse_set(kind, message.topic, message.payload)
        if command_id in self.twin.commands:
            return
        self._direct_sets[command_id] = device
        if len(self._direct_sets) > DIRECT_SETS_KEPT:
            self._direct_sets.popitem(last=False)
        self.twin.record(device, now, "set_at_device", {"id": command_id, "set": fields})
