"""The twin's history: every change written as it happens, read back downsampled.

The writer is a feed subscriber that batches rows (one insert per batch, not per
change). Reads of long ranges are downsampled to at most ``max_points`` buckets:
numbers to their mean, minimum and maximum per bucket, other values to the last
one. Retention deletes what is older than a cut-off.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from actors.door import DOOR_DECIDED
from store.db import as_utc
from store.models import HistoryRow
from twin.clock import Clock
from twin.feed import STATE, Change

logger = logging.getLogger(__name__)
MAX_BUFFERED = 100_000
"""Rows kept while the database is away; older ones are dropped first (logged)."""
PURGE_EVERY_S = 3600.0


KEPT_LONGER = ("alarm_raised", "alarm_reopened", "alarm_cleared", "station_stopped")
"""The history's records the star figures are made of (``store.stars``), kept ``KEPT_LONGER_BY`` past the retention."""
KEPT_LONGER_BY = timedelta(days=366)


class HistoryWriter:
    """Rows are taken in the twin's thread (a list append) and written in the writer's own.

    A database that is slow or away must not hold up the bridge's loop, which also
    times out commands and takes acknowledgements: so ``start`` runs the inserts in a
    thread of their own, every ``period_s`` or as soon as ``batch`` rows are waiting,
    and there too, once an hour, deletes what is older than ``retention_s``.
    """

    def __init__(
        self, engine: Engine, station: str, clock: Clock, batch: int = 500, period_s: float = 2.0, retention_s: float | None = None
    ) -> None:
        self._engine = engine
        self._station = station
        self._clock = clock
        self._batch = batch
        self._period_s = period_s
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._due = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._retention_s = retention_s
        self.written = 0

    def __call__(self, change: Change) -> None:
        row = {
            "station": self._station, "seq": change.seq, "at": as_utc(self._clock.datetime_at(change.t)),
            "entity_id": change.entity_id, "name": change.name, "version": change.version,
            "data": _jsonable(change.data), "t": change.t,
        }  # fmt: skip
        with self._lock:
            self._rows.append(row)
            waiting = len(self._rows)
        if self._thread is None:
            if waiting >= self._batch:
                self.flush()  # no thread of its own (a test, a tool): write here; never raises
        elif waiting == self._batch:  # crossing it, not every row above it: a database that is away is retried on a back-off
            self._due.set()

    @property
    def backlog(self) -> int:
        """Rows taken and not yet written (they pile up while the database is away)."""
        return len(self._rows)

    def start(self) -> HistoryWriter:
        self._thread = threading.Thread(target=self._run, name=f"history-{self._station}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Write what is left and stop (the twin has stopped feeding it)."""
        self._stopping.set()
        self._due.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None
        if not self.flush():
            logger.error("history: %d rows could not be written before stopping; they are lost", len(self._rows))

    def _run(self) -> None:
        next_purge = time.monotonic()
        backoff_s = self._period_s
        while not self._stopping.is_set():
            self._due.wait(self._period_s)
            self._due.clear()
            if self.flush():
                backoff_s = self._period_s
            else:  # the database is away: try again later and later, up to a minute, whatever piles up meanwhile
                backoff_s = min(60.0, backoff_s * 2)
                self._stopping.wait(backoff_s)
            if self._retention_s is not None and time.monotonic() >= next_purge:
                next_purge = time.monotonic() + PURGE_EVERY_S
                self._purge(self._clock.datetime_at(self._clock.now()) - timedelta(seconds=self._retention_s))

    def _purge(self, before: datetime) -> None:
        try:
            deleted = History(self._engine, self._station).purge(before)
        except SQLAlchemyError:
            logger.exception("history: rows before %s not deleted; trying again in an hour", before)
            return
        if deleted:
            logger.info("history: %d rows before %s deleted (retention)", deleted, before)

    def flush(self) -> bool:
        """Write what is buffered; if the database refuses, keep it (up to ``MAX_BUFFERED``) for the next try and say False."""
        with self._lock:
            rows, self._rows = self._rows, []
        if not rows:
            return True
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(HistoryRow), rows)
        except SQLAlchemyError as exc:
            logger.warning("history: %d rows not written, kept for the next try: %s", len(rows), exc.__class__.__name__, exc_info=exc)
            with self._lock:
                self._rows[:0] = rows
                del self._rows[: max(0, len(self._rows) - MAX_BUFFERED)]
            return False
        self.written += len(rows)
        return True


@dataclass(frozen=True)
class Point:
    at: datetime
    value: Any
    low: float | None = None
    high: float | None = None
    count: int = 1


class History:
    def __init__(self, engine: Engine, station: str) -> None:
        self._engine = engine
        self._station = station

    def series(self, entity_id: str, field: str, since: datetime, until: datetime, max_points: int = 500) -> list[Point]:
        """``field`` of ``entity_id``'s reported state over [since, until], at most ``max_points`` points."""
        query = (
            select(HistoryRow.at, HistoryRow.data)
            .where(HistoryRow.station == self._station, HistoryRow.entity_id == entity_id, HistoryRow.name == STATE)
            .where(HistoryRow.at >= as_utc(since), HistoryRow.at <= as_utc(until))
            .order_by(HistoryRow.at, HistoryRow.seq)
        )
        with self._engine.connect() as connection:
            points = [Point(as_utc(at), data[field]) for at, data in connection.execute(query) if field in data]
        if len(points) <= max_points:
            return points
        return downsample(points, as_utc(since), as_utc(until), max_points)

    def events(
        self,
        since: datetime,
        until: datetime,
        entity_id: str | None = None,
        names: Iterable[str] | None = None,
        limit: int = 1000,
        newest_first: bool = False,
    ) -> list[HistoryRow]:
        """At most ``limit`` rows in [since, until]: in feed order, or the newest ``limit`` newest first (by moment)."""
        query = select(HistoryRow).where(
            HistoryRow.station == self._station, HistoryRow.at >= as_utc(since), HistoryRow.at <= as_utc(until)
        )
        if entity_id is not None:
            query = query.where(HistoryRow.entity_id == entity_id)
        if names is not None:
            query = query.where(HistoryRow.name.in_(list(names)))
        order = (HistoryRow.at.desc(), HistoryRow.seq.desc()) if newest_first else (HistoryRow.seq,)
        with Session(self._engine) as session:
            return list(session.scalars(query.order_by(*order).limit(limit)))

    def visits(self, visit: str, limit: int = 500) -> list[HistoryRow]:
        """The door's decisions on one person (their visit key, ``actors.door_access.visit_key``), newest first: what
        the history still holds, so no more than its retention allows."""
        query = (
            select(HistoryRow)
            .where(HistoryRow.station == self._station, HistoryRow.name == DOOR_DECIDED)
            .where(HistoryRow.data["visit"].as_string() == visit)
            .order_by(HistoryRow.at.desc(), HistoryRow.seq.desc())
            .limit(limit)
        )
        with Session(self._engine) as session:
            return list(session.scalars(query))

    def replay(self, since: datetime, until: datetime, names: Iterable[str]) -> Iterator[tuple[datetime, str, str, dict[str, Any]]]:
        """(when, entity, name, data) of the changes named ``names`` in [since, until], in feed order, streamed."""
        query = (
            select(HistoryRow.at, HistoryRow.entity_id, HistoryRow.name, HistoryRow.data)
            .where(HistoryRow.station == self._station, HistoryRow.at >= as_utc(since), HistoryRow.at <= as_utc(until))
            .where(HistoryRow.name.in_(list(names)))
            .order_by(HistoryRow.at, HistoryRow.seq)
            .execution_options(yield_per=5000)
        )
        with self._engine.connect() as connection:
            for at, entity_id, name, data in connection.execute(query):
                yield as_utc(at), entity_id, name, data

    def purge(self, older_than: datetime) -> int:
        """Delete history before ``older_than`` (the retention period's start); returns rows deleted. Alarm events and
        the station's stops are kept a year longer: the star figures of any month of the year are made of them (they
        are few, and name no worker)."""
        kept_longer = HistoryRow.name.in_(KEPT_LONGER) & (HistoryRow.at >= as_utc(older_than) - KEPT_LONGER_BY)
        with self._engine.begin() as connection:
            result = connection.execute(
                delete(HistoryRow).where(HistoryRow.station == self._station, HistoryRow.at < as_utc(older_than), ~kept_longer)
            )
        return int(result.rowcount)


def downsample(points: Sequence[Point], since: datetime, until: datetime, buckets: int) -> list[Point]:
    span = (until - since).total_seconds() or 1.0
    grouped: dict[int, list[Point]] = {}
    for point in points:
        index = min(buckets - 1, int((point.at - since).total_seconds() * buckets // span))
        grouped.setdefault(index, []).append(point)
    out = []
    for index in sorted(grouped):
        group = grouped[index]
        at = since + (until - since) * (index / buckets)
        numbers = [p.value for p in group if isinstance(p.value, int | float) and not isinstance(p.value, bool)]
        if len(numbers) == len(group):
            low, high = min(numbers), max(numbers)
            mean = min(max(sum(numbers) / len(numbers), low), high)  # rounding must not leave [low, high]
            out.append(Point(at, mean, low, high, len(group)))
        else:
            out.append(Point(at, group[-1].value, count=len(group)))
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)
