"""Distributions of durations (seconds) and quantities (litres, state of charge), drawn from an actor's own stream.

Each draws a fixed number of primitive variates (inverse transforms where they
exist), so the stream stays aligned across variants: common random numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # numpy is imported by what draws numbers, not by what only names the stream
    from twin.randomness import RandomStream


class Distribution(Protocol):
    def sample(self, rng: RandomStream) -> float: ...


@dataclass(frozen=True, slots=True)
class Constant:
    value: float

    def sample(self, rng: RandomStream) -> float:
        return self.value


@dataclass(frozen=True, slots=True)
class Exponential:
    mean: float

    def sample(self, rng: RandomStream) -> float:
        return self.mean * rng.standard_exponential()


@dataclass(frozen=True, slots=True)
class Uniform:
    low: float
    high: float

    def sample(self, rng: RandomStream) -> float:
        return self.low + (self.high - self.low) * rng.random()


@dataclass(frozen=True, slots=True)
class Triangular:
    low: float
    mode: float
    high: float

    def sample(self, rng: RandomStream) -> float:
        u, low, mode, high = rng.random(), self.low, self.mode, self.high
        if low == high:
            return low
        split = (mode - low) / (high - low)
        if u < split:
            return low + math.sqrt(u * (high - low) * (mode - low))
        return high - math.sqrt((1 - u) * (high - low) * (high - mode))


@dataclass(frozen=True, slots=True)
class LogNormal:
    """Parameterised by its median, the figure field studies quote for stays."""

    median: float
    sigma: float

    def sample(self, rng: RandomStream) -> float:
        return self.median * math.exp(self.sigma * rng.standard_normal())


@dataclass(frozen=True, slots=True)
class Gamma:
    """By its mean and shape k (1: exponential; above 1, more regular; below 1, a few very long uses).

    Drawn by inverting the CDF (one uniform per draw, as every distribution here), with
    scipy's inverse regularised incomplete gamma function, imported on the first draw.
    """

    mean: float
    shape: float

    def sample(self, rng: RandomStream) -> float:
        from scipy.special import gammaincinv

        return float(gammaincinv(self.shape, rng.random())) * self.mean / self.shape


@dataclass(frozen=True, slots=True)
class Weibull:
    """By its scale and shape k: the usual fit of repair and dwell times (k = 1 is exponential)."""

    scale: float
    shape: float

    def sample(self, rng: RandomStream) -> float:
        drawn: float = rng.standard_exponential() ** (1.0 / self.shape)  # ** of floats is Any to mypy
        return self.scale * drawn


@dataclass(frozen=True, slots=True)
class Empirical:
    """Observed values, each equally likely (as Ciw's ``Empirical``): a planner's own log, replayed."""

    values: tuple[float, ...]

    def sample(self, rng: RandomStream) -> float:
        values = self.values
        value: float = values[min(int(rng.random() * len(values)), len(values) - 1)]
        return value
