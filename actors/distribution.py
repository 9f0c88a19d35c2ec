"""Service-time and duration distributions, in seconds, drawn from an actor's own stream."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np


class Distribution(Protocol):
    @property
    def mean_s(self) -> float: ...

    def sample(self, rng: np.random.Generator) -> float: ...


@dataclass(frozen=True, slots=True)
class Constant:
    value_s: float

    @property
    def mean_s(self) -> float:
        return self.value_s

    def sample(self, rng: np.random.Generator) -> float:
        return self.value_s


@dataclass(frozen=True, slots=True)
class Exponential:
    mean: float

    @property
    def mean_s(self) -> float:
        return self.mean

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.exponential(self.mean))


@dataclass(frozen=True, slots=True)
class Uniform:
    low: float
    high: float

    @property
    def mean_s(self) -> float:
        return (self.low + self.high) / 2

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))


@dataclass(frozen=True, slots=True)
class Triangular:
    low: float
    mode: float
    high: float

    @property
    def mean_s(self) -> float:
        return (self.low + self.mode + self.high) / 3

    def sample(self, rng: np.random.Generator) -> float:
        if self.low == self.high:
            return self.low
        return float(rng.triangular(self.low, self.mode, self.high))


@dataclass(frozen=True, slots=True)
class LogNormal:
    """Parameterised by its median, the figure field studies quote for stays."""

    median: float
    sigma: float

    @property
    def mean_s(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2)

    def sample(self, rng: np.random.Generator) -> float:
        return float(self.median * math.exp(self.sigma * rng.standard_normal()))
