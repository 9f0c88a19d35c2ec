"""Calendar-aware clock and per-stream random generators."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.distribution import Triangular
from twin.clock import Clock
from twin.randomness import RandomStream


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


def draws(seed: int, name: str, n: int = 5) -> list[float]:
    stream = RandomStream(seed, name)
    return [stream.random() for _ in range(n)]


def test_streams_are_reproducible_and_independent() -> None:
    a1, a2 = draws(7, "riders/visits/arrivals"), draws(7, "riders/visits/arrivals")
    b, other_seed = draws(7, "couriers/visits/arrivals"), draws(8, "riders/visits/arrivals")
    assert a1 == a2 and len(set(a1)) == 5
    assert not set(a1) & set(b)
    assert not set(a1) & set(other_seed)


def test_each_kind_of_variate_keeps_its_own_block() -> None:
    """Drawing more uniforms does not shift the exponentials: common random numbers."""
    plain, busy = RandomStream(3, "x"), RandomStream(3, "x")
    for _ in range(300):
        busy.random()
    assert [plain.standard_exponential() for _ in range(300)] == [busy.standard_exponential() for _ in range(300)]


@given(u=st.floats(0, 1, exclude_max=True))
def test_triangular_inverse_transform_stays_in_range(u: float) -> None:
    class Fixed(RandomStream):
        def random(self) -> float:
            return u

    value = Triangular(10.0, 25.0, 60.0).sample(Fixed(0, "t"))
    assert 10.0 <= value <= 60.0


@given(
    speed=st.floats(min_value=0.01, max_value=3600.0),
    t=st.floats(min_value=0.0, max_value=30 * 86400.0),
    start_s=st.integers(min_value=0, max_value=86399),
)
def test_a_fast_clock_agrees_with_itself(speed: float, t: float, start_s: int) -> None:
    """Date, hour and next hour agree at any pace: an emulated demo's rules and day book read one calendar."""
    clock = Clock(datetime(2026, 7, 20) + timedelta(seconds=start_s), lambda: t, speed)
    moment = clock.datetime_at(t)
    hour = moment.hour + moment.minute / 60 + (moment.second + moment.microsecond / 1e6) / 3600
    assert abs(clock.hour_of_day(t) - hour) < 1e-6 or abs(abs(clock.hour_of_day(t) - hour) - 24) < 1e-6
    assert clock.day_index(t) == (moment.date() - date(2026, 7, 20)).days
    next_hour = clock.datetime_at(t + clock.seconds_to_next_hour(t))
    assert next_hour.minute == 0 or (next_hour.minute == 59 and next_hour.second == 59), next_hour
    assert clock.run_seconds(3600.0) * speed == pytest.approx(3600.0)
