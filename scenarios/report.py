"""The simulation and comparison documents as one self-contained HTML file each.

Planners email these reports and open them on office PCs, often offline or behind a
firewall that blocks foreign CDNs, so plotly.js is embedded once, inline, and nothing
is fetched from the network: no CDN scripts, no web fonts (a stack of CJK system fonts
instead).  The report only reads the documents of ``scenarios.results``: every number
shown is in the JSON, formatted, never recomputed, so the two cannot disagree.

Every string a reader sees comes from ``scenarios.i18n``; every string taken from a
document is escaped with ``html.escape`` (plotly escapes what goes into the charts).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from scenarios.i18n import t, t_default

Document = Mapping[str, Any]
Estimate = Mapping[str, Any]
Section = tuple[str, str, str]
"""(anchor, heading, body HTML) of one section of a page."""

RESOURCE_KPIS = ("wait_mean_s", "wait_p95_s", "utilisation", "queue_mean", "served", "balked", "reneged", "blocked")
GROUP_KPIS = ("visits", "time_in_station_mean_s", "unmet_needs")
STATION_KPIS = ("visits", "peak_occupancy", "mean_occupancy", "energy_kwh")
VARIANT_RESOURCE_KPIS = ("wait_mean_s", "wait_p95_s", "utilisation", "blocked")
COST_KPIS = ("capex_cny", "monthly_cny")
VARIANT_CHARTS = {"wait_p95_s": ("sec.p95_by_variant", "axis.p95_s"), "utilisation": ("sec.utilisation_by_variant", "axis.utilisation")}
"""KPI -> (heading, axis title) of the per-variant bar charts."""
DECIMALS = {"queue_mean": 2, "mean_occupancy": 2, "capex_cny": 0, "monthly_cny": 0}
"""Decimals shown per KPI; one unless listed.  Utilisation is shown in percent."""

FONT_STACK = (
    '-apple-system, BlinkMacSystemFont, "Segoe UI", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", '
    '"Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "Helvetica Neue", Arial, sans-serif'
)
PLOT_CONFIG = {"displaylogo": False, "responsive": True}
WIDE_HEIGHT = 420
HEATMAP_HEIGHT = 360

CSS = f"""
body {{ font-family: {FONT_STACK}; color: #1f2937; line-height: 1.5; max-width: 1200px; margin: 0 auto; padding: 1.5rem; }}
h1 {{ font-size: 1.6rem; margin: 0 0 .3rem; }}
h2 {{ font-size: 1.2rem; border-bottom: 2px solid #c0392b; padding-bottom: .2rem; margin-top: 2.2rem; }}
h3 {{ font-size: 1rem; margin: 1.2rem 0 .2rem; }}
nav ol {{ columns: 2; font-size: .9rem; }}
.scroll {{ overflow-x: auto; }}
table {{ border-collapse: collapse; margin: .6rem 0; font-size: .88rem; font-variant-numeric: tabular-nums; }}
th, td {{ border: 1px solid #d1d5db; padding: .3rem .55rem; text-align: right; vertical-align: top; }}
th {{ background: #f3f4f6; text-align: center; }}
th.name, td.name {{ text-align: left; }}
tr.total td {{ font-weight: bold; }}
tr.sig td {{ background: #fff3bf; }}
td small, td code {{ color: #6b7280; }}
code {{ font-size: .85em; }}
.note {{ color: #4b5563; font-size: .85rem; }}
footer {{ margin-top: 2.5rem; color: #6b7280; font-size: .8rem; }}
.verdict {{ border-left: 6px solid #6b7280; background: #f3f4f6; padding: .6rem 1rem; margin: .6rem 0; }}
.verdict.met {{ border-color: #15803d; background: #f0fdf4; }}
.verdict.missed {{ border-color: #b91c1c; background: #fef2f2; }}
.verdict.unknown {{ border-color: #b45309; background: #fffbeb; }}
.verdict .headline {{ font-size: 1.15rem; font-weight: bold; margin: 0 0 .2rem; }}
tr.missed td {{ background: #fef2f2; }}
tr.unknown td {{ background: #fffbeb; }}
"""


# ---- public ---------------------------------------------------------------------------


def write_report(document: Document, path: Path, lang: str = "zh") -> None:
    """Write the report of one simulation document (``scenarios.results.simulate``) to ``path``."""
    page_lang = t("html_lang", lang)  # an unknown language fails before any work
    title = f"{t('report_title', lang)}: {document['scenario']['title']}"
    sections = [
        _verdict_section(document, lang),
        _scenario_section(document, lang),
        _resources_section(document, lang),
        _groups_section(document, lang),
        _station_section(document, lang),
        _cost_section(document, lang),
        _wait_by_hour_section(document, lang),
        _queue_section(document, lang),
        _utilisation_section(document, lang),
        _occupancy_section(document, lang),
        *_battery_sections(document, lang),
        _unmet_section(document, lang),
    ]
    path.write_text(_page(title, page_lang, lang, sections), encoding="utf-8")


def write_comparison_report(comparison: Document, path: Path, lang: str = "zh") -> None:
    """Write the report of a comparison document (``scenarios.results.compare``) to ``path``."""
    page_lang = t("html_lang", lang)
    baseline = comparison["variants"][comparison["baseline"]]
    title = f"{t('comparison_title', lang)}: {baseline['scenario']['title']}"
    sections = [
        _comparison_header_section(comparison, lang),
        _variants_section(comparison, lang),
        _differences_section(comparison, lang),
        _variant_bars_section(comparison, "wait_p95_s", lang),
        _variant_bars_section(comparison, "utilisation", lang),
        _variant_wait_by_hour_section(comparison, lang),
    ]
    path.write_text(_page(title, page_lang, lang, sections), encoding="utf-8")


# ---- page and HTML building blocks ----------------------------------------------------


def _page(title: str, page_lang: str, lang: str, sections: Sequence[Section]) -> str:
    nav = "".join(f'<li><a href="#{anchor}">{_esc(heading)}</a></li>' for anchor, heading, _ in sections)
    body = "".join(f'<section id="{anchor}"><h2>{_esc(heading)}</h2>{content}</section>' for anchor, heading, content in sections)
    return (
        f'<!DOCTYPE html>\n<html lang="{page_lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_esc(title)}</title>\n<style>{CSS}</style>\n"
        f'<script type="text/javascript">{get_plotlyjs()}</script>\n</head>\n<body>\n'
        f"<h1>{_esc(title)}</h1>\n<nav><h2>{_esc(t('contents', lang))}</h2><ol>{nav}</ol></nav>\n{body}\n"
        f"<footer>{_esc(t('generated_by', lang))}</footer>\n</body>\n</html>\n"
    )


def _esc(value: object) -> str:
    return html.escape(str(value))


def _note(text: str) -> str:
    return f'<p class="note">{_esc(text)}</p>'


def _table(head: Sequence[str], rows: Iterable[str], table_id: str) -> str:
    """``head`` is plain text; ``rows`` are ``<tr>`` strings made by ``_row``."""
    header = "".join(f'<th class="name">{_esc(h)}</th>' if i == 0 else f"<th>{_esc(h)}</th>" for i, h in enumerate(head))
    return f'<div class="scroll"><table id="{table_id}"><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _row(name_html: str, cells: Iterable[str], css_class: str = "") -> str:
    """A row whose first cell names it (already HTML) and whose other cells are HTML too."""
    attribute = f' class="{css_class}"' if css_class else ""
    return f'<tr{attribute}><td class="name">{name_html}</td>{"".join(f"<td>{c}</td>" for c in cells)}</tr>'


def _spanned_rows(name_html: str, rows_cells: Sequence[Sequence[str]]) -> str:
    """Rows that share one name cell spanning them all."""
    first, *rest = ["".join(f"<td>{c}</td>" for c in cells) for cells in rows_cells]
    spanned = f'<tr><td class="name" rowspan="{len(rows_cells)}">{name_html}</td>{first}</tr>'
    return spanned + "".join(f"<tr>{cells}</tr>" for cells in rest)


def _key_value_table(pairs: Iterable[tuple[str, str]], table_id: str) -> str:
    rows = "".join(f'<tr><th class="name">{_esc(k)}</th><td class="name">{v}</td></tr>' for k, v in pairs)
    return f'<div class="scroll"><table id="{table_id}"><tbody>{rows}</tbody></table></div>'


# ---- numbers and names ----------------------------------------------------------------


def _number(value: float | None, kpi: str) -> str:
    if value is None:
        return "—"
    if kpi == "utilisation":
        return f"{round(100 * value, 1) + 0.0:,.1f}%"  # + 0.0 turns -0.0 into 0.0
    decimals = DECIMALS.get(kpi, 1)
    return f"{round(value, decimals) + 0.0:,.{decimals}f}"


def _estimate_text(estimate: Estimate | None, kpi: str) -> str:
    if estimate is None:
        return "—"
    return f"{_number(estimate['mean'], kpi)} [{_number(estimate['ci_low'], kpi)}, {_number(estimate['ci_high'], kpi)}]"


def _estimate_html(estimate: Estimate | None, kpi: str) -> str:
    if estimate is None:
        return "—"
    interval = f"[{_number(estimate['ci_low'], kpi)}, {_number(estimate['ci_high'], kpi)}]"
    return f"{_number(estimate['mean'], kpi)} <small>{interval}</small>"


def _duration(seconds: float, lang: str) -> str:
    """7 d 4 h / 7天4小时: the largest whole units, zero parts left out."""
    remaining = round(seconds)
    sep = t("unit.sep", lang)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{sep}{t(f'unit.{unit}', lang)}")
    return sep.join(parts) or f"0{sep}{t('unit.s', lang)}"


def _when(moment: datetime, lang: str) -> str:
    return f"{moment:%Y-%m-%d %H:%M} {t(f'weekday.{moment.weekday()}', lang)}"


def _resource_name(resource_id: str, resource: Mapping[str, Any]) -> str:
    return str(resource.get("label") or resource_id)


def _resource_name_html(resource_id: str, resource: Mapping[str, Any]) -> str:
    return f"<b>{_esc(_resource_name(resource_id, resource))}</b><br><code>{_esc(resource_id)}</code>"


def _group_name(group: str, lang: str) -> str:
    return t_default(f"group.{group}", lang, group)


def _group_name_html(group: str, lang: str) -> str:
    return f"<b>{_esc(_group_name(group, lang))}</b><br><code>{_esc(group)}</code>"


def _percent(confidence: float) -> str:
    return f"{100 * confidence:g}%"


def _overrides_html(overrides: Mapping[str, Any], lang: str) -> str:
    if not overrides:
        return _esc(t("none", lang))
    return "<br>".join(f"<code>{_esc(key)} = {_esc(value)}</code>" for key, value in overrides.items())


# ---- figures ----------------------------------------------------------------------------


def _figure_html(fig: go.Figure, div_id: str, height: int = WIDE_HEIGHT) -> str:
    """The figure as a <div> and a call into the page's single plotly.js; ids fixed so output is reproducible."""
    fig.update_layout(
        template="plotly_white",
        font={"family": FONT_STACK},
        height=height,
        margin={"l": 60, "r": 30, "t": 30, "b": 50},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
    )
    return str(fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOT_CONFIG))


def _hour_axis(fig: go.Figure, lang: str, y_title: str) -> None:
    fig.update_xaxes(title_text=t("axis.hour", lang), tickmode="linear", dtick=1, range=[-0.5, 23.5])
    fig.update_yaxes(title_text=y_title, rangemode="tozero")


def _bucket_times(scenario: Mapping[str, Any], count: int, bucket_s: float) -> list[datetime]:
    """Start of each over-time bucket, counted from the scenario start (the warm-up included)."""
    start = datetime.fromisoformat(scenario["start"])
    return [start + timedelta(seconds=i * bucket_s) for i in range(count)]


def _warmup_band(fig: go.Figure, scenario: Mapping[str, Any], lang: str) -> None:
    if scenario["warmup_s"] <= 0:
        return
    start = datetime.fromisoformat(scenario["start"])
    fig.add_vrect(
        x0=start,
        x1=start + timedelta(seconds=scenario["warmup_s"]),
        fillcolor="#9ca3af",
        opacity=0.2,
        line_width=0,
        annotation_text=t("warmup_band", lang),
        annotation_position="top left",
    )


def _error_bars(estimates: Sequence[Estimate | None], scale: float) -> dict[str, Any]:
    """Asymmetric plotly error bars from {mean, ci_low, ci_high}; none where an estimate is missing."""
    upper = [None if e is None or e["mean"] is None or e["ci_high"] is None else scale * (e["ci_high"] - e["mean"]) for e in estimates]
    lower = [None if e is None or e["mean"] is None or e["ci_low"] is None else scale * (e["mean"] - e["ci_low"]) for e in estimates]
    return {"type": "data", "symmetric": False, "array": upper, "arrayminus": lower}


def _bar_means(estimates: Sequence[Estimate | None], scale: float) -> list[float | None]:
    return [None if e is None or e["mean"] is None else scale * e["mean"] for e in estimates]


def _quiet_note(names: Sequence[str], key: str, lang: str) -> str:
    """Say which series were left out of a chart because they are all zero."""
    if not names:
        return ""
    return _note(t(key, lang).format(names=t("list_sep", lang).join(names)))


# ---- simulation report sections ---------------------------------------------------------


def _verdict_section(document: Document, lang: str) -> Section:
    """First, for the chairman: met or not, which device fails first, and the cost; each service level below it."""
    verdict = document["verdict"]
    first = verdict["first"]
    headline = t(f"verdict.{verdict['overall']}", lang).format(first=_level_name(document, first, lang) if first else "")
    capex, monthly = _number(verdict["capex_cny"], "capex_cny"), _number(verdict["monthly_cny"], "monthly_cny")
    cost = t("verdict.cost", lang).format(capex=capex, monthly=monthly)
    rows = []
    for check in verdict["checks"]:
        kpi = check["kpi"]
        level = f"{t('kpi.' + kpi, lang)} {'≤' if check['op'] == '<=' else '≥'} {_number(check['limit'], kpi)}"
        simulated = _estimate_html(check if check["mean"] is not None else None, kpi)
        cells = [_esc(level), simulated, _esc(t("judgement." + check["judgement"], lang))]
        rows.append(_row(_esc(_level_target(document, check, lang)), cells, check["judgement"]))
    head = [t("col.resource", lang), t("col.level", lang), t("col.simulated", lang), t("col.judgement", lang)]
    box = f'<div class="verdict {verdict["overall"]}"><p class="headline">{_esc(headline)}</p><p>{_esc(cost)}</p></div>'
    return "verdict", t("sec.verdict", lang), box + _table(head, rows, "verdict-table")


def _level_target(document: Document, check: Mapping[str, Any], lang: str) -> str:
    if check["section"] == "resources":
        return _resource_name(check["target"], document["resources"].get(check["target"], {}))
    if check["section"] == "groups":
        return _group_name(check["target"], lang)
    return t("verdict.station", lang)


def _level_name(document: Document, check: Mapping[str, Any], lang: str) -> str:
    """ "微波炉 · 95 分位等待（秒）": who and what, in the reader's words, never an id."""
    return f"{_level_target(document, check, lang)} · {t('kpi.' + check['kpi'], lang)}"


def _scenario_section(document: Document, lang: str) -> Section:
    scenario = document["scenario"]
    pairs = [
        (t("f.title", lang), f"{_esc(scenario['title'])} <code>{_esc(scenario['name'])}</code>"),
        (t("f.source", lang), f"<code>{_esc(scenario['source'])}</code>"),
        (t("f.start", lang), _esc(_when(datetime.fromisoformat(scenario["start"]), lang))),
        (t("f.horizon", lang), _esc(_duration(scenario["horizon_s"], lang))),
        (t("f.warmup", lang), _esc(_duration(scenario["warmup_s"], lang))),
        (t("f.replications", lang), _esc(scenario["replications"])),
        (t("f.seed", lang), _esc(scenario["seed"])),
        (t("f.overrides", lang), _overrides_html(scenario["overrides"], lang)),
        (t("f.confidence", lang), _esc(_percent(document["confidence"]))),
    ]
    return "scenario", t("sec.scenario", lang), _key_value_table(pairs, "scenario-table")


def _resources_section(document: Document, lang: str) -> Section:
    head = [t("col.resource", lang), t("col.units", lang), *(t(f"kpi.{k}", lang) for k in RESOURCE_KPIS)]
    rows = (
        _row(_resource_name_html(rid, r), [_esc(r.get("units", "")), *(_estimate_html(r.get(k), k) for k in RESOURCE_KPIS)])
        for rid, r in document["resources"].items()
    )
    notes = _note(t("note.ci", lang).format(confidence=_percent(document["confidence"])))
    return "resources", t("sec.resources", lang), _table(head, rows, "kpi-resources") + notes


def _groups_section(document: Document, lang: str) -> Section:
    head = [t("col.group", lang), *(t(f"kpi.{k}", lang) for k in GROUP_KPIS)]
    rows = (_row(_group_name_html(g, lang), [_estimate_html(kpis.get(k), k) for k in GROUP_KPIS]) for g, kpis in document["groups"].items())
    return "groups", t("sec.groups", lang), _table(head, rows, "kpi-groups")


def _station_section(document: Document, lang: str) -> Section:
    head = [t("col.kpi", lang), t("col.estimate", lang)]
    station = document["station"]
    rows = (_row(_esc(t(f"kpi.{k}", lang)), [_estimate_html(station.get(k), k)]) for k in STATION_KPIS)
    return "station", t("sec.station", lang), _table(head, rows, "kpi-station")


def _cost_section(document: Document, lang: str) -> Section:
    cost = document["cost"]
    summary = _key_value_table(((t(f"kpi.{k}", lang), _esc(_number(cost[k], k))) for k in COST_KPIS), "cost-summary")
    head = [
        t("col.device", lang),
        t("col.kind", lang),
        t("col.units", lang),
        t("col.unit_cost", lang),
        t("col.monthly_cost", lang),
        t("col.capex_subtotal", lang),
        t("col.monthly_subtotal", lang),
    ]
    rows = [_cost_item_row(item, lang) for item in cost["items"]]
    totals = ["", "", "", "", _number(cost["capex_cny"], "capex_cny"), _number(cost["monthly_cny"], "monthly_cny")]
    rows.append(_row(_esc(t("col.total", lang)), totals, "total"))
    return "cost", t("sec.cost", lang), summary + _table(head, rows, "cost-items")


def _cost_item_row(item: Mapping[str, Any], lang: str) -> str:
    units, unit_cost, monthly = item["units"], item["unit_cost_cny"], item["monthly_cost_cny"]
    cells = [
        _esc(t_default(f"kind.{item['kind']}", lang, item["kind"])),
        _esc(units),
        _number(unit_cost, "capex_cny"),
        _number(monthly, "monthly_cny"),
        _number(units * unit_cost, "capex_cny"),
        _number(units * monthly, "monthly_cny"),
    ]
    return _row(f"<code>{_esc(item['device'])}</code>", cells)


def _wait_by_hour_section(document: Document, lang: str) -> Section:
    series = document["series"]["resources"]
    fig = go.Figure()
    quiet = []
    for rid, resource in document["resources"].items():
        waits = series.get(rid, {}).get("wait_by_hour_s", [])
        name = _resource_name(rid, resource)
        if any(waits):
            fig.add_trace(go.Scatter(x=list(range(24)), y=waits, name=name, mode="lines+markers", connectgaps=False))
        else:
            quiet.append(name)
    if not fig.data:
        return "wait-by-hour", t("sec.wait_by_hour", lang), _note(t("note.no_waits", lang))
    _hour_axis(fig, lang, t("axis.wait_s", lang))
    body = _figure_html(fig, "fig-wait-by-hour") + _quiet_note(quiet, "note.no_wait_for", lang)
    return "wait-by-hour", t("sec.wait_by_hour", lang), body


def _queue_section(document: Document, lang: str) -> Section:
    series = document["series"]
    fig = go.Figure()
    quiet = []
    for rid, resource in document["resources"].items():
        queue = series["resources"].get(rid, {}).get("queue", [])
        name = _resource_name(rid, resource)
        if any(queue):
            times = _bucket_times(document["scenario"], len(queue), series["bucket_s"])
            fig.add_trace(go.Scatter(x=times, y=queue, name=name, mode="lines", line={"width": 1.2}))
        else:
            quiet.append(name)
    if not fig.data:
        return "queue", t("sec.queue", lang), _note(t("note.no_queue", lang))
    _warmup_band(fig, document["scenario"], lang)
    fig.update_xaxes(title_text=t("axis.time", lang))
    fig.update_yaxes(title_text=t("axis.queue", lang), rangemode="tozero")
    body = _figure_html(fig, "fig-queue") + _quiet_note(quiet, "note.no_queue_for", lang)
    return "queue", t("sec.queue", lang), body


def _utilisation_section(document: Document, lang: str) -> Section:
    resources = document["resources"]
    names = [_resource_name(rid, r) for rid, r in resources.items()]
    estimates = [r.get("utilisation") for r in resources.values()]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=_bar_means(estimates, 100.0),
            error_y=_error_bars(estimates, 100.0),
            hovertext=[_estimate_text(e, "utilisation") for e in estimates],
            hoverinfo="x+text",
            marker_color="#c0392b",
        )
    )
    fig.update_yaxes(title_text=t("axis.utilisation", lang), rangemode="tozero")
    return "utilisation", t("sec.utilisation", lang), _figure_html(fig, "fig-utilisation") + _note(t("note.utilisation", lang))


def _occupancy_section(document: Document, lang: str) -> Section:
    grid = document["series"]["occupancy_weekday_hour"]
    if not any(value for row in grid for value in row):
        return "occupancy", t("sec.occupancy", lang), _note(t("note.no_occupancy", lang))
    fig = go.Figure(
        go.Heatmap(
            z=grid,
            x=list(range(24)),
            y=[t(f"weekday.{d}", lang) for d in range(7)],
            colorscale="YlOrRd",
            hoverongaps=False,
            texttemplate="%{z:.1f}",
            colorbar={"title": {"text": t("axis.occupancy", lang)}},
        )
    )
    fig.update_xaxes(title_text=t("axis.hour", lang), tickmode="linear", dtick=1)
    fig.update_yaxes(autorange="reversed")
    body = _figure_html(fig, "fig-occupancy", HEATMAP_HEIGHT) + _note(t("note.occupancy", lang))
    return "occupancy", t("sec.occupancy", lang), body


def _battery_sections(document: Document, lang: str) -> list[Section]:
    """The cabinet section, or nothing when the scenario has no battery cabinet."""
    cabinets = document["series"].get("battery_cabinets") or {}
    if not cabinets:
        return []
    figures = []
    for index, (cid, cabinet) in enumerate(cabinets.items()):
        resource = document["resources"].get(cid, {})
        figures.append(f"<h3>{_esc(_resource_name(cid, resource))}</h3>" + _battery_figure(document, cabinet, f"fig-battery-{index}", lang))
    return [("battery", t("sec.battery", lang), "".join(figures))]


def _battery_figure(document: Document, cabinet: Mapping[str, Any], div_id: str, lang: str) -> str:
    charged, soc = cabinet["charged"], cabinet["mean_soc"]
    times = _bucket_times(document["scenario"], len(charged), document["series"]["bucket_s"])
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=times, y=charged, name=t("axis.charged", lang), mode="lines", line_shape="hv"), secondary_y=False)
    soc_percent = [None if v is None else 100 * v for v in soc]
    fig.add_trace(go.Scatter(x=times, y=soc_percent, name=t("axis.soc", lang), mode="lines", line={"dash": "dot"}), secondary_y=True)
    _warmup_band(fig, document["scenario"], lang)
    fig.update_xaxes(title_text=t("axis.time", lang))
    fig.update_yaxes(title_text=t("axis.charged", lang), rangemode="tozero", secondary_y=False)
    fig.update_yaxes(title_text=t("axis.soc", lang), range=[0, 100], secondary_y=True)
    return _figure_html(fig, div_id)


def _unmet_section(document: Document, lang: str) -> Section:
    unmet = document["series"]["unmet_by_group"]
    needs = list(dict.fromkeys(need for counts in unmet.values() for need, count in counts.items() if count))
    if not needs:
        return "unmet", t("sec.unmet", lang), _note(t("note.no_unmet", lang))
    groups = list(unmet)
    fig = go.Figure()
    for need in needs:
        counts = [unmet[g].get(need) or 0.0 for g in groups]
        fig.add_trace(go.Bar(x=[_group_name(g, lang) for g in groups], y=counts, name=t_default(f"need.{need}", lang, need)))
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title_text=t("axis.unmet", lang), rangemode="tozero")
    return "unmet", t("sec.unmet", lang), _figure_html(fig, "fig-unmet")


# ---- comparison report sections ---------------------------------------------------------


def _all_resources(documents: Iterable[Document]) -> dict[str, Mapping[str, Any]]:
    """Every resource of any variant, in first-seen order, with the first description of it."""
    found: dict[str, Mapping[str, Any]] = {}
    for document in documents:
        for rid, resource in document["resources"].items():
            found.setdefault(rid, resource)
    return found


def _comparison_header_section(comparison: Document, lang: str) -> Section:
    pairs = [
        (t("f.baseline", lang), f"<b>{_esc(comparison['baseline'])}</b>"),
        (t("f.confidence", lang), _esc(_percent(comparison["confidence"]))),
    ]
    head = [t(k, lang) for k in ("col.variant", "f.title", "f.source", "f.replications", "f.seed", "f.overrides")]
    rows = (
        _row(
            f"<b>{_esc(name)}</b>",
            [
                _esc(doc["scenario"]["title"]),
                f"<code>{_esc(doc['scenario']['source'])}</code>",
                _esc(doc["scenario"]["replications"]),
                _esc(doc["scenario"]["seed"]),
                _overrides_html(doc["scenario"]["overrides"], lang),
            ],
        )
        for name, doc in comparison["variants"].items()
    )
    return "scenario", t("sec.scenario", lang), _key_value_table(pairs, "comparison-summary") + _table(head, rows, "variant-list")


def _variants_section(comparison: Document, lang: str) -> Section:
    variants = comparison["variants"]
    head = [t("col.resource", lang), t("col.kpi", lang), *variants]
    rows = []
    for rid, resource in _all_resources(variants.values()).items():
        per_kpi = [
            [_esc(t(f"kpi.{kpi}", lang)), *(_estimate_html(doc["resources"].get(rid, {}).get(kpi), kpi) for doc in variants.values())]
            for kpi in VARIANT_RESOURCE_KPIS
        ]
        rows.append(_spanned_rows(_resource_name_html(rid, resource), per_kpi))
    station_cells = [_estimate_html(doc["station"].get("visits"), "visits") for doc in variants.values()]
    rows.append(_row(_esc(t("station", lang)), [_esc(t("kpi.visits", lang)), *station_cells]))
    capex_cells = [_esc(_number(doc["cost"]["capex_cny"], "capex_cny")) for doc in variants.values()]
    rows.append(_row(_esc(t("sec.cost", lang)), [_esc(t("kpi.capex_cny", lang)), *capex_cells]))
    note = _note(t("note.ci", lang).format(confidence=_percent(comparison["confidence"])))
    return "variants", t("sec.variants", lang), _table(head, rows, "variant-kpis") + note


def _differences_section(comparison: Document, lang: str) -> Section:
    differences = comparison["differences"]
    if not differences:
        return "differences", t("sec.differences", lang), _note(t("note.no_variants", lang))
    head = [t("col.variant", lang), t("col.scope", lang), t("col.kpi", lang), t("col.difference", lang), t("col.significant", lang)]
    rows: list[str] = []
    omitted = 0
    for variant, diff in differences.items():
        for scope_html, kpi, estimate in _difference_items(comparison, diff, lang):
            if estimate is None or _is_zero(estimate):  # None: neither side measured it (nobody served)
                omitted += 1
                continue
            rows.append(_difference_row(variant, scope_html, kpi, estimate, lang))
    notes = _note(t("note.difference", lang)) + (_note(t("note.omitted", lang).format(count=omitted)) if omitted else "")
    return "differences", t("sec.differences", lang), _table(head, rows, "difference-table") + notes


def _difference_items(comparison: Document, diff: Mapping[str, Any], lang: str) -> list[tuple[str, str, Estimate | None]]:
    """(scope HTML, KPI, difference) for every difference shown; cost differences are exact, without an interval."""
    resources = _all_resources(comparison["variants"].values())
    items: list[tuple[str, str, Estimate | None]] = []
    for rid, kpis in diff["resources"].items():
        items += [(_resource_name_html(rid, resources.get(rid, {})), k, kpis[k]) for k in RESOURCE_KPIS if k in kpis]
    for group, kpis in diff["groups"].items():
        items += [(_group_name_html(group, lang), k, kpis[k]) for k in GROUP_KPIS if k in kpis]
    items += [(_esc(t("station", lang)), k, diff["station"][k]) for k in STATION_KPIS if k in diff["station"]]
    for k in COST_KPIS:
        value = diff["cost"][k]
        items.append((_esc(t("sec.cost", lang)), k, {"mean": value, "ci_low": value, "ci_high": value, "significant": False}))
    return items


def _is_zero(estimate: Estimate) -> bool:
    return all(estimate.get(k) == 0 for k in ("mean", "ci_low", "ci_high"))


def _difference_row(variant: str, scope_html: str, kpi: str, estimate: Estimate, lang: str) -> str:
    significant = bool(estimate.get("significant"))
    exact = estimate["ci_low"] == estimate["ci_high"]
    value = _esc(_number(estimate["mean"], kpi)) if exact else _estimate_html(estimate, kpi)
    if significant:
        mark = _esc(t("significant_mark", lang))
    elif exact:
        mark = ""
    elif estimate.get("more_replications") is not None:
        mark = _esc(t("advice.more_replications", lang).format(count=estimate["more_replications"]))
    else:
        mark = _esc(t("advice.indistinguishable", lang))
    return _row(f"<b>{_esc(variant)}</b>", [scope_html, _esc(t(f"kpi.{kpi}", lang)), value, mark], "sig" if significant else "")


def _variant_bars_section(comparison: Document, kpi: str, lang: str) -> Section:
    """Grouped bars: one group per resource, one bar per variant, with confidence intervals."""
    title_key, axis_key = VARIANT_CHARTS[kpi]
    anchor = f"by-variant-{kpi}"
    variants = comparison["variants"]
    resources = _all_resources(variants.values())
    scale = 100.0 if kpi == "utilisation" else 1.0
    fig = go.Figure()
    for name, doc in variants.items():
        estimates = [doc["resources"].get(rid, {}).get(kpi) for rid in resources]
        fig.add_trace(
            go.Bar(
                x=[_resource_name(rid, r) for rid, r in resources.items()],
                y=_bar_means(estimates, scale),
                error_y=_error_bars(estimates, scale),
                name=name,
                hovertext=[_estimate_text(e, kpi) for e in estimates],
                hoverinfo="x+name+text",
            )
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(title_text=t(axis_key, lang), rangemode="tozero")
    return anchor, t(title_key, lang), _figure_html(fig, f"fig-{anchor}")


def _variant_wait_by_hour_section(comparison: Document, lang: str) -> Section:
    """One chart per resource where anyone waited in any variant; a line per variant."""
    variants = comparison["variants"]
    parts = []
    quiet = []
    for index, (rid, resource) in enumerate(_all_resources(variants.values()).items()):
        curves = {name: doc["series"]["resources"].get(rid, {}).get("wait_by_hour_s", []) for name, doc in variants.items()}
        name = _resource_name(rid, resource)
        if not any(any(waits) for waits in curves.values()):
            quiet.append(name)
            continue
        fig = go.Figure()
        for variant, waits in curves.items():
            fig.add_trace(go.Scatter(x=list(range(24)), y=waits, name=variant, mode="lines+markers", connectgaps=False))
        _hour_axis(fig, lang, t("axis.wait_s", lang))
        parts.append(f"<h3>{_esc(name)}</h3>" + _figure_html(fig, f"fig-wait-{index}", 340))
    if not parts:
        return "wait-by-hour", t("sec.wait_by_hour_by_variant", lang), _note(t("note.no_waits", lang))
    body = "".join(parts) + _quiet_note(quiet, "note.no_wait_for", lang)
    return "wait-by-hour", t("sec.wait_by_hour_by_variant", lang), body
