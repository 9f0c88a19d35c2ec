"""Replications in, the documented result document out (see docs/results.md).

Every number a planner reads is an estimate {mean, ci_low, ci_high} across
replications; the raw per-replication values travel along so that variants can be
compared pair by pair.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from scenarios.kpi import ReplicationResult
from scenarios.model import run_replication
from scenarios.schema import Scenario
from scenarios.service_levels import station_levels, verdict
from scenarios.statistics import CONFIDENCE, difference, estimate, kpi_range
from twin.feed import Subscriber

SCHEMA = "yxy.simulation/1"
COMPARE_SCHEMA = "yxy.comparison/1"


def simulate(
    scenario: Scenario,
    replications: int | None = None,
    progress: Callable[[int], None] | None = None,
    observers: Callable[[int], list[Subscriber]] | None = None,
) -> dict[str, Any]:
    """Run the replications one after another; ``observers(r)`` may tap replication r's feed."""
    runs = []
    for replication in range(replications or scenario.replications):
        runs.append(run_replication(scenario, replication, observers(replication) if observers else ()))
        if progress is not None:
            progress(replication + 1)
    return summarise(scenario, runs)


def visits_to_simulate(scenario: Scenario, replications: int | None = None) -> float:
    """An upper estimate of the visits a run simulates, known before it starts: what a run costs.

    Every stream at its busiest weekday, in the weather that draws the most people; the
    web planner refuses a run whose estimate is over its budget before queueing it.
    """
    response = scenario.population.weather_response
    heat = max((m for _, m in response.heat_steps), default=1.0)
    per_day = 0.0
    for group in scenario.population.groups:
        weather = (
            max(1.0 + group.heat_sensitivity * (heat - 1.0), 1.0 + group.cold_sensitivity * (response.cold - 1.0), 1.0)
            * max(1.0 + group.rain_sensitivity * (response.rain - 1.0), 1.0)
            * max(group.shelter_factor, 1.0)
        )
        per_day += sum(stream.per_day * max(stream.weekday_factor) for stream in group.streams) * weather
    return per_day * scenario.horizon_s / 86400.0 * (replications or scenario.replications)


def summarise(scenario: Scenario, runs: Sequence[ReplicationResult]) -> dict[str, Any]:
    devices = {d.id: d for d in scenario.station.devices}
    resources = {
        rid: {
            "kind": devices[rid].kind,
            "label": devices[rid].label,
            "units": devices[rid].config.units,
            **estimates([r.resources[rid] for r in runs]),
        }
        for rid in runs[0].resources
    }
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "scenario": {
            "name": scenario.name,
            "title": scenario.title,
            "source": scenario.source,
            "start": scenario.start.isoformat(),
            "horizon_s": scenario.horizon_s,
            "warmup_s": scenario.warmup_s,
            "seed": scenario.seed,
            "replications": len(runs),
            "overrides": dict(scenario.overrides),
            "changes": dict(scenario.changes),
            "service_levels": list(scenario.service_levels),
        },
        "confidence": CONFIDENCE,
        "resources": resources,
        "groups": {g: estimates([r.groups[g] for r in runs]) for g in runs[0].groups},
        "station": estimates([r.station for r in runs]),
        "cost": cost(scenario),
        "series": _mean_series([r.series for r in runs]),
        "replications": [
            {"replication": r.replication, "seed": r.seed, "resources": r.resources, "groups": r.groups, "station": r.station} for r in runs
        ],
    }
    document["verdict"] = verdict(document, station_levels(scenario, resources))
    return document


def cost(scenario: Scenario) -> dict[str, Any]:
    items = []
    for d in scenario.station.devices:
        units = getattr(d.config, "units", 1)
        items.append(
            {
                "device": d.id,
                "kind": d.kind,
                "label": d.label,
                "units": units,
                "unit_cost_cny": d.config.unit_cost_cny,
                "monthly_cost_cny": d.config.monthly_cost_cny,
            }
        )
    return {
        "capex_cny": sum(i["units"] * i["unit_cost_cny"] for i in items),
        "monthly_cny": sum(i["units"] * i["monthly_cost_cny"] for i in items),
        "items": items,
    }


def compare(variants: Sequence[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Each variant against the first, KPI by KPI, paired by replication."""
    (base_name, base), others = variants[0], variants[1:]
    differences: dict[str, Any] = {}
    for name, result in others:
        n = min(len(base["replications"]), len(result["replications"]))
        per_section: dict[str, Any] = {}
        for section in ("resources", "groups", "station"):
            per_section[section] = _paired(section, base["replications"][:n], result["replications"][:n])
        per_section["cost"] = {k: result["cost"][k] - base["cost"][k] for k in ("capex_cny", "monthly_cny")}
        differences[name] = per_section
    return {
        "schema": COMPARE_SCHEMA,
        "baseline": base_name,
        "confidence": CONFIDENCE,
        "variants": dict(variants),
        "differences": differences,
    }


def _paired(section: str, base: list[dict[str, Any]], other: list[dict[str, Any]]) -> dict[str, Any]:
    if section == "station":
        keys = base[0]["station"].keys() & other[0]["station"].keys()
        return {k: difference([r["station"][k] for r in other], [r["station"][k] for r in base]) for k in sorted(keys)}
    out: dict[str, Any] = {}
    for item in base[0][section].keys() & other[0][section].keys():
        kpis = base[0][section][item].keys()
        out[item] = {k: difference([r[section][item][k] for r in other], [r[section][item][k] for r in base]) for k in kpis}
    return dict(sorted(out.items()))


def estimates(values: Sequence[Mapping[str, float | None]]) -> dict[str, Any]:
    return {k: estimate([v[k] for v in values], within=kpi_range(k)) for k in values[0]}


def _mean_series(series: Sequence[Any]) -> Any:
    """Element-wise means of equally shaped nested series; None where no replication had a value."""
    first = series[0]
    if isinstance(first, dict):
        return {k: _mean_series([s[k] for s in series]) for k in first}
    if isinstance(first, list):
        return [_mean_series([s[i] for s in series]) for i in range(len(first))]
    if isinstance(first, int | float | type(None)) and not isinstance(first, bool):
        present = [float(v) for v in series if v is not None]
        return float(np.mean(present)) if present else None
    return first


def to_json(document: dict[str, Any]) -> str:
    return json.dumps(_finite(document), ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
