"""The day book: today's figures in the station's own day, waits by Little's law, the busiest devices."""

from __future__ import annotations

import heapq
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twin.daybook import Daybook
from twin.entity import AVAILABILITY, DESIRED
from twin.feed import STATE

SHANGHAI = ZoneInfo("Asia/Shanghai")
MIDNIGHT = datetime(2026, 11, 29, tzinfo=SHANGHAI)


def at(seconds: float) -> datetime:
    return MIDNIGHT + timedelta(seconds=seconds)


def test_the_day_is_the_stations_not_the_servers() -> None:
    book = Daybook(SHANGHAI, {}, datetime(2026, 11, 29, 15, 0, tzinfo=UTC))  # 23:00 in Shanghai
    book.observe(datetime(2026, 11, 29, 15, 30, tzinfo=UTC), "door", "worker_entered", {})
    book.observe(datetime(2026, 11, 29, 16, 30, tzinfo=UTC), "door", "worker_entered", {})  # 00:30 on the 30th
    figures = book.figures(datetime(2026, 11, 29, 16, 40, tzinfo=UTC))
    assert str(figures.day) == "2026-11-30"
    assert figures.visitors_by_hour[0] == 1 and figures.visitors == 1


def test_yesterdays_changes_replayed_late_are_not_counted_today() -> None:
    book = Daybook(SHANGHAI, {}, at(3600))
    book.observe(at(-60), "door", "worker_entered", {})
    book.observe(at(60), "door", "worker_entered", {})
    assert book.figures(at(3600)).visitors == 1


def test_commands_and_alarms_are_counted_once() -> None:
    book = Daybook(SHANGHAI, {}, at(0))
    book.observe(at(10), "lights", DESIRED, {"on": True, "command": "c1"})
    book.observe(at(11), "lights", DESIRED, {"on": True, "command": "c1", "revised": True})
    book.observe(at(12), "fridge", "alarm_raised", {"type": "over_temperature"})
    figures = book.figures(at(20))
    assert (figures.commands, figures.alarms_raised) == (1, 1)


def test_utilisation_and_hours_split_at_the_clock_hour() -> None:
    book = Daybook(SHANGHAI, {"microwave": 2}, at(0))
    book.observe(at(0), "microwave", STATE, {"busy": 0, "queue": 0})
    book.observe(at(3000), "microwave", STATE, {"busy": 2, "queue": 3})  # 00:50
    book.observe(at(4200), "microwave", STATE, {"busy": 1, "queue": 0})  # 01:10
    figures = book.figures(at(7200)).devices[0]
    # busy: 2 units x 1200 s; queue: 3 x 1200 s = 3600 person-s, half in hour 0, half in hour 1
    assert figures.utilisation == pytest.approx((2 * 1200 + 1 * 3000) / (2 * 7200))
    assert figures.queue_peak == 3
    assert figures.uses == 2  # no cycle counter: the rise in busy units


def test_cycle_counter_counts_uses_and_survives_a_device_restart() -> None:
    book = Daybook(SHANGHAI, {"battery_cabinet": 1}, at(0))
    book.observe(at(10), "battery_cabinet", STATE, {"uses": 500, "busy": 0})  # the baseline: uses before today are not today's
    book.observe(at(20), "battery_cabinet", STATE, {"uses": 503})
    book.observe(at(30), "battery_cabinet", STATE, {"uses": 2})  # powered off and on: the counter restarted
    book.observe(at(40), "battery_cabinet", STATE, {"busy": 1})  # a counter, once seen, is the only source
    assert book.figures(at(50)).devices[0].uses == 5


def test_time_offline_is_not_counted_as_idle() -> None:
    book = Daybook(SHANGHAI, {"toilet": 1}, at(0))
    book.observe(at(0), "toilet", STATE, {"busy": 1})
    book.observe(at(600), "toilet", AVAILABILITY, {"available": False, "reason": "silent"})
    book.observe(at(3000), "toilet", STATE, {"busy": 1})
    assert book.figures(at(3600)).devices[0].utilisation == pytest.approx(1.0)


def test_a_restart_replays_then_pauses_until_devices_report() -> None:
    book = Daybook(SHANGHAI, {"seat": 4}, at(0))
    book.observe(at(0), "seat", STATE, {"busy": 4})
    book.pause(at(600))
    figures = book.figures(at(6000))
    assert figures.devices[0].utilisation == pytest.approx(1.0)


def test_the_page_turns_at_midnight_and_keeps_the_levels() -> None:
    book = Daybook(SHANGHAI, {"seat": 2}, at(0))
    book.observe(at(23 * 3600), "seat", STATE, {"busy": 2, "queue": 1})
    book.observe(at(24 * 3600 + 1800), "door", "worker_entered", {})
    figures = book.figures(at(25 * 3600))
    seat = figures.devices[0]
    assert str(figures.day) == "2026-11-30" and figures.visitors_by_hour[0] == 1
    assert seat.utilisation == pytest.approx(1.0) and seat.queue_peak == 1 and seat.uses == 0


def test_busiest_devices_first() -> None:
    book = Daybook(SHANGHAI, {"seat": 8, "microwave": 2, "toilet": 1}, at(0))
    for device, busy in (("seat", 2), ("microwave", 2), ("toilet", 0)):
        book.observe(at(0), device, STATE, {"busy": busy})
    assert [d.device for d in book.figures(at(60)).devices] == ["microwave", "seat", "toilet"]


def test_a_sensor_counting_more_units_than_there_are_does_not_push_utilisation_over_one() -> None:
    book = Daybook(SHANGHAI, {"toilet": 1}, at(0))
    book.observe(at(0), "toilet", STATE, {"busy": 3})
    assert book.figures(at(60)).devices[0].utilisation == pytest.approx(1.0)


def fifo_reports(gaps: list[float], services: list[float], units: int) -> tuple[list[tuple[float, dict[str, int]]], list[float]]:
    """A first-come first-served queue played out: the device's reports, and each worker's true wait."""
    events: list[tuple[float, int, int]] = []  # (time, order, delta kind): ends before starts before arrivals at a tie
    t = 0.0
    free_at = [0.0] * units
    waits = []
    for gap, service in zip(gaps, services, strict=True):
        t += gap
        begin = max(t, heapq.heappop(free_at))
        heapq.heappush(free_at, begin + service)
        waits.append(begin - t)
        events += [(t, 2, 0), (begin, 1, 1), (begin + service, 0, 2)]
    busy = queue = uses = 0
    reports = []
    for when, _, what in sorted(events):
        if what == 0:
            queue += 1
        elif what == 1:
            queue, busy, uses = queue - 1, busy + 1, uses + 1
        else:
            busy -= 1
        reports.append((when, {"busy": busy, "queue": queue, "uses": uses}))
    return reports, waits


@given(
    gaps=st.lists(st.floats(0, 600), min_size=1, max_size=40),
    data=st.data(),
    units=st.integers(1, 3),
)
def test_littles_law_gives_the_true_mean_wait_once_the_queue_has_emptied(gaps: list[float], data: st.DataObject, units: int) -> None:
    services = data.draw(st.lists(st.floats(1, 900), min_size=len(gaps), max_size=len(gaps)))
    reports, waits = fifo_reports(gaps, services, units)
    book = Daybook(SHANGHAI, {"microwave": units}, at(0))
    book.observe(at(0), "microwave", STATE, {"busy": 0, "queue": 0, "uses": 0})
    for when, state in reports:
        book.observe(at(when), "microwave", STATE, state)
    figures = book.figures(at(reports[-1][0] + 1)).devices[0]
    assert figures.uses == len(waits)
    assert figures.wait_mean_s == pytest.approx(sum(waits) / len(waits), abs=1e-3)  # datetimes keep microseconds
    assert figures.utilisation is not None and 0.0 <= figures.utilisation <= 1.0 + 1e-12
    busy_s = sum(services)
    assert figures.utilisation == pytest.approx(busy_s / (units * (reports[-1][0] + 1)), rel=1e-6)
    assert sum(n for n in figures.uses_by_hour) == len(waits)


def test_a_device_back_online_with_the_same_levels_is_counted_again() -> None:
    book = Daybook(SHANGHAI, {"toilet": 1}, at(0))
    book.observe(at(0), "toilet", AVAILABILITY, {"available": True, "reason": "reporting"})
    book.observe(at(0), "toilet", STATE, {"busy": 1})
    book.observe(at(60), "toilet", AVAILABILITY, {"available": False, "reason": "silent"})
    book.observe(at(120), "toilet", AVAILABILITY, {"available": True, "reason": "reporting"})  # the same report: no state change
    book.observe(at(600), "toilet", STATE, {"uses": 0})
    figures = book.figures(at(3600)).devices[0]
    assert figures.utilisation == pytest.approx(1.0)
    assert book._devices["toilet"].seen_s[0] == pytest.approx(3600 - 60)


def test_a_retained_report_of_a_device_that_is_offline_counts_nothing() -> None:
    book = Daybook(SHANGHAI, {"seat": 4}, at(0))
    book.observe(at(0), "seat", AVAILABILITY, {"available": False, "reason": "announced"})
    book.observe(at(1), "seat", STATE, {"busy": 4, "queue": 2})
    figures = book.figures(at(3600)).devices[0]
    assert figures.utilisation is None and figures.wait_mean_s is None


@pytest.mark.parametrize(
    ("day", "hours", "two_oclock_s"), [(datetime(2026, 3, 29), 23, 0), (datetime(2026, 10, 25), 25, 7200), (datetime(2026, 6, 1), 24, 3600)]
)
def test_a_day_with_a_clock_change_has_the_hours_it_really_has(day: datetime, hours: int, two_oclock_s: float) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    midnight = day.replace(tzinfo=berlin)
    book = Daybook(berlin, {"seat": 1}, midnight)
    book.observe(midnight, "seat", STATE, {"busy": 1})
    end = datetime.combine(day.date() + timedelta(days=1), datetime.min.time(), berlin) - timedelta(microseconds=1)
    book.figures(end)
    assert sum(book._devices["seat"].seen_s) == pytest.approx(hours * 3600, abs=1e-3)
    assert book._devices["seat"].busy_s[2] == pytest.approx(two_oclock_s, abs=1e-3)  # 02:00-03:00 skipped, or lived twice


def test_after_a_restart_a_retained_report_counts_only_once_the_device_is_online() -> None:
    book = Daybook(SHANGHAI, {"seat": 2}, at(0))
    book.observe(at(0), "seat", AVAILABILITY, {"available": True, "reason": "reporting"})
    book.observe(at(0), "seat", STATE, {"busy": 2})
    book.pause(at(600))  # the station stopped
    book.observe(at(3600), "seat", STATE, {"busy": 2})  # the broker's retained report: the seats' sensor may be dead
    assert book.figures(at(7200)).devices[0].utilisation == pytest.approx(1.0)
    assert sum(book._devices["seat"].seen_s) == pytest.approx(600), "nothing counted from the retained report alone"
    book.observe(at(7200), "seat", AVAILABILITY, {"available": True, "reason": "reporting"})
    book.figures(at(7800))
    assert sum(book._devices["seat"].seen_s) == pytest.approx(1200)


def test_a_half_hour_clock_change_neither_hangs_nor_loses_time() -> None:
    lord_howe = ZoneInfo("Australia/Lord_Howe")  # falls back half an hour on 2024-04-07
    midnight = datetime(2024, 4, 7, tzinfo=lord_howe)
    book = Daybook(lord_howe, {"seat": 1}, midnight)
    book.observe(midnight, "seat", STATE, {"busy": 1})
    book.figures(datetime(2024, 4, 7, 23, 59, 59, tzinfo=lord_howe))
    real = (datetime(2024, 4, 7, 23, 59, 59, tzinfo=lord_howe).astimezone(UTC) - midnight.astimezone(UTC)).total_seconds()
    assert sum(book._devices["seat"].seen_s) == pytest.approx(real) and real == pytest.approx(24.5 * 3600 - 1)
