"""The door that checks who comes in, simulated: the decisions of actors/door_access.py and door_pass.py on a crowd.

The same code decides live; here a crowd of members (with passes, some failing) and
visitors meets it, and the KPIs and the report say who came in, who was turned away
and why, and how long people waited at a full door.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scenarios.kpi import DOOR_REASONS
from scenarios.report import write_report
from scenarios.results import simulate
from scenarios.schema import load_scenario
from tests.scenarios.report_pages import element, names

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios" / "library"
GROUPS = ("riders", "couriers", "sanitation", "construction", "other")


def _run(*overrides: str, replications: int = 2, horizon: str = "1d") -> dict[str, Any]:
    scenario = load_scenario(LIBRARY / "typical_week_door.toml", [f"scenario.horizon={horizon}", *overrides])
    return simulate(scenario, replications)


def _every_group(key: str, value: object) -> list[str]:
    return [f"population.groups.{g}.{key}={value}" for g in GROUPS]


def _mean(document: dict[str, Any], kpi: str) -> float:
    return float(document["station"][kpi]["mean"])


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(capacity=st.integers(min_value=2, max_value=8), reserve=st.integers(min_value=0, max_value=1), workers=st.sampled_from([2000, 5000]))
def test_the_door_never_lets_more_in_than_its_capacity_less_the_reserve(capacity: int, reserve: int, workers: int) -> None:
    document = _run(f"devices.door.capacity={capacity}", f"devices.door.reserve={reserve}", f"population.workers={workers}", replications=1)
    (replication,) = document["replications"]
    assert replication["station"]["peak_occupancy"] <= capacity - reserve  # nobody in the crowd is an emergency
    assert _mean(document, "door_admitted") == _mean(document, "visits")  # everyone counted inside came through the door


def test_a_crowd_larger_than_the_station_waits_at_the_door_and_some_give_up() -> None:
    tight = _run("devices.door.capacity=3", "devices.door.reserve=0", "population.workers=5000", "devices.door.waits_when_full_s=5m")
    assert _mean(tight, "door_wait_mean_s") > 0 and _mean(tight, "door_waited_share") > 0
    assert _mean(tight, "door_denied_gave_up") > 0
    for replication in tight["replications"]:  # those who gave up waited the full 5 minutes, and count in the waits
        kpis = replication["station"]
        decided = kpis["door_admitted"] + kpis["door_denied"]
        assert kpis["door_wait_mean_s"] >= 300.0 * kpis["door_denied_gave_up"] / decided
        assert kpis["door_wait_p95_s"] <= 300.0 + 1e-6
    roomy = _run("devices.door.capacity=200", "population.workers=5000")
    assert _mean(roomy, "door_wait_mean_s") == 0 and _mean(roomy, "door_denied_gave_up") == 0


def test_failing_passes_are_turned_away_as_expired_and_counted() -> None:
    document = _run(*_every_group("member_share", 1.0), *_every_group("pass_failure_share", 1.0))
    assert _mean(document, "door_admitted") == 0
    assert _mean(document, "door_denied") == _mean(document, "door_denied_expired") > 0


def test_a_visitor_needs_approval_by_day_and_comes_in_for_the_toilet_at_night() -> None:
    document = _run(*_every_group("member_share", 0.0), *_every_group("visitor_approval_share", 0.0), replications=3)
    assert _mean(document, "door_denied_needs_approval") > 0
    assert _mean(document, "door_visitors_approved") == 0
    assert _mean(document, "door_visitors_at_night") > 0
    assert _mean(document, "door_admitted") == _mean(document, "door_visitors_at_night")


def test_every_reason_is_a_kpi_in_every_replication_and_a_plain_door_has_none() -> None:
    document = _run()
    for replication in document["replications"]:
        assert {f"door_denied_{r}" for r in DOOR_REASONS} <= set(replication["station"])
    plain = simulate(load_scenario(LIBRARY / "typical_week.toml", ["scenario.horizon=1d"]), 2)
    assert not any(k.startswith("door_") for k in plain["station"])


def test_the_report_says_who_was_turned_away_and_why_in_the_readers_words(tmp_path: Path) -> None:
    document = _run(*_every_group("pass_failure_share", 0.3), replications=3)
    for lang, expired in (("zh", "二维码已过期"), ("en", "Expired code")):
        path = tmp_path / f"door_{lang}.html"
        write_report(document, path, lang)
        page = path.read_text(encoding="utf-8")
        denials = element(page, "door-denials")
        assert expired in names(denials)
        assert "expired" not in names(denials) and "needs_approval" not in page
        summary = element(page, "summary")
        assert {"zh": "门禁：平均每次", "en": "The door: "}[lang] in summary
        # A name and a value stay a table on a phone; wider tables become cards.
        assert 'id="door-denials" class="reflow"' not in page and 'id="door-figures" class="reflow"' not in page
        assert 'id="kpi-resources" class="reflow"' in page
