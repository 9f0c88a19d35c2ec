"""The simulator against steady-state queueing theory.

The M/M/c and M/M/c/K library stations, run at several (arrival rate, service rate,
c) points through ``--set`` overrides, must reproduce Erlang C's mean wait and
probability of waiting, and the M/M/c/K blocking probability, within
max(4 standard errors, 5 % relative) over 20 replications of ~50,000 customers.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from scenarios.model import run_replication
from scenarios.queueing_theory import MG1, MMc, MMcK, MMcKBalking
from scenarios.schema import load_scenario
from tests.conftest import LIBRARY

REPLICATIONS = 20
CUSTOMERS = 50_000
WARMUP_CUSTOMERS = 2_000
MG1_REPLICATIONS = 10


def close_enough(samples: list[float], expected: float) -> tuple[bool, str]:
    x = np.asarray(samples)
    mean, se = float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x)))
    tolerance = max(4 * se, 0.05 * abs(expected))
    return abs(mean - expected) <= tolerance, f"simulated {mean:.4f} ± {se:.4f} (SE), theory {expected:.4f}, tolerance {tolerance:.4f}"


def station(file: str, arrivals_per_min: float, service_mean_s: float, c: int, extra: list[str] = ()) -> tuple[object, float]:  # type: ignore[assignment]
    """The library station set to the point, with a horizon of ~CUSTOMERS arrivals after warm-up."""
    rate_per_s = arrivals_per_min / 60
    warmup_s = WARMUP_CUSTOMERS / rate_per_s
    horizon_s = warmup_s + CUSTOMERS / rate_per_s
    overrides = [
        f"population.groups.customers.streams.arrivals.visit_probability={arrivals_per_min * 1440 / 1000}",
        f"devices.server.units={c}",
        f"devices.server.service.mean={service_mean_s}",
        f"scenario.horizon={horizon_s}",
        f"scenario.warmup={warmup_s}",
        *extra,
    ]
    return load_scenario(LIBRARY / file, overrides), rate_per_s


MMC_POINTS = [
    # (arrivals per minute, mean service s, c): utilisation 0.5, 0.83 (M/M/1), 0.89, 0.93
    (2.0, 30.0, 2),
    (1.0, 50.0, 1),
    (2.0, 80.0, 3),
    (4.0, 70.0, 5),
]


@pytest.mark.parametrize(("arrivals_per_min", "service_mean_s", "c"), MMC_POINTS)
def test_mmc_matches_erlang_c(arrivals_per_min: float, service_mean_s: float, c: int) -> None:
    scenario, rate = station("mmc.toml", arrivals_per_min, service_mean_s, c)
    theory = MMc(rate, 1 / service_mean_s, c)
    runs = [run_replication(scenario, r).resources["server"] for r in range(REPLICATIONS)]  # type: ignore[arg-type]
    assert min(r["served"] for r in runs) > 0.9 * CUSTOMERS
    ok, detail = close_enough([r["wait_mean_s"] for r in runs], theory.wait_mean_s)
    assert ok, f"mean wait at rho={theory.utilisation:.2f}: {detail}"
    ok, detail = close_enough([r["wait_probability"] for r in runs], theory.wait_probability)
    assert ok, f"P(wait) at rho={theory.utilisation:.2f}: {detail}"
    ok, detail = close_enough([r["utilisation"] for r in runs], theory.utilisation)
    assert ok, f"utilisation: {detail}"


def test_mmck_blocking_matches_theory() -> None:
    scenario, rate = station("mmck.toml", 2.0, 60.0, 2, ["devices.server.queue_limit=3"])
    theory = MMcK(rate, 1 / 60.0, c=2, k=5)
    runs = [run_replication(scenario, r).resources["server"] for r in range(REPLICATIONS)]  # type: ignore[arg-type]
    ok, detail = close_enough([r["blocked_share"] for r in runs], theory.blocking_probability)
    assert ok, f"blocking probability: {detail}"
    ok, detail = close_enough([r["wait_mean_s"] for r in runs], theory.wait_mean_s)
    assert ok, f"mean wait of admitted customers: {detail}"


BALK_CHANCE = (0.0, 0.3, 0.6, 0.9)
"""Nobody balks at an empty queue; 30 % at one waiting, 60 % at two, 90 % at three or more."""


def test_mmck_with_balking_that_grows_with_the_queue_matches_its_birth_death_chain() -> None:
    chance = "[" + ", ".join(f"{b:g}" for b in BALK_CHANCE) + "]"
    scenario, rate = station(
        "mmck.toml", 2.0, 60.0, 2, ["devices.server.queue_limit=6", f"population.groups.customers.balk_chance={chance}"]
    )
    theory = MMcKBalking(rate, 1 / 60.0, c=2, k=8, balk_chance=BALK_CHANCE)
    runs = [run_replication(scenario, r).resources["server"] for r in range(REPLICATIONS)]  # type: ignore[arg-type]
    ok, detail = close_enough([r["balked_share"] for r in runs], theory.balked_share)
    assert ok, f"balking share: {detail}"
    ok, detail = close_enough([r["wait_mean_s"] for r in runs], theory.wait_mean_s)
    assert ok, f"mean wait of those who joined: {detail}"
    # Some blocked at the full waiting room too, as the chain says (a tiny share: a loose check).
    ok, detail = close_enough([r["blocked_share"] for r in runs], theory.blocked_share)
    assert ok or theory.blocked_share < 1e-3, f"blocking share: {detail}"
    # And it is the chain of this balking, not of none.
    plain = MMcK(rate, 1 / 60.0, c=2, k=8)
    assert not close_enough([r["wait_mean_s"] for r in runs], plain.wait_mean_s)[0]


def test_a_wrong_model_would_fail() -> None:
    """The tolerance is tight enough to tell c=3 from c=4 at the heavy point."""
    scenario, rate = station("mmc.toml", 2.0, 80.0, 4)
    runs = [run_replication(scenario, r).resources["server"]["wait_mean_s"] for r in range(4)]  # type: ignore[arg-type]
    ok, _ = close_enough(runs, MMc(rate, 1 / 80.0, 3).wait_mean_s)
    assert not ok


def _gamma_moments(mean: float, shape: float) -> tuple[float, float]:
    return mean, mean * mean * (1 + 1 / shape)


def _weibull_moments(scale: float, shape: float) -> tuple[float, float]:
    return scale * math.gamma(1 + 1 / shape), scale * scale * math.gamma(1 + 2 / shape)


OBSERVED_S = [12.0, 20.0, 25.0, 31.0, 40.0, 44.0, 52.0, 60.0, 75.0, 90.0, 130.0, 181.0]
"""Observed microwave uses (s): skewed, as real logs are; their mean and mean square are the empirical moments."""

MG1_POINTS = {
    # name: (service spec, (E[S], E[S^2])), at about 1 arrival a minute
    "gamma k=2": ('{dist = "gamma", mean = "45s", shape = 2}', _gamma_moments(45.0, 2.0)),
    "gamma k=0.5": ('{dist = "gamma", mean = "30s", shape = 0.5}', _gamma_moments(30.0, 0.5)),
    "weibull k=1.5": ('{dist = "weibull", scale = "50s", shape = 1.5}', _weibull_moments(50.0, 1.5)),
    "empirical": ("csv", (float(np.mean(OBSERVED_S)), float(np.mean(np.square(OBSERVED_S))))),
}


@pytest.mark.parametrize("name", list(MG1_POINTS))
def test_mg1_matches_pollaczek_khinchine(name: str, tmp_path: Path) -> None:
    spec, (mean_s, second_s2) = MG1_POINTS[name]
    if spec == "csv":  # the planner's log as a file, header and all (a file beside a scenario: test_schema.py)
        observed = tmp_path / "observed.csv"
        observed.write_text("seconds\n" + "\n".join(f"{v:g}" for v in OBSERVED_S) + "\n", encoding="utf-8")
        spec = f'{{dist = "empirical", csv = "{observed}"}}'
    # `station` sets an exponential's mean first; the distribution given here then replaces the whole table
    scenario, rate = station("mmc.toml", 1.0, mean_s, 1, [f"devices.server.service={spec}"])
    theory = MG1(rate, mean_s, second_s2)
    runs = [run_replication(scenario, r).resources["server"] for r in range(MG1_REPLICATIONS)]  # type: ignore[arg-type]
    ok, detail = close_enough([r["wait_mean_s"] for r in runs], theory.wait_mean_s)
    assert ok, f"{name}: mean wait at rho={theory.utilisation:.2f}: {detail}"
    ok, detail = close_enough([r["wait_probability"] for r in runs], theory.wait_probability)
    assert ok, f"{name}: P(wait): {detail}"
