"""What a planner run may cost: refused before it starts when it could never end or costs too much, bounded while it runs.

The attacks are the issue's: a horizon of inf, 1e300 or "36500d"; deep TOML; 200
queued runs from one operator; runs left running at a crash; no way to stop a run.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from scenarios.files import MOST_NESTING
from scenarios.results import visits_to_simulate
from scenarios.schema import load_scenario
from store.db import engine_for, migrate, sessions
from store.models import PlannerRun
from tests.conftest import LIBRARY
from tests.hardware_bridge.conftest import wait_for
from tests.web.conftest import as_role
from web.auth import Role
from web.planner import Budget, Planner

LONG = ["scenario.horizon=180d", "scenario.warmup=0"]
"""A run that takes minutes: it stays queued or running while a test looks at it."""


@pytest.mark.parametrize("horizon", ["inf", "1e300", '"36500d"', "nan", "-1"])
def test_a_horizon_that_could_never_end_is_refused_with_its_reason(client: TestClient, horizon: str) -> None:
    operator = as_role(client, Role.OPERATOR)
    by_override = client.post(
        "/api/runs", json={"scenario": "rainstorm_day", "overrides": [f"scenario.horizon={horizon}"]}, headers=operator
    )
    upload = f'extends = "rainstorm_day.toml"\n[scenario]\nhorizon = {horizon}\n'
    by_upload = client.post("/api/runs", json={"toml": upload}, headers=operator)
    for refused in (by_override, by_upload):
        assert refused.status_code == 422, refused.text
        assert "scenario.horizon" in refused.json()["detail"], refused.text
    assert client.get("/api/runs", headers=operator).json() == [], "nothing was queued"


DEEP = {
    "nested arrays": "v = " + "[" * 100_000 + "]" * 100_000,
    "nested inline tables": "v = " + "{a=" * 30_000 + "1" + "}" * 30_000,
    "a long dotted key": "a" + ".a" * 60_000 + " = 1",
    "a deep table header": "[" + ".".join(["t"] * 20_000) + "]\nx = 1",
    "just past the limit": "[" + ".".join(["t"] * (MOST_NESTING + 1)) + "]\nx = 1",
}


@pytest.mark.parametrize("shape", DEEP)
def test_deep_toml_is_answered_422_at_once(client: TestClient, shape: str) -> None:
    operator = as_role(client, Role.OPERATOR)
    took = float("inf")
    for _ in range(3):  # the best of three: one answer is one sample of a clock shared with CI's other worker
        started = time.perf_counter()
        answer = client.post("/api/runs", json={"toml": DEEP[shape][:199_000]}, headers=operator)
        took = min(took, time.perf_counter() - started)
    assert answer.status_code == 422, answer.text
    assert f"more than {MOST_NESTING} deep" in answer.json()["detail"]
    assert took < 0.5, f"{shape}: answered in {took * 1000:.0f} ms (the issue asks for 100 ms; this bound allows for CI load)"


def test_a_run_over_the_budget_is_refused_with_its_estimate(client: TestClient) -> None:
    operator = as_role(client, Role.OPERATOR)
    refused = client.post(
        "/api/runs", json={"scenario": "mmc", "overrides": ["scenario.horizon=366d"], "replications": 200}, headers=operator
    )
    assert refused.status_code == 422, refused.text
    assert "visits" in refused.json()["detail"] and "at most" in refused.json()["detail"]
    assert client.get("/api/runs", headers=operator).json() == []


def test_the_estimate_bounds_the_visits_a_run_really_simulates() -> None:
    """The budget is only a bound if the estimate is never below what runs: checked on the heat wave (weather at its most)."""
    from scenarios.results import simulate

    scenario = load_scenario(LIBRARY / "summer_heat_wave.toml", ["scenario.horizon=2d", "scenario.warmup=0"])
    document = simulate(scenario, 2)
    simulated = sum(r["station"]["visits"] + r["station"]["outside_visits"] for r in document["replications"])
    assert 0 < simulated <= visits_to_simulate(scenario, 2)


def test_parallel_submissions_stop_at_the_users_quota(server: str, client: TestClient) -> None:
    headers = as_role(client, Role.OPERATOR)
    quota = client.app.state.services.planner.budget.queued_per_user  # type: ignore[attr-defined]

    def submit(_: int) -> httpx.Response:
        body = {"scenario": "typical_week", "overrides": LONG, "replications": 5}
        return httpx.post(f"{server}/api/runs", json=body, headers=headers, timeout=30)

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(submit, range(12)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [202] * quota + [429] * (12 - quota), codes
    assert "at most" in next(a for a in answers if a.status_code == 429).json()["detail"]
    for answer in answers:
        if answer.status_code == 202:
            assert httpx.post(f"{server}/api/runs/{answer.json()['id']}/cancel", headers=headers, timeout=10).status_code == 200
    again = httpx.post(f"{server}/api/runs", json={"scenario": "rainstorm_day", "replications": 1}, headers=headers, timeout=30)
    assert again.status_code == 202, "a cancelled run frees its place in the quota"


def test_a_running_run_is_cancelled_by_its_owner_or_an_officer_only(client: TestClient) -> None:
    operator, admin, auditor = as_role(client, Role.OPERATOR), as_role(client, Role.ADMIN), as_role(client, Role.AUDITOR)
    mine = client.post("/api/runs", json={"scenario": "typical_week", "overrides": LONG, "replications": 5}, headers=operator).json()["id"]
    theirs = client.post("/api/runs", json={"scenario": "typical_week", "overrides": LONG, "replications": 5}, headers=admin).json()["id"]
    wait_for(lambda: client.get(f"/api/runs/{mine}", headers=operator).json()["status"] == "running", timeout_s=30, what="the run to start")
    assert client.post(f"/api/runs/{mine}/cancel", headers=auditor).status_code == 403
    not_yours = client.post(f"/api/runs/{theirs}/cancel", headers=operator)
    assert not_yours.status_code == 403 and "admin" in not_yours.json()["detail"]
    assert client.post("/api/runs/99999/cancel", headers=operator).status_code == 404
    assert client.post(f"/api/runs/{mine}/cancel", headers=operator).status_code == 200
    wait_for(lambda: client.get(f"/api/runs/{mine}", headers=operator).json()["status"] == "cancelled", timeout_s=5, what="cancelled")
    assert client.post(f"/api/runs/{theirs}/cancel", headers=admin).status_code == 200, "queued or just started, it stops"
    wait_for(lambda: client.get(f"/api/runs/{theirs}", headers=admin).json()["status"] == "cancelled", timeout_s=5, what="cancelled")
    assert client.post(f"/api/runs/{theirs}/cancel", headers=admin).status_code == 409, "an ended run cannot be cancelled"
    actions = [e["action"] for e in client.get("/api/audit", headers=admin).json()]
    assert actions.count("planner_run_cancelled") == 2
    ok = client.post("/api/runs", json={"scenario": "rainstorm_day", "replications": 1}, headers=operator).json()["id"]
    wait_for(lambda: client.get(f"/api/runs/{ok}", headers=operator).json()["status"] == "done", timeout_s=60, what="the next run")


def _planner(tmp_path: Path, **budget: float) -> tuple[Planner, object]:
    engine = engine_for(f"sqlite:///{tmp_path / 'planner.db'}")
    migrate(engine)
    made = sessions(engine)
    limits = {"most_visits": 2e6, "wall_s": 600.0, "memory_mb": 4096, "queued_per_user": 3} | budget
    return Planner(made, Budget(**limits)), made  # type: ignore[arg-type]


def _status(made: object, run_id: int) -> PlannerRun:
    with made() as db:  # type: ignore[operator]
        found: PlannerRun = db.get(PlannerRun, run_id)
        return found


def test_a_run_is_stopped_at_its_wall_time_limit(tmp_path: Path) -> None:
    planner, made = _planner(tmp_path, wall_s=3.0)
    scenario = load_scenario(LIBRARY / "typical_week.toml", LONG)
    run_id = planner.submit("operator", "typical_week", "", scenario, LONG, 5)
    wait_for(lambda: _status(made, run_id).status == "failed", timeout_s=30, what="the run to be stopped")
    assert "wall-time limit" in (_status(made, run_id).error or "")
    planner.stop()


def test_a_run_over_its_memory_ceiling_fails_alone(tmp_path: Path) -> None:
    planner, made = _planner(tmp_path, memory_mb=32)
    scenario = load_scenario(LIBRARY / "typical_week.toml", LONG)  # 180 days of visits outgrow 32 MB in seconds
    run_id = planner.submit("operator", "typical_week", "", scenario, LONG, 1)
    wait_for(lambda: _status(made, run_id).status == "failed", timeout_s=60, what="the run to fail")
    assert "memory" in (_status(made, run_id).error or ""), _status(made, run_id).error
    planner.stop()


def test_runs_left_waiting_by_a_crash_are_marked_failed_at_start_up(tmp_path: Path) -> None:
    planner, made = _planner(tmp_path)
    planner.stop()
    with made.begin() as db:  # type: ignore[attr-defined]
        for state in ("queued", "running", "done"):
            db.add(PlannerRun(created_at=datetime.now(UTC), username="operator", scenario="mmc", source="", overrides=[],
                              replications=1, status=state, done_replications=0))  # fmt: skip
    again = Planner(made, planner.budget)  # type: ignore[arg-type]
    with made() as db:  # type: ignore[operator]
        states = {run.status: run.error for run in db.scalars(select(PlannerRun))}
    assert set(states) == {"failed", "done"}
    assert "server stopped" in (states["failed"] or "")
    again.stop()


def test_cancelling_races_with_the_run_ending(tmp_path: Path) -> None:
    """A cancel that comes as the run finishes leaves it either done or cancelled, never running."""
    planner, made = _planner(tmp_path)
    scenario = load_scenario(LIBRARY / "rainstorm_day.toml")
    for _ in range(3):
        run_id = planner.submit("operator", "rainstorm_day", "", scenario, [], 1)
        wait_for(lambda r=run_id: _status(made, r).status != "queued", timeout_s=30, what="the run to start")
        time.sleep(1.0)
        planner.cancel(run_id)
        wait_for(lambda r=run_id: _status(made, r).status in ("done", "cancelled"), timeout_s=60, what="the run to end")
    planner.stop()
