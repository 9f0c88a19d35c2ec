"""Across replications: means with Student-t confidence intervals kept within what each KPI can be, and paired differences.

Variants of a scenario run on the same replication seeds (common random numbers), so
their difference is estimated replication by replication, which removes most of the
noise the two share.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypedDict

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


class Estimate(TypedDict):
    mean: float
    ci_low: float
    ci_high: float


class Difference(Estimate):
    significant: bool


SIGNIFICANT_ABOVE = 1e-9
"""A paired difference this close to zero (relative to the KPI's size) is rounding, not a change: never significant."""


def kpi_range(kpi: str) -> tuple[float, float | None]:
    """Where a KPI can lie: every one of ours is a time, a count, an energy or a share, so at least 0; shares,
    probabilities and utilisation at most 1.  An interval is never drawn outside what the KPI can be."""
    if kpi == "utilisation" or kpi.endswith(("_share", "_probability")):
        return 0.0, 1.0
    return 0.0, None


def estimate(
    values: Sequence[float | None], confidence: float = CONFIDENCE, within: tuple[float | None, float | None] = (None, None)
) -> Estimate | None:
    """Mean and a two-sided Student-t interval over the replications that measured the KPI, cut to ``within``.

    Cutting at a bound the truth cannot cross never loses coverage: a mean wait's interval
    that reached -30 s read as "maybe negative" and now starts at 0.  A single value has a
    zero-width interval; none at all (a device that served nobody in any replication)
    gives None.
    """
    present = [v for v in values if v is not None]
    if not present:
        return None
    x = np.asarray(present, dtype=float)
    mean = float(x.mean())
    if len(x) < 2:
        return {"mean": mean, "ci_low": mean, "ci_high": mean}
    half = float(stats.t.ppf((1 + confidence) / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    low, high = mean - half, mean + half
    if within[0] is not None:
        low = max(low, within[0])
    if within[1] is not None:
        high = min(high, within[1])
    return {"mean": mean, "ci_low": low, "ci_high": high}


def difference(variant: Sequence[float | None], baseline: Sequence[float | None], confidence: float = CONFIDENCE) -> Difference | None:
    """Paired difference variant - baseline over replications where both measured the KPI.

    Significant when there is an interval (two pairs or more), it excludes zero, and the
    difference is more than rounding (a -0.0 ± 0.0 is no finding); None when no pair exists.
    """
    pairs = [v - b for v, b in zip(variant, baseline, strict=True) if v is not None and b is not None]
    d = estimate(pairs, confidence)
    if d is None:
        return None
    size = max((abs(v) for v in [*variant, *baseline] if v is not None), default=0.0)
    real = abs(d["mean"]) > SIGNIFICANT_ABOVE * max(size, 1.0)
    significant = len(pairs) > 1 and real and (d["ci_low"] > 0 or d["ci_high"] < 0)
    return {**d, "significant": bool(significant)}
