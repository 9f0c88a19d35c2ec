"""The simulation and comparison documents as reports a union chairman reads, on paper or a phone.

A report opens with the verdict (each service level met or not, the device that fails
first, the cost), then a few plain sentences, then the details: tables and charts.
Everything is named as the station names it (device labels, group names, the
scenario's title, a variant by what it changed), never by ids or file paths, in the
reader's language.  The report only reads the documents of ``scenarios.results``:
every number shown is in the JSON, formatted, never recomputed, so the two cannot
disagree.  The pages are data (``scenarios.page``), made HTML by one template.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from scenarios.i18n import in_language, t, t_default
from scenarios.page import (
    Block,
    Cell,
    Chart,
    Facts,
    Heading,
    Heat,
    Note,
    Page,
    Row,
    Section,
    Table,
    Verdict,
    chart,
    render,
    shade,
    time_axis,
    verdict_fragment,
)

Document = Mapping[str, Any]
Estimate = Mapping[str, Any]

RESOURCE_KPIS = ("wait_mean_s", "wait_p95_s", "utilisation", "queue_mean", "served", "balked", "reneged", "blocked")
GROUP_KPIS = ("visits", "time_in_station_mean_s", "unmet_needs")
STATION_KPIS = ("visits", "peak_occupancy", "mean_occupancy", "energy_kwh")
VARIANT_RESOURCE_KPIS = ("wait_mean_s", "wait_p95_s", "utilisation", "blocked")
COST_KPIS = ("capex_cny", "monthly_cny")
REFUSALS = ("balked", "reneged", "blocked")
VARIANT_CHARTS = {"wait_p95_s": ("sec.p95_by_variant", "axis.p95_s"), "utilisation": ("sec.utilisation_by_variant", "axis.utilisation")}
"""KPI -> (heading, axis title) of the per-variant bar charts."""
DECIMALS = {"queue_mean": 2, "mean_occupancy": 2, "capex_cny": 0, "monthly_cny": 0, "camera_false_alarm_share": 2, "camera_caught_share": 2}
"""Decimals shown per KPI; one unless listed.  Utilisation is shown in percent."""


# ---- public ---------------------------------------------------------------------------


def write_report(document: Document, path: Path, lang: str = "zh") -> None:
    """Write the report of one simulation document (``scenarios.results.simulate``) to ``path``."""
    path.write_text(render(simulation_page(document, lang)), encoding="utf-8")


def write_comparison_report(comparison: Document, path: Path, lang: str = "zh") -> None:
    """Write the report of a comparison document (``scenarios.results.compare``) to ``path``."""
    path.write_text(render(comparison_page(comparison, lang)), encoding="utf-8")


def verdict_html(document: Document, lang: str = "zh") -> str:
    """The report's verdict box alone, as HTML: what the web view's planner shows for a finished run."""
    verdict = _verdict(document, lang)
    # A page shows many runs' boxes: the table's id is the report's own, and would repeat there.
    return verdict_fragment(dataclasses.replace(verdict, table=dataclasses.replace(verdict.table, id="")), lang)


def simulation_page(document: Document, lang: str) -> Page:
    t("html_lang", lang)  # an unknown language fails before any work
    title = t("title_sep", lang).join((t("report_title", lang), _title(document, lang)))
    sections = (
        _scenario_section(document, lang),
        _resources_section(document, lang),
        _groups_section(document, lang),
        _station_section(document, lang),
        _cost_section(document, lang),
        _wait_by_hour_section(document, lang),
        _queue_section(document, lang),
        _utilisation_section(document, lang),
        _occupancy_section(document, lang),
        *_door_sections(document, lang),
        *_camera_sections(document, lang),
        *_battery_sections(document, lang),
        _unmet_section(document, lang),
    )
    return Page(lang, title, sections, summary=tuple(_summary(document, lang)), verdict=_verdict(document, lang))


def comparison_page(comparison: Document, lang: str) -> Page:
    t("html_lang", lang)
    baseline = comparison["variants"][comparison["baseline"]]
    title = t("title_sep", lang).join((t("comparison_title", lang), _title(baseline, lang)))
    sections = (
        _comparison_header_section(comparison, lang),
        _variants_section(comparison, lang),
        _differences_section(comparison, lang),
        _variant_bars_section(comparison, "wait_p95_s", lang),
        _variant_bars_section(comparison, "utilisation", lang),
        _variant_wait_by_hour_section(comparison, lang),
    )
    return Page(lang, title, sections, summary=tuple(_comparison_summary(comparison, lang)), verdict=_comparison_verdict(comparison, lang))


# ---- numbers and names ----------------------------------------------------------------


def number(value: float | None, kpi: str) -> str:
    if value is None:
        return "—"
    if kpi == "utilisation":
        return f"{round(100 * value, 1) + 0.0:,.1f}%"  # + 0.0 turns -0.0 into 0.0
    decimals = DECIMALS.get(kpi, 1)
    return f"{round(value, decimals) + 0.0:,.{decimals}f}"


def interval(estimate: Estimate, kpi: str) -> str:
    return f"[{number(estimate['ci_low'], kpi)}, {number(estimate['ci_high'], kpi)}]"


def estimate_text(estimate: Estimate | None, kpi: str) -> str:
    if estimate is None or estimate.get("mean") is None:
        return "—"
    return f"{number(estimate['mean'], kpi)} {interval(estimate, kpi)}"


def estimate_cell(estimate: Estimate | None, kpi: str) -> Cell:
    if estimate is None or estimate.get("mean") is None:
        return Cell("—")
    return Cell(number(estimate["mean"], kpi), interval(estimate, kpi))


def percent(confidence: float) -> str:
    return f"{100 * confidence:g}%"


def duration(seconds: float, lang: str) -> str:
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


def _title(document: Document, lang: str) -> str:
    return in_language(str(document["scenario"]["title"]), lang)


def resource_name(resource_id: str, resource: Mapping[str, Any], lang: str) -> str:
    """The device's label in the reader's language; its kind's name, then its id, for a device without one."""
    label = resource.get("label") or t_default(f"kind.{resource.get('kind')}", lang, resource_id)
    return in_language(str(label), lang)


def group_name(group: str, lang: str) -> str:
    return t_default(f"group.{group}", lang, group)


def _kpi(kpi: str, lang: str) -> str:
    return t(f"kpi.{kpi}", lang)


def _changes(document: Document, lang: str) -> list[str]:
    """The overrides in words, or as written for a document made before documents carried them."""
    changes = document["scenario"].get("changes") or {}
    return list(changes.get(lang) or [f"{k} = {v}" for k, v in document["scenario"]["overrides"].items()])


def _ci_note(document: Document, lang: str) -> Note:
    return Note(t("note.ci", lang).format(confidence=percent(document["confidence"])))


def _quiet_note(names: Sequence[str], key: str, lang: str) -> list[Note]:
    """Say which series were left out of a chart because they are all zero."""
    return [Note(t(key, lang).format(names=t("list_sep", lang).join(names)))] if names else []


# ---- figures ----------------------------------------------------------------------------


def _hour_axis(fig: go.Figure, lang: str, y_title: str) -> None:
    fig.update_xaxes(title_text=t("axis.hour", lang), tickmode="linear", dtick=1, range=[-0.5, 23.5])
    fig.update_yaxes(title_text=y_title, rangemode="tozero")


def _over_time(scenario: Mapping[str, Any], bucket_s: float) -> dict[str, Any]:
    """A time series' x as its start and step (plotly's x0/dx), not a timestamp a point: a week of ten-minute
    buckets is 1,008 points a line."""
    return {"x0": scenario["start"].replace("T", " "), "dx": bucket_s * 1000.0}


def _time_layout(fig: go.Figure, scenario: Mapping[str, Any], lang: str) -> None:
    fig.update_xaxes(title_text=t("axis.time", lang), type="date", **time_axis(lang))
    if scenario["warmup_s"] > 0:
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


def error_bars(estimates: Sequence[Estimate | None], scale: float) -> dict[str, Any]:
    """Asymmetric plotly error bars from {mean, ci_low, ci_high}; none where an estimate is missing."""
    upper = [None if e is None or e["mean"] is None or e["ci_high"] is None else scale * (e["ci_high"] - e["mean"]) for e in estimates]
    lower = [None if e is None or e["mean"] is None or e["ci_low"] is None else scale * (e["mean"] - e["ci_low"]) for e in estimates]
    return {"type": "data", "symmetric": False, "array": upper, "arrayminus": lower}


def bar_means(estimates: Sequence[Estimate | None], scale: float) -> list[float | None]:
    return [None if e is None or e["mean"] is None else scale * e["mean"] for e in estimates]


# ---- the verdict and the summary ----------------------------------------------------------


def _verdict(document: Document, lang: str) -> Verdict:
    """First, for the chairman: met or not, which device fails first, and the cost; each service level below it."""
    verdict = document["verdict"]
    first = verdict["first"]
    headline = t(f"verdict.{verdict['overall']}", lang).format(first=_level_name(document, first, lang) if first else "")
    capex, monthly = number(verdict["capex_cny"], "capex_cny"), number(verdict["monthly_cny"], "monthly_cny")
    order = {"missed": 0, "unknown": 1, "met": 2}  # what needs doing first; the rest in the station's order
    checks = sorted(verdict["checks"], key=lambda c: order[c["judgement"]])
    levels = {_level(check, lang) for check in checks}
    # One level for every device (the planners' default): said once above a table narrow enough for a phone.
    shared = len(levels) == 1 and len(checks) > 1
    rows = []
    for check in checks:
        simulated = estimate_cell(check if check["mean"] is not None else None, check["kpi"])
        cells = (Cell(t("judgement." + check["judgement"], lang)), simulated, *(() if shared else (Cell(_level(check, lang)),)))
        rows.append(Row(Cell(_level_target(document, check, lang), strong=True), cells, check["judgement"]))
    head = (t("col.resource", lang), t("col.judgement", lang), t("col.simulated", lang), *(() if shared else (t("col.level", lang),)))
    lines = (
        t("verdict.cost", lang).format(capex=capex, monthly=monthly),
        *((t("verdict.level_all", lang).format(level=levels.pop()),) if shared else ()),
    )
    return Verdict(verdict["overall"], headline, lines, Table("verdict-table", head, tuple(rows), reflow=not shared))


def _level(check: Mapping[str, Any], lang: str) -> str:
    """ "95 分位等待（秒） ≤ 180.0" """
    return f"{_kpi(check['kpi'], lang)} {'≤' if check['op'] == '<=' else '≥'} {number(check['limit'], check['kpi'])}"


def _level_target(document: Document, check: Mapping[str, Any], lang: str) -> str:
    if check["section"] == "resources":
        return resource_name(check["target"], document["resources"].get(check["target"], {}), lang)
    if check["section"] == "groups":
        return group_name(check["target"], lang)
    return t("verdict.station", lang)


def _level_name(document: Document, check: Mapping[str, Any], lang: str) -> str:
    """ "微波炉 · 95 分位等待（秒）": who and what, in the reader's words, never an id."""
    return f"{_level_target(document, check, lang)} · {_kpi(check['kpi'], lang)}"


def _summary(document: Document, lang: str) -> Iterable[str]:
    """Plain sentences: what was simulated, how busy the station was, where people waited and were turned away."""
    scenario = document["scenario"]
    visits = document["station"].get("visits") or {}
    yield t("summary.run", lang).format(
        title=_title(document, lang),
        horizon=duration(scenario["horizon_s"] - scenario["warmup_s"], lang),
        replications=scenario["replications"],
        visits=number(visits.get("mean"), "visits"),
    )
    changes = _changes(document, lang)
    if changes:
        yield t("summary.changes", lang).format(changes=t("list_sep", lang).join(changes))
    resources = document["resources"]
    measured = {rid: r for rid, r in resources.items() if (r.get("utilisation") or {}).get("mean") is not None}
    if measured:
        rid, busiest = max(measured.items(), key=lambda item: item[1]["utilisation"]["mean"])
        yield t("summary.busiest", lang).format(
            device=resource_name(rid, busiest, lang), utilisation=number(busiest["utilisation"]["mean"], "utilisation")
        )
    waited = {rid: r for rid, r in resources.items() if ((r.get("wait_p95_s") or {}).get("mean") or 0) > 0}
    if waited:
        rid, longest = max(waited.items(), key=lambda item: item[1]["wait_p95_s"]["mean"])
        yield t("summary.longest_wait", lang).format(
            device=resource_name(rid, longest, lang),
            mean=number(longest["wait_mean_s"]["mean"], "wait_mean_s"),
            p95=number(longest["wait_p95_s"]["mean"], "wait_p95_s"),
        )
    else:
        yield t("summary.no_wait", lang)
    turned_away = {rid: sum((r.get(k) or {}).get("mean") or 0.0 for k in REFUSALS) for rid, r in resources.items()}
    if any(count >= 0.5 for count in turned_away.values()):
        rid = max(turned_away, key=lambda r: turned_away[r])
        yield t("summary.turned_away", lang).format(
            total=number(sum(turned_away.values()), "visits"),
            device=resource_name(rid, resources[rid], lang),
            count=number(turned_away[rid], "visits"),
        )
    yield from _door_summary(document, lang)
    peak = document["station"].get("peak_occupancy") or {}
    if peak.get("mean"):
        yield t("summary.peak", lang).format(peak=number(peak["mean"], "peak_occupancy"))
    if document["verdict"]["overall"] == "unknown":
        yield t("summary.unknown", lang)


# ---- simulation report sections ---------------------------------------------------------


def _scenario_section(document: Document, lang: str) -> Section:
    scenario = document["scenario"]
    changes = _changes(document, lang)
    pairs = (
        (t("f.title", lang), (Cell(_title(document, lang), strong=True),)),
        (t("f.start", lang), (Cell(_when(datetime.fromisoformat(scenario["start"]), lang)),)),
        (t("f.horizon", lang), (Cell(duration(scenario["horizon_s"], lang)),)),
        (t("f.warmup", lang), (Cell(duration(scenario["warmup_s"], lang)),)),
        (t("f.replications", lang), (Cell(str(scenario["replications"])),)),
        (t("f.seed", lang), (Cell(str(scenario["seed"])),)),
        (t("f.overrides", lang), tuple(Cell(c) for c in changes) or (Cell(t("none", lang)),)),
        (t("f.confidence", lang), (Cell(percent(document["confidence"])),)),
    )
    return Section("scenario", t("sec.scenario", lang), (Facts("scenario-table", pairs),))


def _resources_section(document: Document, lang: str) -> Section:
    head = (t("col.resource", lang), t("col.units", lang), *(_kpi(k, lang) for k in RESOURCE_KPIS))
    rows = tuple(
        Row(
            Cell(resource_name(rid, r, lang), strong=True),
            (Cell(str(r.get("units", ""))), *(estimate_cell(r.get(k), k) for k in RESOURCE_KPIS)),
        )
        for rid, r in document["resources"].items()
    )
    return Section("resources", t("sec.resources", lang), (Table("kpi-resources", head, rows), _ci_note(document, lang)))


def _groups_section(document: Document, lang: str) -> Section:
    head = (t("col.group", lang), *(_kpi(k, lang) for k in GROUP_KPIS))
    rows = tuple(
        Row(Cell(group_name(g, lang), strong=True), tuple(estimate_cell(kpis.get(k), k) for k in GROUP_KPIS))
        for g, kpis in document["groups"].items()
    )
    return Section("groups", t("sec.groups", lang), (Table("kpi-groups", head, rows),))


def _station_section(document: Document, lang: str) -> Section:
    head = (t("col.kpi", lang), t("col.estimate", lang))
    station = document["station"]
    rows = tuple(Row(Cell(_kpi(k, lang)), (estimate_cell(station.get(k), k),)) for k in STATION_KPIS)
    return Section("station", t("sec.station", lang), (Table("kpi-station", head, rows),))


def _cost_section(document: Document, lang: str) -> Section:
    cost = document["cost"]
    summary = Facts("cost-summary", tuple((_kpi(k, lang), (Cell(number(cost[k], k)),)) for k in COST_KPIS))
    head = (
        t("col.device", lang),
        t("col.kind", lang),
        t("col.units", lang),
        t("col.unit_cost", lang),
        t("col.monthly_cost", lang),
        t("col.capex_subtotal", lang),
        t("col.monthly_subtotal", lang),
    )
    rows = [_cost_item_row(item, lang) for item in cost["items"]]
    totals = ("", "", "", "", number(cost["capex_cny"], "capex_cny"), number(cost["monthly_cny"], "monthly_cny"))
    rows.append(Row(Cell(t("col.total", lang)), tuple(Cell(v) for v in totals), "total"))
    return Section("cost", t("sec.cost", lang), (summary, Table("cost-items", head, tuple(rows))))


def _cost_item_row(item: Mapping[str, Any], lang: str) -> Row:
    units, unit_cost, monthly = item["units"], item["unit_cost_cny"], item["monthly_cost_cny"]
    kind = t_default(f"kind.{item['kind']}", lang, item["kind"])
    cells = (
        Cell(kind),
        Cell(str(units)),
        Cell(number(unit_cost, "capex_cny")),
        Cell(number(monthly, "monthly_cny")),
        Cell(number(units * unit_cost, "capex_cny")),
        Cell(number(units * monthly, "monthly_cny")),
    )
    return Row(Cell(in_language(str(item.get("label") or kind), lang), strong=True), cells)


def _wait_by_hour_section(document: Document, lang: str) -> Section:
    series = document["series"]["resources"]
    fig = go.Figure()
    quiet = []
    for rid, resource in document["resources"].items():
        waits = series.get(rid, {}).get("wait_by_hour_s", [])
        name = resource_name(rid, resource, lang)
        if any(waits):
            fig.add_trace(go.Scatter(x=list(range(24)), y=waits, name=name, mode="lines+markers", connectgaps=False))
        else:
            quiet.append(name)
    if not fig.data:
        return Section("wait-by-hour", t("sec.wait_by_hour", lang), (Note(t("note.no_waits", lang)),))
    _hour_axis(fig, lang, t("axis.wait_s", lang))
    blocks: tuple[Block, ...] = (chart(fig, "fig-wait-by-hour"), *_quiet_note(quiet, "note.no_wait_for", lang))
    return Section("wait-by-hour", t("sec.wait_by_hour", lang), blocks)


def _queue_section(document: Document, lang: str) -> Section:
    series = document["series"]
    fig = go.Figure()
    quiet = []
    for rid, resource in document["resources"].items():
        queue = series["resources"].get(rid, {}).get("queue", [])
        name = resource_name(rid, resource, lang)
        if any(queue):
            fig.add_trace(
                go.Scatter(y=queue, name=name, mode="lines", line={"width": 1.2}, **_over_time(document["scenario"], series["bucket_s"]))
            )
        else:
            quiet.append(name)
    if not fig.data:
        return Section("queue", t("sec.queue", lang), (Note(t("note.no_queue", lang)),))
    _time_layout(fig, document["scenario"], lang)
    fig.update_yaxes(title_text=t("axis.queue", lang), rangemode="tozero")
    return Section("queue", t("sec.queue", lang), (chart(fig, "fig-queue"), *_quiet_note(quiet, "note.no_queue_for", lang)))


def _utilisation_section(document: Document, lang: str) -> Section:
    resources = document["resources"]
    names = [resource_name(rid, r, lang) for rid, r in resources.items()]
    estimates = [r.get("utilisation") for r in resources.values()]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=bar_means(estimates, 100.0),
            error_y=error_bars(estimates, 100.0),
            hovertext=[estimate_text(e, "utilisation") for e in estimates],
            hoverinfo="x+text",
            marker_color="#c0392b",
        )
    )
    fig.update_yaxes(title_text=t("axis.utilisation", lang), rangemode="tozero")
    return Section("utilisation", t("sec.utilisation", lang), (chart(fig, "fig-utilisation"), Note(t("note.utilisation", lang))))


def _occupancy_section(document: Document, lang: str) -> Section:
    """Hours down, weekdays across: seven columns fit a phone, where 24 would not."""
    grid = document["series"]["occupancy_weekday_hour"]
    values = [value for row in grid for value in row if value is not None]
    if not any(values):
        return Section("occupancy", t("sec.occupancy", lang), (Note(t("note.no_occupancy", lang)),))
    top = max(values)
    rows = tuple(
        (f"{hour:02d}:00", tuple(("" if day[hour] is None else f"{day[hour]:.1f}", shade(day[hour], top)) for day in grid))
        for hour in range(24)
    )
    heat = Heat("occupancy-grid", t("axis.hour", lang), tuple(t(f"weekday.{d}", lang) for d in range(7)), rows)
    return Section("occupancy", t("sec.occupancy", lang), (heat, Note(t("note.occupancy", lang))))


DOOR_FIGURES = ("door_admitted", "door_denied", "door_visitors_at_night", "door_visitors_approved", "door_wait_mean_s", "door_wait_p95_s")


def _door_sections(document: Document, lang: str) -> list[Section]:
    """A door that checks who comes in: how many came in and were turned away, why, and the wait at a full door."""
    station = document["station"]
    if "door_admitted" not in station:
        return []
    figures = Table("door-figures", (t("col.kpi", lang), t("col.estimate", lang)), tuple(
        Row(Cell(_kpi(k, lang)), (estimate_cell(station.get(k), k),)) for k in DOOR_FIGURES
    ))  # fmt: skip
    reasons = sorted(_door_denials(station), key=lambda item: -item[1]["mean"])
    if not reasons:
        return [Section("door", t("sec.door", lang), (figures, Note(t("note.door_none_denied", lang))))]
    head = (t("col.reason", lang), t("col.estimate", lang))
    denials = Table("door-denials", head, tuple(Row(Cell(t(f"door.{r}", lang)), (estimate_cell(e, "visits"),)) for r, e in reasons))
    return [Section("door", t("sec.door", lang), (figures, denials, Note(t("note.door", lang))))]


CAMERA_FIGURES = (
    "camera_alarms_per_day", "camera_alarms", "camera_false_alarms", "camera_false_alarm_share", "camera_alarms_fall",
    "camera_alarms_smoking", "camera_alarms_dispute", "camera_missed", "camera_caught_share", "camera_alert_delay_mean_s",
)  # fmt: skip


def _camera_sections(document: Document, lang: str) -> list[Section]:
    """The cameras' alarm load: alarms a day, true and false, by behaviour, the incidents missed and the alert delay."""
    station = document["station"]
    if "camera_alarms" not in station:
        return []
    figures = Table("camera-figures", (t("col.kpi", lang), t("col.estimate", lang)), tuple(
        Row(Cell(_kpi(k, lang)), (estimate_cell(station.get(k), k),)) for k in CAMERA_FIGURES
    ))  # fmt: skip
    return [Section("cameras", t("sec.cameras", lang), (figures, Note(t("note.cameras", lang))))]


def _door_denials(station: Mapping[str, Any]) -> list[tuple[str, Estimate]]:
    """(reason, estimate) of every reason someone was turned away for, in some replication."""
    prefix = "door_denied_"
    return [(k.removeprefix(prefix), e) for k, e in station.items() if k.startswith(prefix) and e and (e.get("mean") or 0) > 0]


def _door_summary(document: Document, lang: str) -> Iterable[str]:
    station = document["station"]
    if "door_admitted" not in station:
        return
    mean = {k: (station.get(k) or {}).get("mean") for k in ("door_admitted", "door_denied", "door_visitors_at_night")}
    yield t("summary.door", lang).format(
        admitted=number(mean["door_admitted"], "visits"),
        denied=number(mean["door_denied"], "visits"),
        night=number(mean["door_visitors_at_night"], "visits"),
    )
    reasons = _door_denials(station)
    if reasons:
        reason, estimate = max(reasons, key=lambda item: item[1]["mean"])
        yield t("summary.door_reason", lang).format(reason=t(f"door.{reason}", lang), count=number(estimate["mean"], "visits"))


def _battery_sections(document: Document, lang: str) -> list[Section]:
    """The cabinet section, or nothing when the scenario has no battery cabinet."""
    cabinets = document["series"].get("battery_cabinets") or {}
    if not cabinets:
        return []
    blocks: list[Block] = []
    for index, (cid, cabinet) in enumerate(cabinets.items()):
        blocks.append(Heading(resource_name(cid, document["resources"].get(cid, {}), lang)))
        blocks.append(_battery_chart(document, cabinet, f"fig-battery-{index}", lang))
    return [Section("battery", t("sec.battery", lang), tuple(blocks))]


def _battery_chart(document: Document, cabinet: Mapping[str, Any], chart_id: str, lang: str) -> Chart:
    charged, soc = cabinet["charged"], cabinet["mean_soc"]
    axis = _over_time(document["scenario"], document["series"]["bucket_s"])
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(y=charged, name=t("axis.charged", lang), mode="lines", line_shape="hv", **axis), secondary_y=False)
    soc_percent = [None if v is None else 100 * v for v in soc]
    fig.add_trace(go.Scatter(y=soc_percent, name=t("axis.soc", lang), mode="lines", line={"dash": "dot"}, **axis), secondary_y=True)
    _time_layout(fig, document["scenario"], lang)
    fig.update_yaxes(title_text=t("axis.charged", lang), rangemode="tozero", secondary_y=False)
    fig.update_yaxes(title_text=t("axis.soc", lang), range=[0, 100], secondary_y=True)
    return chart(fig, chart_id)


def _unmet_section(document: Document, lang: str) -> Section:
    unmet = document["series"]["unmet_by_group"]
    needs = list(dict.fromkeys(need for counts in unmet.values() for need, count in counts.items() if count))
    if not needs:
        return Section("unmet", t("sec.unmet", lang), (Note(t("note.no_unmet", lang)),))
    groups = list(unmet)
    fig = go.Figure()
    for need in needs:
        counts = [unmet[g].get(need) or 0.0 for g in groups]
        fig.add_trace(go.Bar(x=[group_name(g, lang) for g in groups], y=counts, name=t_default(f"need.{need}", lang, need)))
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title_text=t("axis.unmet", lang), rangemode="tozero")
    return Section("unmet", t("sec.unmet", lang), (chart(fig, "fig-unmet"),))


# ---- comparison report --------------------------------------------------------------------


def _all_resources(documents: Iterable[Document]) -> dict[str, Mapping[str, Any]]:
    """Every resource of any variant, in first-seen order, with the first description of it."""
    found: dict[str, Mapping[str, Any]] = {}
    for document in documents:
        for rid, resource in document["resources"].items():
            found.setdefault(rid, resource)
    return found


def _comparison_verdict(comparison: Document, lang: str) -> Verdict:
    """Each variant's verdict and cost side by side; the headline names the cheapest variant that meets every level."""
    variants = comparison["variants"]
    rows = []
    for name, doc in variants.items():
        verdict = doc["verdict"]
        first = verdict["first"]
        cells = (
            Cell(t("judgement." + verdict["overall"], lang)),
            Cell(_level_name(doc, first, lang) if first else "—"),
            Cell(number(verdict["capex_cny"], "capex_cny")),
            Cell(number(verdict["monthly_cny"], "monthly_cny")),
        )
        rows.append(Row(Cell(name, strong=True), cells, verdict["overall"]))
    head = (
        t("col.variant", lang),
        t("col.judgement", lang),
        t("col.first_failing", lang),
        t("kpi.capex_cny", lang),
        t("kpi.monthly_cny", lang),
    )
    met = [
        (doc["verdict"]["capex_cny"], doc["verdict"]["monthly_cny"], name)
        for name, doc in variants.items()
        if doc["verdict"]["overall"] == "met"
    ]
    if met:
        capex, monthly, cheapest = min(met)
        headline = t("verdict.cheapest", lang).format(
            variant=cheapest, capex=number(capex, "capex_cny"), monthly=number(monthly, "monthly_cny")
        )
        overall = "met"
    else:
        unknown = any(doc["verdict"]["overall"] == "unknown" for doc in variants.values())
        overall = "unknown" if unknown else "missed"
        headline = t(f"verdict.none_{overall}", lang)
    return Verdict(overall, headline, (), Table("variant-verdicts", head, tuple(rows)))


def _comparison_summary(comparison: Document, lang: str) -> Iterable[str]:
    """A sentence a variant: what changed against the baseline, significantly, for people and for money."""
    baseline = comparison["baseline"]
    yield t("summary.compared", lang).format(baseline=baseline, count=len(comparison["variants"]) - 1)
    resources = _all_resources(comparison["variants"].values())
    for variant, diff in comparison["differences"].items():
        found = []
        for rid, kpis in diff["resources"].items():
            for kpi in ("wait_p95_s", "wait_mean_s", "utilisation"):
                estimate = kpis.get(kpi)
                if estimate is not None and estimate.get("significant"):
                    found.append(f"{resource_name(rid, resources.get(rid, {}), lang)} {_kpi(kpi, lang)} {_signed(estimate['mean'], kpi)}")
        capex = diff["cost"]["capex_cny"]
        money = t("summary.capex", lang).format(change=_signed(capex, "capex_cny")) if capex else t("summary.same_capex", lang)
        if found:
            yield t("summary.variant", lang).format(variant=variant, changes=t("list_sep", lang).join(found[:4]), money=money)
        else:
            yield t("summary.variant_same", lang).format(variant=variant, money=money)


def _signed(value: float, kpi: str) -> str:
    shown = number(value, kpi)
    return shown if shown.startswith("-") else f"+{shown}"


def _comparison_header_section(comparison: Document, lang: str) -> Section:
    pairs = (
        (t("f.baseline", lang), (Cell(comparison["baseline"], strong=True),)),
        (t("f.confidence", lang), (Cell(percent(comparison["confidence"])),)),
    )
    head = (t("col.variant", lang), t("f.title", lang), t("f.replications", lang), t("f.seed", lang), t("f.overrides", lang))
    rows = tuple(
        Row(
            Cell(name, strong=True),
            (
                Cell(_title(doc, lang)),
                Cell(str(doc["scenario"]["replications"])),
                Cell(str(doc["scenario"]["seed"])),
                Cell(t("list_sep", lang).join(_changes(doc, lang)) or t("none", lang), wide=True),
            ),
        )
        for name, doc in comparison["variants"].items()
    )
    return Section("scenario", t("sec.scenario", lang), (Facts("comparison-summary", pairs), Table("variant-list", head, rows)))


def _variants_section(comparison: Document, lang: str) -> Section:
    """A row a device and KPI ("微波炉 · 利用率"), a column a variant: a row reads as one card on a phone."""
    variants = comparison["variants"]
    head = (t("col.kpi", lang), *variants)
    rows = []
    for rid, resource in _all_resources(variants.values()).items():
        for kpi in VARIANT_RESOURCE_KPIS:
            name = Cell(resource_name(rid, resource, lang), detail=_kpi(kpi, lang), strong=True)
            rows.append(Row(name, tuple(estimate_cell(doc["resources"].get(rid, {}).get(kpi), kpi) for doc in variants.values())))
    rows.append(
        Row(
            Cell(t("station", lang), detail=_kpi("visits", lang), strong=True),
            tuple(estimate_cell(d["station"].get("visits"), "visits") for d in variants.values()),
        )
    )
    rows.append(
        Row(
            Cell(t("sec.cost", lang), detail=_kpi("capex_cny", lang), strong=True),
            tuple(Cell(number(d["cost"]["capex_cny"], "capex_cny")) for d in variants.values()),
        )
    )
    note = Note(t("note.ci", lang).format(confidence=percent(comparison["confidence"])))
    return Section("variants", t("sec.variants", lang), (Table("variant-kpis", head, tuple(rows)), note))


def _differences_section(comparison: Document, lang: str) -> Section:
    differences = comparison["differences"]
    if not differences:
        return Section("differences", t("sec.differences", lang), (Note(t("note.no_variants", lang)),))
    head = (t("col.variant", lang), t("col.scope", lang), t("col.kpi", lang), t("col.difference", lang), t("col.significant", lang))
    rows: list[Row] = []
    omitted = 0
    for variant, diff in differences.items():
        for scope, kpi, estimate in _difference_items(comparison, diff, lang):
            if estimate is None or _is_zero(estimate):  # None: neither side measured it (nobody served)
                omitted += 1
                continue
            rows.append(_difference_row(variant, scope, kpi, estimate, lang))
    notes = [Note(t("note.difference", lang))] + ([Note(t("note.omitted", lang).format(count=omitted))] if omitted else [])
    return Section("differences", t("sec.differences", lang), (Table("difference-table", head, tuple(rows)), *notes))


def _difference_items(comparison: Document, diff: Mapping[str, Any], lang: str) -> list[tuple[str, str, Estimate | None]]:
    """(scope, KPI, difference) for every difference shown; cost differences are exact, without an interval."""
    resources = _all_resources(comparison["variants"].values())
    items: list[tuple[str, str, Estimate | None]] = []
    for rid, kpis in diff["resources"].items():
        items += [(resource_name(rid, resources.get(rid, {}), lang), k, kpis[k]) for k in RESOURCE_KPIS if k in kpis]
    for group, kpis in diff["groups"].items():
        items += [(group_name(group, lang), k, kpis[k]) for k in GROUP_KPIS if k in kpis]
    items += [(t("station", lang), k, diff["station"][k]) for k in STATION_KPIS if k in diff["station"]]
    for k in COST_KPIS:
        value = diff["cost"][k]
        items.append((t("sec.cost", lang), k, {"mean": value, "ci_low": value, "ci_high": value, "significant": False}))
    return items


def _is_zero(estimate: Estimate) -> bool:
    return all(estimate.get(k) == 0 for k in ("mean", "ci_low", "ci_high"))


def _difference_row(variant: str, scope: str, kpi: str, estimate: Estimate, lang: str) -> Row:
    significant = bool(estimate.get("significant"))
    exact = estimate["ci_low"] == estimate["ci_high"]
    value = Cell(number(estimate["mean"], kpi)) if exact else estimate_cell(estimate, kpi)
    if significant:
        mark = t("significant_mark", lang)
    elif exact:
        mark = ""
    elif estimate.get("more_replications") is not None:
        mark = t("advice.more_replications", lang).format(count=estimate["more_replications"])
    else:
        mark = t("advice.indistinguishable", lang)
    return Row(Cell(variant, strong=True), (Cell(scope), Cell(_kpi(kpi, lang)), value, Cell(mark)), "sig" if significant else "")


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
                x=[resource_name(rid, r, lang) for rid, r in resources.items()],
                y=bar_means(estimates, scale),
                error_y=error_bars(estimates, scale),
                name=name,
                hovertext=[estimate_text(e, kpi) for e in estimates],
                hoverinfo="x+name+text",
            )
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(title_text=t(axis_key, lang), rangemode="tozero")
    return Section(anchor, t(title_key, lang), (chart(fig, f"fig-{anchor}"),))


def _variant_wait_by_hour_section(comparison: Document, lang: str) -> Section:
    """One chart per resource where anyone waited in any variant; a line per variant."""
    variants = comparison["variants"]
    blocks: list[Block] = []
    quiet = []
    for index, (rid, resource) in enumerate(_all_resources(variants.values()).items()):
        curves = {name: doc["series"]["resources"].get(rid, {}).get("wait_by_hour_s", []) for name, doc in variants.items()}
        name = resource_name(rid, resource, lang)
        if not any(any(waits) for waits in curves.values()):
            quiet.append(name)
            continue
        fig = go.Figure()
        for variant, waits in curves.items():
            fig.add_trace(go.Scatter(x=list(range(24)), y=waits, name=variant, mode="lines+markers", connectgaps=False))
        _hour_axis(fig, lang, t("axis.wait_s", lang))
        blocks += [Heading(name), chart(fig, f"fig-wait-{index}", 340)]
    if not blocks:
        return Section("wait-by-hour", t("sec.wait_by_hour_by_variant", lang), (Note(t("note.no_waits", lang)),))
    return Section("wait-by-hour", t("sec.wait_by_hour_by_variant", lang), (*blocks, *_quiet_note(quiet, "note.no_wait_for", lang)))
