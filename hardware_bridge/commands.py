"""Commands to the station's devices: from operators, automations and integrators, through each device's actor.

An operator's command is checked in the caller's thread and queued; in the loop it
becomes desired state at once (under the caller's id) and is handed to its device's
actor as a ``DeviceCommand``.  The actor's policy decides what goes out (the AC's
26 °C floor): its actuation names the command it carries out, so the router knows by
data, not by who is calling back when, which command a ``set`` belongs to.  A command
the actor sent nothing for is refused by the actor.  What an actor actuates on its
own (the automations' rules) becomes a command of its own, and is audited (``audit``,
under the rule's name) before it goes out; one that cannot be audited is not sent.
The audit write is a database transaction that may wait for a lock, so it runs on a
thread of its own and the command is desired and sent back in the loop once it has
committed: the loop never waits for the database.

Every command's fate goes to ``bridge/result`` for whoever sent it.  Integrators send
on ``bridge/command`` (the ``IntegratorCommands`` plugin); a retained command there or
on a device's ``set`` is never run, and is cleared.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from actors.message import DeviceCommand
from actors.registry import DEVICE_KINDS
from hardware_bridge import discovery as ha
from hardware_bridge import payloads, topics
from hardware_bridge.clock import epoch_s
from hardware_bridge.errors import BridgeError, PayloadError, RetainedCommandError
from hardware_bridge.live_binding import LiveBinding
from hardware_bridge.loop import Incoming
from hardware_bridge.mqtt import MqttClient
from hardware_bridge.topics import Channel
from twin.entity import CommandState, Twin
from twin.feed import Change

logger = logging.getLogger(__name__)

FATES = ("command_acked", "command_failed")
MOST_AWAITING_AUDIT = 100
"""The station's own commands waiting for their audit entry; beyond, one is refused (the database is stuck)."""

StationAudit = Callable[[str, str, Mapping[str, Any], Mapping[str, Any] | None, str], None]
"""(by, device, fields, reason, command id): commit the audit entry of a command the station decided itself; raise if not."""


@dataclass(frozen=True)
class Outgoing:
    """An operator's (or integrator's) command, checked and queued for the loop."""

    device: str
    fields: dict[str, Any]
    command_id: str
    by: str


def refuse_retained(mqtt: MqttClient, message: Incoming) -> bool:
    """A command left retained on the broker (executed once already, or planted) is never run, and is cleared.

    True for the broker's empty message that clears one (ours, or anyone's): nothing to do."""
    if not message.payload:
        return True
    if message.retained:
        mqtt.publish(message.topic, b"", qos=1, retain=True)
        raise RetainedCommandError(f"{message.topic}: a retained command is never executed; cleared")
    return False


class CommandRouter:
    def __init__(
        self,
        station: str,
        devices: Mapping[str, str],
        twin: Twin,
        mqtt: MqttClient,
        ack_timeout_s: float,
        rejected: Counter[str],
        audit: StationAudit | None = None,
    ) -> None:
        """``bind`` hands over the binding before the first command; what the router refuses is counted by reason
        in ``rejected``, with the bridge's other refusals; ``audit`` records the station's own commands."""
        self.station = station
        self.devices = devices
        self.twin = twin
        self.mqtt = mqtt
        self.ack_timeout_s = ack_timeout_s
        self.rejected = rejected
        self.audit = audit
        self._binding: LiveBinding | None = None
        self._post: Callable[[Callable[[Twin], object]], None] | None = None
        self._awaiting_audit = threading.BoundedSemaphore(MOST_AWAITING_AUDIT)
        self._auditor = ThreadPoolExecutor(1, thread_name_prefix=f"audit-{station}")
        twin.subscribe(self._tell_fate, names=FATES)

    def close(self) -> None:
        """Let the audit writes already started finish (their commands are then dropped with the loop)."""
        self._auditor.shutdown(wait=True, cancel_futures=True)

    def bind(self, binding: LiveBinding, post: Callable[[Callable[[Twin], object]], None]) -> None:
        """The binding, and how to run something in the loop from another thread (an audited command's sending)."""
        self._binding = binding
        self._post = post

    @property
    def binding(self) -> LiveBinding:
        if self._binding is None:
            raise RuntimeError("the command router has no binding yet")
        return self._binding

    # ---- any thread ----------------------------------------------------------------------

    def check(self, device: str, fields: Mapping[str, Any], by: str, command_id: str | None = None) -> Outgoing:
        """A command the device takes, under the caller's id or a new one; ``BridgeError`` says what is wrong."""
        kind = self.devices.get(device)
        if kind is None:
            raise BridgeError(f"no device {device!r} in station {self.station!r}")
        checked = payloads.settable(kind, dict(fields), f"command to {device}")
        return Outgoing(device, checked, command_id or uuid.uuid4().hex[:16], by)

    # ---- the loop --------------------------------------------------------------------------

    def send(self, outgoing: Outgoing, now: float) -> None:
        """Desired at once (its id is the caller's), then the device's actor decides what goes out."""
        if outgoing.command_id in self.twin.commands:
            self.rejected["DuplicateCommand"] += 1
            logger.warning("command %s to %s: the id is already used; not sent again", outgoing.command_id, outgoing.device)
            return
        command = self.twin.desire(
            outgoing.device, now, outgoing.fields, outgoing.command_id, outgoing.by, self.ack_timeout_s,
            done_when_acknowledged=self._actions_only(outgoing.device, outgoing.fields),
        )  # fmt: skip
        try:
            self.binding.deliver(outgoing.device, DeviceCommand(outgoing.fields, outgoing.by, outgoing.command_id))
        except Exception as exc:
            logger.exception("the actor of %s failed on a command", outgoing.device)
            self.twin.acknowledge(outgoing.command_id, now, False, f"the device's actor failed: {exc}")
        if command.state is CommandState.PENDING and command.sent_at is None:
            self.twin.acknowledge(outgoing.command_id, now, False, "refused by the device's actor")

    def actuate(self, device: str, fields: Mapping[str, Any], answering: DeviceCommand | None) -> None:
        """A device's actor drives its device: the queued command it carries out, or a command of its own."""
        now = self.binding.env.now
        command_id = answering.command_id if answering is not None else None
        try:
            checked = payloads.settable(self.devices[device], dict(fields), f"command to {device}")
        except PayloadError as exc:
            self.rejected["actuation"] += 1  # a policy asked for what its device does not take: a bug
            logger.warning("the actor of %s asked for what the device does not take: %s", device, exc)
            if command_id is not None and command_id in self.twin.commands:
                self.twin.acknowledge(command_id, now, False, str(exc))
            return
        command = self.twin.commands.get(command_id) if command_id is not None else None
        if command is not None:
            if checked != command.fields:
                self.twin.revise(command.id, now, checked)
        else:
            by = answering.by if answering is not None else f"actor:{device}"
            reason = answering.reason if answering is not None else None
            command_id = command_id or uuid.uuid4().hex[:16]
            if self.audit is not None and (answering is None or answering.audited):
                self._audit_then_send(by, device, checked, reason, command_id)
                return
            command = self.twin.desire(
                device, now, checked, command_id, by, self.ack_timeout_s, reason, self._actions_only(device, checked)
            )
        self._publish_set(command.id, device, checked, now)

    def _audit_then_send(self, by: str, device: str, fields: dict[str, Any], reason: Mapping[str, Any] | None, command_id: str) -> None:
        """The audit entry of the station's own command is committed (on a thread of its own) before the command is
        desired and sent (back in the loop); one that cannot be audited, or finds 100 waiting, does not go."""
        audit, post = self.audit, self._post
        assert audit is not None and post is not None, "bind() gives the router the loop before the first command"
        if not self._awaiting_audit.acquire(blocking=False):
            self.rejected["unaudited"] += 1
            logger.error("%s's command to %s: %d commands wait for the audit log; not sent", by, device, MOST_AWAITING_AUDIT)
            return

        def write() -> None:
            try:
                audit(by, device, fields, reason, command_id)
            except Exception:
                logger.exception("%s's command to %s could not be audited: not sent", by, device)
                post(lambda twin: self.rejected.update(["unaudited"]))
            else:
                post(lambda twin: self._send_own(by, device, fields, reason, command_id))
            finally:
                self._awaiting_audit.release()

        self._auditor.submit(write)  # one at a time, in order: the chain's order is the sending order

    def _send_own(self, by: str, device: str, fields: dict[str, Any], reason: Mapping[str, Any] | None, command_id: str) -> None:
        """In the loop, once audited: desired under the station's own id, then out."""
        now = self.binding.env.now
        command = self.twin.desire(device, now, fields, command_id, by, self.ack_timeout_s, reason, self._actions_only(device, fields))
        self._publish_set(command.id, device, fields, now)

    def _actions_only(self, device: str, fields: Mapping[str, Any]) -> bool:
        actions = DEVICE_KINDS[self.devices[device]].actions
        return bool(actions) and set(fields) <= actions

    def _publish_set(self, command_id: str, device: str, fields: dict[str, Any], now: float) -> None:
        """QoS 1 and never retained (a retained command would replay on every reconnect), and never late.

        Offline, the command fails at once rather than wait in paho's queue to be carried
        out after the twin has called it failed; on the wire it expires with its deadline
        (MQTT 5 message expiry for the broker, ``expires`` in the payload for the device).
        """
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
        self.twin.sent(command_id, now)

    def tell(self, command_id: str, device: str, by: str, ok: bool, error: str | None, fields: Mapping[str, Any]) -> None:
        """A command's fate on ``bridge/result``, for whoever sent it (Home Assistant, an integrator), by its id."""
        fate = payloads.fate_payload(command_id, device, by, ok, error, dict(fields))
        self.mqtt.publish(topics.bridge_result(self.station), fate, qos=1)

    def _tell_fate(self, change: Change) -> None:
        command = self.twin.commands.get(change.data["command"])
        if command is None or not self.mqtt.connected:
            return
        self.tell(command.id, command.entity_id, command.by, command.state is CommandState.ACKED, command.error, command.fields)


class IntegratorCommands:
    """Commands from Home Assistant or any integrator on ``bridge/command``, taken whether discovery is on or not."""

    def __init__(self, router: CommandRouter) -> None:
        self.router = router
        self.topics = (ha.command_topic(router.station),)

    def connected(self) -> None:
        """Nothing retained to restore: commands are never retained."""

    def take(self, message: Incoming, now: float) -> None:
        if refuse_retained(self.router.mqtt, message):
            return
        device, fields, by, command_id = ha.parse_command(message.payload)
        try:
            command = self.router.check(device, fields, by=by, command_id=command_id)
        except BridgeError as exc:  # an unknown device or fields it does not take: the sender hears why, by its id
            if command_id is not None:
                self.router.tell(command_id, device, by, False, str(exc), fields)
            raise
        self.router.send(command, now)
