"""KPIs of one replication, read from the twin's change feed and nothing else.

Counts and waits use only what happens inside the measurement window (after the
warm-up); time averages integrate over the window.  Series for the report (queue over
time, occupancy by hour, cabinet charge) cover the whole run so the warm-up shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twin.clock import Clock
from twin.entity import Twin
from twin.feed import STATE, Change

SERIES_BUCKET_S = 600.0
"""Resolution of the over-time series: 10 minutes."""
RESOURCE_KPIS = (
    "wait_mean_s", "wait_p95_s", "wait_probability", "wait_over_180s_share", "utilisation", "queue_mean",
    "served", "balked", "blocked", "reneged", "balked_share", "blocked_share", "reneged_share",
)  # fmt: skip
GROUP_KPIS = ("visits", "station_visits", "time_in_station_mean_s", "unmet_needs", "unmet_per_visit")
STATION_KPIS = ("visits", "outside_visits", "peak_occupancy", "mean_occupancy", "energy_kwh")
WAIT_TARGET_S = 180.0
"""The planners' service level (shared/MISSION.md): the 95th-percentile wait under 3 minutes."""


class _TimeSeries:
    """Time-weighted mean of a step function, per bucket, plus its integral over a window."""

    __slots__ = ("areas", "bucket_s", "last_t", "peak", "value", "window_area", "window_from")

    def __init__(self, horizon_s: float, bucket_s: float, window_from: float, value: float = 0.0) -> None:
        self.bucket_s = bucket_s
        self.areas = [0.0] * max(1, math.ceil(horizon_s / bucket_s))
        self.value = value
        self.last_t = 0.0
        self.window_from = window_from
        self.window_area = 0.0
        self.peak = value if window_from <= 0 else 0.0

    def set(self, t: float, value: float) -> None:
        self.advance(t)
        self.value = value
        if t >= self.window_from and value > self.peak:
            self.peak = value

    def advance(self, t: float) -> None:
        t0, value = self.last_t, self.value
        if t <= t0:
            return
        self.last_t = t
        if t0 < self.window_from <= t and value > self.peak:
            self.peak = value  # the level the window opens on counts, even if it never changes
        if value == 0:
            return
        if t > self.window_from:
            self.window_area += value * (t - max(t0, self.window_from))
        bucket_s, areas = self.bucket_s, self.areas
        last = len(areas) - 1
        while t0 < t:
            index = min(int(t0 // bucket_s), last)
            end = min(t, (index + 1) * bucket_s) if index < last else t
            areas[index] += value * (end - t0)
            t0 = end

    def means(self) -> list[float]:
        return [a / self.bucket_s for a in self.areas]


@dataclass(slots=True)
class _Resource:
    kind: str
    units: int
    busy: _TimeSeries
    queue: _TimeSeries
    waits: list[float] = field(default_factory=list)
    wait_hour_sum: list[float] = field(default_factory=lambda: [0.0] * 24)
    wait_hour_n: list[int] = field(default_factory=lambda: [0] * 24)
    refused: dict[str, int] = field(default_factory=lambda: {"balked": 0, "blocked": 0, "reneged": 0})


@dataclass(slots=True)
class _Group:
    unmet: dict[str, int]
    visits: int = 0
    station_visits: int = 0
    """Visits through the door; the rest stay outside (a battery swap)."""
    ended_inside: int = 0
    time_in_station_s: float = 0.0


@dataclass(frozen=True)
class ReplicationResult:
    replication: int
    seed: int
    resources: dict[str, dict[str, float]]
    groups: dict[str, dict[str, float]]
    station: dict[str, float]
    series: dict[str, Any]


class KpiCollector:
    """Subscribe it to the twin's feed with ``subscribe_to``; call ``result`` when the run ends."""

    def __init__(
        self,
        clock: Clock,
        horizon_s: float,
        warmup_s: float,
        resources: dict[str, tuple[str, int]],
        groups: dict[str, list[str]],
        door: str | None,
        battery_cabinets: list[str],
        energy_meters: list[str],
    ) -> None:
        self.clock = clock
        self.horizon_s = horizon_s
        self.warmup_s = warmup_s
        self._resources = {
            rid: _Resource(
                kind, units, _TimeSeries(horizon_s, SERIES_BUCKET_S, warmup_s), _TimeSeries(horizon_s, SERIES_BUCKET_S, warmup_s)
            )
            for rid, (kind, units) in resources.items()
        }
        self._groups = {g: _Group(dict.fromkeys(needs, 0)) for g, needs in groups.items()}
        self._door = door
        self._occupancy = _TimeSeries(horizon_s, 3600.0, warmup_s)
        self._cabinets = {
            c: (_TimeSeries(horizon_s, SERIES_BUCKET_S, 0.0), _TimeSeries(horizon_s, SERIES_BUCKET_S, 0.0)) for c in battery_cabinets
        }
        self._energy = {m: [0.0, 0.0] for m in energy_meters}
        """meter -> [reading at the end of the warm-up, latest reading]"""

    def subscribe_to(self, twin: Twin) -> None:
        """Hear only the changes KPIs are made of, each straight at its handler."""
        for name, handler in (
            (STATE, self._on_state),
            ("service_started", self._on_started),
            ("request_refused", self._on_refused),
            ("visit_started", self._on_visit_started),
            ("visit_ended", self._on_visit_ended),
            ("need_unmet", self._on_unmet),
        ):
            twin.subscribe(handler, names=[name])

    def _on_state(self, change: Change) -> None:
        data, t = change.data, change.t
        resource = self._resources.get(change.entity_id)
        if resource is not None:
            if "busy" in data:
                resource.busy.set(t, data["busy"])
            if "queue" in data:
                resource.queue.set(t, data["queue"])
        if change.entity_id == self._door and "occupancy" in data:
            self._occupancy.set(t, data["occupancy"])
        cabinet = self._cabinets.get(change.entity_id)
        if cabinet is not None:
            if "charged" in data:
                cabinet[0].set(t, data["charged"])
            if "mean_soc" in data:
                cabinet[1].set(t, data["mean_soc"])
        meter = self._energy.get(change.entity_id)
        if meter is not None and "energy_kwh" in data:
            if t <= self.warmup_s:
                meter[0] = data["energy_kwh"]
            meter[1] = data["energy_kwh"]

    def _on_started(self, change: Change) -> None:
        if change.t < self.warmup_s:
            return
        resource = self._resources[change.entity_id]
        wait = change.data["wait_s"]
        resource.waits.append(wait)
        hour = int(self.clock.hour_of_day(change.t))
        resource.wait_hour_sum[hour] += wait
        resource.wait_hour_n[hour] += 1

    def _on_refused(self, change: Change) -> None:
        if change.t >= self.warmup_s:
            self._resources[change.entity_id].refused[change.data["reason"]] += 1

    def _on_visit_started(self, change: Change) -> None:
        if change.t >= self.warmup_s:
            group = self._groups[change.data["group"]]
            group.visits += 1
            if change.data["enters"]:
                group.station_visits += 1

    def _on_visit_ended(self, change: Change) -> None:
        if change.t >= self.warmup_s and change.data["enters"]:
            group = self._groups[change.data["group"]]
            group.ended_inside += 1
            group.time_in_station_s += change.data["time_s"]

    def _on_unmet(self, change: Change) -> None:
        if change.t >= self.warmup_s:
            self._groups[change.data["group"]].unmet[change.data["need"]] += 1

    def result(self, replication: int, seed: int) -> ReplicationResult:
        end, window = self.horizon_s, self.horizon_s - self.warmup_s
        resources: dict[str, dict[str, float]] = {}
        series: dict[str, Any] = {"bucket_s": SERIES_BUCKET_S, "resources": {}, "battery_cabinets": {}}
        for rid, r in self._resources.items():
            r.busy.advance(end)
            r.queue.advance(end)
            waits = np.asarray(r.waits)
            served = len(r.waits)
            requests = served + sum(r.refused.values())
            resources[rid] = {
                "wait_mean_s": float(waits.mean()) if served else 0.0,
                "wait_p95_s": float(np.percentile(waits, 95)) if served else 0.0,
                "wait_probability": float((waits > 1e-9).mean()) if served else 0.0,
                "wait_over_180s_share": float((waits > WAIT_TARGET_S).mean()) if served else 0.0,
                "utilisation": r.busy.window_area / (window * r.units),
                "queue_mean": r.queue.window_area / window,
                "served": float(served),
                **{k: float(v) for k, v in r.refused.items()},
                **{f"{k}_share": (v / requests if requests else 0.0) for k, v in r.refused.items()},
            }
            series["resources"][rid] = {
                "wait_by_hour_s": [s / n if n else None for s, n in zip(r.wait_hour_sum, r.wait_hour_n, strict=True)],
                "queue": r.queue.means(),
                "busy": r.busy.means(),
            }
        groups = {}
        unmet_by_group = {}
        for name, g in self._groups.items():
            unmet = sum(g.unmet.values())
            groups[name] = {
                "visits": float(g.visits),
                "station_visits": float(g.station_visits),
                "time_in_station_mean_s": g.time_in_station_s / g.ended_inside if g.ended_inside else 0.0,
                "unmet_needs": float(unmet),
                "unmet_per_visit": unmet / g.visits if g.visits else 0.0,
            }
            unmet_by_group[name] = dict(g.unmet)
        series["unmet_by_group"] = unmet_by_group
        self._occupancy.advance(end)
        hourly = self._occupancy.means()
        series["occupancy_hourly"] = hourly
        series["occupancy_weekday_hour"] = self._weekday_hour(hourly)
        for cid, (charged, soc) in self._cabinets.items():
            charged.advance(end)
            soc.advance(end)
            series["battery_cabinets"][cid] = {"charged": charged.means(), "mean_soc": soc.means()}
        visits = sum(g.visits for g in self._groups.values())
        station_visits = sum(g.station_visits for g in self._groups.values())
        station = {
            "visits": float(station_visits),
            "outside_visits": float(visits - station_visits),
            "peak_occupancy": float(self._occupancy.peak),
            "mean_occupancy": self._occupancy.window_area / window,
            "energy_kwh": sum(latest - at_warmup for at_warmup, latest in self._energy.values()),
        }
        return ReplicationResult(replication, seed, resources, groups, station, series)

    def _weekday_hour(self, hourly: list[float]) -> list[list[float | None]]:
        """Mean occupancy for each (weekday, hour of day) over the window; None where never seen."""
        sums = [[0.0] * 24 for _ in range(7)]
        counts = [[0] * 24 for _ in range(7)]
        first = math.ceil(self.warmup_s / 3600.0)
        for index in range(first, len(hourly)):
            t = index * 3600.0
            weekday, hour = self.clock.weekday(t), int(self.clock.hour_of_day(t))
            sums[weekday][hour] += hourly[index]
            counts[weekday][hour] += 1
        return [[s / n if n else None for s, n in zip(sr, cr, strict=True)] for sr, cr in zip(sums, counts, strict=True)]
