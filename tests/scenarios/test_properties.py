"""Invariants on generated scenarios: whatever the station and the crowd, the model stays sound.

Each example is the typical week's station with generated capacities, waiting rooms,
patience, crowd size and cabinet stock, run for a few hours to a day with a checker
on the feed (tests/scenarios/invariants.py).
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scenarios.files import read_scenario_tree
from scenarios.model import run_replication
from scenarios.results import summarise, to_json
from scenarios.schema import load_scenario
from tests.conftest import LIBRARY
from tests.scenarios.invariants import InvariantChecker

BASE = read_scenario_tree(LIBRARY / "typical_week.toml")
QUEUE_DEVICES = ["microwave", "water", "coffee", "toilets", "rest_seats", "reading_seats", "chargers", "ebook", "fridge"]


@st.composite
def stations(draw: st.DrawFn) -> dict[str, Any]:
    raw = copy.deepcopy(BASE)
    raw["scenario"]["horizon"] = draw(st.sampled_from(["6h", "14h", "1d"]))
    raw["scenario"]["warmup"] = "1h"
    raw["scenario"]["start"] = draw(st.sampled_from(["2026-07-20T08:00:00", "2026-04-13T00:00:00", "2027-01-18T18:00:00"]))
    raw["scenario"]["seed"] = draw(st.integers(0, 2**32))
    raw["weather"] = {"profile": draw(st.sampled_from(["mild_week", "summer_heat_wave", "winter_cold_week", "rainstorm_day"]))}
    raw["population"]["workers"] = draw(st.integers(50, 6000))
    for device in QUEUE_DEVICES:
        raw["devices"][device]["units"] = draw(st.integers(1, 4))
        limit = draw(st.none() | st.integers(0, 4))
        if limit is not None:
            raw["devices"][device]["queue_limit"] = limit
    raw["devices"]["lockers"]["units"] = draw(st.integers(1, 6))
    slots = draw(st.integers(2, 12))
    cabinet = raw["devices"]["battery_cabinet"]
    cabinet.update(
        slots=slots,
        batteries=draw(st.integers(1, slots - 1)),
        release_soc=draw(st.sampled_from([0.5, 0.8, 0.9, 0.99])),
        max_wait_for_charge_s=draw(st.sampled_from(["0s", "2m", "10m", "1h"])),
    )
    raw["devices"]["water"]["tank_l"] = draw(st.sampled_from([0.5, 2, 20]))
    for group in raw["population"]["groups"].values():
        group["balk_queue"] = draw(st.integers(0, 6))
        group["patience"] = {"dist": "exponential", "mean": draw(st.sampled_from(["20s", "2m", "15m"]))}
    return raw


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=stations())
def test_station_invariants_hold(raw: dict[str, Any]) -> None:
    scenario = load_scenario(LIBRARY / "generated.toml", raw=raw)
    checker = InvariantChecker(scenario)
    result = run_replication(scenario, 0, observers=[checker])
    assert checker.finish() == []
    assert checker.socs_seen > 0
    for rid, kpis in result.resources.items():
        assert 0.0 <= kpis["utilisation"] <= 1.0 + 1e-9, rid
        assert (kpis["wait_p95_s"] is None) == (kpis["served"] == 0), rid
        assert kpis["wait_p95_s"] is None or kpis["wait_p95_s"] >= 0.0


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32), workers=st.integers(100, 3000))
def test_same_seed_same_result(seed: int, workers: int) -> None:
    overrides = [f"scenario.seed={seed}", f"population.workers={workers}", "scenario.horizon=10h", "scenario.warmup=1h"]
    scenario = load_scenario(LIBRARY / "typical_week.toml", overrides)
    first = to_json(summarise(scenario, [run_replication(scenario, r) for r in range(2)]))
    again = to_json(summarise(scenario, [run_replication(scenario, r) for r in range(2)]))
    assert first == again
