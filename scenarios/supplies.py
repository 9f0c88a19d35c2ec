"""How much of each supply the coming weeks will take, from the planner's simulation of the station.

The station's own scenario (its demand, its weather profile, its weekday pattern) is run from
the first day of the forecast for as many days as asked: each use a device starts, times the
item's ``per_use``, is consumption on that day of the station's calendar. So a forecast from a
heat-wave scenario draws more water, one starting on a Saturday has the weekend's pattern, and
a scenario's calendar days (holidays as its weekday factors make them) are in it. The days'
means come with 95 % intervals over the replications (``scenarios.statistics.estimate``),
and with the stock on the shelves now, the day the reorder point is likely reached and the
day the shelf is likely empty.

Items no device uses (first-aid kits, umbrellas on loan) are not forecast from the simulation:
their use is by hand, and the report says so rather than print a reassuring nought.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from scenarios.model import run_replication
from scenarios.schema import Scenario, Supply
from scenarios.statistics import Estimate, estimate
from twin.feed import Change

if TYPE_CHECKING:
    from scenarios.page import Page

MOST_DAYS = 91
"""A quarter: beyond it a forecast from one scenario's weather says more about the scenario than about the weeks."""


class UseCounter:
    """Taps one replication's feed: uses started, by device and by day from the run's start."""

    names = ("service_started",)

    def __init__(self, devices: set[str], days: int) -> None:
        self.by_device: dict[str, list[int]] = {device: [0] * days for device in devices}
        self._days = days

    def __call__(self, change: Change) -> None:
        counts = self.by_device.get(change.entity_id)
        day = int(change.t // 86400)
        if counts is not None and 0 <= day < self._days:
            counts[day] += 1


@dataclass(frozen=True)
class ItemForecast:
    item: str
    label: str
    unit: str
    daily: list[Estimate]
    """Each day's consumption, from the forecast's first day."""
    used_by: list[Estimate]
    """What will have been used by the end of each day (the interval of the sum, not a sum of the days' intervals)."""
    week: Estimate | None
    """The first seven days (or all, if fewer)."""
    total: Estimate | None
    stock: int | None
    """What the shelves hold now, in all (None: never counted)."""
    reorder_at: int
    reorder_by: date | None
    """The first day the mean consumption brings the stock to its reorder point (None: not within the forecast)."""
    empty_by: date | None
    """The first day the mean consumption empties it; the early edge of its interval is ``empty_by_early``."""
    empty_by_early: date | None

    @property
    def forecast(self) -> bool:
        """Whether a device's uses drive it (else its use is by hand, not simulated)."""
        return self.total is not None


@dataclass(frozen=True)
class Forecast:
    scenario: str
    first: date
    days: int
    replications: int
    items: list[ItemForecast]


def forecast(
    scenario: Scenario,
    supplies: tuple[Supply, ...],
    first: date,
    days: int,
    replications: int,
    stock: Mapping[str, int | None],
    progress: Callable[[int], None] | None = None,
) -> Forecast:
    """Run ``scenario`` from ``first`` for ``days`` days, ``replications`` times, and read each item's consumption off
    the devices' uses; ``stock``: each item's total on the shelves now (None: not counted)."""
    if not 1 <= days <= MOST_DAYS:
        raise ValueError(f"days: from 1 to {MOST_DAYS}, not {days}")
    run = dataclasses.replace(scenario, start=datetime.combine(first, time()), horizon_s=days * 86400.0, warmup_s=0.0)
    devices = {device for supply in supplies for device, _ in supply.per_use}
    counters: list[UseCounter] = []
    for replication in range(replications):
        counter = UseCounter(devices, days)
        run_replication(run, replication, [counter])
        counters.append(counter)
        if progress is not None:
            progress(replication + 1)
    items = []
    for supply in supplies:
        held = stock.get(supply.id)
        if not supply.per_use:
            items.append(ItemForecast(supply.id, supply.label, supply.unit, [], [], None, None, held, supply.reorder_at, None, None, None))
            continue
        per_run = [
            [sum(counter.by_device[device][day] * per for device, per in supply.per_use) for day in range(days)] for counter in counters
        ]
        daily = [_estimate([float(run_days[day]) for run_days in per_run]) for day in range(days)]
        used_by = [_estimate([float(sum(run_days[: day + 1])) for run_days in per_run]) for day in range(days)]
        week = used_by[min(7, days) - 1]
        reorder_by = _day_reaching(first, [d["mean"] for d in used_by], held, supply.reorder_at) if held is not None else None
        empty_by = _day_reaching(first, [d["mean"] for d in used_by], held, 0) if held is not None else None
        early = _day_reaching(first, [d["ci_high"] for d in used_by], held, 0) if held is not None else None
        items.append(ItemForecast(supply.id, supply.label, supply.unit, daily, used_by, week, used_by[-1], held, supply.reorder_at,
                                  reorder_by, empty_by, early))  # fmt: skip
    return Forecast(scenario.name, first, days, replications, items)


def _estimate(values: list[float]) -> Estimate:
    found = estimate(values, within=(0.0, None))
    return found if found is not None else {"mean": 0.0, "ci_low": 0.0, "ci_high": 0.0}


def _day_reaching(first: date, used_by: list[float], held: int, level: int) -> date | None:
    """The first day by whose end ``held`` less what was used by then is at or below ``level``: already there, the first
    day; never within the days, None."""
    if held <= level:
        return first
    return next((first + timedelta(days=day) for day, used in enumerate(used_by) if held - used <= level), None)


def page(result: Forecast, station: str, lang: str) -> Page:
    """The forecast as a report page: a table of the weeks ahead and, per item, its stock falling day by day."""
    from scenarios.i18n import in_language, t
    from scenarios.page import Cell, Chart, Note, Page, Row, Section, Table

    def label(item: ItemForecast) -> str:
        return in_language(item.label, lang)

    def shown(day: date | None) -> str:
        return f"{day:%Y-%m-%d}" if day is not None else "—"

    def span(low: float, high: float) -> str:
        return f"{low:,.0f}–{high:,.0f}"

    week = min(7, result.days)
    rows = []
    for item in result.items:
        if not item.forecast:
            rows.append(Row(Cell(label(item)), (Cell(t("supplies.by_hand", lang), wide=True),)))
            continue
        assert item.total is not None and item.week is not None
        rows.append(Row(Cell(label(item)), (
            Cell(f"{item.week['mean']:,.0f}", span(item.week["ci_low"], item.week["ci_high"])),
            Cell(f"{item.total['mean']:,.0f}", span(item.total["ci_low"], item.total["ci_high"])),
            Cell(str(item.stock) if item.stock is not None else t("s_not_counted", lang)),
            Cell(shown(item.reorder_by), warn="!" if item.reorder_by is not None else ""),
            Cell(shown(item.empty_by), t("supplies.early", lang).format(day=shown(item.empty_by_early)) if item.empty_by_early else ""),
        )))  # fmt: skip
    table = Table("supplies-forecast", (
        t("s_item", lang), t("supplies.first_week", lang).format(days=week), t("supplies.all_days", lang).format(days=result.days),
        t("supplies.stock_now", lang), t("supplies.reorder_by", lang), t("supplies.empty_by", lang),
    ), tuple(rows))  # fmt: skip
    days = [f"{result.first + timedelta(days=n):%Y-%m-%d}" for n in range(result.days)]
    charts = []
    for item in result.items:
        if not item.forecast or item.stock is None:
            continue
        held = float(item.stock)
        left = [round(max(held - used["mean"], 0.0), 1) for used in item.used_by]
        low = [round(max(held - used["ci_high"], 0.0), 1) for used in item.used_by]  # the most used: the least left
        high = [round(max(held - used["ci_low"], 0.0), 1) for used in item.used_by]
        charts.append(Chart(f"supplies-{item.item}", {
            "data": [
                {"type": "scatter", "mode": "lines", "x": days, "y": high, "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip"},
                {"type": "scatter", "mode": "lines", "x": days, "y": low, "fill": "tonexty", "line": {"width": 0},
                 "name": t("supplies.interval", lang)},
                {"type": "scatter", "mode": "lines", "x": days, "y": left, "name": t("supplies.left", lang)},
                {"type": "scatter", "mode": "lines", "x": days, "y": [item.reorder_at] * len(days), "line": {"dash": "dash"},
                 "name": t("supplies.reorder_line", lang)},
            ],
            "layout": {"title": {"text": label(item)}, "yaxis": {"title": {"text": in_language(item.unit, lang)}, "rangemode": "tozero"}},
        }, height=300))  # fmt: skip
    about = t("supplies.about", lang).format(scenario=result.scenario, first=f"{result.first:%Y-%m-%d}", days=result.days,
                                             replications=result.replications)  # fmt: skip
    return Page(
        lang,
        t("supplies.title", lang).format(station=station, first=f"{result.first:%Y-%m-%d}"),
        (Section("forecast", t("supplies.sec_forecast", lang), (Note(about), table)),
         Section("stock", t("supplies.sec_stock", lang), tuple(charts) or (Note(t("supplies.nothing_counted", lang)),))),
    )  # fmt: skip
