"""Service levels: what a station must achieve (the 95th-percentile wait under 3 minutes), and whether a run shows it.

One concept for the optimiser (which candidate meets every level) and for the
reports' verdict (does this station meet them, which device fails first, at what
cost).  A level is ``KPI[ID] <= NUMBER`` (or ``>=``; a station KPI takes no ID), as
written in a scenario's ``service_levels`` or on the optimiser's command line.  A
scenario that names none is held to the planners' own level (shared/MISSION.md): the
95th-percentile wait of every device that serves workers at most 180 s.

A level is judged on an interval, never on a mean alone: met when the whole interval
is on the right side of the limit, missed when the whole interval is on the wrong
side, and not yet known when it straddles the limit (more replications decide).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from scenarios.errors import ScenarioValueError
from scenarios.kpi import GROUP_KPIS, RESOURCE_KPIS, STATION_KPIS, WAIT_TARGET_S, ReplicationResult

if TYPE_CHECKING:
    from scenarios.schema import Scenario

_LEVEL = re.compile(r"^\s*([a-z0-9_]+)\s*(?:\[\s*([A-Za-z0-9_-]+)\s*\])?\s*(<=|>=)\s*([-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*$")


@dataclass(frozen=True)
class Constraint:
    """One service level: ``kpi`` of ``target`` (a device, a group, or the station when None) ``op`` ``limit``."""

    text: str
    kpi: str
    section: str
    """resources, groups or station"""
    target: str | None
    op: str
    limit: float

    def value(self, result: ReplicationResult) -> float | None:
        if self.section == "station":
            return result.station[self.kpi]
        table = result.resources if self.section == "resources" else result.groups
        return table[self.target or ""][self.kpi]

    def estimate_in(self, document: Mapping[str, Any]) -> Mapping[str, float] | None:
        """This level's KPI estimate in a result document (None: not measured in any replication)."""
        if self.section == "station":
            return document["station"].get(self.kpi)  # type: ignore[no-any-return]
        return document[self.section].get(self.target or "", {}).get(self.kpi)  # type: ignore[no-any-return]

    def excess(self, value: float) -> float:
        """How far ``value`` is past the limit, relative to it (> 0: past it): which level is failed worst."""
        scale = max(abs(self.limit), 1e-9)
        return (value - self.limit) / scale if self.op == "<=" else (self.limit - value) / scale


class Judgement(StrEnum):
    MET = "met"
    MISSED = "missed"
    UNKNOWN = "unknown"
    """The interval straddles the limit: more replications decide."""


def judge(constraint: Constraint, low: float, high: float) -> Judgement:
    """Met when the worse end of the interval is within the limit, missed when even the better end is not."""
    worse, better = (high, low) if constraint.op == "<=" else (low, high)
    if constraint.excess(better) > 0:
        return Judgement.MISSED
    if constraint.excess(worse) > 0:
        return Judgement.UNKNOWN
    return Judgement.MET


def parse_constraint(text: str, scenario: Scenario, where: str = "--constraint") -> Constraint:
    """``where`` names what is being read in the error (the option, or the scenario file's key)."""
    match = _LEVEL.match(text)
    if not match:
        raise ScenarioValueError(
            f"{where} {text!r}: write KPI[ID] <= NUMBER (or >=), e.g. 'wait_p95_s[microwave] <= 180' or 'peak_occupancy <= 20'"
        )
    kpi, target, op, limit = match.group(1), match.group(2), match.group(3), float(match.group(4))
    devices = {d.id for d in scenario.station.devices}
    groups = {g.name for g in scenario.population.groups}
    if target is None:
        if kpi not in STATION_KPIS:
            raise ScenarioValueError(f"{where} {text!r}: station KPIs are {', '.join(STATION_KPIS)}; a device's or group's needs [ID]")
        return Constraint(text, kpi, "station", None, op, limit)
    if target in devices:
        if kpi not in RESOURCE_KPIS:
            raise ScenarioValueError(f"{where} {text!r}: a device's KPIs are {', '.join(RESOURCE_KPIS)}")
        return Constraint(text, kpi, "resources", target, op, limit)
    if target in groups:
        if kpi not in GROUP_KPIS:
            raise ScenarioValueError(f"{where} {text!r}: a group's KPIs are {', '.join(GROUP_KPIS)}")
        return Constraint(text, kpi, "groups", target, op, limit)
    raise ScenarioValueError(f"{where} {text!r}: no device or group {target!r}; devices: {', '.join(sorted(devices))}")


def station_levels(scenario: Scenario, serving: Iterable[str]) -> list[Constraint]:
    """The scenario's service levels, or the planners' default on each device in ``serving`` (those serving workers)."""
    if scenario.service_levels:
        return [parse_constraint(text, scenario, f"{scenario.source}: scenario.service_levels:") for text in scenario.service_levels]
    return [Constraint(f"wait_p95_s[{d}] <= {WAIT_TARGET_S:g}", "wait_p95_s", "resources", d, "<=", WAIT_TARGET_S) for d in serving]


def verdict(document: Mapping[str, Any], levels: Sequence[Constraint]) -> dict[str, Any]:
    """Each level judged on the document's interval, the level failed worst first, and the station's cost.

    ``overall`` is missed when any level is missed, unknown when none is but some are
    not yet known, met when all are.  ``first`` is the level that fails first as demand
    grows: the missed or unknown one whose mean is furthest past (or nearest to) its
    limit; None when all are met.  A level whose KPI was never measured is unknown.
    """
    checks = []
    for level in levels:
        estimate = level.estimate_in(document)
        if estimate is None:
            judgement, mean, low, high = Judgement.UNKNOWN, None, None, None
        else:
            mean, low, high = estimate["mean"], estimate["ci_low"], estimate["ci_high"]
            judgement = judge(level, low, high)
        checks.append(
            {
                "level": level.text,
                "kpi": level.kpi,
                "section": level.section,
                "target": level.target,
                "op": level.op,
                "limit": level.limit,
                "mean": mean,
                "ci_low": low,
                "ci_high": high,
                "judgement": judgement.value,
                "excess": level.excess(mean) if mean is not None else None,
            }
        )
    judgements = {c["judgement"] for c in checks}
    overall = next((j for j in (Judgement.MISSED, Judgement.UNKNOWN) if j in judgements), Judgement.MET)
    failing = [c for c in checks if c["judgement"] != Judgement.MET]

    def worst_first(check: dict[str, Any]) -> tuple[bool, float]:
        excess = check["excess"]
        return check["judgement"] != Judgement.MISSED, -(excess if excess is not None else float("inf"))

    failing.sort(key=worst_first)
    return {
        "overall": overall.value,
        "checks": checks,
        "first": failing[0] if failing else None,
        "capex_cny": document["cost"]["capex_cny"],
        "monthly_cny": document["cost"]["monthly_cny"],
    }
