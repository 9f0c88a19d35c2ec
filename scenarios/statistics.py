"""Across replications: means with Student-t confidence intervals, and paired differences.

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


def estimate(values: Sequence[float | None], confidence: float = CONFIDENCE) -> Estimate | None:
    """Mean and a two-sided Student-t interval over the replications that measured the KPI.

    A single value has a zero-width interval; none at all (a device that served nobody
    in any replication) gives None.
    """
    present = [v for v in values if v is not None]
    if not present:
        return None
    x = np.asarray(present, dtype=float)
    mean = float(x.mean())
    if len(x) < 2:
        return {"mean": mean, "ci_low": mean, "ci_high": mean}
    half = float(stats.t.ppf((1 + confidence) / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half}


def difference(variant: Sequence[float | None], baseline: Sequence[float | None], confidence: float = CONFIDENCE) -> Difference | None:
    """Paired difference variant - baseline over replications where both measured the KPI.

    Significant when its interval excludes zero; None when no pair exists.
    """
    pairs = [v - b for v, b in zip(variant, baseline, strict=True) if v is not None and b is not None]
    d = estimate(pairs, confidence)
    if d is None:
        return None
    significant = len(pairs) > 1 and (d["ci_low"] > 0 or d["ci_high"] < 0)
    return {**d, "significant": bool(significant)}
