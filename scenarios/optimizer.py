"""The cheapest station that meets every service level, with stated confidence.

Candidates are the integer grid of the varied capacities, cheapest first (purchase
plus ``months`` of running cost, unit costs from the scenario).  Each is simulated
in batches of replications on common random numbers and judged constraint by
constraint with a one-sided bound of the reports' interval (Bonferroni across constraints): met
when the bound clears the limit, missed when the opposite bound does, and given
another batch only while it is undecided, so replications go where a decision is
close.  More capacity never makes a queue worse, so a candidate that misses rules
out every candidate with no more of anything (monotone pruning).  The answer is the
cheapest candidate judged to meet everything once every cheaper one has been judged
to miss (or could not be decided within ``max_replications``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from scenarios.errors import ScenarioValueError
from scenarios.kpi import ReplicationResult
from scenarios.parallel import Job, JobFailure
from scenarios.results import cost
from scenarios.schema import Scenario, load_scenario
from scenarios.service_levels import Constraint, Judgement, judge, parse_constraint
from scenarios.statistics import estimate

_RANGE = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*=\s*(\d+)\s*\.\.\s*(\d+)\s*$")


@dataclass(frozen=True)
class Range:
    key: str
    low: int
    high: int


def parse_range(text: str) -> Range:
    match = _RANGE.match(text)
    if not match:
        raise ScenarioValueError(f"--vary {text!r}: write KEY=LO..HI with whole numbers, e.g. devices.microwave.units=1..4")
    key, low, high = match.group(1), int(match.group(2)), int(match.group(3))
    if low > high:
        raise ScenarioValueError(f"--vary {text!r}: LO must not exceed HI")
    return Range(key, low, high)


class Verdict(StrEnum):
    OPEN = "open"
    MEETS = "meets"
    MISSES = "misses"
    UNDECIDED = "undecided"
    """Not decided within max_replications: treated as not meeting."""
    RULED_OUT = "ruled out"
    """Has no more of anything than a candidate that misses."""


@dataclass
class Candidate:
    values: tuple[int, ...]
    scenario: Scenario
    cost_cny: float
    samples: dict[int, list[float | None]] = field(default_factory=dict)
    """replication -> the constraint KPIs, in constraint order"""
    verdict: Verdict = Verdict.OPEN

    @property
    def replications(self) -> int:
        return len(self.samples)

    def name(self, ranges: Sequence[Range]) -> str:
        return ",".join(f"{r.key}={v}" for r, v in zip(ranges, self.values, strict=True))


@dataclass(frozen=True)
class Bound:
    mean: float
    low: float
    high: float


def bounds(values: Sequence[float | None], confidence: float) -> Bound | None:
    """One-sided bounds at ``confidence`` each: the two ends of the reports' interval at ``2 confidence - 1``.

    The same interval as every report's (skewness-corrected, ``statistics.estimate``), so
    the optimiser judges a wait as the report shows it.  None when a replication could not
    measure the KPI (a wait where nobody was served)."""
    if any(v is None for v in values):
        return None
    interval = estimate(values, confidence=2 * confidence - 1)
    assert interval is not None  # values are all present
    return Bound(interval["mean"], interval["ci_low"], interval["ci_high"])


@dataclass
class Optimiser:
    source: Path
    base_overrides: list[str]
    ranges: list[Range]
    constraint_texts: list[str]
    months: float = 12.0
    confidence: float = 0.95
    batch: int = 5
    max_replications: int = 40
    budget: int = 1000
    """Replications in all, across candidates."""
    candidates: list[Candidate] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    spent: int = 0

    def __post_init__(self) -> None:
        base = load_scenario(self.source, self.base_overrides)
        self.constraints = [parse_constraint(text, base) for text in self.constraint_texts]
        if not self.constraints:
            raise ScenarioValueError("optimize needs at least one --constraint")
        for values in itertools.product(*(range(r.low, r.high + 1) for r in self.ranges)):
            overrides = [*self.base_overrides, *(f"{r.key}={v}" for r, v in zip(self.ranges, values, strict=True))]
            scenario = load_scenario(self.source, overrides)
            price = cost(scenario)
            self.candidates.append(Candidate(values, scenario, price["capex_cny"] + self.months * price["monthly_cny"]))
        self.candidates.sort(key=lambda c: (c.cost_cny, c.values))

    @property
    def per_constraint_confidence(self) -> float:
        return 1 - (1 - self.confidence) / len(self.constraints)

    def estimates(self, candidate: Candidate) -> list[Bound | None]:
        level = self.per_constraint_confidence
        return [bounds([s[i] for s in candidate.samples.values()], level) for i in range(len(self.constraints))]

    def judge(self, candidate: Candidate) -> None:
        if candidate.replications < 2:
            return
        met = True
        for constraint, bound in zip(self.constraints, self.estimates(candidate), strict=True):
            if bound is None:  # not measurable, so not shown to be met: a station that served nobody
                candidate.verdict = Verdict.MISSES
                self._rule_out_below(candidate)
                return
            judgement = judge(constraint, bound.low, bound.high)
            if judgement is Judgement.MISSED:
                candidate.verdict = Verdict.MISSES
                self._rule_out_below(candidate)
                return
            if judgement is Judgement.UNKNOWN:
                met = False
        if met:
            candidate.verdict = Verdict.MEETS
        elif candidate.replications >= self.max_replications:
            candidate.verdict = Verdict.UNDECIDED

    def _rule_out_below(self, missed: Candidate) -> None:
        for other in self.candidates:
            if other.verdict is Verdict.OPEN and all(o <= m for o, m in zip(other.values, missed.values, strict=True)):
                other.verdict = Verdict.RULED_OUT

    def answer(self) -> Candidate | None:
        """The cheapest candidate that meets everything, once no cheaper one is still open."""
        for candidate in self.candidates:
            if candidate.verdict is Verdict.MEETS:
                return candidate
            if candidate.verdict is Verdict.OPEN:
                return None
        return None

    def next_round(self, slots: int) -> list[Job]:
        """Batches for the cheapest open candidates until the round has ``slots`` jobs (cores to keep busy)."""
        jobs: list[Job] = []
        for index, candidate in enumerate(self.candidates):
            if candidate.verdict is not Verdict.OPEN:
                continue
            if len(jobs) >= slots or self.spent + len(jobs) >= self.budget:
                break
            first = candidate.replications
            count = min(self.batch if first else max(self.batch, 2), self.max_replications - first, self.budget - self.spent - len(jobs))
            jobs += [Job(str(index), r, candidate.scenario) for r in range(first, first + count)]
        return jobs

    def add(self, job: Job, result: ReplicationResult) -> None:
        candidate = self.candidates[int(job.variant)]
        candidate.samples[job.replication] = [c.value(result) for c in self.constraints]

    def run(
        self, execute: Callable[[list[Job], Callable[[Job, ReplicationResult], None], Callable[[JobFailure], None]], None], slots: int
    ) -> None:
        """Rounds until the answer stands or the budget is spent; ``execute`` runs a round's jobs."""
        failures: list[JobFailure] = []
        while self.answer() is None and self.spent < self.budget:
            jobs = self.next_round(slots)
            if not jobs:
                break
            self.spent += len(jobs)
            execute(jobs, self.add, failures.append)
            if failures:
                failure = failures[0]
                name = self.candidates[int(failure.variant)].name(self.ranges)
                raise ScenarioValueError(f"candidate {name} replication {failure.replication} failed: {failure.error}")
            for index in {int(job.variant) for job in jobs}:
                if self.candidates[index].verdict is Verdict.OPEN:
                    self.judge(self.candidates[index])

    def report(self) -> dict[str, Any]:
        answer = self.answer()
        evaluated = [c for c in self.candidates if c.replications]

        def describe(c: Candidate) -> dict[str, Any]:
            return {
                "values": {r.key: v for r, v in zip(self.ranges, c.values, strict=True)},
                "cost_cny": c.cost_cny,
                "verdict": c.verdict.value,
                "replications": c.replications,
                "constraints": [
                    {"constraint": k.text, "mean": b.mean if b else None, "low": b.low if b else None, "high": b.high if b else None}
                    for k, b in zip(self.constraints, self.estimates(c), strict=True)
                ]
                if c.replications
                else [],
            }

        runners_up = [c for c in evaluated if c is not answer]
        runners_up.sort(key=lambda c: (c.verdict is not Verdict.MEETS, abs(c.cost_cny - (answer.cost_cny if answer else 0))))
        return {
            "schema": "yxy.optimisation/1",
            "scenario": str(self.source),
            "cost": f"capex + {self.months:g} months of running cost (CNY)",
            "confidence": self.confidence,
            "per_constraint_confidence": self.per_constraint_confidence,
            "replications_spent": self.spent,
            "budget": self.budget,
            "answer": describe(answer) if answer else None,
            "runners_up": [describe(c) for c in runners_up[:5]],
            "candidates": len(self.candidates),
            "verdicts": {v.value: sum(1 for c in self.candidates if c.verdict is v) for v in Verdict},
        }
