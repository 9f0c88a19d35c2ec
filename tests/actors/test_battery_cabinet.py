"""The cabinet's charging curve and the swap rules."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from actors.battery_cabinet import ChargingCurve

socs = st.floats(0.0, 1.0)
curves = st.builds(
    ChargingCurve,
    power_w=st.floats(50, 2000),
    capacity_wh=st.floats(200, 3000),
    cv_from_soc=st.floats(0.5, 0.95),
    cv_time_constant_s=st.floats(300, 10000),
)


@given(curve=curves, soc=socs, dt=st.floats(0, 1e6))
def test_charge_stays_within_bounds_and_only_rises(curve: ChargingCurve, soc: float, dt: float) -> None:
    after = curve.soc_after(soc, dt)
    assert 0.0 <= after <= 1.0
    assert after >= soc - 1e-12
    assert curve.soc_after(soc, dt / 2) <= after + 1e-12


@given(curve=curves, soc=st.floats(0.0, 0.98), target=st.floats(0.0, 0.99))
def test_seconds_to_is_the_inverse(curve: ChargingCurve, soc: float, target: float) -> None:
    seconds = curve.seconds_to(soc, target)
    if soc >= target:
        assert seconds == 0.0
    else:
        assert seconds > 0
        assert math.isclose(curve.soc_after(soc, seconds), target, abs_tol=1e-9)


def test_default_curve_matches_station_data() -> None:
    """STATION_DATA §2: ~2.5 h from 10 % to 90 %, the last 10 % taking a quarter of it."""
    curve = ChargingCurve()
    total_h = curve.seconds_to(0.1, 0.9) / 3600
    tail_h = curve.seconds_to(0.8, 0.9) / 3600
    assert 2.2 <= total_h <= 2.6
    assert 0.2 <= tail_h / total_h <= 0.3


def test_a_full_battery_is_never_reached_on_the_tail() -> None:
    curve = ChargingCurve()
    assert curve.seconds_to(0.5, 1.0) == math.inf
    assert curve.soc_after(0.5, 1e9) <= 1.0
