"""Across replications: means with skewness-corrected t intervals kept within what each KPI can be, and paired differences.

Variants of a scenario run on the same replication seeds (common random numbers), so
their difference is estimated replication by replication, which removes most of the
noise the two share.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, TypedDict

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


class Estimate(TypedDict):
    mean: float
    ci_low: float
    ci_high: float


class Difference(Estimate):
    significant: bool
    more_replications: int | None
    """Not significant: how many more replications would likely tell the two apart at this difference and spread
    (0 when significant; None when no practical number would: a difference lost in the noise, or no spread to judge)."""


MOST_REPLICATIONS = 1000
"""Beyond this many replications a difference is too small to matter for a station plan: it is called indistinguishable."""


SIGNIFICANT_ABOVE = 1e-9
"""A paired difference this close to zero (relative to the KPI's size) is rounding, not a change: never significant."""


def kpi_range(kpi: str) -> tuple[float, float | None]:
    """Where a KPI can lie: every one of ours is a time, a count, an energy or a share, so at least 0; shares,
    probabilities and utilisation at most 1.  An interval is never drawn outside what the KPI can be."""
    if kpi == "utilisation" or kpi.endswith(("_share", "_probability")):
        return 0.0, 1.0
    return 0.0, None


HALL_FROM = 6
"""Fewer replications than this get plain t: the skewness of three or four values is too noisy to correct by
(it made a p95 wait of 44 s read as 0-630 s on three)."""
Method = Literal["t", "hall", "cox", "bca"]
METHOD: Method = "hall"
"""The interval every report uses (see ``estimate``)."""


def estimate(
    values: Sequence[float | None],
    confidence: float = CONFIDENCE,
    within: tuple[float | None, float | None] = (None, None),
    method: Method = METHOD,
) -> Estimate | None:
    """Mean and a two-sided interval over the replications that measured the KPI, cut to ``within``.

    ``hall`` (the default) is Student's t with the skewness taken out of the statistic
    by Hall's (1992) transformation: a replication's mean wait is right-skewed (a few
    bad hours make a bad day), so a plain t interval on ten of them is optimistic and
    misses the truth mostly on one side, exactly where planners decide.  ``t`` is the
    plain interval, ``cox`` Cox's interval for a log-normal mean, ``bca`` the
    bias-corrected and accelerated bootstrap; bench/interval_coverage.py measured all
    four (ARCHITECTURE.md, "Statistics").  Cutting at a bound the truth cannot cross
    never loses coverage: a mean wait's interval that reached -30 s read as "maybe
    negative" and now starts at 0.  A single value has a zero-width interval; none at
    all (a device that served nobody in any replication) gives None.
    """
    present = [v for v in values if v is not None]
    if not present:
        return None
    x = np.asarray(present, dtype=float)
    mean = float(x.mean())
    n = len(x)
    if n < 2:
        return {"mean": mean, "ci_low": mean, "ci_high": mean}
    sd = float(x.std(ddof=1))
    if sd == 0.0:
        low, high = mean, mean
    elif method == "bca" and n >= 3:
        result = stats.bootstrap((x,), np.mean, confidence_level=confidence, method="BCa", n_resamples=1999, random_state=0)
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    elif method == "hall" and n >= HALL_FROM:
        low, high = _hall(x, mean, sd, confidence)
    elif method == "cox" and bool(np.all(x > 0)):
        low, high = _cox(x, confidence)
    else:
        half = float(stats.t.ppf((1 + confidence) / 2, n - 1)) * sd / math.sqrt(n)
        low, high = mean - half, mean + half
    if within[0] is not None:
        low = max(low, within[0])
    if within[1] is not None:
        high = min(high, within[1])
    return {"mean": mean, "ci_low": min(low, mean), "ci_high": max(high, mean)}


def _hall(x: np.ndarray, mean: float, sd: float, confidence: float) -> tuple[float, float]:
    """Hall's (1992) transformation of the t statistic that removes its skewness, inverted in closed form.

    With ``g(T) = T + γ T²/3 + γ² T³/27 + γ/(6n)`` for ``T = (x̄ - μ)/s`` and the sample
    skewness ``γ``, ``√n g(T)`` is close to Student's t; ``g`` is monotone, so the
    interval is ``x̄ - s g⁻¹(q/√n)`` at the two t quantiles ``q``.
    """
    n = len(x)
    z = (x - mean) / sd  # standardised first: the moments of tiny differences (1e-151) would underflow
    gamma = float(np.mean(z**3)) / math.sqrt(float(np.mean(z**2))) ** 3
    q = float(stats.t.ppf((1 + confidence) / 2, n - 1)) / math.sqrt(n)
    if abs(gamma) < 1e-12:
        return mean - sd * q, mean + sd * q

    def inverse(y: float) -> float:
        return 3.0 / gamma * (float(np.cbrt(1.0 + gamma * (y - gamma / (6 * n)))) - 1.0)

    return mean - sd * inverse(q), mean - sd * inverse(-q)


def _cox(x: np.ndarray, confidence: float) -> tuple[float, float]:
    """Cox's interval for the mean of a log-normal sample: on the logs, mean + var/2 with its own standard error."""
    logs = np.log(x)
    n, m, v = len(x), float(logs.mean()), float(logs.var(ddof=1))
    half = float(stats.t.ppf((1 + confidence) / 2, n - 1)) * math.sqrt(v / n + v**2 / (2 * (n - 1)))
    return math.exp(m + v / 2 - half), math.exp(m + v / 2 + half)


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
    reach = d["mean"] - d["ci_low"] if d["mean"] > 0 else d["ci_high"] - d["mean"]
    more = 0 if significant else (replications_to_tell_apart(len(pairs), d["mean"], reach, confidence) if real else None)
    return {**d, "significant": bool(significant), "more_replications": more}


def replications_to_tell_apart(n: int, mean: float, reach: float, confidence: float = CONFIDENCE) -> int | None:
    """Extra paired replications after which the interval would no longer reach zero at this mean difference.

    The planner's question when a difference is not significant: run more, or call the
    variants equal?  ``reach`` is how far the interval now extends from the mean toward
    zero; it shrinks as Student's quantile over the square root of the replications,
    the mean and spread assumed to stay as measured.  None when it would take more than
    ``MOST_REPLICATIONS`` in all, or there is nothing to judge by (one pair, no difference).
    """
    if n < 2 or mean == 0.0 or reach <= 0.0:
        return None
    totals = np.arange(n + 1, MOST_REPLICATIONS + 1)
    quantile = stats.t.ppf((1 + confidence) / 2, np.append(n, totals) - 1)
    shrunk = reach * (quantile[1:] / quantile[0]) * np.sqrt(n / totals)
    enough = np.nonzero(shrunk < abs(mean))[0]
    return int(totals[enough[0]]) - n if len(enough) else None
