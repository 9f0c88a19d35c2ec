"""The twin bound to the station's devices over MQTT: the parts, put together.

- the loop (hardware_bridge/loop.py) owns the twin; everything else queues for it;
- ingest (hardware_bridge/ingest.py) takes what devices tell, through their actors;
- the command router (hardware_bridge/commands.py) takes operators', automations' and
  integrators' commands through the devices' actors to the devices, and tells fates;
- plugins take topics of their own: integrators' commands always, Home Assistant's
  discovery when asked for;
- the bridge meters every message (by kind, channel and outcome; a rejection by its
  reason), keeps the contract readable for others (each device's full merged state
  retained on its ``twin`` topic: a device may report only what changed) and does
  what is owed between messages: overdue commands failed, silent devices marked
  unavailable, unhandled alarms escalated, settled commands forgotten after a day.

Anything that breaks the contract is counted by reason and logged and never stops the
loop.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from actors.actor import Actor, Device
from actors.automation import AUTOMATIONS_ID, OBSERVED, Automations, AutomationsConfig
from actors.registry import DEVICE_KINDS
from actors.runtime import Placement
from hardware_bridge import discovery as ha
from hardware_bridge import payloads, topics
from hardware_bridge.clock import epoch_s, station_clock
from hardware_bridge.commands import CommandRouter, IntegratorCommands, Outgoing, StationAudit
from hardware_bridge.errors import BridgeError
from hardware_bridge.ingest import Ingest
from hardware_bridge.live_binding import LiveBinding
from hardware_bridge.loop import CHECK_EVERY_S, Incoming, Plugin, TwinLoop
from hardware_bridge.mqtt import BrokerConfig, MqttClient, Will
from hardware_bridge.topics import Channel
from twin.alarm import AlarmBook
from twin.clock import Clock
from twin.entity import Twin
from twin.errors import UnknownCommandError
from twin.feed import STATE

logger = logging.getLogger(__name__)

DEFAULT_REPORT_INTERVAL_S = 30.0
KEEP_SETTLED_S = 86_400.0
CHANNELS = frozenset(channel.value for channel in Channel)
FEED_RETAINED = 20_000
"""Changes kept for consumers that resume (a web view reconnecting); older ones are in the history."""
TWIN_EVERY_S = 1.0
"""A device's retained full state is published at most this often: a chatty device must not double the broker's load."""


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
        calendar: Clock | None = None,
        audit: StationAudit | None = None,
    ) -> None:
        """``devices`` maps each device id of the station to its kind; ``actors`` maps device ids to (actor
        class, config), by default the plain ``Device`` policy.  Every device's reports and commands go
        through its actor, placed inline or in Ray (which must then be running); ``automations`` run as
        their actor beside them, on the station's time of day in ``timezone``: the wall's, or ``calendar``'s (an
        emulated crowd's clock, on the same run seconds).  ``audit`` records the commands the station sends itself."""
        self.station = topics.check_id(station, "station")
        self.clock = clock
        self.twin = twin or Twin(station, retain=FEED_RETAINED)
        self.devices = dict(devices)
        for device, kind in self.devices.items():
            topics.check_id(device, "device")
            if device not in self.twin.entities:
                self.twin.add(device, kind, {"report_interval_s": report_interval_s})
        self.silence_intervals = silence_intervals
        self.escalate_after_s = escalate_after_s
        self.received = 0
        self.applied = 0
        self.rejected: Counter[str] = Counter()
        self._rejections = RejectionLog(REJECTIONS_LOGGED_EVERY_S)
        self.messages: Counter[tuple[str, str, str]] = Counter()
        """MQTT messages in by (device kind, channel, outcome), for /metrics."""
        self.alarms = AlarmBook(self.twin)
        self.mqtt = MqttClient(
            broker,
            f"yxy-bridge-{station}",  # stable, so the broker resumes the bridge's persistent session after a restart
            lambda topic, payload, retained: self.loop.submit(Incoming(topic, payload, retained, clock.now())),
            will=Will(topics.bridge_availability(station), topics.OFFLINE.encode()),
            on_connected=self._connected,
        )
        self.router = CommandRouter(self.station, self.devices, self.twin, self.mqtt, ack_timeout_s, self.rejected, audit)
        self.binding = LiveBinding(self.twin, station_clock(calendar or clock, timezone), seed, placement, self.router.actuate, self.alarms)
        self.loop = TwinLoop(f"bridge-{station}", self.twin, self.binding, clock)
        self.router.bind(self.binding, self.loop.post)
        hosted: dict[str, tuple[type[Actor], object]] = dict.fromkeys(self.devices, (Device, None))
        hosted.update(actors or {})
        self.ingest = Ingest(self.station, self.devices, {d: c for d, (_, c) in hosted.items()}, self.twin, self.binding, self.mqtt)
        self.plugins: list[Plugin] = [IntegratorCommands(self.router)]
        if discovery:
            self.plugins.append(ha.HomeAssistant(self.mqtt, self.station, self.devices, dict(names or {}), version))
        self._plugin_of = {topic: plugin for plugin in self.plugins for topic in plugin.topics}
        self._unpublished: set[str] = set()
        """Devices whose merged state changed since it was last published on their twin topic."""
        self.twin.subscribe(lambda change: self._unpublished.add(change.entity_id), names=(STATE,))
        self.loop.handle(Incoming, self._receive)
        self.loop.handle(Outgoing, self.router.send)
        self.loop.every(CHECK_EVERY_S, self.check_deadlines)
        self.loop.every(TWIN_EVERY_S, self._publish_twins)
        self.loop.every(600.0, self._forget)
        # ``set`` too: a command another client sent straight to a device (or left retained) is the bridge's business.
        for channel in (Channel.STATE, Channel.AVAILABILITY, Channel.ACK, Channel.EVENT, Channel.SET):
            self.mqtt.subscribe(topics.station_filter(station, channel), qos=1)
        for topic in self._plugin_of:
            self.mqtt.subscribe(topic, qos=1)
        self._host_actors(hosted, automations)

    # ---- life cycle -------------------------------------------------------------

    def _host_actors(self, hosted: Mapping[str, tuple[type[Actor], object]], automations: AutomationsConfig | None) -> None:
        binding = self.binding
        binding.advance_to(self.clock.now())
        if automations is not None:
            # First, so the automations hear every device's first report too.
            binding.host(Automations, AUTOMATIONS_ID, automations, register=False)
            binding.observe(AUTOMATIONS_ID, OBSERVED)
        for device, (actor_class, config) in hosted.items():
            binding.host(actor_class, device, config, register=False)
        binding.drain()

    def _connected(self) -> None:
        """On every (re)connect, in paho's thread: a broker restarted without persistence forgot what was retained."""
        self.mqtt.publish(topics.bridge_availability(self.station), topics.ONLINE, qos=1, retain=True)
        self.loop.post(lambda twin: self._unpublished.update(d for d in self.devices if twin.entities[d].reported))
        for plugin in self.plugins:
            plugin.connected()

    def start(self, connect_timeout_s: float = 10.0) -> Bridge:
        self.mqtt.start()
        self.loop.start()
        if not self.mqtt.wait_connected(connect_timeout_s):
            logger.warning("MQTT broker not reached within %s s; the bridge keeps trying", connect_timeout_s)
        return self

    def stop(self) -> None:
        self.router.close()
        self.loop.stop()
        self.mqtt.close(last_words=(topics.bridge_availability(self.station), topics.OFFLINE.encode()))
        self.binding.stop_all()

    # ---- operators, the web view and the station (any thread) ----------------------------

    def command(self, device: str, fields: Mapping[str, Any], by: str, command_id: str | None = None) -> str:
        """Check and queue a command; returns its id (the caller's, if it gave one). Its fate arrives on the feed."""
        command = self.check(device, fields, by, command_id)
        self.submit(command)
        return command.command_id

    def check(self, device: str, fields: Mapping[str, Any], by: str, command_id: str | None = None) -> Outgoing:
        """The command as it would be sent, or BridgeError; nothing is sent. The web audits it between this and submit."""
        return self.router.check(device, fields, by, command_id)

    def submit(self, command: Outgoing) -> None:
        self.loop.submit(command)

    def tell(self, actor_ids: Iterable[str], message: object) -> None:
        """Hand ``message`` to each actor, in the loop (the station briefing its doors), not waiting for it."""
        recipients = tuple(actor_ids)

        def deliver(_twin: Twin) -> None:
            for actor_id in recipients:
                self.binding.deliver(actor_id, message)

        self.loop.post(deliver)

    def read(self, action: Callable[[Twin], Any]) -> Any:
        """Run ``action`` on the twin while the loop is not changing it."""
        return self.loop.read(action)

    def call(self, action: Callable[[Twin], Any], timeout_s: float = 5.0) -> Any:
        """Run ``action`` in the loop (to change the twin: acknowledge an alarm) and return its result."""
        return self.loop.call(action, timeout_s)

    def post(self, action: Callable[[Twin], Any]) -> None:
        """Have ``action`` run in the loop, not waiting for it: a leaving that must happen even as its caller is cancelled
        (a web feed's unsubscribe), where an await could be cut short."""
        self.loop.post(action)

    def every(self, period_s: float, action: Callable[[Twin, float], None]) -> None:
        """Run ``action(twin, now)`` in the loop every ``period_s`` (history flushes); before ``start``."""
        self.loop.every(period_s, action)

    def queued(self) -> int:
        """Messages and requests waiting for the loop."""
        return self.loop.queued()

    @property
    def lag_s(self) -> float:
        """How long the last message waited between arriving and being handled."""
        return self.loop.lag_s

    # ---- in the loop ------------------------------------------------------------------------

    def _receive(self, message: Incoming, now: float) -> None:
        """One message from the broker, to its plugin or to ingest, metered."""
        self.received += 1
        parts = message.topic.split("/")
        kind_label, channel = (parts[2], parts[4]) if len(parts) == 5 else ("other", "other")
        if kind_label not in DEVICE_KINDS:
            kind_label = "other"
        if channel not in CHANNELS:
            channel = "other"
        try:
            plugin = self._plugin_of.get(message.topic)
            if plugin is not None:
                plugin.take(message, now)
            else:
                self.ingest.take(message, now)
        except (BridgeError, UnknownCommandError) as exc:
            reason = type(exc).__name__
            self.rejected[reason] += 1
            self.messages[(kind_label, channel, "rejected")] += 1
            self._rejections.log(reason, str(exc), now)
            return
        self.applied += 1
        self.messages[(kind_label, channel, "applied")] += 1

    def check_deadlines(self, twin: Twin, now: float) -> None:
        """Overdue commands failed, unhandled alarms escalated, silent devices unavailable."""
        twin.expire(self.loop.seen_by(now))
        self.alarms.escalate(now, self.escalate_after_s)
        for entity in twin.silent(now, self.silence_intervals):
            twin.set_availability(entity.id, now, False, "silent")

    def _publish_twins(self, twin: Twin, now: float) -> None:
        """Each changed device's whole merged state, retained: what Home Assistant and integrators read."""
        if not self.mqtt.connected:
            return
        for device in sorted(self._unpublished & self.devices.keys()):
            state = twin.entities[device].reported
            self.mqtt.publish(
                topics.twin_topic(self.station, self.devices[device], device),
                payloads.state_payload(epoch_s(), dict(state)), qos=1, retain=True,
            )  # fmt: skip
        self._unpublished.clear()

    def _forget(self, twin: Twin, now: float) -> None:
        """A station runs for months: settled commands and closed alarms leave memory after a day (history keeps them)."""
        twin.forget_commands(now - KEEP_SETTLED_S)
        self.alarms.forget_cleared(now - KEEP_SETTLED_S)


REJECTIONS_LOGGED_EVERY_S = 10.0


class RejectionLog:
    """One log line per reason every ``every_s``, saying how many like it were not logged since the last.

    A client spraying garbage would otherwise fill the disk through the log, one line per
    message; every rejection is still counted in ``/metrics`` (``rejected``) as it happens.
    """

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self._last: dict[str, float] = {}
        self._unlogged: Counter[str] = Counter()

    def log(self, reason: str, detail: str, now: float) -> None:
        last = self._last.get(reason)
        if last is not None and now - last < self.every_s:
            self._unlogged[reason] += 1
            return
        self._last[reason] = now
        unlogged = self._unlogged.pop(reason, 0)
        more = f" (and {unlogged} more like it in the last {now - last:.0f} s)" if unlogged and last is not None else ""
        logger.warning("rejected (%s): %s%s", reason, detail[:300], more)
