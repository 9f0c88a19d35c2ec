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


def estimate(values: Sequence[float], confidence: float = CONFIDENCE) -> Estimate:
    """Mean and a two-sided Student-t interval; a single replication has a zero-width interval."""
    x = np.asarray(values, dtype=float)
    mean = float(x.mean())
    if len(x) < 2:
        return {"mean": mean, "ci_low": mean, "ci_high": mean}
    half = float(stats.t.ppf((1 + confidence) / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half}


def difference(variant: Sequence[float], baseline: Sequence[float], confidence: float = CONFIDENCE) -> Difference:
    """Paired difference variant - baseline; significant when its interval excludes zero."""
    d = estimate(np.asarray(variant, dtype=float) - np.asarray(baseline, dtype=float), confidence)
    significant = len(variant) > 1 and (d["ci_low"] > 0 or d["ci_high"] < 0)
    return {**d, "significant": bool(significant)}
