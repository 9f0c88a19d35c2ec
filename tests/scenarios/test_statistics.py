"""Intervals across replications: inside what the KPI can be, and significance only where it means something."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from scenarios.statistics import difference, estimate, kpi_range

KPIS = ["wait_mean_s", "wait_p95_s", "wait_probability", "blocked_share", "utilisation", "served", "energy_kwh"]
replications = st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False) | st.none(), min_size=1, max_size=40)


@given(st.sampled_from(KPIS), replications)
def test_an_interval_holds_its_mean_and_stays_where_the_kpi_can_be(kpi: str, values: list[float | None]) -> None:
    low, high = kpi_range(kpi)
    values = [v if v is None or high is None else min(v, high) for v in values]
    e = estimate(values, within=(low, high))
    if all(v is None for v in values):
        assert e is None
        return
    assert e is not None
    assert low <= e["ci_low"] <= e["mean"] <= e["ci_high"], e
    if high is not None:
        assert e["ci_high"] <= high


def test_a_skewed_wait_no_longer_reads_as_maybe_negative() -> None:
    waits = [0.0, 0.0, 1.0, 0.0, 2.0, 0.0, 130.0, 0.0, 0.0, 0.0]  # one bad replication: the t-interval reached -16 s
    e = estimate(waits, within=kpi_range("wait_mean_s"))
    assert e is not None and e["ci_low"] == 0.0 and e["ci_high"] > e["mean"] > 0


@given(
    st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=30), st.floats(min_value=-1e-12, max_value=1e-12)
)
def test_rounding_and_a_lone_pair_are_never_significant(base: list[float], noise: float) -> None:
    d = difference([b + noise for b in base], base)
    assert d is not None and not d["significant"], d
    lone = difference([base[0] + 100.0], [base[0]])
    assert lone is not None and not lone["significant"]


def test_a_real_difference_is_significant() -> None:
    base = [10.0, 12.0, 9.0, 11.0, 10.5]
    d = difference([b + 3.0 + 0.1 * i for i, b in enumerate(base)], base)
    assert d is not None and d["significant"] and d["ci_low"] > 0
