"""Scenario files: durations, windows, inheritance and command-line overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.distribution import Exponential, Triangular
from scenarios.errors import ScenarioError
from scenarios.schema import apply_overrides, load_scenario, read_scenario_tree
from scenarios.units import parse_duration, parse_window
from tests.conftest import LIBRARY


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("1h30m", 5400), ("7d", 604800), ("7d4h", 619200), (12.5, 12.5), ("250ms", 0.25), ("2w", 1209600)],
)
def test_durations(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["7 days", "m15", "", "-5s", True, "1h and 5m"])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_windows() -> None:
    assert parse_window("10:30-14:30") == (10.5, 14.5)
    assert parse_window("22:00-06:00") == (22.0, 6.0)
    with pytest.raises(ValueError):
        parse_window("25:00-26:00")


def test_every_library_scenario_loads() -> None:
    names = {p.stem for p in LIBRARY.glob("*.toml")}
    assert {"typical_week", "summer_heat_wave", "winter_cold_night", "rainstorm_day", "stress_10x", "mmc", "mmck"} <= names
    for path in LIBRARY.glob("*.toml"):
        scenario = load_scenario(path)
        assert scenario.horizon_s > scenario.warmup_s


def test_a_variant_extends_its_base() -> None:
    summer = load_scenario(LIBRARY / "summer_heat_wave.toml")
    typical = load_scenario(LIBRARY / "typical_week.toml")
    assert summer.name == "summer_heat_wave" and summer.start.month == 7
    assert [d.id for d in summer.devices] == [d.id for d in typical.devices]
    assert max(summer.temp_c) > 38 > max(typical.temp_c)
    riders = next(g for g in summer.population.groups if g.name == "riders")
    swaps = next(s for s in riders.streams if s.name == "swaps")
    assert swaps.per_day == pytest.approx(900 * 0.30 * 0.03 * 3.0)


def test_overrides_reach_the_actor_configs() -> None:
    scenario = load_scenario(
        LIBRARY / "typical_week.toml", ["devices.microwave.units=4", 'devices.microwave.service={dist="exponential", mean="2m"}']
    )
    microwave = scenario.device("microwave")
    assert microwave.config.units == 4
    assert microwave.config.service == Exponential(120.0)
    assert scenario.overrides == (("devices.microwave.units", "4"), ("devices.microwave.service", '{dist="exponential", mean="2m"}'))
    untouched = load_scenario(LIBRARY / "typical_week.toml").device("microwave")
    assert untouched.config.service == Triangular(110.0, 170.0, 260.0)


def test_override_text_without_toml_syntax_is_a_string() -> None:
    raw: dict[str, object] = {"scenario": {}}
    apply_overrides(raw, ["scenario.title=heat wave, two microwaves"], "x.toml")
    assert raw["scenario"] == {"title": "heat wave, two microwaves"}


def test_several_problems_are_all_reported(tmp_path: Path) -> None:
    text = (LIBRARY / "mmc.toml").read_text(encoding="utf-8").replace("units = 3", "units = 0\ncolour = 1")
    path = tmp_path / "two.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert any("devices.server.units" in line for line in lines) and any("devices.server.colour" in line for line in lines)


def test_circular_extends(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n', encoding="utf-8")
    (tmp_path / "b.toml").write_text('extends = "a.toml"\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match="circle"):
        load_scenario(tmp_path / "a.toml")


def test_weather_from_hourly_readings() -> None:
    temps = [20.0 + h / 2 for h in range(24)] * 2
    rain = [False] * 30 + [True] * 18
    raw = read_scenario_tree(LIBRARY / "mmc.toml")
    raw["weather"] = {"temp_c": temps, "rain": rain}
    scenario = load_scenario(LIBRARY / "hourly.toml", raw=raw)
    assert scenario.temp_c == tuple(temps) and scenario.rain == tuple(rain)
    raw["weather"] = {"temp_c": temps[:30]}
    with pytest.raises(ScenarioError, match="weather: temp_c has 30 hourly values"):
        load_scenario(LIBRARY / "hourly.toml", raw=raw)
    raw["weather"] = {"profile": "neutral", "temp_c": temps}
    with pytest.raises(ScenarioError, match="exactly one of profile, days or temp_c"):
        load_scenario(LIBRARY / "hourly.toml", raw=raw)


def test_a_variant_may_give_the_weather_in_another_form(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text((LIBRARY / "mmc.toml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "hot.toml").write_text('extends = "base.toml"\n[weather]\ndays = [{max_c = 36, min_c = 28}]\n', encoding="utf-8")
    assert max(load_scenario(tmp_path / "hot.toml").temp_c) == 36
    hourly = load_scenario(tmp_path / "base.toml", ["weather.temp_c=[" + ",".join(["30"] * 24) + "]"])
    assert set(hourly.temp_c) == {30.0}
