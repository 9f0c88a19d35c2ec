"""Simulation speed: the project's M/M/c station against a bare SimPy script and Ciw on the same model.

All three simulate the same queue (Poisson arrivals, exponential service, c servers,
the same horizon) in this run, interleaved so drift in the machine's load hits all
alike.  project/bare is the price of actors, the twin's feed and the KPI collector
(target: at most 1.5, against the bare script that keeps the same KPIs); project/Ciw
compares with the library a planner would pick instead (target: at most 0.5).  Ciw
3.2.7 keeps a record per customer and its KPIs are read from them, as a Ciw user does.

Also prints events per second (the project's messages and feed changes, and SimPy's
events) and the summer heat-wave week at 900, 9,000 and 90,000 workers, each in a
process of its own, with its wall time, time per visit and the run's peak of Python
memory (tracemalloc, on a second pass): the cost must stay linear and the memory flat.

    .venv/bin/python bench/sim_speed.py [--customers 50000] [--repeats 5] [--no-scaling]
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Generator
from pathlib import Path

import ciw
import numpy as np
import simpy
from simpy.events import NORMAL, EventPriority

from scenarios.model import run_replication
from scenarios.schema import load_scenario

LIBRARY = Path(__file__).resolve().parent.parent / "scenarios" / "library"
ARRIVALS_PER_MIN, SERVICE_MEAN_S, SERVERS = 2.0, 80.0, 3
WAIT_TARGET_S = 180.0


def wait_kpis(waits: np.ndarray) -> dict[str, float]:
    """What the project reports of the waits: mean, 95th percentile, P(wait) and the share over 3 minutes."""
    return {
        "wait_mean_s": float(waits.mean()),
        "wait_p95_s": float(np.percentile(waits, 95)),
        "wait_probability": float((waits > 1e-9).mean()),
        "wait_over_180s_share": float((waits > WAIT_TARGET_S).mean()),
    }


def step_integral(times: list[float], values: list[float], horizon: float) -> tuple[float, float]:
    """Time average and peak of a step function given by its change points."""
    t = np.append(np.asarray(times), horizon)
    v = np.asarray(values)
    return float(np.sum(v * np.diff(t)) / horizon), float(v.max())


def bare_simpy(customers: int, seed: int, monitored: bool) -> dict[str, float]:
    """The textbook SimPy M/M/c: a source process, a Resource, a process per customer.

    ``monitored`` also keeps what the project reports of this station besides the
    waits: utilisation and mean queue, occupancy (mean and peak), time in the
    station, waits by clock hour, each as the project keeps it (change points
    integrated at the end), so project/bare compares like with like.
    """
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    server = simpy.Resource(env, SERVERS)
    waits: list[float] = []
    horizon = customers / (ARRIVALS_PER_MIN / 60)
    changes: dict[str, tuple[list[float], list[float]]] = {name: ([0.0], [0.0]) for name in ("busy", "queue", "inside")}
    by_hour = [[0.0, 0] for _ in range(24)]
    in_station = [0.0, 0]

    def note(name: str, value: float) -> None:
        times, values = changes[name]
        times.append(env.now)
        values.append(value)

    def customer() -> Generator[simpy.Event, object, None]:
        arrived = env.now
        if monitored:
            note("inside", changes["inside"][1][-1] + 1)
        with server.request() as request:
            if monitored:
                note("queue", len(server.queue))
            yield request
            wait = env.now - arrived
            waits.append(wait)
            if monitored:
                note("busy", server.count)
                note("queue", len(server.queue))
                hour = by_hour[int(env.now // 3600) % 24]
                hour[0] += wait
                hour[1] += 1
            yield env.timeout(rng.exponential(SERVICE_MEAN_S))
        if monitored:
            note("busy", server.count)
            note("inside", changes["inside"][1][-1] - 1)
            in_station[0] += env.now - arrived
            in_station[1] += 1

    def source() -> Generator[simpy.Event, object, None]:
        while True:
            yield env.timeout(rng.exponential(60 / ARRIVALS_PER_MIN))
            env.process(customer())

    env.process(source())
    env.run(until=horizon)
    kpis = wait_kpis(np.asarray(waits))
    if monitored:
        busy, _ = step_integral(*changes["busy"], horizon)
        kpis["utilisation"] = busy / SERVERS
        kpis["queue_mean"], _ = step_integral(*changes["queue"], horizon)
        kpis["mean_occupancy"], kpis["peak_occupancy"] = step_integral(*changes["inside"], horizon)
        kpis["time_in_station_mean_s"] = in_station[0] / in_station[1]
    return kpis


def ciw_station(customers: int, seed: int) -> dict[str, float]:
    """The same M/M/c in Ciw, its KPIs read from its records (vectorised, as a Ciw user would)."""
    horizon = customers / (ARRIVALS_PER_MIN / 60)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(ARRIVALS_PER_MIN / 60)],
        service_distributions=[ciw.dists.Exponential(1 / SERVICE_MEAN_S)],
        number_of_servers=[SERVERS],
    )
    ciw.seed(seed)
    simulation = ciw.Simulation(network)
    simulation.simulate_until_max_time(horizon)
    records = simulation.get_all_records()
    kpis = wait_kpis(np.asarray([r.waiting_time for r in records]))
    starts = np.asarray([r.service_start_date for r in records])
    ends = np.minimum(np.asarray([r.service_end_date for r in records]), horizon)
    kpis["utilisation"] = float(np.sum(ends - starts) / (horizon * SERVERS))
    kpis["queue_mean"] = float(np.sum(np.asarray([r.waiting_time for r in records])) / horizon)
    return kpis


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
    gc.collect()  # each starts with the garbage of the one before collected
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def count_simpy_events(run: Callable[[], object]) -> int:
    """Events scheduled during ``run`` (an untimed pass: counting slows SimPy down)."""
    original = simpy.Environment.schedule
    count = 0

    def counting(self: simpy.Environment, event: simpy.Event, priority: EventPriority = NORMAL, delay: float = 0) -> None:
        nonlocal count
        count += 1
        original(self, event, priority, delay)

    simpy.Environment.schedule = counting  # type: ignore[method-assign]
    try:
        run()
    finally:
        simpy.Environment.schedule = original  # type: ignore[method-assign]
    return count


def summer_week(workers: int) -> dict[str, float]:
    """One replication of the summer heat-wave week at ``workers``, in this process (called in a child of its own)."""
    scenario = load_scenario(LIBRARY / "summer_heat_wave.toml", [f"population.workers={workers}"])
    start = time.perf_counter()
    result = run_replication(scenario, 0)
    wall = time.perf_counter() - start
    tracemalloc.start()  # a second, traced pass: tracing slows the run, so it is not the timed one
    run_replication(scenario, 0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    visits = (result.station["visits"] or 0) + (result.station["outside_visits"] or 0)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"workers": workers, "wall_s": wall, "visits": visits, "peak_mb": peak / 2**20, "rss_mb": rss / 1024}


def scaling(sizes: tuple[int, ...]) -> None:
    print("summer heat-wave week, 1 replication, each in a fresh process:")
    print(f"  {'workers':>8} {'visits':>9} {'wall':>8} {'per visit':>10} {'run peak':>9} {'process RSS':>12}")
    for workers in sizes:
        command = [sys.executable, __file__, "--summer-week", str(workers)]
        out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent).stdout
        row = json.loads(out.strip().splitlines()[-1])
        print(
            f"  {workers:>8,} {row['visits']:>9,.0f} {row['wall_s']:>7.2f}s {row['wall_s'] / row['visits'] * 1e6:>8.0f}µs"
            f" {row['peak_mb']:>7.1f}MB {row['rss_mb']:>10.0f}MB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-scaling", action="store_true", help="skip the summer week at 900, 9,000 and 90,000 workers")
    parser.add_argument("--summer-week", type=int, metavar="WORKERS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.summer_week:
        print(json.dumps(summer_week(args.summer_week)))
        return
    scenario = project_station(args.customers)
    runs: dict[str, Callable[[], object]] = {
        "project": lambda: run_replication(scenario, 0),
        "bare": lambda: bare_simpy(args.customers, 0, monitored=False),
        "bare+KPIs": lambda: bare_simpy(args.customers, 0, monitored=True),
        "Ciw": lambda: ciw_station(args.customers, 0),
    }
    for run in runs.values():  # warm caches and imports
        run()
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeats):  # interleaved
        for name, run in runs.items():
            seconds[name].append(timed(run))
    median = {name: statistics.median(s) for name, s in seconds.items()}
    project_events = count_simpy_events(runs["project"])
    bare_events = count_simpy_events(runs["bare"])
    deliveries = count_deliveries(scenario)
    print(
        f"M/M/{SERVERS}: {args.customers:,} customers, {ARRIVALS_PER_MIN}/min, mean service {SERVICE_MEAN_S:g} s;"
        f" medians of {args.repeats}, interleaved"
    )
    for name in runs:
        print(f"  {name:<10} {median[name]:7.3f} s  {args.customers / median[name]:9,.0f} customers/s")
    p = median["project"]
    print(
        f"  project: {deliveries / p:,.0f} messages and feed changes/s, {project_events / p:,.0f} SimPy events/s"
        f" (bare SimPy {bare_events / median['bare']:,.0f} events/s)"
    )
    print(f"ratio project/bare-with-the-same-KPIs: {p / median['bare+KPIs']:.2f} (target <= 1.5); project/bare: {p / median['bare']:.2f}")
    print(f"ratio project/Ciw: {p / median['Ciw']:.2f} (target <= 0.5)")
    if not args.no_scaling:
        scaling((900, 9_000, 90_000))


def count_deliveries(scenario: object) -> int:
    """Messages delivered to actors plus changes on the twin's feed in one replication (an untimed pass)."""
    from actors.binding import Binding
    from twin.feed import ChangeFeed

    count = 0

    class Counting(dict):  # type: ignore[type-arg]
        """The binding's actors, counting each look-up of a message's addressee."""

        def get(self, key: object, default: object = None) -> object:
            nonlocal count
            count += 1
            return super().get(key, default)

    original_init, original_append = Binding.__init__, ChangeFeed.append

    def init(self: Binding, *args: object, **kwargs: object) -> None:
        original_init(self, *args, **kwargs)  # type: ignore[arg-type]
        self.actors = Counting()

    def append(self: ChangeFeed, *args: object) -> object:
        nonlocal count
        count += 1
        return original_append(self, *args)  # type: ignore[arg-type]

    Binding.__init__, ChangeFeed.append = init, append  # type: ignore[method-assign,assignment]
    try:
        run_replication(scenario, 0)  # type: ignore[arg-type]
    finally:
        Binding.__init__, ChangeFeed.append = original_init, original_append  # type: ignore[method-assign]
    return count


if __name__ == "__main__":
    main()
