"""The time-weighted series behind utilisation, queue length and occupancy."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scenarios.kpi import _TimeSeries


def test_a_known_step_function() -> None:
    # 0 until 30 min, 2 until 90 min, 1 until the end (2 h); window from 60 min; hourly buckets.
    series = _TimeSeries(horizon_s=7200, bucket_s=3600, window_from=3600)
    series.set(1800, 2)
    series.set(5400, 1)
    series.finish()
    assert series.window_area == pytest.approx(2 * 1800 + 1 * 1800)
    assert series.means() == pytest.approx([1.0, 1.5])
    assert series.peak == 2


def test_clock_aligned_partial_buckets() -> None:
    # The run starts 20 min into an hour and lasts 70 min: buckets of 40 and 30 min.
    series = _TimeSeries(horizon_s=4200, bucket_s=3600, window_from=0, offset_s=1200)
    series.set(0, 3)
    series.finish()
    assert series.means() == pytest.approx([3.0, 3.0])
    assert series.bucket_start(1) == 2400


def test_a_value_set_and_replaced_at_once_still_counts_as_the_peak_inside_the_window() -> None:
    series = _TimeSeries(horizon_s=100, bucket_s=10, window_from=50)
    series.set(20, 9)  # before the window only
    series.set(40, 0)
    series.set(60, 5)
    series.set(60, 1)
    series.finish()
    assert series.peak == 5
    series = _TimeSeries(horizon_s=100, bucket_s=10, window_from=50)
    series.set(20, 9)  # still 9 as the window opens
    series.set(70, 1)
    series.finish()
    assert series.peak == 9


@given(st.lists(st.tuples(st.floats(0, 1000), st.integers(0, 5)), max_size=30))
def test_bucket_means_agree_with_the_window_integral(steps: list[tuple[float, int]]) -> None:
    series = _TimeSeries(horizon_s=1000, bucket_s=100, window_from=0)
    for t, value in sorted(steps):
        series.set(t, value)
    series.finish()
    assert sum(m * 100 for m in series.means()) == pytest.approx(series.window_area, abs=1e-6)
    assert all(-1e-9 <= m <= 5 + 1e-9 for m in series.means())
