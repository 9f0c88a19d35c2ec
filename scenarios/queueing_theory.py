"""Steady-state queueing formulas the simulator is checked against (and the optimiser uses).

M/M/c: Erlang C.  M/M/c/K: the finite-capacity birth-death chain, also with balking
that grows with the queue.  M/G/1: Pollaczek-Khinchine.  Rates are per
second; ``c`` servers; ``k`` places in the system in all (in service plus waiting).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MMc:
    arrival_rate: float
    service_rate: float
    c: int

    @property
    def offered_load(self) -> float:
        return self.arrival_rate / self.service_rate

    @property
    def utilisation(self) -> float:
        return self.offered_load / self.c

    @property
    def wait_probability(self) -> float:
        """Erlang C: the chance an arriving customer has to wait."""
        a, c = self.offered_load, self.c
        if a >= c:
            return 1.0
        # Erlang B by the stable recursion, then C from B.
        b = 1.0
        for n in range(1, c + 1):
            b = a * b / (n + a * b)
        return b / (1 - self.utilisation * (1 - b))

    @property
    def wait_mean_s(self) -> float:
        if self.offered_load >= self.c:
            return math.inf
        return self.wait_probability / (self.c * self.service_rate - self.arrival_rate)

    def wait_exceeds(self, t_s: float) -> float:
        """P(wait > t) = C * exp(-(c mu - lambda) t)."""
        if self.offered_load >= self.c:
            return 1.0
        return self.wait_probability * math.exp(-(self.c * self.service_rate - self.arrival_rate) * t_s)


@dataclass(frozen=True, slots=True)
class MMcK:
    arrival_rate: float
    service_rate: float
    c: int
    k: int

    def state_probabilities(self) -> list[float]:
        a = self.arrival_rate / self.service_rate
        weights = []
        for n in range(self.k + 1):
            if n <= self.c:
                weights.append(a**n / math.factorial(n))
            else:
                weights.append(a**self.c / math.factorial(self.c) * (a / self.c) ** (n - self.c))
        total = sum(weights)
        return [w / total for w in weights]

    @property
    def blocking_probability(self) -> float:
        """PASTA: an arrival finds the system full with the chance the system is full."""
        return self.state_probabilities()[-1]

    @property
    def wait_mean_s(self) -> float:
        """Mean wait of the customers admitted (Little's law on the waiting room)."""
        p = self.state_probabilities()
        queue = sum((n - self.c) * pn for n, pn in enumerate(p) if n > self.c)
        admitted = self.arrival_rate * (1 - p[-1])
        return queue / admitted


@dataclass(frozen=True, slots=True)
class MMcKBalking:
    """M/M/c/K where an arrival finding ``n - c`` waiting joins with chance ``1 - balk_chance[n - c]`` (the last holds beyond).

    A birth-death chain: birth rate λ below c busy servers, λ(1 - b) once all are busy
    (the arrival sees the queue it would join), none when the system is full; death
    rate min(n, c)·µ.  Balking and blocking are shares of all arrivals (PASTA).
    """

    arrival_rate: float
    service_rate: float
    c: int
    k: int
    balk_chance: tuple[float, ...]

    def _join(self, n: int) -> float:
        if n < self.c:
            return 1.0
        return 1.0 - self.balk_chance[min(n - self.c, len(self.balk_chance) - 1)]

    def state_probabilities(self) -> list[float]:
        weights = [1.0]
        for n in range(1, self.k + 1):
            birth = self.arrival_rate * self._join(n - 1)
            weights.append(weights[-1] * birth / (min(n, self.c) * self.service_rate))
        total = sum(weights)
        return [w / total for w in weights]

    @property
    def balked_share(self) -> float:
        p = self.state_probabilities()
        return sum(p[n] * (1.0 - self._join(n)) for n in range(self.c, self.k))

    @property
    def blocked_share(self) -> float:
        return self.state_probabilities()[-1]

    @property
    def wait_mean_s(self) -> float:
        """Mean wait of those who joined (Little's law on the waiting room)."""
        p = self.state_probabilities()
        queue = sum((n - self.c) * pn for n, pn in enumerate(p) if n > self.c)
        joined = self.arrival_rate * sum(p[n] * self._join(n) for n in range(self.k))
        return queue / joined


@dataclass(frozen=True, slots=True)
class MG1:
    """One server, Poisson arrivals, any service distribution: Pollaczek-Khinchine's mean wait from its first two moments."""

    arrival_rate: float
    service_mean_s: float
    service_second_moment_s2: float

    @property
    def utilisation(self) -> float:
        return self.arrival_rate * self.service_mean_s

    @property
    def wait_mean_s(self) -> float:
        rho = self.utilisation
        return math.inf if rho >= 1 else self.arrival_rate * self.service_second_moment_s2 / (2 * (1 - rho))

    @property
    def wait_probability(self) -> float:
        """An arrival waits when the server is busy, which (Poisson arrivals see time averages) is rho of the time."""
        return min(1.0, self.utilisation)
