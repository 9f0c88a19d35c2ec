"""Cameras in a planner's run (issue 13): a fall in a camera's view goes the whole way to a critical alarm through the
live camera's own policy, after the installed models' alert delay; every incident is either caught or missed and every
alarm is either true or false; a camera that sees no one raises nothing; the same seed gives the same alarms; the
report has the cameras' section in both languages."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.camera import SEVERITIES, CameraPolicy
from scenarios.cameras import BEHAVIOURS, SimulatedCamera
from scenarios.kpi import CAMERA_COUNTS, CAMERA_RECORD
from scenarios.model import build_station
from scenarios.report import write_report
from scenarios.results import simulate
from scenarios.schema import load_scenario
from scenarios.sim import SimBinding, SimEnvironment
from tests.scenarios.report_pages import element
from twin.clock import Clock
from twin.entity import Twin
from twin.feed import Change
from vision.behaviour import Behaviour

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios" / "library"


def _run(*overrides: str, horizon: str = "1d", replications: int = 1) -> tuple[dict[str, Any], list[Change]]:
    scenario = load_scenario(LIBRARY / "typical_week_cameras.toml", [f"scenario.horizon={horizon}", *overrides])
    heard: list[Change] = []
    document = simulate(scenario, replications, observers=lambda _r: [heard.append])
    return document, heard


def _mean(document: dict[str, Any], kpi: str) -> float:
    return float(document["station"][kpi]["mean"])


def test_a_fall_in_view_becomes_a_critical_alarm_after_the_models_delay() -> None:
    document, heard = _run("devices.hall_camera.falls_per_1000_person_hours=300", "devices.hall_camera.smoking_per_1000_person_hours=0")
    raised = [c for c in heard if c.name == "alarm_raised" and c.data["type"] == "fall"]
    judged = [c for c in heard if c.name == CAMERA_RECORD and c.entity_id == "hall_camera" and c.data["behaviour"] == "fall"]
    caught = [c for c in judged if c.data["true"] and c.data["alarm"]]
    assert len(caught) >= 3, "falls happened in view and the installed model caught them"
    assert all(c.data["severity"] == "critical" and c.data["source"] in ("hall_camera", "kitchen_camera") for c in raised)
    assert all(0.5 < c.data["delay_s"] < 6.0 for c in caught), "raised after the model's own alert delay, not at once"
    counted = [c for c in heard if c.name == CAMERA_RECORD and c.data["behaviour"] == "fall" and c.data["alarm"] and c.t >= 7200]
    assert _mean(document, "camera_alarms_fall") == len(counted), "the KPI counts the alarms of the measured window (after 2 h)"
    assert _mean(document, "camera_caught_share") > 0.7 and _mean(document, "camera_alert_delay_mean_s") > 0


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    falls=st.sampled_from([0, 50, 200]), disputes=st.sampled_from([0, 100]), coverage=st.sampled_from([0.0, 0.3, 1.0]),
    seed=st.integers(0, 1000),
)  # fmt: skip
def test_every_incident_is_caught_or_missed_and_every_alarm_true_or_false(falls: int, disputes: int, coverage: float, seed: int) -> None:
    hall = "devices.hall_camera"
    overrides = [
        f"scenario.seed={seed}", f"{hall}.coverage={coverage}", f"devices.kitchen_camera.coverage={coverage}",
        f"{hall}.falls_per_1000_person_hours={falls}", f"{hall}.disputes_per_1000_person_hours={disputes}",
    ]  # fmt: skip
    document, heard = _run(*overrides, horizon="12h")
    warmup = load_scenario(LIBRARY / "typical_week_cameras.toml").warmup_s
    judged = [c.data for c in heard if c.name == CAMERA_RECORD and c.t >= warmup]  # the KPIs count the measured window
    true = [j for j in judged if j["true"]]
    assert _mean(document, "camera_alarms") == sum(1 for j in judged if j["alarm"])
    assert _mean(document, "camera_false_alarms") == sum(1 for j in judged if not j["true"])
    assert _mean(document, "camera_missed") == sum(1 for j in true if not j["alarm"])
    assert all(j["alarm"] for j in judged if not j["true"]), "a false alarm is an alarm"
    raised = [c for c in heard if c.name in ("alarm_raised", "alarm_repeated") and c.data["source"].endswith("_camera") and c.t >= warmup]
    assert len(raised) == sum(1 for j in judged if j["alarm"]), "one alarm step per incident the models caught and per false alarm"
    if coverage == 0.0:
        assert judged == [], "a camera that sees no one raises nothing"
    if falls == 0:
        assert not [j for j in true if j["behaviour"] == "fall"]


def test_the_same_seed_gives_the_same_alarms() -> None:
    def alarms(heard: list[Change]) -> list[tuple[float, str, object]]:
        return [(c.t, c.entity_id, c.data["behaviour"]) for c in heard if c.name == CAMERA_RECORD]

    once = alarms(_run("devices.hall_camera.falls_per_1000_person_hours=100", horizon="12h")[1])
    assert once and once == alarms(_run("devices.hall_camera.falls_per_1000_person_hours=100", horizon="12h")[1])


def test_the_report_shows_the_cameras_alarm_load_in_both_languages(tmp_path: Path) -> None:
    document, _ = _run("devices.hall_camera.falls_per_1000_person_hours=100", horizon="12h")
    for lang, title in (("zh", "摄像头：告警有多少"), ("en", "Cameras: how many alarms")):
        write_report(document, tmp_path / f"{lang}.html", lang)
        page = (tmp_path / f"{lang}.html").read_text(encoding="utf-8")
        assert title in page and element(page, "camera-figures") is not None


def test_the_emulators_cameras_stay_blind_and_a_planners_see() -> None:
    """The emulator builds the same station, but its cameras have no agent to speak for them: no simulated alarms in a
    demo. Only the planner's run hosts the seeing camera."""
    scenario = load_scenario(LIBRARY / "typical_week_cameras.toml", ["scenario.horizon=3h"])
    for sees, expected in ((False, CameraPolicy), (True, SimulatedCamera)):
        env = SimEnvironment()
        twin = Twin(scenario.station.id, retain=0)
        clock = Clock(scenario.start, functools.partial(getattr, env, "now"))
        binding = build_station(scenario, SimBinding(env, twin, clock, 1), cameras_see=sees)
        assert {type(binding.actors[c]) for c in ("hall_camera", "kitchen_camera")} == {expected}


def test_the_kpis_name_every_behaviour_the_cameras_know() -> None:
    assert {k.removeprefix("camera_alarms_") for k in CAMERA_COUNTS if k.startswith("camera_alarms_")} == {b.value for b in Behaviour}
    assert set(BEHAVIOURS) == {b.value for b in Behaviour} == set(SEVERITIES)


def test_a_rate_no_run_could_finish_is_refused_by_name() -> None:
    from scenarios.errors import ScenarioValueError

    with pytest.raises(ScenarioValueError, match="falls_per_1000_person_hours: Input should be less than or equal to 10000"):
        load_scenario(LIBRARY / "typical_week_cameras.toml", ["devices.hall_camera.falls_per_1000_person_hours=1e9"])
