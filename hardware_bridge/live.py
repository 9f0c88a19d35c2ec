"""The live station: broker, bridge, history, automations and (for demos and CI) emulated devices.

``yxy live`` composes this.  Without ``--mqtt`` an embedded broker starts, so the
whole thing runs on a bare machine; with ``--emulate`` the station's devices are
emulated and driven by its simulated population in real time (or faster).
"""

from __future__ import annotations

import contextlib
import logging
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, time
from importlib.metadata import version
from zoneinfo import ZoneInfo

from actors.registry import DEVICE_KINDS
from actors.runtime import Placement
from actors.service_point import ServicePointConfig
from hardware_bridge.bridge import Bridge
from hardware_bridge.broker import EmbeddedBroker
from hardware_bridge.clock import station_now, wall_clock
from hardware_bridge.emulator import Emulator
from hardware_bridge.mqtt import BrokerConfig
from hardware_bridge.payloads import STATE as STATE_SCHEMAS
from scenarios.parallel import ray_session
from scenarios.schema import Scenario
from store.db import engine_for, migrate
from store.history import History, HistoryWriter
from twin.clock import Clock
from twin.daybook import COUNTED_EVENTS, STATION_STOPPED, Daybook
from twin.entity import AVAILABILITY
from twin.feed import STATE

logger = logging.getLogger(__name__)
__version__ = version("yunxiaoyi")


@dataclass
class LiveOptions:
    mqtt_url: str | None = None
    broker_port: int = 18830
    database_url: str = "sqlite:///yxy.db"
    emulate: bool = False
    speed: float = 1.0
    emulate_from_now: bool = False
    """The emulated population starts at the station's time of day; False: at the scenario's own start."""
    report_interval_s: float = 30.0
    ack_timeout_s: float = 5.0
    retention_days: float = 30.0
    discovery: bool = False
    """Announce the devices to Home Assistant (MQTT discovery)."""
    placement: Placement = Placement.INLINE
    """Where the device and visitor actors live: this process, or Ray (started here if not running)."""


class LiveStation:
    def __init__(self, scenario: Scenario, options: LiveOptions) -> None:
        self.scenario = scenario
        self.options = options
        self.broker: EmbeddedBroker | None = None
        self.emulator: Emulator | None = None
        self.devices = {d.id: d.kind for d in scenario.devices if d.kind in STATE_SCHEMAS}
        self.zone = ZoneInfo(scenario.timezone)
        self.db = engine_for(options.database_url)
        self.history = History(self.db, scenario.station_id)
        self.bridge: Bridge | None = None
        self._ray: AbstractContextManager[float] | None = None
        self._writer: HistoryWriter | None = None
        self.daybook: Daybook | None = None

    def start(self) -> LiveStation:
        migrate(self.db)
        if self.options.mqtt_url is None:
            self.broker = EmbeddedBroker(port=self.options.broker_port).start()
            config = BrokerConfig.from_url(self.broker.url)
        else:
            config = BrokerConfig.from_url(self.options.mqtt_url)
        clock = wall_clock()
        if self.options.placement is Placement.RAY:
            self._ray = ray_session()
            self._ray.__enter__()
        actors = {d.id: (DEVICE_KINDS[d.kind].policy, d.config) for d in self.scenario.devices if d.kind in DEVICE_KINDS}
        bridge = Bridge(
            self.scenario.station_id, self.devices, config, clock,
            ack_timeout_s=self.options.ack_timeout_s, report_interval_s=self.options.report_interval_s,
            discovery=self.options.discovery, names={d.id: d.label for d in self.scenario.devices}, version=__version__,
            actors=actors, placement=self.options.placement, seed=self.scenario.seed,
            automations=self.scenario.automations, timezone=self.scenario.timezone,
        )  # fmt: skip
        retention_s = self.options.retention_days * 86400
        writer = self._writer = HistoryWriter(self.db, self.scenario.station_id, clock, batch=200, retention_s=retention_s).start()
        bridge.twin.subscribe(writer)
        self.daybook = self._open_daybook(bridge, clock)
        self.bridge = bridge.start()
        if self.options.emulate:
            self.emulator = Emulator(self.scenario, config, report_interval_s=self.options.report_interval_s).start()
            start = station_now(self.scenario.timezone) if self.options.emulate_from_now else None
            self.emulator.drive(speed=self.options.speed, start=start)
        return self

    def stop(self) -> None:
        if self.emulator is not None:
            self.emulator.stop()
        if self.bridge is not None:
            bridge = self.bridge
            with contextlib.suppress(TimeoutError):  # so the next start's day book knows until when the levels held
                bridge.call(lambda twin: twin.record(self.scenario.station_id, bridge.clock.now(), STATION_STOPPED, {}))
            bridge.stop()
        if self._writer is not None:
            self._writer.stop()  # the loop has stopped: what it buffered since the last flush is written now
        if self.broker is not None:
            self.broker.stop()
        if self._ray is not None:
            self._ray.__exit__(None, None, None)
        self.db.dispose()

    def _open_daybook(self, bridge: Bridge, clock: Clock) -> Daybook:
        """Today's book, with what the history holds of today replayed into it, then kept by the live feed."""
        units = {d.id: d.config.units for d in self.scenario.devices if isinstance(d.config, ServicePointConfig)}
        now = clock.datetime_at(clock.now())
        book = Daybook(self.zone, units, now)
        last = midnight = datetime.combine(book.day, time(), self.zone)
        for at, entity_id, name, data in self.history.replay(midnight, now, (STATE, AVAILABILITY, *COUNTED_EVENTS)):
            book.observe(at, entity_id, name, data)
            last = at
        book.pause(last)  # the station stopped (or at least was last heard of) then: the time since was not observed
        bridge.twin.subscribe(lambda change: book.observe(clock.datetime_at(change.t), change.entity_id, change.name, change.data))
        return book
