"""History in SQLite and PostgreSQL: written from the feed, read back downsampled, purged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, inspect

from store.db import engine_for, migrate
from store.history import History, HistoryWriter, Point, downsample
from tests.hardware_bridge.conftest import wait_for
from twin.clock import Clock
from twin.entity import Twin

START = datetime(2026, 7, 20, 8, 0, tzinfo=UTC)


def recorded_twin(engine: Engine, readings: int = 1000) -> tuple[Twin, HistoryWriter]:
    twin = Twin("yunting")
    twin.add("fridge", "fridge")
    writer = HistoryWriter(engine, "yunting", Clock(START, lambda: 0.0), batch=128)
    twin.subscribe(writer)
    for i in range(readings):
        twin.report("fridge", i * 60.0, {"temp_c": 4.0 + (i % 10) / 10, "door_open": i % 100 == 0})
    twin.record("fridge", readings * 60.0, "alarm_raised", {"alarm": "A1", "detail": "8.5 °C"})
    writer.flush()
    return twin, writer


def test_every_change_is_written_and_read_back(engine: Engine) -> None:
    twin, writer = recorded_twin(engine, readings=50)
    assert writer.written == twin.feed.last_seq
    history = History(engine, "yunting")
    points = history.series("fridge", "temp_c", START, START + timedelta(hours=2))
    assert len(points) == 50
    assert points[3] == Point(START + timedelta(minutes=3), 4.3)
    (event,) = history.events(START, START + timedelta(days=1), names=["alarm_raised"])
    assert event.data == {"alarm": "A1", "detail": "8.5 °C"} and event.entity_id == "fridge"
    assert History(engine, "another-station").series("fridge", "temp_c", START, START + timedelta(hours=2)) == []


def test_long_ranges_are_downsampled(engine: Engine) -> None:
    recorded_twin(engine, readings=1000)
    history = History(engine, "yunting")
    points = history.series("fridge", "temp_c", START, START + timedelta(minutes=1000), max_points=50)
    assert len(points) == 50
    assert all(p.count == 20 and p.low == pytest.approx(4.0) and p.high == pytest.approx(4.9) for p in points)
    assert all(p.value == pytest.approx(4.45) for p in points)
    flags = history.series("fridge", "door_open", START, START + timedelta(minutes=1000), max_points=10)
    assert len(flags) == 10 and all(p.value is False for p in flags)


def test_retention_deletes_only_the_old(engine: Engine) -> None:
    recorded_twin(engine, readings=120)
    history = History(engine, "yunting")
    deleted = history.purge(START + timedelta(minutes=60))
    assert deleted == 60
    remaining = history.series("fridge", "temp_c", START, START + timedelta(days=1))
    assert len(remaining) == 60 and remaining[0].at == START + timedelta(minutes=60)


def test_migrations_go_up_and_down(engine: Engine) -> None:
    assert "twin_history" in inspect(engine).get_table_names()
    migrate(engine, "base")
    assert "twin_history" not in inspect(engine).get_table_names()
    migrate(engine)
    assert "twin_history" in inspect(engine).get_table_names()


@settings(max_examples=50)
@given(st.lists(st.floats(0, 3600), min_size=1, max_size=200), st.integers(1, 40))
def test_downsampling_keeps_every_reading_once(offsets: list[float], buckets: int) -> None:
    points = [Point(START + timedelta(seconds=o), o) for o in sorted(offsets)]
    out = downsample(points, START, START + timedelta(hours=1), buckets)
    assert len(out) <= buckets
    assert sum(p.count for p in out) == len(points)
    assert [p.at for p in out] == sorted(p.at for p in out)
    for p in out:
        assert p.low is not None and p.high is not None and p.low <= p.value <= p.high


def test_the_writer_thread_writes_on_its_own_and_purges_past_retention(engine: Engine) -> None:
    recorded_twin(engine, readings=120)  # two hours from START
    now = START + timedelta(minutes=90)
    twin = Twin("yunting")
    twin.add("door", "door")
    writer = HistoryWriter(engine, "yunting", Clock(now, lambda: 0.0), batch=10_000, period_s=0.05, retention_s=3600).start()
    twin.subscribe(writer)
    try:
        for i in range(25):
            twin.report("door", 0.0, {"occupancy": i})
        wait_for(lambda: writer.written == twin.feed.last_seq, what="the writer's thread to write without being asked")
        history = History(engine, "yunting")
        wait_for(lambda: len(history.series("fridge", "temp_c", START, now)) == 61, what="the purge of rows over an hour old")
    finally:
        writer.stop()
    assert [p.value for p in history.series("door", "occupancy", now, now)] == list(range(25))


def test_the_purge_keeps_alarms_and_stops_a_year_longer_for_the_star_figures(engine: Engine) -> None:
    twin = Twin("yunting")
    twin.add("fridge", "fridge")
    writer = HistoryWriter(engine, "yunting", Clock(START, lambda: 0.0), batch=10_000)
    twin.subscribe(writer)
    twin.report("fridge", 0.0, {"temp_c": 4.0})
    twin.record("fridge", 0.0, "alarm_raised", {"type": "over_temperature"})
    twin.record("yunting", 0.0, "station_stopped", {})
    writer.flush()
    history = History(engine, "yunting")
    assert history.purge(START + timedelta(days=30)) == 1, "a month on, the reading goes; the alarm and the stop stay"
    assert history.purge(START + timedelta(days=30 + 367)) == 2, "a year past the retention, they go too"


def test_rows_the_database_refused_are_kept_and_written_once_it_is_back(engine: Engine, tmp_path: Path) -> None:
    missing = engine_for(f"sqlite:///{tmp_path / 'no-such-dir' / 'yxy.db'}")  # a database that is away
    twin = Twin("yunting")
    twin.add("fridge", "fridge")
    writer = HistoryWriter(missing, "yunting", Clock(START, lambda: 0.0), batch=10_000)
    twin.subscribe(writer)
    for i in range(5):
        twin.report("fridge", i * 60.0, {"temp_c": 4.0 + i})
    writer.flush()
    assert writer.written == 0
    writer._engine = engine  # the database is back
    writer.flush()
    assert writer.written == 5
    assert [p.value for p in History(engine, "yunting").series("fridge", "temp_c", START, START + timedelta(hours=1))] == [
        4.0, 5.0, 6.0, 7.0, 8.0,
    ]  # fmt: skip
