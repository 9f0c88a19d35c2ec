"""Interval coverage: how often each interval method's 95% interval holds the truth, on many small M/M/2 studies.

A study is what a planner runs: a handful of replications of one station, and an
interval for each KPI.  The station is the M/M/2 validation queue at utilisation
0.8 (skewed per-replication mean waits, where a planner decides), whose steady-state
mean wait, probability of waiting and utilisation are known (Erlang C).  Each study
uses its own replications (no seed shared with another study), so the studies are
independent and the coverage's standard error is sqrt(0.95 x 0.05 / studies).
Prints, per KPI and method, the coverage, its standard error and on which side the
misses fell (an interval too low, or too high).

    .venv/bin/python bench/interval_coverage.py [--studies 400] [--replications 10] [--workers 2]
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import numpy as np

from scenarios.model import run_replication
from scenarios.queueing_theory import MMc
from scenarios.schema import Scenario, load_scenario
from scenarios.statistics import Method, estimate, kpi_range

LIBRARY = Path(__file__).resolve().parent.parent / "scenarios" / "library"
ARRIVALS_PER_MIN, SERVICE_MEAN_S, SERVERS = 1.2, 80.0, 2
HOURS, WARMUP_HOURS = 20.0, 3.0  # a day of 17 h measured after a 3 h warm-up
KPIS = ("wait_mean_s", "wait_probability", "utilisation")


def study_station(hours: float = HOURS, warmup_hours: float = WARMUP_HOURS) -> Scenario:
    """M/M/2 at utilisation 0.8, a day a replication (~1,200 customers after the warm-up)."""
    return load_scenario(
        LIBRARY / "mmc.toml",
        [
            f"population.groups.customers.streams.arrivals.visit_probability={ARRIVALS_PER_MIN * 1440 / 1000}",
            f"devices.server.units={SERVERS}",
            f"devices.server.service.mean={SERVICE_MEAN_S}",
            f"scenario.horizon={hours * 3600}",
            f"scenario.warmup={warmup_hours * 3600}",
        ],
    )


def truth() -> dict[str, float]:
    queue = MMc(ARRIVALS_PER_MIN / 60, 1 / SERVICE_MEAN_S, SERVERS)
    return {"wait_mean_s": queue.wait_mean_s, "wait_probability": queue.wait_probability, "utilisation": queue.utilisation}


def replications(scenario: Scenario, numbers: Iterable[int]) -> list[dict[str, float | None]]:
    """The station's KPIs of each replication in ``numbers``."""
    return [{k: run_replication(scenario, r).resources["server"][k] for k in KPIS} for r in numbers]


@dataclass
class Tally:
    """One method's record on one KPI: intervals that held the truth, and the misses by side."""

    held: int = 0
    too_low: int = 0
    too_high: int = 0

    def add(self, low: float, high: float, true: float) -> None:
        if high < true:
            self.too_low += 1
        elif low > true:
            self.too_high += 1
        else:
            self.held += 1

    @property
    def studies(self) -> int:
        return self.held + self.too_low + self.too_high

    @property
    def coverage(self) -> float:
        return self.held / self.studies


def tally(studies: list[list[dict[str, float | None]]], methods: Iterable[Method]) -> dict[tuple[str, Method], Tally]:
    """Each method's coverage of each KPI's truth over ``studies`` (each a list of replications' KPIs)."""
    true = truth()
    tallies: dict[tuple[str, Method], Tally] = {}
    for method in methods:
        for kpi in KPIS:
            record = tallies[kpi, method] = Tally()
            for study in studies:
                interval = estimate([r[kpi] for r in study], within=kpi_range(kpi), method=method)
                assert interval is not None
                record.add(interval["ci_low"], interval["ci_high"], true[kpi])
    return tallies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=400)
    parser.add_argument("--replications", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    scenario = study_station()
    r = args.replications
    with ProcessPoolExecutor(args.workers) as pool:
        studies = list(pool.map(replications, [scenario] * args.studies, [range(s * r, (s + 1) * r) for s in range(args.studies)]))
    se = math.sqrt(0.95 * 0.05 / args.studies)
    print(f"M/M/{SERVERS} at utilisation 0.8, {args.studies} studies of {r} replications of {HOURS - WARMUP_HOURS:g} h; SE {se:.3f}")
    true = truth()
    for kpi in KPIS:
        values = np.asarray([r[kpi] for study in studies for r in study], dtype=float)
        bias = values.mean() / true[kpi] - 1
        se = values.std(ddof=1) / np.sqrt(len(values)) / true[kpi]
        print(f"  {kpi:<18} all replications' mean vs theory: {bias:+.2%} ± {se:.2%} (SE)")
    print(f"  {'KPI':<18} {'method':<8} {'coverage':>9} {'too low':>8} {'too high':>9}")
    for (kpi, method), record in tally(studies, get_args(Method)).items():
        print(f"  {kpi:<18} {method:<8} {record.coverage:9.3f} {record.too_low:8} {record.too_high:9}")


if __name__ == "__main__":
    main()
