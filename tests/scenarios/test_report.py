"""The HTML reports: self-contained, in the asked language, and showing the document's numbers."""

from __future__ import annotations

import copy
import html
import re
from pathlib import Path
from typing import Any

import pytest

from scenarios.i18n import TEXT, t
from scenarios.report import GROUP_KPIS, RESOURCE_KPIS, STATION_KPIS, write_comparison_report, write_report
from scenarios.results import compare, simulate
from scenarios.schema import load_scenario

TYPICAL_WEEK = "scenarios/library/typical_week.toml"
SHORT = "scenario.horizon=1d4h"
PLOTLY_MARKER = re.compile(r"\* plotly\.js v\d+\.\d+\.\d+")
EXTERNAL_RESOURCE = re.compile(r"<(?:script|link|img|iframe|source|embed|object)\b[^>]*\b(?:src|href|data)\s*=", re.IGNORECASE)


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


def _element(page: str, element_id: str) -> str:
    """The HTML of the table or section with ``element_id`` (these do not nest their own kind)."""
    match = re.search(rf'<(table|section) id="{re.escape(element_id)}">(.*?)</\1>', page, re.DOTALL)
    assert match is not None, f"no element with id {element_id!r}"
    return match.group(2)


def _assert_self_contained(page: str) -> None:
    assert len(PLOTLY_MARKER.findall(page)) == 1, "plotly.js must be inlined exactly once"
    assert EXTERNAL_RESOURCE.search(page) is None, "nothing may be loaded by src/href"
    assert "<link" not in page.lower()
    for style in re.findall(r"<style[^>]*>(.*?)</style>", page, re.DOTALL | re.IGNORECASE):
        assert "http" not in style and "@import" not in style and "url(" not in style
    for opening in re.findall(r"<(?:script|link|style)\b[^>]*>", page, re.IGNORECASE):
        assert "http://" not in opening and "https://" not in opening


def _estimate(mean: float, low: float, high: float) -> str:
    return f"{mean:,.1f} <small>[{low:,.1f}, {high:,.1f}]</small>"


# ---- simulation report ------------------------------------------------------------------


def test_report_is_self_contained(document: dict[str, Any], tmp_path: Path) -> None:
    page = _render(document, tmp_path)
    _assert_self_contained(page)
    for figure in ("fig-utilisation", "fig-occupancy", "fig-battery-0"):  # drawn whatever the day brings
        assert page.count(f'<div id="{figure}" class="plotly-graph-div"') == 1


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


def test_every_resource_is_in_the_kpi_table(document: dict[str, Any], tmp_path: Path) -> None:
    table = _element(_render(document, tmp_path), "kpi-resources")
    assert len(document["resources"]) > 5
    for rid, resource in document["resources"].items():
        assert f"<code>{html.escape(rid)}</code>" in table
        assert html.escape(resource["label"]) in table
    assert table.count("<tr>") == len(document["resources"]) + 1  # the header row too


def test_kpi_table_shows_the_documents_estimates(document: dict[str, Any], tmp_path: Path) -> None:
    table = _element(_render(document, tmp_path), "kpi-resources")
    busiest = max(document["resources"].values(), key=lambda r: r["served"]["mean"])
    served = busiest["served"]
    assert served["mean"] > 0
    assert _estimate(served["mean"], served["ci_low"], served["ci_high"]) in table
    utilisation = busiest["utilisation"]
    assert f"{100 * utilisation['mean']:.1f}%" in table


def test_group_station_and_cost_tables(document: dict[str, Any], tmp_path: Path) -> None:
    page = _render(document, tmp_path, "en")
    groups = _element(page, "kpi-groups")
    for group in document["groups"]:
        assert f"<code>{group}</code>" in groups
    visits = document["station"]["visits"]
    assert _estimate(visits["mean"], visits["ci_low"], visits["ci_high"]) in _element(page, "kpi-station")
    assert f"{document['cost']['capex_cny']:,.0f}" in _element(page, "cost-summary")
    items = _element(page, "cost-items")
    for item in document["cost"]["items"]:
        assert f"<code>{item['device']}</code>" in items


def test_scenario_header(document: dict[str, Any], tmp_path: Path) -> None:
    header = _element(_render(document, tmp_path, "en"), "scenario-table")
    scenario = document["scenario"]
    assert html.escape(scenario["title"]) in header
    assert scenario["source"] in header
    assert "2026-04-13 00:00 Mon" in header
    assert "1 d 4 h" in header  # horizon
    assert ">2 h<" in header  # warm-up
    assert f">{scenario['seed']}<" in header
    assert "horizon = 1d4h" in header  # the override
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
    _assert_self_contained(page)


def test_a_station_without_door_or_waits_gets_notes_not_empty_charts(tmp_path: Path) -> None:
    """M/M/c customers kept outside (occupancy all zero), no cabinet, and at a tenth of the load nobody waits."""
    overrides = ["scenario.horizon=4h", "population.workers=100", "population.groups.customers.streams.arrivals.enters_station=false"]
    quiet = simulate(load_scenario("scenarios/library/mmc.toml", overrides), replications=2)
    assert not any(v for row in quiet["series"]["occupancy_weekday_hour"] for v in row)
    page = _render(quiet, tmp_path, "en")
    assert TEXT["en"]["note.no_occupancy"] in _element(page, "occupancy")
    assert "fig-occupancy" not in page
    assert 'id="battery"' not in page
    assert TEXT["en"]["note.no_unmet"] in _element(page, "unmet")
    _assert_self_contained(page)


def test_an_all_zero_wait_series_is_named_not_drawn(document: dict[str, Any], tmp_path: Path) -> None:
    still = copy.deepcopy(document)
    for series in still["series"]["resources"].values():
        series["wait_by_hour_s"] = [None if v is None else 0.0 for v in series["wait_by_hour_s"]]
    section = _element(_render(still, tmp_path, "en"), "wait-by-hour")
    assert TEXT["en"]["note.no_waits"] in section
    assert "fig-wait-by-hour" not in section


def test_text_from_the_document_is_escaped(document: dict[str, Any], tmp_path: Path) -> None:
    hostile = copy.deepcopy(document)
    hostile["scenario"]["title"] = "<script>alert(1)</script> & co"
    page = _render(hostile, tmp_path)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page


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
    _assert_self_contained(page)
    assert '<html lang="zh-CN">' in page
    assert TEXT["zh"]["sec.differences"] in page
    table = _element(page, "variant-kpis")
    assert "<th>baseline &lt;week&gt;</th>" in table
    assert "<th>one microwave</th>" in table
    for rid in comparison["variants"]["one microwave"]["resources"]:
        assert f"<code>{rid}</code>" in table
    for variant in comparison["variants"].values():  # the capex of each variant
        assert f"{variant['cost']['capex_cny']:,.0f}" in table


def test_comparison_marks_significant_differences(comparison: dict[str, Any], tmp_path: Path) -> None:
    differences = comparison["differences"]["one microwave"]
    utilisation = differences["resources"]["microwave"]["utilisation"]
    assert utilisation["significant"], "the fixture's variant should differ significantly"
    table = _element(_render_comparison(comparison, tmp_path, "en"), "difference-table")
    rows = re.findall(r"<tr( class=\"sig\")?>(.*?)</tr>", table, re.DOTALL)
    marked = [row for cls, row in rows if cls]
    assert any("<code>microwave</code>" in row and "<td>Utilisation</td>" in row for row in marked)
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
    section = _element(page, "wait-by-hour")
    assert "plotly-graph-div" in section, "the single microwave makes people wait, so its hourly wait is drawn"
