"""Simulation speed: the project's M/M/c station against a bare SimPy script of the same model.

Both simulate the same queue (Poisson arrivals, exponential service, c servers, the
same number of customers) on this machine in this run; the ratio project/bare is the
price of actors, the twin's feed and the KPI collector (target: at most 1.5).  Also
prints SimPy events per second and the wall time of the summer heat-wave week (900
workers, full station, one replication; target: under 10 s on one core).

    .venv/bin/python bench/sim_speed.py [--customers 50000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Generator
from pathlib import Path

import numpy as np
import simpy

from scenarios.model import run_replication
from scenarios.schema import load_scenario

LIBRARY = Path(__file__).resolve().parent.parent / "scenarios" / "library"
ARRIVALS_PER_MIN, SERVICE_MEAN_S, SERVERS = 2.0, 80.0, 3


def bare_simpy(customers: int, seed: int, monitored: bool) -> float:
    """The textbook SimPy M/M/c: a source process, a Resource, a process per customer.

    ``monitored`` also keeps what the project reports besides waits (utilisation and
    mean queue, as time integrals), so the second ratio compares like with like.
    """
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    server = simpy.Resource(env, SERVERS)
    waits: list[float] = []
    horizon = customers / (ARRIVALS_PER_MIN / 60)
    area = {"busy": 0.0, "queue": 0.0, "last": 0.0}

    def observe() -> None:
        if monitored:
            area["busy"] += server.count * (env.now - area["last"])
            area["queue"] += len(server.queue) * (env.now - area["last"])
            area["last"] = env.now

    def customer() -> Generator[simpy.Event, object, None]:
        arrived = env.now
        observe()
        with server.request() as request:
            yield request
            observe()
            waits.append(env.now - arrived)
            yield env.timeout(rng.exponential(SERVICE_MEAN_S))
            observe()

    def source() -> Generator[simpy.Event, object, None]:
        while True:
            yield env.timeout(rng.exponential(60 / ARRIVALS_PER_MIN))
            env.process(customer())

    env.process(source())
    env.run(until=horizon)
    return float(np.mean(waits))


def project_station(customers: int):  # type: ignore[no-untyped-def]
    horizon = customers / (ARRIVALS_PER_MIN / 60)
    return load_scenario(
        LIBRARY / "mmc.toml",
        [
            f"scenario.horizon={horizon}",
            "scenario.warmup=0",
            f"devices.server.units={SERVERS}",
            f"devices.server.service.mean={SERVICE_MEAN_S}",
        ],
    )


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def count_simpy_events(run: Callable[[], object]) -> int:
    """Events scheduled during ``run`` (an untimed pass: counting slows SimPy down)."""
    original = simpy.Environment.schedule
    count = 0

    def counting(self: simpy.Environment, event: simpy.Event, priority: int = 1, delay: float = 0) -> None:
        nonlocal count
        count += 1
        original(self, event, priority, delay)

    simpy.Environment.schedule = counting  # type: ignore[method-assign]
    try:
        run()
    finally:
        simpy.Environment.schedule = original  # type: ignore[method-assign]
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    scenario = project_station(args.customers)
    heat_wave = load_scenario(LIBRARY / "summer_heat_wave.toml")

    def project() -> object:
        return run_replication(scenario, 0)

    def bare() -> object:
        return bare_simpy(args.customers, 0, monitored=False)

    def monitored() -> object:
        return bare_simpy(args.customers, 0, monitored=True)

    project(), bare(), monitored()  # warm caches and imports
    project_s, bare_s, monitored_s, heat_s = [], [], [], []
    for _ in range(args.repeats):  # interleaved, so drift in machine load hits all alike
        project_s.append(timed(project))
        bare_s.append(timed(bare))
        monitored_s.append(timed(monitored))
        heat_s.append(timed(lambda: run_replication(heat_wave, 0)))
    project_events, bare_events = count_simpy_events(project), count_simpy_events(bare)
    p, b, m, h = (statistics.median(x) for x in (project_s, bare_s, monitored_s, heat_s))
    print(
        f"M/M/{SERVERS}: {args.customers:,} customers, {ARRIVALS_PER_MIN}/min, mean service {SERVICE_MEAN_S:g} s; medians of {args.repeats}"
    )
    print(f"bare SimPy            {b:8.3f} s  {bare_events / b:12,.0f} SimPy events/s  {args.customers / b:10,.0f} customers/s")
    print(f"bare SimPy + KPIs     {m:8.3f} s  {'':>12}                 {args.customers / m:10,.0f} customers/s")
    print(f"project               {p:8.3f} s  {project_events / p:12,.0f} SimPy events/s  {args.customers / p:10,.0f} customers/s")
    print(f"ratio project/bare: {p / b:.2f} (target <= 1.5); project/bare-with-the-same-KPIs: {p / m:.2f}")
    print(f"summer heat-wave week, 900 workers, 1 replication: {h:.3f} s (target < 10 s)")


if __name__ == "__main__":
    main()
