"""The HTML reports: self-contained, in the asked language, and showing the document's numbers."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from scenarios.i18n import TEXT, in_language, t
from scenarios.report import GROUP_KPIS, RESOURCE_KPIS, STATION_KPIS, write_comparison_report, write_report
from scenarios.results import compare, simulate
from scenarios.schema import load_scenario
from tests.scenarios.report_pages import assert_self_contained, element, figure, names

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios" / "library"
TYPICAL_WEEK = "scenarios/library/typical_week.toml"
SHORT = "scenario.horizon=1d4h"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return simulate(load_scenario(TYPICAL_WEEK, [SHORT]), replications=2)


@pytest.fixture(scope="module")
def comparison() -> dict[str, Any]:
    """Half the microwaves: per-unit utilisation rises in every replication, so the difference is significant."""
    baseline = simulate(load_scenario(TYPICAL_WEEK, [SHORT]), replications=3)
    variant = simulate(load_scenario(TYPICAL_WEEK, [SHORT, "devices.microwave.units=1"]), replications=3)
    return compare([("baseline <week>", baseline), ("one microwave", variant)])


def _render(document: dict[str, Any], tmp_path: Path, lang: str = "zh") -> str:
    path = tmp_path / f"report_{lang}.html"
    write_report(document, path, lang)
    return path.read_text(encoding="utf-8")


def _render_comparison(comparison: dict[str, Any], tmp_path: Path, lang: str = "zh") -> str:
    path = tmp_path / f"comparison_{lang}.html"
    write_comparison_report(comparison, path, lang)
    return path.read_text(encoding="utf-8")


def _estimate(mean: float, low: float, high: float) -> str:
    return f"{mean:,.1f} <small>[{low:,.1f}, {high:,.1f}]</small>"


# ---- simulation report ------------------------------------------------------------------


def test_report_is_self_contained(document: dict[str, Any], tmp_path: Path) -> None:
    page = _render(document, tmp_path)
    assert_self_contained(page)
    for drawn in ("fig-utilisation", "fig-battery-0"):  # drawn whatever the day brings
        assert page.count(f'<div id="{drawn}" class="chart"') == 1
    assert page.count('<table id="occupancy-grid" class="heat">') == 1


def test_report_is_chinese_by_default(document: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "default.html"
    write_report(document, path)
    page = path.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page
    assert f"<h2>{TEXT['zh']['sec.resources']}</h2>" in page
    assert TEXT["zh"]["note.occupancy"] in page
    assert TEXT["en"]["sec.resources"] not in page


def test_report_in_english(document: dict[str, Any], tmp_path: Path) -> None:
    page = _render(document, tmp_path, "en")
    assert '<html lang="en">' in page
    assert f"<h2>{TEXT['en']['sec.resources']}</h2>" in page
    assert TEXT["zh"]["sec.resources"] not in page
    assert TEXT["zh"]["kpi.wait_p95_s"] not in page


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_resource_is_in_the_kpi_table_by_its_name_not_its_id(document: dict[str, Any], tmp_path: Path, lang: str) -> None:
    table = element(_render(document, tmp_path, lang), "kpi-resources")
    assert len(document["resources"]) > 5
    shown = names(table)
    assert shown == [in_language(r["label"], lang) for r in document["resources"].values()]
    assert "<code>" not in table
    for rid in document["resources"]:
        assert rid not in shown


def test_kpi_table_shows_the_documents_estimates(document: dict[str, Any], tmp_path: Path) -> None:
    table = element(_render(document, tmp_path), "kpi-resources")
    busiest = max(document["resources"].values(), key=lambda r: r["served"]["mean"])
    served = busiest["served"]
    assert served["mean"] > 0
    assert _estimate(served["mean"], served["ci_low"], served["ci_high"]) in table
    utilisation = busiest["utilisation"]
    assert f"{100 * utilisation['mean']:.1f}%" in table


def test_group_station_and_cost_tables(document: dict[str, Any], tmp_path: Path) -> None:
    page = _render(document, tmp_path, "en")
    groups = element(page, "kpi-groups")
    assert names(groups) == [TEXT["en"].get(f"group.{g}", g) for g in document["groups"]]
    visits = document["station"]["visits"]
    assert _estimate(visits["mean"], visits["ci_low"], visits["ci_high"]) in element(page, "kpi-station")
    assert f"{document['cost']['capex_cny']:,.0f}" in element(page, "cost-summary")
    items = element(page, "cost-items")
    assert names(items) == [*(in_language(item["label"], "en") for item in document["cost"]["items"]), "Total"]


def test_scenario_header(document: dict[str, Any], tmp_path: Path) -> None:
    page = _render(document, tmp_path, "en")
    header = element(page, "scenario-table")
    scenario = document["scenario"]
    assert "<b>Typical week</b>" in header  # the reader's half of "典型周 / Typical week"
    assert "典型周" not in page
    assert scenario["source"] not in page  # no file path: the reader has no use for it, and a server's is nobody's business
    assert "2026-04-13 00:00 Mon" in header
    assert "1 d 4 h" in header  # horizon
    assert ">2 h<" in header  # warm-up
    assert f">{scenario['seed']}<" in header
    assert "Horizon 7d → 1d4h" in header  # the override in words
    assert "95%" in header


def test_battery_section_follows_the_cabinets(document: dict[str, Any], tmp_path: Path) -> None:
    assert document["series"]["battery_cabinets"], "the typical week has a battery-swap cabinet"
    with_cabinet = _render(document, tmp_path)
    assert '<section id="battery">' in with_cabinet
    assert 'id="fig-battery-0"' in with_cabinet

    without = copy.deepcopy(document)
    without["series"]["battery_cabinets"] = {}
    cabinets = [rid for rid, r in without["resources"].items() if r["kind"] == "battery_cabinet"]
    for rid in cabinets:
        del without["resources"][rid]
        del without["series"]["resources"][rid]
    page = _render(without, tmp_path)
    assert 'id="battery"' not in page
    assert "fig-battery" not in page
    assert TEXT["zh"]["sec.battery"] not in page
    assert_self_contained(page)


def test_a_station_without_door_or_waits_gets_notes_not_empty_charts(tmp_path: Path) -> None:
    """M/M/c customers kept outside (occupancy all zero), no cabinet, and at a tenth of the load nobody waits."""
    overrides = ["scenario.horizon=4h", "population.workers=100", "population.groups.customers.streams.arrivals.enters_station=false"]
    quiet = simulate(load_scenario("scenarios/library/mmc.toml", overrides), replications=2)
    assert not any(v for row in quiet["series"]["occupancy_weekday_hour"] for v in row)
    page = _render(quiet, tmp_path, "en")
    assert TEXT["en"]["note.no_occupancy"] in element(page, "occupancy")
    assert "occupancy-grid" not in page
    assert 'id="battery"' not in page
    assert TEXT["en"]["note.no_unmet"] in element(page, "unmet")
    assert_self_contained(page)


def test_an_all_zero_wait_series_is_named_not_drawn(document: dict[str, Any], tmp_path: Path) -> None:
    still = copy.deepcopy(document)
    for series in still["series"]["resources"].values():
        series["wait_by_hour_s"] = [None if v is None else 0.0 for v in series["wait_by_hour_s"]]
    section = element(_render(still, tmp_path, "en"), "wait-by-hour")
    assert TEXT["en"]["note.no_waits"] in section
    assert "fig-wait-by-hour" not in section


def test_occupancy_grid_has_an_hour_a_row_and_a_weekday_a_column(document: dict[str, Any], tmp_path: Path) -> None:
    grid = element(_render(document, tmp_path, "en"), "occupancy-grid")
    assert names(grid) == [f"{h:02d}:00" for h in range(24)]
    assert grid.count('<th scope="col">') == 7
    busiest = max(v for row in document["series"]["occupancy_weekday_hour"] for v in row if v is not None)
    assert f'<td class="shade5">{busiest:.1f}</td>' in grid


def test_text_from_the_document_is_escaped(document: dict[str, Any], tmp_path: Path) -> None:
    hostile = copy.deepcopy(document)
    hostile["scenario"]["title"] = "<script>alert(1)</script> & co"
    page = _render(hostile, tmp_path)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    hostile["resources"]["microwave"]["label"] = "</script><script>alert(2)</script>"
    page = _render(hostile, tmp_path, "en")
    assert "<script>alert(2)" not in page  # escaped in the tables, and in the charts' JSON inside the page's script
    assert "\\u003c/script\\u003e\\u003cscript\\u003ealert(2)" in page


def test_output_is_reproducible(document: dict[str, Any], tmp_path: Path) -> None:
    first = _render(document, tmp_path)
    assert _render(document, tmp_path) == first


@pytest.mark.parametrize("writer", [write_report, write_comparison_report])
def test_unknown_language_is_refused_before_writing(writer: Any, document: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "never.html"
    with pytest.raises(ValueError, match="zh, en"):
        writer(document, path, "fr")
    assert not path.exists()


# ---- i18n -------------------------------------------------------------------------------


def test_t_names_the_languages_it_knows() -> None:
    assert t("sec.cost", "zh") == "成本"
    assert t("sec.cost", "en") == "Cost"
    with pytest.raises(ValueError, match=r"'de'.*zh, en"):
        t("sec.cost", "de")


# ---- comparison report ------------------------------------------------------------------


def test_comparison_report_is_self_contained_and_names_the_variants(comparison: dict[str, Any], tmp_path: Path) -> None:
    page = _render_comparison(comparison, tmp_path)
    assert_self_contained(page)
    assert '<html lang="zh-CN">' in page
    assert TEXT["zh"]["sec.differences"] in page
    table = element(page, "variant-kpis")
    assert '<th scope="col">baseline &lt;week&gt;</th>' in table
    assert '<th scope="col">one microwave</th>' in table
    labels = [in_language(r["label"], "zh") for r in comparison["variants"]["one microwave"]["resources"].values()]
    assert {name.split(" ")[0] for name in names(table)} >= set(labels)
    assert "<code>" not in table
    for variant in comparison["variants"].values():  # the capex of each variant
        assert f"{variant['cost']['capex_cny']:,.0f}" in table


def test_comparison_marks_significant_differences(comparison: dict[str, Any], tmp_path: Path) -> None:
    differences = comparison["differences"]["one microwave"]
    utilisation = differences["resources"]["microwave"]["utilisation"]
    assert utilisation["significant"], "the fixture's variant should differ significantly"
    table = element(_render_comparison(comparison, tmp_path, "en"), "difference-table")
    rows = re.findall(r"<tr( class=\"sig\")?>(.*?)</tr>", table, re.DOTALL)[1:]  # under the header
    marked = [row for cls, row in rows if cls]
    assert any(">Microwave<" in row and ">Utilisation</td>" in row for row in marked)
    assert all(TEXT["en"]["significant_mark"] in row for row in marked)
    shown = {
        (scope, item, kpi)
        for scope in ("resources", "groups")
        for item, kpis in differences[scope].items()
        for kpi, d in kpis.items()
        if d["significant"] and kpi in (*RESOURCE_KPIS, *GROUP_KPIS)
    }
    assert len(marked) == len(shown) + sum(differences["station"][k]["significant"] for k in STATION_KPIS)
    assert TEXT["en"]["significant_mark"] not in "".join(row for cls, row in rows if not cls)


def test_comparison_charts(comparison: dict[str, Any], tmp_path: Path) -> None:
    page = _render_comparison(comparison, tmp_path, "en")
    assert 'id="fig-by-variant-wait_p95_s"' in page
    assert 'id="fig-by-variant-utilisation"' in page
    section = element(page, "wait-by-hour")
    assert 'class="chart"' in section, "the single microwave makes people wait, so its hourly wait is drawn"


# ---- for the chairman: verdict, summary, size ------------------------------------------------


def test_the_verdict_comes_first_then_plain_sentences_then_the_details(document: dict[str, Any], tmp_path: Path) -> None:
    page = _render(document, tmp_path)
    order = [page.index(marker) for marker in ('<section id="verdict">', '<section id="summary"', "<nav>", '<section id="scenario">')]
    assert order == sorted(order)
    summary = [re.sub(r"<[^>]+>", "", p) for p in re.findall(r"<p>(.*?)</p>", element(page, "summary"))]
    assert len(summary) >= 4
    assert summary[0].startswith("本报告模拟了“典型周”")
    assert any(s.startswith("最忙的设备是") for s in summary)
    busiest = max(document["resources"].values(), key=lambda r: r["utilisation"]["mean"])
    assert in_language(busiest["label"], "zh") in "".join(summary)
    assert "Typical week" not in page and "_" not in "".join(summary)  # no ids in the sentences


def test_the_verdict_lists_what_fails_before_what_passes(document: dict[str, Any], tmp_path: Path) -> None:
    failing = copy.deepcopy(document)
    checks = failing["verdict"]["checks"]
    checks[-1] |= {"judgement": "missed", "mean": 500.0, "ci_low": 400.0, "ci_high": 600.0}
    failing["verdict"] |= {"overall": "missed", "first": checks[-1]}
    page = _render(failing, tmp_path, "en")
    table = element(page, "verdict-table")
    rows = re.findall(r"<tr(?: class=\"(\w+)\")?>", table.split("<tbody>", 1)[1])
    assert rows[0] == "missed" and set(rows[1:]) <= {"met", "unknown"}
    assert names(table)[0] == in_language(failing["resources"][checks[-1]["target"]]["label"], "en")
    assert "Misses a service level: " in element(page, "verdict")


def test_dates_on_the_time_axes_are_written_in_the_readers_way(document: dict[str, Any], tmp_path: Path) -> None:
    _, layout = figure(_render(document, tmp_path, "zh"), "fig-battery-0")
    assert layout["xaxis"]["tickformat"] == "%-m月%-d日 %H:%M"
    traces, layout = figure(_render(document, tmp_path, "en"), "fig-battery-0")
    assert layout["xaxis"]["tickformat"] == "%b %-d %H:%M"
    assert "x" not in traces[0] and traces[0]["x0"] == document["scenario"]["start"].replace("T", " ")  # start and step


def test_the_summer_weeks_report_fits_a_phone_and_names_no_file(tmp_path: Path) -> None:
    """The issue's budget: under 1.5 MB (it was 5.2 MB with the whole of plotly.js), and no file path in it."""
    scenario = load_scenario(LIBRARY / "summer_heat_wave.toml")
    document = simulate(scenario)
    for lang in ("zh", "en"):
        page = _render(document, tmp_path, lang)
        assert len(page.encode("utf-8")) < 1_500_000
        assert_self_contained(page)
        assert str(LIBRARY) not in page and "summer_heat_wave" not in page and ".toml" not in page
        assert not re.search(r"(/[\w.-]+){2,}\.\w+", re.sub(r"<script>.*?</script>", "", page, flags=re.DOTALL))


def test_the_vendored_plotly_is_the_one_the_figures_are_written_for() -> None:
    """The figures' JSON is written by the plotly package; the page draws it with the vendored basic bundle."""
    from plotly.offline import get_plotlyjs_version

    from scenarios.page import plotly_js

    vendored = re.search(r"plotly\.js \(basic - minified\) v(\d+)\.", plotly_js())
    assert vendored is not None and vendored.group(1) == get_plotlyjs_version().split(".")[0]


def test_the_comparison_names_the_cheapest_variant_that_meets_every_level(comparison: dict[str, Any], tmp_path: Path) -> None:
    cheap = copy.deepcopy(comparison)
    for variant in cheap["variants"].values():
        variant["verdict"] |= {"overall": "met", "first": None}
        variant["verdict"]["capex_cny"] = variant["cost"]["capex_cny"]
    page = _render_comparison(cheap, tmp_path, "en")
    verdict = element(page, "verdict")
    assert "The cheapest variant that meets every level is “one microwave”" in verdict  # one microwave fewer costs less
    assert names(element(page, "variant-verdicts")) == list(cheap["variants"])
    summary = element(page, "summary")
    assert "“one microwave”: " in summary and "investment -1,500 CNY" in summary
