"""Sweep scaling: the same sweep run inline one replication after another, then on Ray with every local core.

16 variant-replications (4 variants x 4 replications) of the summer heat-wave week
at three times the population, so each task is a few tenths of a second.  Prints the
Ray start-up on its own line (excluded from the timing, as are the workers' first
imports, warmed up before the clock starts), the speed-up and the parallel
efficiency (speed-up / cores; target at least 0.8 on this 2-core machine).

    .venv/bin/python bench/sweep_scaling.py [--variants 4] [--replications 4]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import ray

from scenarios.kpi import ReplicationResult
from scenarios.model import run_replication
from scenarios.parallel import Job, JobFailure, cluster_cpus, replicate, run_jobs
from scenarios.schema import load_scenario
from station.ray import ray_session

LIBRARY = Path(__file__).resolve().parent.parent / "scenarios" / "library"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=4)
    parser.add_argument("--replications", type=int, default=4)
    args = parser.parse_args()
    jobs = [
        Job(
            f"microwave={units}",
            r,
            load_scenario(LIBRARY / "summer_heat_wave.toml", ["population.workers=2700", f"devices.microwave.units={units}"]),
        )
        for units in range(1, args.variants + 1)
        for r in range(args.replications)
    ]
    started = time.perf_counter()
    inline = [run_replication(job.scenario, job.replication) for job in jobs]
    inline_s = time.perf_counter() - started

    with ray_session() as startup:
        cores = cluster_cpus()
        # Warm every worker: start its process and import the simulator before timing.
        warm = ray.remote(replicate).options(num_cpus=1)
        ray.get(
            [warm.remote(load_scenario(LIBRARY / "mmc.toml", ["scenario.horizon=10m", "scenario.warmup=0"]), 0) for _ in range(2 * cores)]
        )
        results: dict[tuple[str, int], ReplicationResult] = {}
        failures: list[JobFailure] = []
        started = time.perf_counter()
        run_jobs(jobs, lambda job, result: results.__setitem__((job.variant, job.replication), result), failures.append)
        ray_s = time.perf_counter() - started
    same = all(results[(j.variant, j.replication)] == r for j, r in zip(jobs, inline, strict=True))
    speedup = inline_s / ray_s
    print(f"{len(jobs)} variant-replications (summer heat-wave week, 2,700 workers); {os.cpu_count()} CPUs on this machine")
    print(f"Ray start-up (excluded): {startup:.2f} s; {cores} CPUs in the cluster")
    print(f"inline, one after another: {inline_s:.2f} s ({inline_s / len(jobs):.3f} s a replication)")
    print(f"Ray, all cores:            {ray_s:.2f} s")
    print(f"speed-up {speedup:.2f}x, parallel efficiency {speedup / cores:.2f} (target >= 0.8)")
    print(f"failures {len(failures)}; same results as inline: {same}")


if __name__ == "__main__":
    main()
