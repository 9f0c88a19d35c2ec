"""Ray: sim-ray against sim-inline, sweeps (invalid variants, killed tasks, resume) and the optimiser.

These tests start real Ray instances. They share one xdist group so that a parallel
test run does not start several Ray clusters on the same two cores at once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from actors.runtime import Placement
from cli.main import app
from scenarios.model import run_replication
from scenarios.optimizer import Optimiser, Verdict, parse_range
from scenarios.parallel import CHAOS_KILL_ONCE, CHAOS_SLOW_S, run_jobs
from scenarios.queueing_theory import MMc
from scenarios.results import summarise, to_json
from scenarios.schema import load_scenario
from scenarios.sweep import RESULTS_FILE
from station.ray import ray_session
from tests.conftest import LIBRARY, ROOT

pytestmark = pytest.mark.xdist_group("ray")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    with ray_session():
        yield


def short(name: str) -> object:
    """A library scenario cut to a busy midday stretch, small enough for an actor per worker in Ray (an hour and a half:
    parity holds event by event, and two and a half hours cost the suite a minute and a half more)."""
    return load_scenario(LIBRARY / f"{name}.toml", ["scenario.start=2026-06-22T11:00:00", "scenario.horizon=1h30m", "scenario.warmup=15m"])


@pytest.mark.parametrize("name", ["rainstorm_day", "summer_heat_wave"])
def test_sim_ray_gives_what_sim_inline_gives(ray_cluster: None, name: str) -> None:
    scenario = short(name)
    inline = to_json(summarise(scenario, [run_replication(scenario, 0)]))  # type: ignore[arg-type]
    through_handles = to_json(summarise(scenario, [run_replication(scenario, 0, placement=Placement.INLINE)]))  # type: ignore[arg-type]
    in_ray = to_json(summarise(scenario, [run_replication(scenario, 0, placement=Placement.RAY)]))  # type: ignore[arg-type]
    assert json.loads(inline)["station"]["visits"]["mean"] >= 5
    assert through_handles == inline
    assert in_ray == inline


def test_simulated_cameras_raise_the_same_alarms_in_ray(ray_cluster: None) -> None:
    """A camera judges its incidents with onnxruntime in whichever process hosts it: the same draws, the same alarms."""
    scenario = load_scenario(
        LIBRARY / "typical_week_cameras.toml",
        ["scenario.start=2026-06-22T12:00:00", "scenario.horizon=1h", "scenario.warmup=20m",
         "devices.hall_camera.falls_per_1000_person_hours=5000", "devices.hall_camera.disputes_per_1000_person_hours=5000"],
    )  # fmt: skip
    inline = json.loads(to_json(summarise(scenario, [run_replication(scenario, 0)])))  # type: ignore[arg-type]
    in_ray = json.loads(to_json(summarise(scenario, [run_replication(scenario, 0, placement=Placement.RAY)])))  # type: ignore[arg-type]
    cameras = {k: v for k, v in inline["station"].items() if k.startswith("camera_")}
    assert cameras["camera_alarms_fall"]["mean"] >= 1, cameras
    assert in_ray == inline


def test_sweep_with_an_invalid_value_completes_the_rest(ray_cluster: None, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "sweep",
            "rainstorm_day",
            "--grid",
            "devices.microwave.units=1,2,-1",
            "--set",
            "scenario.horizon=10h",
            "-n",
            "3",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "variant devices.microwave.units=-1" in result.stderr and "greater than or equal to 1" in result.stderr
    document = json.loads((tmp_path / "sweep.json").read_text(encoding="utf-8"))
    done = {v["name"]: v["replications"] for v in document["variants"]}
    assert done == {"devices.microwave.units=1": 3, "devices.microwave.units=2": 3}
    assert document["invalid"][0]["name"] == "devices.microwave.units=-1"
    csv_lines = (tmp_path / "sweep.csv").read_text(encoding="utf-8").splitlines()
    assert len(csv_lines) == 3 and csv_lines[0].startswith("variant,devices.microwave.units,replications")
    assert document["pareto"]["front"]


def yxy(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", INTERRUPTIBLE, *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


INTERRUPTIBLE = (
    "import runpy, signal, sys; signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT}); "
    "signal.signal(signal.SIGINT, signal.default_int_handler); sys.argv[0] = 'yxy'; runpy.run_module('cli', run_name='__main__')"
)
"""``python -m cli`` with Ctrl-C as a terminal gives it: a test worker that had run other tests (browsers, servers) was
seen to hand its children SIGINT ignored or blocked, and a sweep then ran to its end under the test's Ctrl-C."""


def test_a_killed_task_is_retried_and_the_sweep_completes(tmp_path: Path) -> None:
    marker = tmp_path / "killed-once"
    out = tmp_path / "sweep"
    process = yxy(
        "sweep", "rainstorm_day", "--grid", "devices.toilets.units=1,2", "--set", "scenario.horizon=10h", "-n", "4", "--out", str(out),
        env={CHAOS_KILL_ONCE: str(marker)},
    )  # fmt: skip
    stdout, stderr = process.communicate(timeout=240)
    assert process.returncode == 0, stdout + stderr
    assert marker.exists(), "no task was killed: the fault was not injected"
    rows = [json.loads(line) for line in (out / RESULTS_FILE).read_text(encoding="utf-8").splitlines()]
    assert sorted((r["variant"], r["replication"]) for r in rows) == sorted(
        (f"devices.toilets.units={u}", r) for u in (1, 2) for r in range(4)
    )


def test_resume_after_interruption_runs_only_what_was_missing(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    args = ("sweep", "typical_week", "--grid", "population.workers=900,1800", "-n", "30", "--out", str(out))
    process = yxy(*args, env={CHAOS_SLOW_S: "0.5"})  # 15 s of waiting at the least: still running when Ctrl-C lands
    results = out / RESULTS_FILE
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and (not results.exists() or len(results.read_text(encoding="utf-8").splitlines()) < 4):
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    kept = {(r["variant"], r["replication"]) for r in map(json.loads, results.read_text(encoding="utf-8").splitlines())}
    assert 4 <= len(kept) < 60
    again = yxy(*args)
    stdout, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr
    assert f"resuming: {len(kept)} of 60 replications" in stdout
    rows = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()]
    keys = [(r["variant"], r["replication"]) for r in rows]
    assert len(keys) == len(set(keys)) == 60, "a replication ran twice or went missing"


def test_optimiser_finds_the_erlang_c_answer(ray_cluster: None) -> None:
    """M/M/c at 2 arrivals a minute, 80 s service: P(wait > 3 min) is 0.38 with c=3 and 0.019 with c=4 (Erlang C)."""
    optimiser = Optimiser(
        LIBRARY / "mmc.toml",
        ["devices.server.unit_cost_cny=1000", "scenario.horizon=20h"],
        [parse_range("devices.server.units=1..7")],
        ["wait_over_180s_share[server] <= 0.05"],
        budget=200,
    )
    optimiser.run(run_jobs_adapter, slots=2)
    answer = optimiser.answer()
    known = next(c for c in range(1, 8) if MMc(2 / 60, 1 / 80, c).wait_exceeds(180) <= 0.05)
    assert known == 4 and answer is not None and answer.values == (known,)
    assert all(c.verdict in (Verdict.MISSES, Verdict.RULED_OUT) for c in optimiser.candidates if c.values < (4,))
    assert optimiser.spent < 200, "replications should stop once the answer stands"
    report = optimiser.report()
    assert report["answer"]["constraints"][0]["high"] <= 0.05


def run_jobs_adapter(jobs, on_result, on_failure) -> None:  # type: ignore[no-untyped-def]
    run_jobs(jobs, on_result, on_failure)
