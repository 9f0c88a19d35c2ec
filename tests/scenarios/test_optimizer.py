"""The optimiser's judgement, without Ray: verdicts from samples, pruning, parsing."""

from __future__ import annotations

import re

import pytest

from scenarios.errors import ScenarioError
from scenarios.model import run_replication
from scenarios.optimizer import Optimiser, Verdict, parse_constraint, parse_range
from scenarios.parallel import Job
from scenarios.schema import load_scenario
from tests.conftest import LIBRARY


def optimiser(**kwargs: object) -> Optimiser:
    return Optimiser(
        LIBRARY / "mmc.toml",
        ["devices.server.unit_cost_cny=1000"],
        [parse_range("devices.server.units=1..3"), parse_range("devices.server.queue_limit=0..1")],
        ["wait_p95_s[server] <= 100"],
        **kwargs,  # type: ignore[arg-type]
    )


def test_candidates_come_cheapest_first() -> None:
    o = optimiser()
    assert [c.values for c in o.candidates][:2] == [(1, 0), (1, 1)]
    assert [c.cost_cny for c in o.candidates] == sorted(c.cost_cny for c in o.candidates)


def test_verdicts_follow_the_bounds_and_a_miss_rules_out_smaller_stations() -> None:
    o = optimiser()
    by_values = {c.values: c for c in o.candidates}
    clear_miss = by_values[(2, 1)]
    clear_miss.samples = {r: [150.0 + r] for r in range(5)}
    o.judge(clear_miss)
    assert clear_miss.verdict is Verdict.MISSES
    assert by_values[(1, 0)].verdict is Verdict.RULED_OUT and by_values[(2, 0)].verdict is Verdict.RULED_OUT
    assert by_values[(3, 1)].verdict is Verdict.OPEN
    close = by_values[(3, 0)]
    close.samples = {0: [60.0], 1: [140.0], 2: [99.0]}
    o.judge(close)
    assert close.verdict is Verdict.OPEN, "an interval that straddles the limit asks for more replications"
    close.samples = {r: [40.0 + (r % 3)] for r in range(6)}
    o.judge(close)
    assert close.verdict is Verdict.MEETS


def test_undecided_after_the_cap() -> None:
    o = optimiser(max_replications=4)
    candidate = o.candidates[-1]
    candidate.samples = {0: [60.0], 1: [140.0], 2: [99.0], 3: [100.0]}
    o.judge(candidate)
    assert candidate.verdict is Verdict.UNDECIDED


def test_rounds_spend_batches_on_open_candidates_only() -> None:
    o = optimiser(batch=3)
    jobs = o.next_round(slots=4)  # enough jobs to keep 4 cores busy: two batches of 3
    assert {j.variant for j in jobs} == {"0", "1"} and len(jobs) == 6
    assert {j.variant for j in o.next_round(slots=2)} == {"0"}
    scenario = o.candidates[0].scenario
    result = run_replication(load_scenario(LIBRARY / "mmc.toml", ["scenario.horizon=3h"]), 0)
    o.add(Job("0", 0, scenario), result)
    assert o.candidates[0].samples[0] == [result.resources["server"]["wait_p95_s"]]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("wait_p95_s[oven] <= 3", "no device or group 'oven'"),
        ("speed[server] <= 3", "a device's KPIs are"),
        ("wait_p95_s server < 3", "write KPI[ID] <= NUMBER"),
        ("visits[customers] >= 10", None),
        ("peak_occupancy <= 20", None),
    ],
)
def test_constraint_parsing(text: str, words: str | None) -> None:
    scenario = load_scenario(LIBRARY / "mmc.toml")
    if words is None:
        assert parse_constraint(text, scenario).text == text
    else:
        with pytest.raises(ScenarioError, match=re.escape(words)):
            parse_constraint(text, scenario)


def test_bad_ranges() -> None:
    with pytest.raises(ScenarioError, match="LO must not exceed HI"):
        parse_range("devices.server.units=4..2")
    with pytest.raises(ScenarioError, match=re.escape("KEY=LO..HI")):
        parse_range("devices.server.units=1-4")
