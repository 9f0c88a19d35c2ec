"""The live station's supplies: devices' counted uses become consumption, and the alarm book follows every level.

A device that serves workers reports ``uses``, a counter that may restart from nought when it
is powered up. Each rise of it, times the item's ``per_use``, is a use of each item the device
takes (cups at the water dispenser and the coffee machine, coffee portions at the coffee
machine). The twin's feed is heard on the bridge's loop, which must not wait on a database: a
rise is only queued there, and a thread books the queue every ``flush_s``, as the history
writer does. The first report after a start is the baseline (what was used before is not
known), so uses while the station was down are not counted: a stocktake puts that right.

After every move (the meter's, or a custodian's on the web), ``sync`` raises or clears the
item's ``stock_out`` and ``stock_low`` alarms so that the alarm book says what the shelves do.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from hardware_bridge.bridge import Bridge
from scenarios.schema import Supply
from store import supplies as stock
from twin.alarm import AlarmBook, Severity
from twin.clock import Clock
from twin.feed import STATE, Change

logger = logging.getLogger(__name__)
MOST_QUEUED = 100_000
"""Rises waiting to be booked; past this (a database down for hours) the oldest are dropped, and said so."""


class SupplyKeeper:
    def __init__(
        self, supplies: tuple[Supply, ...], made: sessionmaker[Session], bridge: Bridge, station_time: Clock, flush_s: float = 2.0
    ) -> None:
        self.supplies = supplies
        self._made = made
        self._bridge = bridge
        self._station_time = station_time
        self._flush_s = flush_s
        self._metered = {device for supply in supplies for device, _ in supply.per_use}
        self._last_uses: dict[str, int] = {}
        self._rises: queue.Queue[tuple[str, int]] = queue.Queue(MOST_QUEUED)
        self._stop = threading.Event()
        self._syncing = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> SupplyKeeper:
        """Put the alarm book in step with the stored levels (alarms do not outlive a restart), then start metering."""
        for supply in self.supplies:
            self.sync(supply.id)
        if self._metered:
            self._bridge.twin.subscribe(self.observe, names=(STATE,))
            self._thread = threading.Thread(target=self._run, name="supplies-meter", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Book what is queued, if the database lets it; the station stops whatever happens here."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        try:
            self.flush()
        except Exception:  # the database is away at shutdown: these uses are lost, a stocktake puts it right
            logger.exception("supplies: the last uses could not be booked at stop")

    def observe(self, change: Change) -> None:
        """On the bridge's loop: a metered device's use counter rose (or restarted): queue the rise, nothing more."""
        if change.entity_id not in self._metered:
            return
        uses = change.data.get("uses")
        if not isinstance(uses, int) or isinstance(uses, bool) or uses < 0:
            return
        last = self._last_uses.get(change.entity_id)
        self._last_uses[change.entity_id] = uses
        if last is None:
            return  # the baseline
        rise = uses - last if uses >= last else uses  # a restart counts again from nought
        if rise > 0:
            try:
                self._rises.put_nowait((change.entity_id, rise))
            except queue.Full:
                logger.warning("supplies: %d uses of %s dropped, the meter's queue is full", rise, change.entity_id)

    def _run(self) -> None:
        while not self._stop.wait(self._flush_s):
            try:
                self.flush()
            except Exception:  # the database is away: the rises stay queued for the next round
                logger.exception("supplies: booking the devices' uses failed; tried again in %.0f s", self._flush_s)

    def flush(self) -> None:
        """Book what the devices used since the last flush, one move per item, and sync the alarms of what changed."""
        rises: Counter[str] = Counter()
        while True:
            try:
                device, rise = self._rises.get_nowait()
            except queue.Empty:
                break
            rises[device] += rise
        if not rises:
            return
        taken: Counter[str] = Counter()
        by: dict[str, list[str]] = {}
        for device, uses in rises.items():
            for item, units in stock.uses_taken(self.supplies, device, uses):
                taken[item] += units
                by.setdefault(item, []).append(device)
        moved = []
        try:
            with self._made.begin() as db:
                for item, units in taken.items():
                    if not stock.level(db, stock.supply_of(self.supplies, item)).counted:
                        continue  # its stock is not known yet: its first stocktake starts it, not a use
                    if units > stock.MOST_AT_ONCE:
                        logger.warning("supplies: %d units of %s from %s dropped: more than one move holds", units, item, by[item])
                        continue
                    level, _ = stock.move(db, self.supplies, item, stock.MoveKind.USED, units, "device:" + "+".join(sorted(by[item])),
                                          self._now(), note=f"{units} by counted uses")  # fmt: skip
                    moved.append(level)
        except Exception:
            for device, uses in rises.items():  # not booked: back in the queue, booked next time
                self._rises.put_nowait((device, uses))
            raise
        for level in moved:
            self.sync(level.item)

    def _now(self) -> datetime:
        """The station's clock, as the custodians' moves are booked on it (in a demo it runs faster than the wall's)."""
        return self._station_time.datetime_at(self._station_time.now())

    def sync(self, item: str) -> None:
        """Raise the alarms ``item``'s stored level calls for and clear those it no longer does (on the bridge's loop).

        The level is read here, one sync at a time, not handed over by the move that called: the meter's move and a
        delivery committed together could otherwise sync in the other order, and leave a stock-out over a full shelf."""
        bridge = self._bridge
        with self._syncing:
            with self._made() as db:
                level = stock.level(db, stock.supply_of(self.supplies, item))
            bridge.call(lambda twin: keep_alarms(bridge.alarms, level, bridge.clock.now()))


def keep_alarms(alarms: AlarmBook, level: stock.Level, now: float) -> None:
    """Make ``alarms`` hold exactly the stock alarms ``level`` calls for: a stock-out is critical (the shelf people take
    from is empty), a low stock a warning (reorder)."""
    wanted = stock.alarms_for(level)
    source = stock.alarm_source(level.item)
    active = {alarm.type for alarm in alarms.active() if alarm.source == source}
    for kind in (stock.STOCK_OUT, stock.STOCK_LOW):
        if kind in wanted and kind not in active:
            severity = Severity.CRITICAL if kind == stock.STOCK_OUT else Severity.WARNING
            alarms.raise_(source, kind, now, f"{level.item}: {level.total} left", severity)
        elif kind not in wanted and kind in active:
            alarms.clear_source(source, kind, now, f"{level.item}: {level.total} in stock")
