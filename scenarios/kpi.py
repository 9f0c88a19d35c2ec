"""KPIs of one replication, read from the twin's change feed and nothing else.

Counts and waits use only what happens inside the measurement window (after the
warm-up); time averages integrate over the window.  Over-time series (queues,
occupancy, cabinet charge) cover the whole run so the warm-up shows; by-hour-of-day
waits and unmet needs cover the window.  A KPI that cannot be measured (the wait of
a device that served nobody) is ``None``, never a reassuring zero.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from typing import Any

from actors.door import GAVE_UP
from actors.door_access import ADMITTED, Verdict
from actors.door_pass import Refusal
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
DOOR_REASONS = (*(v.value for v in Verdict if v not in ADMITTED), *(r.value for r in Refusal), GAVE_UP)
"""Every reason a door that checks may turn someone away: each a count in every replication, zero or not."""
DOOR_KPIS = (
    "door_admitted", "door_denied", "door_wait_mean_s", "door_wait_p95_s", "door_waited_share",
    "door_visitors_at_night", "door_visitors_approved", *(f"door_denied_{reason}" for reason in DOOR_REASONS),
)  # fmt: skip
"""A door that checks: who came in, who was turned away and why, how long people waited at a full door."""
CAMERA_RECORD = "camera_judged"
"""What a planner's camera records of each incident it judged and each false alarm (``scenarios.cameras``): behaviour,
whether it was a true incident, whether an alarm was raised, the alert delay."""
CAMERA_COUNTS = (
    "camera_alarms", "camera_false_alarms", "camera_missed", "camera_alarms_fall", "camera_alarms_smoking", "camera_alarms_dispute",
)  # fmt: skip
WAIT_TARGET_S = 180.0
"""The planners' service level (shared/MISSION.md): the 95th-percentile wait under 3 minutes."""

KPI = float | None


class _TimeSeries:
    """A step function: its mean per bucket, its integral and peak over the window.

    During the run it only records change points (a list append: this is on the hot
    path of every queue change); ``finish`` integrates them with numpy.  Buckets are
    aligned to the clock (``offset_s`` is how far into a bucket the run starts), so
    hourly buckets are clock hours; a partial first or last bucket is averaged over
    the time it covers.
    """

    __slots__ = ("_means", "bucket_s", "horizon_s", "offset_s", "peak", "times", "values", "window_area", "window_from")

    def __init__(self, horizon_s: float, bucket_s: float, window_from: float, offset_s: float = 0.0) -> None:
        self.bucket_s = bucket_s
        self.offset_s = offset_s
        self.horizon_s = horizon_s
        self.window_from = window_from
        # Doubles, not lists of float objects: a week at 90,000 workers records millions of change points.
        self.times = array("d", (0.0,))
        self.values = array("d", (0.0,))
        self.window_area = 0.0
        self.peak = 0.0
        self._means: list[float] = []

    def set(self, t: float, value: float) -> None:
        self.times.append(t)
        self.values.append(value)

    def finish(self) -> None:
        import numpy as np

        t = np.append(np.frombuffer(self.times), self.horizon_s)
        v = np.frombuffer(self.values)
        cumulative = np.concatenate(([0.0], np.cumsum(v * np.diff(t))))

        def integral(x: Any) -> Any:
            """The running integral is piecewise linear, so interpolation is exact."""
            return np.interp(x, t, cumulative)

        self.window_area = float(integral(self.horizon_s) - integral(self.window_from))
        in_window = (t[1:] > self.window_from) | (t[:-1] >= self.window_from)
        self.peak = float(v[in_window].max()) if in_window.any() else 0.0
        count = max(1, math.ceil((self.horizon_s + self.offset_s) / self.bucket_s))
        edges = np.clip(np.arange(count + 1) * self.bucket_s - self.offset_s, 0.0, self.horizon_s)
        lengths = np.diff(edges)
        areas = np.diff(integral(edges))
        self._means = [float(a / n) if n > 0 else 0.0 for a, n in zip(areas, lengths, strict=True)]

    def bucket_start(self, index: int) -> float:
        """Run time at which bucket ``index`` starts (the first may start before the run)."""
        return index * self.bucket_s - self.offset_s

    def means(self) -> list[float]:
        return self._means


@dataclass(slots=True)
class _Resource:
    kind: str
    units: int
    busy: _TimeSeries
    queue: _TimeSeries
    waits: array[float] = field(default_factory=lambda: array("d"))
    wait_hour_sum: list[float] = field(default_factory=lambda: [0.0] * 24)
    wait_hour_n: list[int] = field(default_factory=lambda: [0] * 24)
    refused: dict[str, int] = field(default_factory=lambda: {"balked": 0, "blocked": 0, "reneged": 0})


@dataclass(slots=True)
class _Group:
    unmet: dict[str, int]
    visits: int = 0
    station_visits: int = 0
    """Visits that enter the station; the rest stay outside (a battery swap)."""
    ended_inside: int = 0
    time_in_station_s: float = 0.0


@dataclass(frozen=True)
class ReplicationResult:
    replication: int
    seed: int
    resources: dict[str, dict[str, KPI]]
    groups: dict[str, dict[str, KPI]]
    station: dict[str, KPI]
    series: dict[str, Any]


class KpiCollector:
    """Subscribe it to the twin's feed with ``subscribe_to``; call ``result`` when the run ends.

    Occupancy counts the visits that entered and have not left (the door reports the
    same, but a station may have no door); energy integrates every device's reported
    ``power_w`` or ``power_kw`` over the window.
    """

    def __init__(
        self,
        clock: Clock,
        horizon_s: float,
        warmup_s: float,
        resources: dict[str, tuple[str, int]],
        groups: dict[str, list[str]],
        battery_cabinets: list[str],
        door_checks: bool = False,
        cameras: bool = False,
    ) -> None:
        self.clock = clock
        self.horizon_s = horizon_s
        self.warmup_s = warmup_s

        def series(bucket_s: float = SERIES_BUCKET_S) -> _TimeSeries:
            return _TimeSeries(horizon_s, bucket_s, warmup_s, offset_s=(clock.hour_of_day(0) * 3600.0) % bucket_s)

        self._resources = {rid: _Resource(kind, units, series(), series()) for rid, (kind, units) in resources.items()}
        self._groups = {g: _Group(dict.fromkeys(needs, 0)) for g, needs in groups.items()}
        self._inside = 0
        self._occupancy = series(3600.0)
        self._cabinets = {c: (series(), series()) for c in battery_cabinets}
        self._power_kw: dict[str, _TimeSeries] = {}
        self._door: dict[str, int] | None = dict.fromkeys(("admitted", *DOOR_REASONS, *ADMITTED), 0) if door_checks else None
        self._door_waits = array("d")
        self._cameras: dict[str, float] | None = dict.fromkeys(CAMERA_COUNTS, 0.0) if cameras else None
        self._camera_delays = array("d")
        self._state_series: dict[str, list[tuple[str, _TimeSeries]]] = {}
        """entity -> (reported field, the series it drives): one look-up per state change."""
        for rid, r in self._resources.items():
            self._state_series.setdefault(rid, []).extend((("busy", r.busy), ("queue", r.queue)))
        for cid, (charged, soc) in self._cabinets.items():
            self._state_series.setdefault(cid, []).extend((("charged", charged), ("mean_soc", soc)))

    def subscribe_to(self, twin: Twin) -> None:
        """Hear only the changes KPIs are made of, each straight at its handler."""
        for name, handler in (
            (STATE, self._on_state),
            ("service_started", self._on_started),
            ("request_refused", self._on_refused),
            ("visit_started", self._on_visit_started),
            ("visit_ended", self._on_visit_ended),
            ("need_unmet", self._on_unmet),
            ("door_decided", self._on_door),
            (CAMERA_RECORD, self._on_camera),
        ):
            twin.subscribe(handler, names=[name])

    def _on_state(self, change: Change) -> None:
        data, t = change.data, change.t
        for name, series in self._state_series.get(change.entity_id, ()):
            if name in data:
                series.set(t, data[name])
        if "power_w" in data or "power_kw" in data:
            meter = self._power_kw.get(change.entity_id)
            if meter is None:
                meter = self._power_kw[change.entity_id] = _TimeSeries(self.horizon_s, self.horizon_s, self.warmup_s)
            meter.set(t, data["power_kw"] if "power_kw" in data else data["power_w"] / 1000.0)

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
        enters = change.data["enters"]
        if enters:
            self._inside += 1
            self._occupancy.set(change.t, self._inside)
        if change.t >= self.warmup_s:
            group = self._groups[change.data["group"]]
            group.visits += 1
            group.station_visits += enters

    def _on_visit_ended(self, change: Change) -> None:
        if not change.data["enters"]:
            return
        self._inside -= 1
        self._occupancy.set(change.t, self._inside)
        if change.t >= self.warmup_s:
            group = self._groups[change.data["group"]]
            group.ended_inside += 1
            group.time_in_station_s += change.data["time_s"]

    def _on_door(self, change: Change) -> None:
        if self._door is None or change.t < self.warmup_s:
            return
        data = change.data
        self._door[data["reason"]] += 1
        if data["admitted"]:
            self._door["admitted"] += 1
        if data["admitted"] or data["waited_s"] > 0:
            # Everyone the door decided on after a wait, let in or not: leaving out those who gave up at a full door
            # would make its waits look shortest exactly when it turned the most away.
            self._door_waits.append(data["waited_s"])

    def _on_unmet(self, change: Change) -> None:
        if change.t >= self.warmup_s:
            self._groups[change.data["group"]].unmet[change.data["need"]] += 1

    def result(self, replication: int, seed: int) -> ReplicationResult:
        import numpy as np  # here, not at the top: the KPI names are read by light commands (service levels)

        window = self.horizon_s - self.warmup_s
        resources: dict[str, dict[str, KPI]] = {}
        series: dict[str, Any] = {"bucket_s": SERIES_BUCKET_S, "resources": {}, "battery_cabinets": {}}
        for rid, r in self._resources.items():
            r.busy.finish()
            r.queue.finish()
            waits = np.frombuffer(r.waits)
            served = len(r.waits)
            requests = served + sum(r.refused.values())
            resources[rid] = {
                "wait_mean_s": float(waits.mean()) if served else None,
                "wait_p95_s": float(np.percentile(waits, 95)) if served else None,
                "wait_probability": float((waits > 1e-9).mean()) if served else None,
                "wait_over_180s_share": float((waits > WAIT_TARGET_S).mean()) if served else None,
                "utilisation": r.busy.window_area / (window * r.units),
                "queue_mean": r.queue.window_area / window,
                "served": float(served),
                **{k: float(v) for k, v in r.refused.items()},
                **{f"{k}_share": (v / requests if requests else None) for k, v in r.refused.items()},
            }
            series["resources"][rid] = {
                "wait_by_hour_s": [s / n if n else None for s, n in zip(r.wait_hour_sum, r.wait_hour_n, strict=True)],
                "queue": r.queue.means(),
                "busy": r.busy.means(),
            }
        groups: dict[str, dict[str, KPI]] = {}
        for name, g in self._groups.items():
            unmet = sum(g.unmet.values())
            groups[name] = {
                "visits": float(g.visits),
                "station_visits": float(g.station_visits),
                "time_in_station_mean_s": g.time_in_station_s / g.ended_inside if g.ended_inside else None,
                "unmet_needs": float(unmet),
                "unmet_per_visit": unmet / g.visits if g.visits else None,
            }
        series["unmet_by_group"] = {name: dict(g.unmet) for name, g in self._groups.items()}
        self._occupancy.finish()
        series["occupancy_hourly"] = self._occupancy.means()
        series["occupancy_weekday_hour"] = self._weekday_hour(self._occupancy)
        for cid, (charged, soc) in self._cabinets.items():
            charged.finish()
            soc.finish()
            series["battery_cabinets"][cid] = {"charged": charged.means(), "mean_soc": soc.means()}
        for meter in self._power_kw.values():
            meter.finish()
        visits = sum(g.visits for g in self._groups.values())
        station_visits = sum(g.station_visits for g in self._groups.values())
        station: dict[str, KPI] = {
            "visits": float(station_visits),
            "outside_visits": float(visits - station_visits),
            "peak_occupancy": float(self._occupancy.peak),
            "mean_occupancy": self._occupancy.window_area / window,
            "energy_kwh": sum(m.window_area for m in self._power_kw.values()) / 3600.0,
        }
        if self._door is not None:
            station |= self._door_kpis(np)
        if self._cameras is not None:
            station |= self._camera_kpis(np)
        return ReplicationResult(replication, seed, resources, groups, station, series)

    def _on_camera(self, change: Change) -> None:
        """One incident a camera judged, or one of its false alarms (``scenarios.cameras``)."""
        if change.t < self.warmup_s or self._cameras is None:
            return
        data, counts = change.data, self._cameras
        behaviour = str(data.get("behaviour"))
        if not data.get("alarm"):
            counts["camera_missed"] += 1
            return
        counts["camera_alarms"] += 1
        if f"camera_alarms_{behaviour}" in counts:
            counts[f"camera_alarms_{behaviour}"] += 1
        if data.get("true"):
            self._camera_delays.append(float(data.get("delay_s") or 0.0))
        else:
            counts["camera_false_alarms"] += 1

    def _camera_kpis(self, np: Any) -> dict[str, KPI]:
        assert self._cameras is not None
        delays, days = np.frombuffer(self._camera_delays), (self.horizon_s - self.warmup_s) / 86400.0
        true = self._cameras["camera_alarms"] - self._cameras["camera_false_alarms"]
        return {
            **self._cameras,
            "camera_alarms_per_day": self._cameras["camera_alarms"] / days if days > 0 else None,
            "camera_false_alarm_share": self._cameras["camera_false_alarms"] / self._cameras["camera_alarms"]
            if self._cameras["camera_alarms"]
            else None,
            "camera_caught_share": true / (true + self._cameras["camera_missed"]) if true + self._cameras["camera_missed"] else None,
            "camera_alert_delay_mean_s": float(delays.mean()) if len(delays) else None,
        }

    def _door_kpis(self, np: Any) -> dict[str, KPI]:
        assert self._door is not None
        door, waits = self._door, np.frombuffer(self._door_waits)
        admitted = door["admitted"]
        waited = len(self._door_waits)
        return {
            "door_admitted": float(admitted),
            "door_denied": float(sum(door[reason] for reason in DOOR_REASONS)),
            "door_wait_mean_s": float(waits.mean()) if waited else None,
            "door_wait_p95_s": float(np.percentile(waits, 95)) if waited else None,
            "door_waited_share": float((waits > 1e-9).mean()) if waited else None,
            "door_visitors_at_night": float(door[Verdict.VISITOR_AT_NIGHT]),
            "door_visitors_approved": float(door[Verdict.VISITOR_APPROVED]),
            **{f"door_denied_{reason}": float(door[reason]) for reason in DOOR_REASONS},
        }

    def _weekday_hour(self, hourly: _TimeSeries) -> list[list[float | None]]:
        """Mean occupancy for each (weekday, clock hour) in the window; None where the window has no such hour."""
        sums = [[0.0] * 24 for _ in range(7)]
        counts = [[0] * 24 for _ in range(7)]
        for index, mean in enumerate(hourly.means()):
            start = hourly.bucket_start(index)
            if start < self.warmup_s:
                continue
            weekday, hour = self.clock.weekday(start), int(self.clock.hour_of_day(start))
            sums[weekday][hour] += mean
            counts[weekday][hour] += 1
        return [[s / n if n else None for s, n in zip(sr, cr, strict=True)] for sr, cr in zip(sums, counts, strict=True)]
