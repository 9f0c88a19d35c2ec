"""Service levels judged on intervals, the verdict a chairman reads first, and the levels a scenario file may set."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scenarios.errors import ScenarioValueError
from scenarios.report import write_report
from scenarios.results import simulate
from scenarios.schema import load_scenario
from scenarios.service_levels import Constraint, Judgement, judge, verdict
from tests.conftest import LIBRARY

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(finite, finite, finite, st.sampled_from(["<=", ">="]))
def test_a_level_is_met_only_when_the_whole_interval_is_within_it(a: float, b: float, limit: float, op: str) -> None:
    low, high = min(a, b), max(a, b)
    level = Constraint("x", "wait_p95_s", "resources", "microwave", op, limit)
    judgement = judge(level, low, high)
    inside = (lambda v: v <= limit) if op == "<=" else (lambda v: v >= limit)
    if inside(low) and inside(high):
        assert judgement is Judgement.MET
    elif not inside(low) and not inside(high):
        assert judgement is Judgement.MISSED
    else:
        assert judgement is Judgement.UNKNOWN


def _document(p95: dict[str, tuple[float, float, float]]) -> dict[str, Any]:
    return {
        "resources": {d: {"wait_p95_s": {"mean": m, "ci_low": lo, "ci_high": hi}} for d, (m, lo, hi) in p95.items()},
        "groups": {},
        "station": {},
        "cost": {"capex_cny": 1000.0, "monthly_cny": 20.0},
    }


def _levels(devices: list[str]) -> list[Constraint]:
    return [Constraint(f"wait_p95_s[{d}] <= 180", "wait_p95_s", "resources", d, "<=", 180.0) for d in devices]


def test_the_verdict_names_the_level_failed_worst_first() -> None:
    doc = _document({"water": (20.0, 10.0, 30.0), "microwave": (400.0, 300.0, 500.0), "toilets": (200.0, 190.0, 210.0)})
    result = verdict(doc, _levels(["water", "microwave", "toilets"]))
    assert result["overall"] == "missed"
    assert result["first"]["target"] == "microwave"
    assert [c["judgement"] for c in result["checks"]] == ["met", "missed", "missed"]
    assert result["capex_cny"] == 1000.0


def test_a_straddling_interval_is_not_yet_known_and_never_called_met() -> None:
    result = verdict(_document({"water": (20.0, 10.0, 30.0), "microwave": (170.0, 120.0, 230.0)}), _levels(["water", "microwave"]))
    assert result["overall"] == "unknown" and result["first"]["target"] == "microwave"
    assert verdict(_document({"water": (20.0, 10.0, 30.0)}), _levels(["water"]))["overall"] == "met"


def test_a_level_nobody_measured_is_not_known() -> None:
    doc = _document({})
    doc["resources"]["microwave"] = {"wait_p95_s": None}
    assert verdict(doc, _levels(["microwave"]))["overall"] == "unknown"


def test_a_scenario_names_its_own_levels_and_a_bad_one_is_named_with_its_key() -> None:
    scenario = load_scenario(LIBRARY / "mmc.toml", ['scenario.service_levels=["wait_mean_s[server] <= 60", "peak_occupancy <= 50"]'])
    assert scenario.service_levels == ("wait_mean_s[server] <= 60", "peak_occupancy <= 50")
    blamed = r"mmc\.toml \(--set scenario\.service_levels\): scenario\.service_levels\.1: 'wait_p95_s\[oven\] <= 180'.*no device"
    with pytest.raises(ScenarioValueError, match=blamed):
        load_scenario(LIBRARY / "mmc.toml", ['scenario.service_levels=["wait_p95_s[server] <= 180", "wait_p95_s[oven] <= 180"]'])


def test_the_report_opens_with_the_verdict_in_device_names(tmp_path: Path) -> None:
    scenario = load_scenario(LIBRARY / "typical_week.toml", ["scenario.horizon=1d4h", "devices.microwave.units=1"])
    document = simulate(scenario, replications=2)
    assert {c["target"] for c in document["verdict"]["checks"]} == set(document["resources"])  # the planners' default level
    path = tmp_path / "report.html"
    write_report(document, path, "zh")
    page = path.read_text(encoding="utf-8")
    sections = re.findall(r'<section id="([a-z-]+)"', page)
    assert sections[0] == "verdict"
    box = page[page.index('<div class="verdict') : page.index("</div>", page.index('<div class="verdict'))]
    assert ("达标" in box or "尚难判断" in box) and "元" in box
    table = page[page.index('id="verdict-table"') : page.index("</table>", page.index('id="verdict-table"'))]
    assert "微波炉" in table and "Microwave" not in table and "battery_cabinet" not in table  # labels in the reader's half, not ids
