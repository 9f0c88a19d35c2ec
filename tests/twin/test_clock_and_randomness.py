"""Calendar-aware clock and per-stream random generators."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from twin.clock import Clock
from twin.randomness import random_stream


def test_calendar_from_run_time() -> None:
    clock = Clock(datetime(2026, 7, 19, 20, 0), lambda: 0.0)  # a Sunday evening
    assert clock.weekday(0) == 6
    assert clock.hour_of_day(0) == 20.0
    assert clock.weekday(4 * 3600) == 0 and clock.hour_of_day(4 * 3600) == 0.0
    assert clock.day_index(4 * 3600) == 1
    assert clock.seconds_to_next_hour(30 * 60) == 1800.0


@given(t=st.floats(0, 3e7))
def test_hour_and_day_agree_with_datetime(t: float) -> None:
    clock = Clock(datetime(2026, 1, 1, 5, 30), lambda: t)
    moment = clock.datetime_at(t)
    assert abs(clock.hour_of_day(t) - (moment.hour + moment.minute / 60 + (moment.second + moment.microsecond / 1e6) / 3600)) < 1e-6
    assert clock.weekday(t) == moment.weekday()
    assert 0 < clock.seconds_to_next_hour(t) <= 3600.0


def test_streams_are_reproducible_and_independent() -> None:
    a1 = random_stream(7, "riders/visits/arrivals").random(5)
    a2 = random_stream(7, "riders/visits/arrivals").random(5)
    b = random_stream(7, "couriers/visits/arrivals").random(5)
    other_seed = random_stream(8, "riders/visits/arrivals").random(5)
    assert (a1 == a2).all()
    assert not (a1 == b).any()
    assert not (a1 == other_seed).any()
