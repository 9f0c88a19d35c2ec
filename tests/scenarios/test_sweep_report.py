"""The sweep report: self-contained, in the asked language, every variant in the table and every KPI drawn.

The documents are built in-process (no Ray): the sweep's plan, a store in tmp_path fed
with replications run inline, and the sweep's own summary.
"""

from __future__ import annotations

import copy
import html
import re
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from scenarios.i18n import TEXT
from scenarios.kpi import ReplicationResult
from scenarios.model import run_replication
from scenarios.parallel import JobFailure
from scenarios.sweep import Plan, SweepStore, parse_axis, plan, summarise_sweep
from scenarios.sweep_report import SWEEP_KPIS, write_sweep_report
from tests.scenarios.report_pages import assert_self_contained, body_rows, cells, element, figure

TYPICAL_WEEK = Path("scenarios/library/typical_week.toml")
SHORT = "scenario.horizon=1d4h"
GRID = ["devices.microwave.units=1,2", "population.workers=900,2700,abc"]
REPLICATIONS = 2


@pytest.fixture(scope="module")
def sweep_plan() -> Plan:
    return plan(TYPICAL_WEEK, [SHORT], [parse_axis(g) for g in GRID], REPLICATIONS)


@pytest.fixture(scope="module")
def results(sweep_plan: Plan) -> dict[tuple[str, int], ReplicationResult]:
    return {(name, r): run_replication(scenario, r) for name, (_, scenario) in sweep_plan.scenarios.items() for r in range(REPLICATIONS)}


@pytest.fixture(scope="module")
def document(
    sweep_plan: Plan, results: dict[tuple[str, int], ReplicationResult], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    store = SweepStore(tmp_path_factory.mktemp("sweep"), sweep_plan.manifest())
    for (name, _), result in results.items():
        store.add(name, result)
    return summarise_sweep(sweep_plan, store, [])


@pytest.fixture(scope="module")
def partial(
    sweep_plan: Plan, results: dict[tuple[str, int], ReplicationResult], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The first variant lost replication 1 and the last lost both: it has no data at all."""
    names = list(sweep_plan.scenarios)
    store = SweepStore(tmp_path_factory.mktemp("partial"), sweep_plan.manifest())
    failures = [
        JobFailure(names[0], 1, "WorkerCrashedError: <node 3> died"),
        JobFailure(names[-1], 0, "RuntimeError: boom"),
        JobFailure(names[-1], 1, "RuntimeError: boom again"),
    ]
    lost = {(f.variant, f.replication) for f in failures}
    for key, result in results.items():
        if key not in lost:
            store.add(key[0], result)
    return summarise_sweep(sweep_plan, store, failures)


@pytest.fixture(scope="module")
def pages(document: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The full sweep's report in each language, written once for the tests that only read it."""
    folder = tmp_path_factory.mktemp("pages")
    return {lang: _render(document, folder, lang) for lang in ("zh", "en")}


def _render(document: dict[str, Any], tmp_path: Path, lang: str = "zh") -> str:
    path = tmp_path / f"sweep_{lang}.html"
    write_sweep_report(document, path, lang)
    return path.read_text(encoding="utf-8")


def _hover(traces: list[dict[str, Any]]) -> str:
    return "\n".join(str(text) for trace in traces for text in trace.get("hovertext") or [])


def _has_data(document: dict[str, Any], kpi: str) -> bool:
    return any(e[kpi]["mean"] for v in document["variants"] if v["replications"] for e in v["resources"].values())


def test_the_fixture_sweep_is_what_the_tests_expect(document: dict[str, Any]) -> None:
    assert [v["replications"] for v in document["variants"]] == [REPLICATIONS] * 4
    assert len(document["invalid"]) == 2
    assert document["pareto"]["front"]
    assert len(document["pareto"]["front"]) < len(document["variants"]), "some variant is dominated"


def test_report_is_self_contained_and_chinese_by_default(document: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "default.html"
    write_sweep_report(document, path)
    page = path.read_text(encoding="utf-8")
    assert_self_contained(page)
    assert '<html lang="zh-CN">' in page
    for key in ("sec.sweep", "sec.sweep_variants", "sec.pareto"):
        assert f"<h2>{TEXT['zh'][key]}</h2>" in page
        assert TEXT["en"][key] not in page
    assert TEXT["zh"]["col.worst_p95"] in element(page, "variant-table")


def test_report_in_english(document: dict[str, Any], pages: dict[str, str]) -> None:
    page = pages["en"]
    assert_self_contained(page)
    assert '<html lang="en">' in page
    for key in ("sweep_title", "sec.sweep", "sec.pareto", "col.worst_p95", "pareto_mark", "h.invalid", "axis.capex"):
        assert TEXT["en"][key] != TEXT["zh"][key]
        assert str(escape(TEXT["en"][key])) in page
        assert TEXT["zh"][key] not in page
    assert TEXT["en"]["sec.kpi_vs_param"].format(param=document["parameters"][0]) in page


def test_header_names_the_sweep(document: dict[str, Any], pages: dict[str, str]) -> None:
    header = element(pages["en"], "sweep-table")
    assert "<b>Typical week</b>" in header
    assert str(TYPICAL_WEEK) not in header  # named by its title, not its file
    assert "<code>scenario.horizon = 1d4h</code>" in header
    assert '<code>population.workers: 900, 2700</code> <span class="warn">invalid: abc</span>' in header
    assert "<code>devices.microwave.units: 1, 2</code><br>" in header  # no value of the microwave axis is invalid
    assert f">{REPLICATIONS}<" in header
    assert ">8 / 8<" in header


def test_every_valid_variant_is_a_row_with_its_values(document: dict[str, Any], pages: dict[str, str]) -> None:
    table = element(pages["zh"], "variant-table")
    rows = body_rows(table)
    assert len(rows) == len(document["variants"])
    for number, (variant, row) in enumerate(zip(document["variants"], rows, strict=True), start=1):
        values = cells(row)
        assert f'title="{html.escape(variant["name"])}"><b>{number}</b>' in row
        assert values[: len(document["parameters"])] == [variant["values"][p] for p in document["parameters"]]
        assert values[2] == str(REPLICATIONS)
        assert values[3] == f"{variant['cost']['capex_cny']:,.0f}"
    assert "abc" not in table


def test_worst_device_is_the_one_with_the_highest_mean_p95(document: dict[str, Any], pages: dict[str, str]) -> None:
    """Among the swept devices: one nobody's sweep changes would otherwise be every variant's worst."""
    rows = body_rows(element(pages["zh"], "variant-table"))
    swept = document["pareto"]["devices"]
    assert swept == ["microwave"]
    for variant, row in zip(document["variants"], rows, strict=True):
        measured = [(rid, r["wait_p95_s"]) for rid, r in variant["resources"].items() if rid in swept and r["wait_p95_s"]]
        rid, worst = max(measured, key=lambda item: item[1]["mean"])
        values = cells(row)
        assert values[5] == f"{worst['mean']:,.1f} <small>[{worst['ci_low']:,.1f}, {worst['ci_high']:,.1f}]</small>"
        assert rid == "microwave" and values[6] == "微波炉"  # the device's label, not its id


def test_pareto_front_is_marked(document: dict[str, Any], pages: dict[str, str]) -> None:
    page = pages["en"]
    front = set(document["pareto"]["front"])
    rows = re.findall(r"<tr( class=\"sig\")?>(.*?)</tr>", element(page, "variant-table").split("<tbody>", 1)[1], re.DOTALL)
    for variant, (highlight, row) in zip(document["variants"], rows, strict=True):
        on_front = variant["name"] in front
        assert bool(highlight) == on_front
        assert (TEXT["en"]["pareto_mark"] in row) == on_front
    (every, front_trace), _ = figure(page, "fig-pareto")
    assert every["name"] == TEXT["en"]["trace.variants"] and front_trace["name"] == TEXT["en"]["trace.front"]
    assert len(every["x"]) == len(document["variants"])
    for variant in document["variants"]:
        assert variant["name"] in _hover([every])
    assert [any(name in text for name in front) for text in front_trace["hovertext"]] == [True] * len(front)
    assert not any(v["name"] in _hover([front_trace]) for v in document["variants"] if v["name"] not in front)
    assert front_trace["line"]["shape"] == "hv"
    assert front_trace["x"] == sorted(front_trace["x"]), "the step line runs from the cheapest variant"


def test_invalid_variants_are_listed_with_their_error(document: dict[str, Any], pages: dict[str, str]) -> None:
    page = pages["zh"]
    table = element(page, "invalid-table")
    for entry in document["invalid"]:
        assert f"<code>{html.escape(entry['name'])}</code>" in table
        assert html.escape(entry["error"]) in table
    assert "Input should be a valid integer" in table
    assert TEXT["zh"]["h.invalid"] in page
    assert "failed-table" not in page
    assert TEXT["zh"]["note.all_ok"] not in page


def test_a_figure_for_each_parameter_and_kpi_with_data(document: dict[str, Any], pages: dict[str, str]) -> None:
    page = pages["zh"]
    assert any(_has_data(document, kpi) for kpi in SWEEP_KPIS)
    for index in range(len(document["parameters"])):
        assert f'<section id="param-{index}">' in page
        for kpi in SWEEP_KPIS:
            assert (page.count(f'<div id="fig-param-{index}-{kpi}" class="chart"') == 1) == _has_data(document, kpi), (
                index,
                kpi,
            )
    traces, layout = figure(page, "fig-param-1-utilisation")
    assert layout["xaxis"]["tickvals"] == [900.0, 2700.0], "numeric values make a numeric axis, ticked at the values"
    assert layout["xaxis"].get("type") != "category"
    titles = [a["text"] for a in layout["annotations"]]
    assert titles == ["devices.microwave.units = 1", "devices.microwave.units = 2"], "one labelled panel per value of the other parameter"
    resources = document["variants"][0]["resources"]
    assert {t["name"] for t in traces if t["showlegend"]} >= {"微波炉"}
    assert len(traces) == 2 * len(
        [rid for rid in resources if any(v["resources"][rid]["utilisation"]["mean"] for v in document["variants"])]
    )
    for trace in traces:
        assert trace["error_y"]["array"] and trace["x"] == [900.0, 2700.0]


def test_a_kpi_at_zero_everywhere_is_skipped_with_a_note(document: dict[str, Any], tmp_path: Path) -> None:
    quiet = copy.deepcopy(document)
    for variant in quiet["variants"]:
        for resource in variant["resources"].values():
            resource["blocked_share"] = {"mean": 0.0, "ci_low": 0.0, "ci_high": 0.0}
    page = _render(quiet, tmp_path, "en")
    assert "fig-param-0-blocked_share" not in page and "fig-param-1-blocked_share" not in page
    assert TEXT["en"]["note.kpi_all_zero"].format(names=TEXT["en"]["kpi.blocked_share"]) in element(page, "param-0")
    assert 'id="fig-param-0-utilisation"' in page


def test_non_numeric_values_make_a_categorical_axis_in_the_given_order(document: dict[str, Any], tmp_path: Path) -> None:
    named = copy.deepcopy(document)
    for variant in named["variants"]:
        variant["values"]["population.workers"] = {"900": "quiet", "2700": "busy"}[variant["values"]["population.workers"]]
    _, layout = figure(_render(named, tmp_path), "fig-param-1-wait_p95_s")
    assert layout["xaxis"]["type"] == "category"
    assert layout["xaxis"]["categoryarray"] == ["quiet", "busy"]


def test_failed_replications_and_variants_without_data(partial: dict[str, Any], tmp_path: Path) -> None:
    page = _render(partial, tmp_path, "en")
    assert_self_contained(page)
    assert TEXT["en"]["h.failed"] in page
    failed = element(page, "failed-table")
    rows = body_rows(failed)
    assert len(rows) == 3
    assert "WorkerCrashedError: &lt;node 3&gt; died" in failed
    empty = partial["variants"][-1]
    assert empty["replications"] == 0
    assert f"<code>{empty['name']}</code> <small>#{len(partial['variants'])}</small>" in rows[-1]
    assert ">5 / 8<" in element(page, "sweep-table")

    table_rows = body_rows(element(page, "variant-table"))
    first, last = cells(table_rows[0]), cells(table_rows[-1])
    assert first[2].startswith("1 ") and "⚠" in first[2]
    assert last[2].startswith("0 ") and last[5] == "—"
    assert TEXT["en"]["note.no_data_variants"].format(names=empty["name"]) in page
    assert TEXT["en"]["note.short"].format(requested=REPLICATIONS) in page
    pareto, _ = figure(page, "fig-pareto")
    assert empty["name"] not in _hover(pareto)
    assert len(pareto[0]["x"]) == len(partial["variants"]) - 1
    waits, _ = figure(page, "fig-param-0-wait_p95_s")
    assert f"#{len(partial['variants'])} " not in _hover(waits)
    assert f"#{len(partial['variants']) - 1} " in _hover(waits)


def test_no_variant_with_data_gives_notes_not_charts(partial: dict[str, Any], tmp_path: Path) -> None:
    nothing = copy.deepcopy(partial)
    for variant in nothing["variants"]:
        variant["replications"] = 0
        for key in ("resources", "groups", "station"):
            variant.pop(key, None)
    nothing["pareto"]["front"] = []
    page = _render(nothing, tmp_path, "en")
    assert 'class="chart"' not in page
    assert page.count(TEXT["en"]["note.no_data"]) == len(nothing["parameters"]) + 1
    assert_self_contained(page, charts=False)


def test_text_from_the_document_is_escaped(document: dict[str, Any], tmp_path: Path) -> None:
    hostile = copy.deepcopy(document)
    hostile["variants"][0]["values"]["population.workers"] = "<script>alert(1)</script>"
    hostile["invalid"][0]["error"] = "<img src=x onerror=alert(2)> & co"
    hostile["scenario"]["overrides"] = ["scenario.title=<b>hi</b>"]
    page = _render(hostile, tmp_path)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(2)&gt; &amp; co" in page
    assert "<b>hi</b>" not in page and "scenario.title = &lt;b&gt;hi&lt;/b&gt;" in page
    _, layout = figure(page, "fig-param-1-wait_p95_s")  # plotly reads tags in its text: escaped there too
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in layout["xaxis"]["categoryarray"]


def test_output_is_reproducible(document: dict[str, Any], pages: dict[str, str], tmp_path: Path) -> None:
    assert _render(document, tmp_path) == pages["zh"]


def test_unknown_language_is_refused_before_writing(document: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "never.html"
    with pytest.raises(ValueError, match="zh, en"):
        write_sweep_report(document, path, "fr")
    assert not path.exists()
