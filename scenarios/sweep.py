"""Sweeps: every combination of swept values times every replication, saved as it arrives.

Finished replications are appended to ``replications.jsonl`` in the output folder
the moment they arrive (one flushed line each), so an interrupted sweep, run again
with the same command, runs only what is missing.  A variant with an invalid value
is reported and left out; the others run.  Every variant runs on the same
replication seeds (common random numbers), so differences between variants are not
noise; within a variant no two replications share a seed.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenarios.errors import ScenarioError, ScenarioValueError
from scenarios.files import read_scenario_tree
from scenarios.kpi import ReplicationResult
from scenarios.parallel import Job, JobFailure
from scenarios.results import cost, estimates
from scenarios.schema import Scenario, load_scenario
from scenarios.statistics import CONFIDENCE

SCHEMA = "yxy.sweep/1"
RESULTS_FILE = "replications.jsonl"
MANIFEST_FILE = "sweep-manifest.json"
PARETO_KPI = "wait_p95_s"


@dataclass(frozen=True)
class Axis:
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Variant:
    name: str
    values: tuple[tuple[str, str], ...]

    @property
    def overrides(self) -> list[str]:
        return [f"{key}={value}" for key, value in self.values]


def split_values(text: str) -> list[str]:
    """Split on commas outside brackets, braces and quotes: ``1,2,{dist="exponential", mean="2m"}``."""
    parts: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return parts


def parse_axis(text: str) -> Axis:
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ScenarioValueError(f"--grid {text!r}: write KEY=V1,V2,... e.g. devices.microwave.units=1,2,3")
    parsed = split_values(values)
    if any(not v for v in parsed):
        raise ScenarioValueError(f"--grid {text!r}: an empty value")
    if len(set(parsed)) != len(parsed):
        raise ScenarioValueError(f"--grid {text!r}: a value appears twice")
    return Axis(key, tuple(parsed))


def variants(axes: list[Axis]) -> list[Variant]:
    keys = [a.key for a in axes]
    if len(set(keys)) != len(keys):
        raise ScenarioValueError(f"--grid: a key is swept twice ({', '.join(keys)})")
    combos = itertools.product(*(a.values for a in axes))
    return [
        Variant(",".join(f"{k}={v}" for k, v in zip(keys, combo, strict=True)), tuple(zip(keys, combo, strict=True))) for combo in combos
    ]


@dataclass
class Plan:
    """What a sweep will run: the valid variants as scenarios, and the invalid ones with why."""

    source: Path
    base_overrides: list[str]
    axes: list[Axis]
    replications: int
    scenarios: dict[str, tuple[Variant, Scenario]]
    invalid: dict[str, str]

    def manifest(self) -> dict[str, Any]:
        raw = read_scenario_tree(self.source)
        digest = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
        return {
            "schema": SCHEMA,
            "scenario": str(self.source),
            "scenario_sha256": digest,
            "overrides": self.base_overrides,
            "grid": [{"key": a.key, "values": list(a.values)} for a in self.axes],
        }

    def jobs(self, done: set[tuple[str, int]]) -> Iterator[Job]:
        """Replication by replication across variants, so early results cover every variant."""
        for replication in range(self.replications):
            for name, (_, scenario) in self.scenarios.items():
                if (name, replication) not in done:
                    yield Job(name, replication, scenario)


def plan(source: Path, base_overrides: list[str], axes: list[Axis], replications: int | None) -> Plan:
    base = load_scenario(source, base_overrides)  # a mistake in the base stops everything
    scenarios: dict[str, tuple[Variant, Scenario]] = {}
    invalid: dict[str, str] = {}
    for variant in variants(axes):
        try:
            scenarios[variant.name] = (variant, load_scenario(source, [*base_overrides, *variant.overrides]))
        except ScenarioError as exc:
            invalid[variant.name] = str(exc)
    return Plan(source, base_overrides, axes, replications or base.replications, scenarios, invalid)


class SweepStore:
    """The output folder: a manifest naming the sweep, and one line per finished replication."""

    def __init__(self, folder: Path, manifest: dict[str, Any]) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / MANIFEST_FILE
        if path.exists():
            existing = json.loads(path.read_text(encoding="utf-8"))
            if existing != manifest:
                raise ScenarioValueError(
                    f"{folder}: holds a different sweep (other scenario, overrides or grid); choose another --out or delete the folder"
                )
        else:
            path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        self.results: dict[tuple[str, int], dict[str, Any]] = {}
        results = folder / RESULTS_FILE
        if results.exists():
            for line in results.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue  # the last line of a sweep killed mid-write
                self.results[(row["variant"], row["replication"])] = row

    def add(self, variant: str, result: ReplicationResult) -> None:
        row = {
            "variant": variant,
            "replication": result.replication,
            "seed": result.seed,
            "resources": result.resources,
            "groups": result.groups,
            "station": result.station,
        }
        with (self.folder / RESULTS_FILE).open("a", encoding="utf-8") as f:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.results[(variant, result.replication)] = row


def _title(sweep: Plan) -> str:
    """The scenario's title as its file gives it (any variant's: they share it unless a sweep varies it), else the file's name."""
    return next((scenario.title for _, scenario in sweep.scenarios.values()), sweep.source.stem)


def summarise_sweep(sweep: Plan, store: SweepStore, failures: list[JobFailure]) -> dict[str, Any]:
    rows = []
    for name, (variant, scenario) in sweep.scenarios.items():
        runs = [store.results[(name, r)] for r in range(sweep.replications) if (name, r) in store.results]
        row: dict[str, Any] = {"name": name, "values": dict(variant.values), "replications": len(runs), "cost": cost(scenario)}
        if runs:
            row["resources"] = {rid: estimates([r["resources"][rid] for r in runs]) for rid in runs[0]["resources"]}
            row["groups"] = {g: estimates([r["groups"][g] for r in runs]) for g in runs[0]["groups"]}
            row["station"] = estimates([r["station"] for r in runs])
        rows.append(row)
    return {
        "schema": SCHEMA,
        "scenario": {"source": str(sweep.source), "title": _title(sweep), "overrides": sweep.base_overrides},
        "parameters": [a.key for a in sweep.axes],
        "replications": sweep.replications,
        "confidence": CONFIDENCE,
        "variants": rows,
        "pareto": pareto_front(rows, swept_devices(sweep.axes)),
        "invalid": [{"name": n, "error": e} for n, e in sweep.invalid.items()],
        "failed": [{"variant": f.variant, "replication": f.replication, "error": f.error} for f in failures],
    }


def worst_wait_p95(row: dict[str, Any], devices: Sequence[str] | None = None) -> float | None:
    """The largest mean p95 wait among ``devices`` (all when None) that measured one."""
    resources = row.get("resources") or {}
    waits = [r[PARETO_KPI]["mean"] for rid, r in resources.items() if r[PARETO_KPI] is not None and (devices is None or rid in devices)]
    return float(max(waits)) if waits else None


def swept_devices(axes: list[Axis]) -> list[str] | None:
    """The devices whose settings are swept; None when the sweep touches no device (then all count)."""
    devices = sorted({a.key.split(".")[1] for a in axes if a.key.startswith("devices.") and a.key.count(".") >= 2})
    return devices or None


def pareto_front(rows: list[dict[str, Any]], devices: list[str] | None) -> dict[str, Any]:
    """Variants no other beats on both capex and the worst p95 wait of the swept devices.

    Only the swept devices count: a device no variant changes (a saturated battery
    cabinet, say) would otherwise be every variant's worst and hide the trade-off.
    """
    points = [(r["cost"]["capex_cny"], w, r["name"]) for r in rows if (w := worst_wait_p95(r, devices)) is not None]
    front = [name for capex, wait, name in points if not any((c <= capex and w <= wait) and (c < capex or w < wait) for c, w, _ in points)]
    over = ", ".join(devices) if devices else "all devices"
    return {"x": "cost.capex_cny", "y": f"max of {PARETO_KPI} (mean) over {over}", "devices": devices, "front": sorted(front)}


def write_csv(document: dict[str, Any], path: Path) -> None:
    """One row per variant: its swept values, cost, then mean and interval of every resource KPI."""
    rows = [v for v in document["variants"] if "resources" in v]
    kpi_columns = [(rid, kpi) for rid, kpis in rows[0]["resources"].items() for kpi in kpis] if rows else []
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        header = ["variant", *document["parameters"], "replications", "capex_cny", "monthly_cny"]
        for rid, kpi in kpi_columns:
            header += [f"{rid}.{kpi}.mean", f"{rid}.{kpi}.ci_low", f"{rid}.{kpi}.ci_high"]
        writer.writerow(header)
        for v in rows:
            line = [
                v["name"],
                *(v["values"][p] for p in document["parameters"]),
                v["replications"],
                v["cost"]["capex_cny"],
                v["cost"]["monthly_cny"],
            ]
            for rid, kpi in kpi_columns:
                e = v["resources"][rid][kpi]
                line += [e["mean"], e["ci_low"], e["ci_high"]]
            writer.writerow(line)
