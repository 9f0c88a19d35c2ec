"""The supplies forecast (issue 14): consumption is the devices' uses times each item's per-use, day by day on the
station's calendar, the same uses the planner's KPIs count; a heat wave draws more cups than a mild week from the same
day; the day the stock reaches its reorder point is where the cumulative use crosses it; ``yxy supplies forecast``
reads the stock from the station's database and writes a report in either language."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from scenarios.model import run_replication
from scenarios.schema import load_scenario
from scenarios.supplies import forecast
from store import supplies as shelves
from store.db import engine_for, migrate, sessions
from tests.conftest import LIBRARY

MONDAY = date(2026, 12, 14)


def test_consumption_is_the_devices_uses_the_kpis_count_times_per_use() -> None:
    scenario = load_scenario(LIBRARY / "typical_week.toml")
    result = forecast(scenario, scenario.station.supplies, MONDAY, 7, 2, {"cups": 100})
    whole = dataclasses.replace(scenario, start=datetime.combine(MONDAY, time()), horizon_s=7 * 86400.0, warmup_s=0.0)
    served = [run_replication(whole, replication).resources for replication in range(2)]
    cups = next(item for item in result.items if item.item == "cups")
    coffee = next(item for item in result.items if item.item == "coffee")
    assert cups.total is not None and coffee.total is not None
    assert cups.total["mean"] == sum(r["water"]["served"] + r["coffee"]["served"] for r in served) / 2  # type: ignore[operator]
    assert coffee.total["mean"] == sum(r["coffee"]["served"] for r in served) / 2  # type: ignore[operator]
    assert abs(sum(d["mean"] for d in cups.daily) - cups.total["mean"]) < 1e-6
    assert [round(u["mean"], 6) for u in cups.used_by] == [round(sum(d["mean"] for d in cups.daily[: n + 1]), 6) for n in range(7)]
    held = 100
    crossing = next(n for n, used in enumerate(cups.used_by) if held - used["mean"] <= 0)
    assert cups.empty_by == date(2026, 12, 14 + crossing)
    reorder = next(n for n, used in enumerate(cups.used_by) if held - used["mean"] <= cups.reorder_at) if held > cups.reorder_at else 0
    assert cups.reorder_by == date(2026, 12, 14 + reorder)
    assert cups.empty_by_early is not None and cups.empty_by_early <= cups.empty_by
    first_aid = next(item for item in result.items if item.item == "first_aid")
    assert not first_aid.forecast and first_aid.daily == [], "used by hand: not forecast, not a reassuring nought"


def test_a_heat_wave_draws_more_cups_than_a_mild_week_from_the_same_day() -> None:
    mild = load_scenario(LIBRARY / "typical_week.toml")
    hot = load_scenario(LIBRARY / "summer_heat_wave.toml")
    cups = {}
    for name, scenario in (("mild", mild), ("hot", hot)):
        (item,) = [i for i in forecast(scenario, scenario.station.supplies, MONDAY, 7, 3, {}).items if i.item == "cups"]
        assert item.total is not None
        cups[name] = item.total["mean"]
    assert cups["hot"] > 1.15 * cups["mild"], cups


def test_yxy_supplies_forecast_reads_the_stock_and_writes_a_report(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'yxy.db'}"
    engine = engine_for(url)
    migrate(engine)
    station = load_scenario(LIBRARY / "typical_week.toml").station
    with sessions(engine).begin() as db:
        shelves.move(db, station.supplies, "cups", shelves.MoveKind.COUNTED, 400, "custodian", datetime(2026, 12, 7, tzinfo=UTC))
    engine.dispose()
    report = tmp_path / "forecast.html"
    done = CliRunner().invoke(app, ["supplies", "forecast", "typical_week", "--from", "2026-12-14", "--days", "14",
                                    "--replications", "2", "--database", url, "--report", str(report), "--lang", "en"])  # fmt: skip
    said = " ".join(done.output.split())
    assert done.exit_code == 0, done.output
    assert "Paper" in said and "400" in said and "used by" in said, said  # a table at whatever width the terminal has
    html = report.read_text(encoding="utf-8")
    assert "How long the stock lasts" in html and "supplies-cups" in html and "Reorder by" in html
    assert "400" in html and "2026-12-" in html and "Not used by a device" in html
    bad = CliRunner().invoke(app, ["supplies", "forecast", "typical_week", "--from", "14/12/2026"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output
    none = CliRunner().invoke(app, ["supplies", "forecast", "mmc"])
    assert none.exit_code == 2 and "keeps no supplies" in " ".join(none.output.split())
