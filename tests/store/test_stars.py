"""The star-rating figures (issue 14) for a simulated month of the typical station, against the same figures worked out
by hand here from the records the test wrote: the cups used each day are the simulated station's (the planner's
simulation of November), the shelf runs out before a late delivery, three device faults are injected (one longer than
the scheme allows, one still open at the month's end), a door is locked for a night, the station is stopped for a while,
forty people rate it and five complain. On SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from scenarios.schema import load_scenario
from scenarios.supplies import forecast
from store import feedback, stars, supplies
from store.db import sessions
from store.models import HistoryRow
from tests.conftest import LIBRARY

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 1, tzinfo=SHANGHAI).astimezone(UTC)
END = datetime(2026, 12, 1, tzinfo=SHANGHAI).astimezone(UTC)
SECRET = b"k" * 32


def day(n: int, hour: float) -> datetime:
    """Day ``n`` of November (1-based) at ``hour`` on the station's clock, in UTC."""
    return (datetime(2026, 11, n, tzinfo=SHANGHAI) + timedelta(hours=hour)).astimezone(UTC)


def _history(db: Session, rows: list[tuple[datetime, str, str, dict]]) -> None:
    for seq, (at, entity, name, data) in enumerate(sorted(rows, key=lambda row: row[0]), start=1):
        db.add(HistoryRow(station="yunting", seq=seq, at=at, entity_id=entity, name=name, version=0, data=data, t=float(seq)))


def test_a_simulated_months_star_figures_are_the_ones_worked_out_by_hand(engine: Engine) -> None:
    scenario = load_scenario(LIBRARY / "typical_week.toml")
    station = scenario.station
    made: sessionmaker[Session] = sessions(engine)

    # The cups: the simulated station's uses each day of November, booked at 23:00 as the meter books them (in a lump).
    (cups,) = [item for item in forecast(scenario, station.supplies, date(2026, 11, 1), 30, 1, {}).items if item.item == "cups"]
    used = [round(d["mean"]) for d in cups.daily]
    level, out_since, out_hours = 300, None, 0.0
    with made.begin() as db:
        supplies.move(db, station.supplies, "cups", supplies.MoveKind.COUNTED, 300, "custodian", day(1, 0))
        for n in range(1, 31):
            if n == 10:  # the late delivery, at ten in the morning
                supplies.move(db, station.supplies, "cups", supplies.MoveKind.DELIVERED, 1000, "custodian", day(10, 10))
                if out_since is not None:
                    out_hours += (day(10, 10) - out_since).total_seconds() / 3600
                    out_since = None
                level += 1000
            supplies.move(db, station.supplies, "cups", supplies.MoveKind.USED, used[n - 1], "device:water+coffee", day(n, 23))
            level = max(0, level - used[n - 1])
            if level == 0 and out_since is None:
                out_since = day(n, 23)
    assert out_since is None and out_hours > 24, f"the shelf was out {out_hours:.1f} h before the delivery: a star off"

    # Faults, a camera's incident (no fault), a stock alarm (its own figure), a locked night, a stopped station.
    events = [
        (day(1, -2), "microwave", "alarm_raised", {"type": "offline"}), (day(1, 2), "microwave", "alarm_cleared", {"type": "offline"}),
        (day(3, 8), "fridge", "alarm_raised", {"type": "over_temperature"}),
        (day(3, 9), "fridge", "alarm_repeated", {"type": "over_temperature"}),
        (day(6, 12), "fridge", "alarm_cleared", {"type": "over_temperature"}),
        (day(12, 8), "microwave", "alarm_raised", {"type": "offline"}), (day(12, 14.5), "microwave", "alarm_cleared", {"type": "offline"}),
        (day(28, 20), "water", "alarm_raised", {"type": "offline"}),
        (day(27, 20), "water", "alarm_raised", {"type": "tank_low"}),  # use, not damage: the station's not_faults
        (day(14, 3), "hall_camera", "alarm_raised", {"type": "fall"}),
        (day(7, 23), "supplies:cups", "alarm_raised", {"type": "stock_out"}),
        (day(20, 1), "door", "state", {"locked": True}), (day(20, 5), "door", "state", {"locked": False}),
        (day(24, 20), "microwave", "alarm_raised", {"type": "offline"}),
        (day(25, 3), "yunting", "station_stopped", {}), (day(25, 4.5), "lights", "availability", {"available": True}),
    ]  # fmt: skip
    faults = [
        ("microwave", 4.0),
        ("fridge", 76.0),
        ("microwave", 6.5),
        ("microwave", 7.0),  # cut at the stop: raised again if still there
        ("water", (END - day(28, 20)).total_seconds() / 3600),
    ]
    closed_hours = 4.0 + 1.5

    # Forty ratings and five complaints.
    rng = np.random.default_rng(20261101)
    ratings = [int(r) for r in rng.choice([1, 2, 3, 4, 5], size=40, p=[0.05, 0.1, 0.2, 0.35, 0.3])]
    moments = sorted(START + timedelta(seconds=float(s)) for s in rng.uniform(0, (END - START).total_seconds(), size=40))
    with made.begin() as db:
        _history(db, events)
        for n, (rating, at) in enumerate(zip(ratings, moments, strict=True)):
            feedback.give(db, SECRET, f"10.0.{n}.1", rating, "", None, None, at)
        complaints = {
            "in_time": (day(2, 9), day(3, 9)), "late": (day(5, 9), day(10, 9)), "overdue": (day(20, 9), None),
            "open": (day(29, 9), None), "before": (datetime(2026, 10, 30, 9, tzinfo=UTC), day(2, 9)),
        }  # fmt: skip
        for n, (made_at, closed_at) in enumerate(complaints.values()):
            row = feedback.give(db, SECRET, f"10.1.{n}.1", None, "厕所没纸", "supplies", None, made_at).row
            if closed_at is not None:
                feedback.answer(row, "已补充", "custodian", closed_at)
                feedback.close(row, closed_at)

    with made() as db:
        found = stars.figures(db, station, START, END)
    assert [(r.device, round(r.hours, 6)) for r in found.repairs] == [(device, round(hours, 6)) for device, hours in faults]
    assert found.longest_repair_hours == 76.0, "the fridge: over the 72 h the scheme allows"
    assert abs(found.stock_out_hours["cups"] - out_hours) < 1e-9 and found.stock_out_hours["coffee"] == 0.0
    assert found.ratings == 40 and abs((found.satisfaction or 0) - sum(ratings) / 40) < 1e-12
    by_day: dict[str, list[int]] = {}
    for rating, at in zip(ratings, moments, strict=True):
        by_day.setdefault(f"{at.astimezone(SHANGHAI):%Y-%m-%d}", []).append(rating)
    assert found.daily_rating == [(d, sum(v) / len(v), len(v)) for d, v in sorted(by_day.items())]
    late = 2  # one still open past its deadline, one closed after it
    assert (found.complaints, found.complaints_open, found.complaints_overdue, found.resolved_in_time) == (4, 2, late, 1)
    assert abs(found.open_hours - (720.0 - closed_hours)) < 1e-9 and found.hours == 720.0

    expected_missed = []
    if max(hours for _, hours in faults) > station.rating.repair_hours:
        expected_missed.append("repair")
    if out_hours > station.rating.stock_out_hours:
        expected_missed.append("stock_out")
    if sum(ratings) / 40 < station.rating.satisfaction:
        expected_missed.append("satisfaction")
    expected_missed.append("complaints")  # two late, the scheme allows none
    judged = stars.stars(found, station.rating)
    assert judged.missed == expected_missed and judged.stars == max(1, 5 - len(expected_missed))
    unhappy_few = dataclasses.replace(found, ratings=station.rating.min_ratings - 1, satisfaction=1.0)
    assert "satisfaction" not in stars.stars(unhappy_few, station.rating).missed, "one unhappy worker does not cost a star"
    assert "satisfaction" in stars.stars(dataclasses.replace(unhappy_few, ratings=station.rating.min_ratings), station.rating).missed

    with made() as db:  # on the 28th at 21:00, nothing more done: the water's fault and the open complaint run on
        ahead = stars.projected(db, stars.figures(db, station, START, day(28, 21)), END)
    assert [round(r.hours, 6) for r in ahead.repairs if r.cleared is None] == [round(faults[-1][1], 6)]
    assert ahead.complaints_open == 1 and ahead.complaints_overdue == 2, "the one made on the 29th is not known on the 28th"


def test_a_door_locked_before_the_month_counts_as_closed_in_it(engine: Engine) -> None:
    """A door's state rows hold what changed: the lock before the month, then people leaving (no lock in that row), then
    the unlock six hours into the month. The month's figures read the last lock or unlock before it, not the last row."""
    station = load_scenario(LIBRARY / "typical_week.toml").station
    (door,) = [d.id for d in station.devices if d.kind == "door"]
    with sessions(engine).begin() as db:
        _history(db, [(START - timedelta(hours=4), door, "state", {"locked": True}),
                      (START - timedelta(hours=2), door, "state", {"occupancy": 0}),
                      (START + timedelta(hours=6), door, "state", {"locked": False}),
                      (START + timedelta(hours=7), door, "state", {"occupancy": 3})])  # fmt: skip
    with Session(engine) as db:
        found = stars.figures(db, station, START, START + timedelta(hours=24))
    assert found.hours - found.open_hours == 6.0, (found.hours, found.open_hours)
