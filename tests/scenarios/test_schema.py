"""Scenario files: durations, windows, inheritance and command-line overrides."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from actors.distribution import Empirical, Exponential, Gamma, Triangular, Weibull
from scenarios.errors import ScenarioError
from scenarios.files import read_scenario_text, read_scenario_tree
from scenarios.schema import apply_overrides, is_scenario, load_scenario, load_station
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
    assert [d.id for d in summer.station.devices] == [d.id for d in typical.station.devices]
    assert max(summer.temp_c) > 38 > max(typical.temp_c)
    riders = next(g for g in summer.population.groups if g.name == "riders")
    swaps = next(s for s in riders.streams if s.name == "swaps")
    assert swaps.per_day == pytest.approx(900 * 0.30 * 0.03 * 3.0)


def test_overrides_reach_the_actor_configs() -> None:
    scenario = load_scenario(
        LIBRARY / "typical_week.toml", ["devices.microwave.units=4", 'devices.microwave.service={dist="exponential", mean="2m"}']
    )
    microwave = scenario.station.device("microwave")
    assert microwave.config.units == 4
    assert microwave.config.service == Exponential(120.0)
    assert scenario.overrides == (("devices.microwave.units", "4"), ("devices.microwave.service", '{dist="exponential", mean="2m"}'))
    untouched = load_scenario(LIBRARY / "typical_week.toml").station.device("microwave")
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


STATIONS = LIBRARY / "stations"


def test_every_library_station_loads_and_is_no_scenario() -> None:
    found = sorted(STATIONS.glob("*.toml"))
    assert [p.stem for p in found] == ["yunting", "yunting_automated"]
    for path in found:
        assert not is_scenario(read_scenario_tree(path))
        assert load_station(path).devices


def test_a_scenario_is_its_station_with_demand_and_weather() -> None:
    """The planner's week and the live station are one description of Yunting: the scenario only adds to it."""
    week = load_scenario(LIBRARY / "typical_week.toml")
    assert dataclasses.replace(week.station, source="") == dataclasses.replace(load_station(STATIONS / "yunting.toml"), source="")
    automated = load_scenario(LIBRARY / "automated_station.toml")
    station = load_station(STATIONS / "yunting_automated.toml")
    assert dataclasses.replace(automated.station, source="") == dataclasses.replace(station, source="")
    assert automated.start.month == 7 and max(automated.temp_c) > 38, "the heat wave's demand and weather, from the first base"
    assert station.automations is not None and station.device("ac").config.start_on is False


def test_a_list_of_bases_is_merged_in_order_later_ones_winning(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('[station]\nid = "a"\nname = "from a"\n[devices.m]\nkind = "microwave"\nunits = 1\n')
    (tmp_path / "b.toml").write_text('[station]\nid = "b"\n[devices.m]\nunits = 3\n')
    (tmp_path / "top.toml").write_text('extends = ["a.toml", "b.toml"]\n[devices.m]\npower_w = 700\n')
    station = load_station(tmp_path / "top.toml")
    assert (station.id, station.name) == ("b", "from a")
    assert (station.device("m").config.units, station.device("m").config.power_w) == (3, 700)


def test_a_station_files_secret_is_found_beside_it_from_wherever_it_is_extended(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "station.toml").write_text('[station]\nid = "s"\n[devices.m]\nkind = "microwave"\n[broker]\nsecret_file = "s.secret"\n')
    (tmp_path / "week.toml").write_text('extends = "site/station.toml"\n')
    assert dict(load_station(tmp_path / "week.toml").settings)["broker_secret_file"] == str((site / "s.secret").resolve())


def test_a_scenario_given_as_a_station_names_what_is_not_a_stations() -> None:
    with pytest.raises(
        ScenarioError,
        match=r"scenario: unknown key; allowed here: automations, broker, devices, duties, privacy, rating, security, station, supplies",
    ):
        load_station(LIBRARY / "typical_week.toml")


@pytest.mark.parametrize("extends", ['"stations/yunting.toml"', '["typical_week.toml", "stations/yunting_automated.toml"]'])
def test_an_upload_may_extend_library_stations(extends: str) -> None:
    raw = read_scenario_text(f'extends = {extends}\n[scenario]\nname = "up"\n', "upload", LIBRARY)
    assert raw["station"]["id"] == "yunting" and raw["scenario"]["name"] == "up"


@pytest.mark.parametrize("extends", ['"../stations/yunting.toml"', '"stations/../typical_week.toml"', '"/etc/passwd"', "[]", "3"])
def test_an_upload_extends_nothing_outside_the_library(extends: str) -> None:
    with pytest.raises(ScenarioError, match="not a library scenario or station file"):
        read_scenario_text(f"extends = {extends}\n", "upload", LIBRARY)


def test_observed_times_come_from_a_csv_beside_the_scenario(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "microwave.csv").write_text("seconds,note\n30,lunch\n\n45,\n120,long\n", encoding="utf-8")
    (tmp_path / "mine.toml").write_text(
        f'extends = "{LIBRARY / "mmc.toml"}"\n[devices.server]\nservice = {{ dist = "empirical", csv = "logs/microwave.csv" }}\n',
        encoding="utf-8",
    )
    service = load_scenario(tmp_path / "mine.toml").station.devices[0].config.service  # type: ignore[attr-defined]
    assert service == Empirical((30.0, 45.0, 120.0))


@pytest.mark.parametrize(
    ("service", "says"),
    [
        ('{ dist = "empirical", csv = "times.csv" }', "times.csv: line 3: 'soon' is not a number"),
        ('{ dist = "empirical", csv = "none.csv" }', "none.csv: no such file of observed values"),
        ('{ dist = "empirical" }', "give the observed values"),
        ('{ dist = "empirical", values = [30, -1] }', "devices.server.service.values.1: a duration cannot be negative"),
        ('{ dist = "gamma", mean = "45s", shape = 0 }', "devices.server.service.shape: Input should be greater than 0"),
        ('{ dist = "weibull", scale = "0s", shape = 2 }', "scale must be above 0"),
        ('{ dist = "beta", mean = "45s" }', "unknown dist 'beta'; one of constant, empirical, exponential, gamma"),
    ],
)
def test_a_bad_distribution_is_named(tmp_path: Path, service: str, says: str) -> None:
    (tmp_path / "times.csv").write_text("seconds\n30\nsoon\n", encoding="utf-8")
    (tmp_path / "bad.toml").write_text(f'extends = "{LIBRARY / "mmc.toml"}"\n[devices.server]\nservice = {service}\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path / "bad.toml")
    assert says in str(caught.value), str(caught.value)


def test_an_upload_cannot_read_a_file_on_the_server() -> None:
    text = 'extends = "mmc.toml"\n[devices.server]\nservice = { dist = "empirical", csv = "/etc/passwd" }\n'
    with pytest.raises(ScenarioError, match="inline"):
        read_scenario_text(text, "upload.toml", LIBRARY)


def test_gamma_and_weibull_draw_their_moments() -> None:
    from twin.randomness import actor_stream

    rng = actor_stream(7, "server", "")
    gamma = [Gamma(45.0, 0.5).sample(rng) for _ in range(40_000)]
    weibull = [Weibull(50.0, 1.5).sample(rng) for _ in range(40_000)]
    assert abs(sum(gamma) / len(gamma) / 45.0 - 1) < 0.03
    assert abs(sum(g * g for g in gamma) / len(gamma) / (45.0**2 * 3) - 1) < 0.08
    assert abs(sum(weibull) / len(weibull) / (50.0 * math.gamma(1 + 1 / 1.5)) - 1) < 0.02
