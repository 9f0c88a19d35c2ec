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
