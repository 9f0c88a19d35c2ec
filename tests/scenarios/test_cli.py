"""The planner's commands end to end: simulate, compare, the library, JSON, event log."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from tests.conftest import LIBRARY

RESOURCE_KPIS = ("wait_mean_s", "wait_p95_s", "utilisation", "queue_mean", "served", "balked", "reneged", "blocked")
SHORT = ["--set", "scenario.horizon=1d4h", "-n", "3"]


def run(*args: str) -> str:
    """What the command printed on stdout (progress goes to stderr, so a script reading stdout gets only the answer)."""
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output + result.stderr
    return result.stdout


def test_same_seed_gives_byte_identical_json_and_another_seed_differs(tmp_path: Path) -> None:
    run("simulate", "summer_heat_wave", *SHORT, "--json", str(tmp_path / "a.json"))
    run("simulate", "summer_heat_wave", *SHORT, "--json", str(tmp_path / "b.json"))
    run("simulate", "summer_heat_wave", *SHORT, "--seed", "99", "--json", str(tmp_path / "c.json"))
    a, b, c = ((tmp_path / n).read_bytes() for n in ("a.json", "b.json", "c.json"))
    assert a == b
    first, other = json.loads(a), json.loads(c)
    assert first["station"]["visits"] != other["station"]["visits"]
    assert first["scenario"]["seed"] == 20260720 and other["scenario"]["seed"] == 99


def test_json_has_the_documented_shape(tmp_path: Path) -> None:
    run("simulate", "typical_week", *SHORT, "--json", str(tmp_path / "r.json"))
    document = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert document["schema"] == "yxy.simulation/1"
    assert document["scenario"]["replications"] == 3
    assert document["scenario"]["overrides"] == {"scenario.horizon": "1d4h"}
    assert set(document["resources"]) >= {"microwave", "water", "battery_cabinet", "lockers"}
    for rid, resource in document["resources"].items():
        for kpi in RESOURCE_KPIS:
            estimate = resource[kpi]
            assert set(estimate) == {"mean", "ci_low", "ci_high"}, (rid, kpi)
            assert estimate["ci_low"] <= estimate["mean"] <= estimate["ci_high"], (rid, kpi)
    assert len(document["replications"]) == 3
    assert document["cost"]["capex_cny"] > 0
    assert len(document["series"]["occupancy_weekday_hour"]) == 7


def test_set_changes_the_station(tmp_path: Path) -> None:
    run("simulate", "stress_10x", "-n", "2", "--json", str(tmp_path / "two.json"))
    run("simulate", "stress_10x", "-n", "2", "--set", "devices.microwave.units=1", "--json", str(tmp_path / "one.json"))
    two = json.loads((tmp_path / "two.json").read_text(encoding="utf-8"))["resources"]["microwave"]
    one = json.loads((tmp_path / "one.json").read_text(encoding="utf-8"))["resources"]["microwave"]
    assert one["units"] == 1 and two["units"] == 2
    assert one["wait_mean_s"]["mean"] > two["wait_mean_s"]["mean"]
    assert one["utilisation"]["mean"] > 1.5 * two["utilisation"]["mean"]


def test_compare_finds_the_significant_difference(tmp_path: Path) -> None:
    output = run(
        "compare",
        "stress_10x",
        "--variant",
        "devices.microwave.units=1",
        "-n",
        "5",
        "--json",
        str(tmp_path / "c.json"),
        "--report",
        str(tmp_path / "c.html"),
    )
    comparison = json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))
    # Named as a reader names them: the scenario's title, the variant by what it changed.
    assert comparison["schema"] == "yxy.comparison/1" and comparison["baseline"] == "十倍人口压力日"
    assert list(comparison["differences"]) == ["微波炉 2 → 1 台"]
    diff = comparison["differences"]["微波炉 2 → 1 台"]
    microwave = diff["resources"]["microwave"]
    assert microwave["utilisation"]["significant"] and microwave["utilisation"]["mean"] > 0
    # Common random numbers: a device the variant did not touch sees the very same arrivals.
    assert diff["resources"]["battery_cabinet"]["served"]["mean"] == 0.0
    assert diff["cost"]["capex_cny"] == -1500
    assert "microwave" in output and (tmp_path / "c.html").stat().st_size > 100_000


def test_library_listing() -> None:
    output = run("scenarios")
    for path in LIBRARY.glob("*.toml"):
        assert path.stem in output


def test_event_log(tmp_path: Path) -> None:
    run("simulate", "rainstorm_day", "-n", "2", "--events", str(tmp_path / "events.csv"))
    with (tmp_path / "events.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {r["replication"] for r in rows} == {"0", "1"}
    names = {r["name"] for r in rows}
    assert {"state", "visit_started", "service_started", "visit_ended"} <= names
    first_visit = next(r for r in rows if r["name"] == "visit_started")
    assert json.loads(first_visit["data"])["group"] in {"riders", "couriers", "sanitation", "construction", "other"}
    assert first_visit["time"].startswith("2026-06-2")


def test_unknown_language_is_a_user_error() -> None:
    result = CliRunner().invoke(app, ["simulate", "mmc", "--lang", "fr"])
    assert result.exit_code == 2 and "--lang 'fr'" in result.stderr


def test_scripts_read_json_and_csv_and_people_read_80_columns() -> None:
    listing = json.loads(run("scenarios", "--format", "json"))
    assert {row["name"] for row in listing} == {p.stem for p in LIBRARY.glob("*.toml")}
    assert all(row["title"] for row in listing)
    short = ["mmc", "-n", "2", "--set", "scenario.horizon=3h"]
    rows = list(csv.DictReader(run("simulate", *short, "--format", "csv").splitlines()))
    assert [r["device"] for r in rows] == ["server"]
    assert float(rows[0]["wait_mean_s_low"]) <= float(rows[0]["wait_mean_s"]) <= float(rows[0]["wait_mean_s_high"])
    result = CliRunner().invoke(app, ["simulate", "summer_heat_wave", "-n", "2", "--set", "scenario.horizon=1d"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, lines
    assert any(line.lstrip().startswith("battery_cabinet ") for line in lines), "device ids are whole, not cut"
    assert "…" not in result.stdout


def test_check_names_every_mistake_at_once(tmp_path: Path) -> None:
    assert "ok" in run("check", "summer_heat_wave")
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\nname = "bad"\nhorizon = "-5h"\nreplications = 0\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(bad)])
    assert result.exit_code == 2
    assert "scenario.horizon" in result.stderr and "scenario.replications" in result.stderr, result.stderr
    assert "Traceback" not in result.output + result.stderr
