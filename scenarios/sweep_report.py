"""The report of a parameter sweep (``scenarios.sweep``, schema yxy.sweep/1) as one self-contained HTML file.

Built from the blocks of ``scenarios.page`` and the formats of ``scenarios.report``,
and following their rules: plotly.js once, inline, nothing fetched from the network;
every reader-facing string from ``scenarios.i18n``; the page is data, escaped by the
one template.  The page shows the
sweep's set-up (with invalid variants and failed replications called out), a table of
variants, each KPI against each swept parameter with confidence intervals, and the
Pareto front of capital cost against the worst device's 95th-percentile wait.

Numbers are the document's; the report only picks (the worst device of a variant, the
variants with data) and never recomputes an estimate.  Variants that finished no
replication are listed in the table and left out of the charts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from scenarios.i18n import in_language, t, t_default
from scenarios.page import WIDE_HEIGHT, Block, Cell, Chart, Facts, Heading, Note, Page, Row, Section, Table, chart, render
from scenarios.report import Document, Estimate, bar_means, error_bars, estimate_cell, estimate_text, number, percent
from scenarios.statistics import CONFIDENCE
from scenarios.sweep import PARETO_KPI

SWEEP_KPIS = ("wait_p95_s", "wait_mean_s", "utilisation", "blocked_share")
"""The KPIs drawn against each swept parameter, in this order."""
AXIS_KEYS = {
    "wait_p95_s": "axis.p95_s",
    "wait_mean_s": "axis.wait_s",
    "utilisation": "axis.utilisation",
    "blocked_share": "axis.blocked_share",
}
SHARES = {"utilisation", "blocked_share"}
"""Fractions, drawn and written in percent."""
PANEL_COLUMNS = 3
PANEL_HEIGHT = 300
TITLE_PADDING = 0.08
"""Room above each panel for its title, as a fraction of the figure's height."""
PALETTE = (*qualitative.Plotly, *qualitative.Dark2)
FRONT_COLOUR = "#c0392b"
OTHER_COLOUR = "#6b7280"


def write_sweep_report(document: Document, path: Path, lang: str = "zh") -> None:
    """Write the report of a sweep document (``scenarios.sweep.summarise_sweep``) to ``path``."""
    t("html_lang", lang)  # an unknown language fails before any work
    scenario = document["scenario"]
    title = t("title_sep", lang).join((t("sweep_title", lang), in_language(scenario.get("title") or Path(scenario["source"]).stem, lang)))
    sections = (
        _sweep_section(document, lang),
        _variants_section(document, lang),
        *(_parameter_section(document, index, lang) for index in range(len(document["parameters"]))),
        _pareto_section(document, lang),
    )
    path.write_text(render(Page(lang, title, sections)), encoding="utf-8")


# ---- reading the document ---------------------------------------------------------------


def _clean(estimate: Estimate | None) -> Estimate | None:
    """The estimate, or None when its mean is missing or not finite; a bound that is not finite is dropped."""
    if estimate is None or not _finite(estimate.get("mean")):
        return None
    return {k: estimate.get(k) if _finite(estimate.get(k)) else None for k in ("mean", "ci_low", "ci_high")}


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _with_data(document: Document) -> list[Mapping[str, Any]]:
    return [v for v in document["variants"] if v.get("replications") and v.get("resources")]


def _worst(variant: Mapping[str, Any], devices: Sequence[str] | None) -> tuple[str, Estimate] | None:
    """The device with the highest mean p95 wait among ``devices``, as the Pareto front of ``scenarios.sweep`` takes it."""
    candidates = [
        (rid, e)
        for rid, kpis in (variant.get("resources") or {}).items()
        if (devices is None or rid in devices) and (e := _clean(kpis.get(PARETO_KPI))) is not None
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda item: item[1]["mean"])


def _numbers(document: Document) -> dict[str, int]:
    """Variant name -> its number in the table (1, 2, ...), used to find a variant in charts and lists."""
    return {v["name"]: i for i, v in enumerate(document["variants"], start=1)}


def _parameter_values(variants: Sequence[Mapping[str, Any]], parameter: str) -> list[str]:
    return list(dict.fromkeys(str(v["values"][parameter]) for v in variants))


def _split_name(name: str, parameters: Sequence[str]) -> dict[str, str] | None:
    """The values of a variant named ``k1=v1,k2=v2``, read with the known keys; None if it does not fit."""
    values: dict[str, str] = {}
    position = 0
    for index, key in enumerate(parameters):
        prefix = f"{key}=" if index == 0 else f",{key}="
        if not name.startswith(prefix, position):
            return None
        start = position + len(prefix)
        position = name.find(f",{parameters[index + 1]}=", start) if index + 1 < len(parameters) else len(name)
        if position < 0:
            return None
        values[key] = name[start:position]
    return values


def _is_numeric(values: Sequence[str]) -> bool:
    try:
        return all(math.isfinite(float(v)) for v in values)
    except ValueError:
        return False


def _resource_labels(document: Document, lang: str) -> dict[str, str]:
    """Device id -> its name in charts, every device of any variant with data: its label in the reader's language;
    for a sweep written before documents carried labels, the translated kind with the id."""
    kinds = {item["device"]: item["kind"] for v in document["variants"] for item in v["cost"]["items"]}
    named = {
        item["device"]: in_language(item["label"], lang) for v in document["variants"] for item in v["cost"]["items"] if item.get("label")
    }
    labels: dict[str, str] = {}
    for variant in _with_data(document):
        for rid in variant["resources"]:
            kind = t_default(f"kind.{kinds[rid]}", lang, "") if rid in kinds else ""
            if rid in named:
                labels.setdefault(rid, named[rid])
            elif not kind:
                labels.setdefault(rid, rid)
            elif kind.casefold() == rid.casefold():
                labels.setdefault(rid, kind)
            else:
                labels.setdefault(rid, t("resource_label", lang).format(kind=kind, id=rid))
    return labels


def _plot_text(value: object) -> str:
    """Document text for plotly, which reads a few HTML tags and entities: escaped, so it shows as written."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _scale(kpi: str) -> float:
    return 100.0 if kpi in SHARES else 1.0


def _shown_as(kpi: str) -> str:
    """The KPI whose number format ``scenarios.report.number`` should use: shares as percent, like utilisation."""
    return "utilisation" if kpi in SHARES else kpi


def _kpi_name(kpi: str, lang: str) -> str:
    return t(f"kpi.{kpi}", lang)


# ---- header -------------------------------------------------------------------------------


def _sweep_section(document: Document, lang: str) -> Section:
    scenario = document["scenario"]
    overrides = scenario["overrides"]
    if not isinstance(overrides, Mapping):
        overrides = dict(str(o).partition("=")[::2] for o in overrides)
    variants = document["variants"]
    requested = document["replications"]
    done = sum(v["replications"] for v in variants)
    counts = t("f.variant_count_value", lang).format(valid=len(variants), invalid=len(document["invalid"]))
    pairs = (
        (t("f.title", lang), (Cell(in_language(scenario.get("title") or Path(scenario["source"]).stem, lang), strong=True),)),
        (t("f.base_overrides", lang), tuple(Cell(f"{k} = {v}", code=True) for k, v in overrides.items()) or (Cell(t("none", lang)),)),
        (t("f.parameters", lang), _parameters(document, lang) or (Cell(t("none", lang)),)),
        (t("f.replications_per_variant", lang), (Cell(str(requested)),)),
        (t("f.variant_count", lang), (Cell(counts),)),
        (t("f.replications_done", lang), (Cell(f"{done} / {len(variants) * requested}"),)),
        (t("f.confidence", lang), (Cell(percent(document.get("confidence", CONFIDENCE))),)),
    )
    blocks: list[Block] = [Facts("sweep-table", pairs), *_invalid(document, lang), *_failed(document, lang)]
    if not document["invalid"] and not document["failed"] and done == len(variants) * requested:
        blocks.append(Note(t("note.all_ok", lang)))
    return Section("sweep", t("sec.sweep", lang), tuple(blocks))


def _parameters(document: Document, lang: str) -> tuple[Cell, ...]:
    """Each swept key with its values; values that only invalid variants had are marked."""
    parameters = document["parameters"]
    invalid_values: dict[str, list[str]] = {p: [] for p in parameters}
    for entry in document["invalid"]:
        for key, value in (_split_name(entry["name"], parameters) or {}).items():
            invalid_values[key].append(value)
    sep = t("list_sep", lang)
    lines = []
    for parameter in parameters:
        valid = _parameter_values(document["variants"], parameter)
        rejected = [v for v in dict.fromkeys(invalid_values[parameter]) if v not in valid]
        mark = f"{t('invalid_value', lang)}: {sep.join(rejected)}" if rejected else ""
        lines.append(Cell(f"{parameter}: {sep.join(valid)}", code=True, warn=mark))
    return tuple(lines)


def _invalid(document: Document, lang: str) -> list[Block]:
    invalid = document["invalid"]
    if not invalid:
        return []
    rows = tuple(Row(Cell(entry["name"], code=True), (Cell(entry["error"], wide=True),), "sig") for entry in invalid)
    table = Table("invalid-table", (t("col.variant", lang), t("col.error", lang)), rows)
    return [Heading(t("h.invalid", lang), warn=True), Note(t("note.invalid", lang)), table]


def _failed(document: Document, lang: str) -> list[Block]:
    failed = document["failed"]
    if not failed:
        return []
    numbers = _numbers(document)
    rows = tuple(
        Row(_variant_cell(entry["variant"], numbers), (Cell(str(entry["replication"])), Cell(entry["error"], wide=True)), "sig")
        for entry in failed
    )
    table = Table("failed-table", (t("col.variant", lang), t("col.replication", lang), t("col.error", lang)), rows)
    return [Heading(t("h.failed", lang), warn=True), Note(t("note.failed", lang)), table]


def _variant_cell(name: str, numbers: Mapping[str, int]) -> Cell:
    number = numbers.get(name)
    return Cell(name, detail="" if number is None else f"#{number}", code=True)


# ---- variant table ----------------------------------------------------------------------


def _variants_section(document: Document, lang: str) -> Section:
    parameters = document["parameters"]
    requested = document["replications"]
    front = set(document["pareto"]["front"])
    head = (
        t("col.variant", lang),
        *parameters,
        t("col.replications_done", lang),
        t("kpi.capex_cny", lang),
        t("kpi.monthly_cny", lang),
        t("col.worst_p95", lang),
        t("col.worst_resource", lang),
        t("col.pareto", lang),
    )
    labels = _resource_labels(document, lang)
    rows = []
    for index, variant in enumerate(document["variants"], start=1):
        done = variant["replications"]
        worst = _worst(variant, document["pareto"].get("devices"))
        on_front = variant["name"] in front
        cells = (
            *(Cell(str(variant["values"].get(p, ""))) for p in parameters),
            Cell(str(done), warn="⚠" if done < requested else ""),
            Cell(number(variant["cost"]["capex_cny"], "capex_cny")),
            Cell(number(variant["cost"]["monthly_cny"], "monthly_cny")),
            Cell("—") if worst is None else estimate_cell(worst[1], PARETO_KPI),
            Cell("—") if worst is None else Cell(labels.get(worst[0], worst[0])),
            Cell(t("pareto_mark", lang), strong=True) if on_front else Cell(),
        )
        rows.append(Row(Cell(str(index), strong=True, title=variant["name"]), cells, "sig" if on_front else ""))
    notes = [Note(t("note.ci", lang).format(confidence=percent(document.get("confidence", CONFIDENCE)))), Note(t("note.worst", lang))]
    if any(v["replications"] < requested for v in document["variants"]):
        notes.append(Note(t("note.short", lang).format(requested=requested)))
    empty = [v["name"] for v in document["variants"] if not v["replications"]]
    if empty:
        notes.append(Note(t("note.no_data_variants", lang).format(names=t("list_sep", lang).join(empty))))
    return Section("variants", t("sec.sweep_variants", lang), (Table("variant-table", head, tuple(rows)), *notes))


# ---- each KPI against each parameter ------------------------------------------------------


def _parameter_section(document: Document, index: int, lang: str) -> Section:
    parameter = document["parameters"][index]
    anchor, heading = f"param-{index}", t("sec.kpi_vs_param", lang).format(param=parameter)
    variants = _with_data(document)
    if not variants:
        return Section(anchor, heading, (Note(t("note.no_data", lang)),))
    labels = _resource_labels(document, lang)
    body: list[Block] = [Note(t("note.kpi_vs_param", lang).format(param=parameter))]
    if len(document["parameters"]) > 1:
        body.append(Note(t("note.panels", lang)))
    skipped = []
    for kpi in SWEEP_KPIS:
        drawn = [rid for rid in labels if any(_nonzero(v["resources"].get(rid, {}).get(kpi)) for v in variants)]
        if not drawn:
            skipped.append(_kpi_name(kpi, lang))
            continue
        figure = _kpi_figure(document, variants, index, kpi, drawn, labels, lang)
        quiet = [labels[rid] for rid in labels if rid not in drawn]
        body += [Heading(_kpi_name(kpi, lang)), figure]
        if quiet:
            body.append(Note(t("note.zero_for", lang).format(names=t("list_sep", lang).join(quiet))))
    if skipped:
        body.append(Note(t("note.kpi_all_zero", lang).format(names=t("list_sep", lang).join(skipped))))
    return Section(anchor, heading, tuple(body))


def _nonzero(estimate: Estimate | None) -> bool:
    clean = _clean(estimate)
    return clean is not None and any(clean[k] not in (None, 0) for k in ("mean", "ci_low", "ci_high"))


def _kpi_figure(
    document: Document,
    variants: Sequence[Mapping[str, Any]],
    index: int,
    kpi: str,
    resources: Sequence[str],
    labels: Mapping[str, str],
    lang: str,
) -> Chart:
    """KPI against one parameter: a line per device, a panel per combination of the other parameters' values."""
    parameters = document["parameters"]
    parameter = parameters[index]
    others = [p for p in parameters if p != parameter]
    values = _parameter_values(variants, parameter)
    numeric = _is_numeric(values)
    panels: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
    for variant in variants:
        panels.setdefault(tuple(str(variant["values"][p]) for p in others), []).append(variant)
    columns = min(PANEL_COLUMNS, len(panels))
    rows = math.ceil(len(panels) / columns)
    titles = [_plot_text("; ".join(f"{p} = {v}" for p, v in zip(others, combo, strict=True))) for combo in panels] if others else None
    # the padding on top of each panel keeps its title clear of the legend above the plot
    padding = {"t": TITLE_PADDING} if others else {}
    fig = make_subplots(
        rows=rows,
        cols=columns,
        specs=[[padding] * columns for _ in range(rows)],
        shared_yaxes="all",
        subplot_titles=titles,
        horizontal_spacing=0.05,
        vertical_spacing=0.3 / rows,
    )
    scale = _scale(kpi)
    numbers = _numbers(document)
    colours = {rid: PALETTE[i % len(PALETTE)] for i, rid in enumerate(labels)}
    order = {v: i for i, v in enumerate(values)}
    for panel, unsorted in enumerate(panels.values()):
        members = sorted(unsorted, key=lambda v: float(v["values"][parameter]) if numeric else order[str(v["values"][parameter])])
        xs = [float(v["values"][parameter]) if numeric else _plot_text(v["values"][parameter]) for v in members]
        for rid in resources:
            estimates = [_clean(v["resources"].get(rid, {}).get(kpi)) for v in members]
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=bar_means(estimates, scale),
                    error_y=error_bars(estimates, scale),
                    name=labels[rid],
                    legendgroup=rid,
                    showlegend=panel == 0,
                    mode="lines+markers",
                    line={"color": colours[rid]},
                    hovertext=[
                        f"#{numbers[v['name']]} {estimate_text(e, _shown_as(kpi))}" for v, e in zip(members, estimates, strict=True)
                    ],
                    hoverinfo="name+text",
                ),
                row=panel // columns + 1,
                col=panel % columns + 1,
            )
    if numeric:
        fig.update_xaxes(tickmode="array", tickvals=[float(v) for v in values], ticktext=[_plot_text(v) for v in values])
    else:
        fig.update_xaxes(type="category", categoryorder="array", categoryarray=[_plot_text(v) for v in values])
    fig.update_xaxes(title_text=_plot_text(parameter))
    fig.update_yaxes(rangemode="tozero")
    for row in range(1, rows + 1):
        fig.update_yaxes(title_text=t(AXIS_KEYS[kpi], lang), row=row, col=1)
    height = WIDE_HEIGHT if rows == 1 else rows * PANEL_HEIGHT + 120
    return chart(fig, f"fig-param-{index}-{kpi}", height)


# ---- Pareto front -------------------------------------------------------------------------


def _pareto_section(document: Document, lang: str) -> Section:
    anchor, heading = "pareto", t("sec.pareto", lang)
    numbers = _numbers(document)
    labels = _resource_labels(document, lang)
    points = [(v, worst) for v in _with_data(document) if (worst := _worst(v, document["pareto"].get("devices"))) is not None]
    if not points:
        return Section(anchor, heading, (Note(t("note.no_data", lang)),))
    front_names = set(document["pareto"]["front"])
    front = sorted(((v, w) for v, w in points if v["name"] in front_names), key=lambda p: (p[0]["cost"]["capex_cny"], p[1][1]["mean"]))
    fig = go.Figure()
    for members, name, colour, mode, marker in (
        (points, t("trace.variants", lang), OTHER_COLOUR, "markers+text", {"size": 9}),
        (front, t("trace.front", lang), FRONT_COLOUR, "lines+markers", {"size": 14, "symbol": "star"}),
    ):
        if not members:
            continue
        estimates = [worst[1] for _, worst in members]
        fig.add_trace(
            go.Scatter(
                x=[v["cost"]["capex_cny"] for v, _ in members],
                y=bar_means(estimates, 1.0),
                error_y={**error_bars(estimates, 1.0), "color": colour, "thickness": 1, "visible": mode == "markers+text"},
                name=name,
                mode=mode,
                text=[str(numbers[v["name"]]) for v, _ in members] if mode == "markers+text" else None,
                textposition="top right",
                line={"color": colour, "shape": "hv", "width": 2},
                marker={"color": colour, **marker},
                hovertext=[_pareto_hover(v, worst, numbers, labels, lang) for v, worst in members],
                hoverinfo="text",
            )
        )
    fig.update_xaxes(title_text=t("axis.capex", lang), tickformat=",.0f")
    fig.update_yaxes(title_text=t("axis.worst_p95", lang), rangemode="tozero")
    body: list[Block] = [chart(fig, "fig-pareto"), Note(t("note.pareto", lang))]
    neutral = _cost_neutral(document)
    if neutral:
        body.append(Note(t("note.cost_neutral", lang).format(names=t("list_sep", lang).join(neutral))))
    return Section(anchor, heading, tuple(body))


def _pareto_hover(
    variant: Mapping[str, Any], worst: tuple[str, Estimate], numbers: Mapping[str, int], labels: Mapping[str, str], lang: str
) -> str:
    rid, estimate = worst
    return (
        f"#{numbers[variant['name']]} {_plot_text(variant['name'])}<br>"
        f"{t('kpi.capex_cny', lang)}: {number(variant['cost']['capex_cny'], 'capex_cny')}<br>"
        f"{_plot_text(labels.get(rid, rid))}: {estimate_text(estimate, PARETO_KPI)}"
    )


def _cost_neutral(document: Document) -> list[str]:
    """Swept parameters whose values never change the capital cost when the others are held: demand, weather and the like."""
    parameters = document["parameters"]
    neutral = []
    for parameter in parameters:
        others = [p for p in parameters if p != parameter]
        groups: dict[tuple[str, ...], set[float]] = {}
        sizes: dict[tuple[str, ...], int] = {}
        for variant in document["variants"]:
            key = tuple(str(variant["values"][p]) for p in others)
            groups.setdefault(key, set()).add(variant["cost"]["capex_cny"])
            sizes[key] = sizes.get(key, 0) + 1
        if any(n > 1 for n in sizes.values()) and all(len(capex) == 1 for capex in groups.values()):
            neutral.append(parameter)
    return neutral
