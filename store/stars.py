"""The star-rating figures, computed from the station's own records, and the stars they earn.

Cities star-rate their stations (Fuzhou rates 462, one to five stars) and take stars away for
unrepaired damage, stock-outs and unresolved complaints. Every figure here is read from what
the station already keeps, so it can show its numbers rather than assert them:

- **repair lead time**: each device fault's alarm, raised to cleared (the twin's history of
  ``alarm_raised``/``alarm_reopened``/``alarm_cleared``; camera incidents are not faults, and
  supply alarms have their own figure); a fault still open at the end counts until then;
- **stock-out hours** per item: how long the place people take it from held none
  (``supply_move``; an item is out from the move that left its draw place at nought to the
  next move that put some back);
- **satisfaction**: the mean rating of the feedback page, and how many gave one;
- **complaints** open and overdue at the end, and how many were resolved within their deadline;
- **open share**: the hours the station was up and its doors not locked, of the period's hours
  (the history's ``station_stopped`` to the next record; a door's reported ``locked`` and its
  availability).

``stars`` turns them into stars by the station's scheme (``[rating]``); ``projected`` says what
the month's end will bring if nothing more is done: open faults and empty shelves go on
counting, and open complaints due before the end become overdue.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from scenarios.schema import RatingSection, Station
from store.db import as_utc
from store.models import Feedback, HistoryRow, SupplyMove
from twin.entity import AVAILABILITY
from twin.feed import STATE

if TYPE_CHECKING:
    from scenarios.page import Page

INCIDENTS = frozenset({"fall", "smoking", "dispute"})
"""A camera's incident alarms: about people, not a fault of the device."""
STATION_STOPPED = "station_stopped"
ALARM_EVENTS = ("alarm_raised", "alarm_reopened", "alarm_cleared")


@dataclass(frozen=True)
class Repair:
    device: str
    type: str
    raised: datetime
    cleared: datetime | None
    hours: float
    """Raised to cleared, or to the period's end if still open."""


@dataclass(frozen=True)
class Figures:
    start: datetime
    end: datetime
    repairs: list[Repair]
    stock_out_hours: dict[str, float]
    ratings: int
    satisfaction: float | None
    complaints: int
    complaints_open: int
    complaints_overdue: int
    resolved_in_time: int
    open_hours: float
    hours: float
    daily_rating: list[tuple[str, float, int]] = field(default_factory=list)
    """(day, mean rating, ratings) for each day with one: satisfaction over time."""
    out_at_end: frozenset[str] = frozenset()
    """The items out where people take them from at the end."""
    closed_at_end: bool = False
    """Whether the station was down or a door locked at the end."""

    @property
    def open_share(self) -> float:
        return self.open_hours / self.hours if self.hours else 1.0

    @property
    def longest_repair_hours(self) -> float:
        return max((repair.hours for repair in self.repairs), default=0.0)

    @property
    def mean_repair_hours(self) -> float | None:
        return sum(r.hours for r in self.repairs) / len(self.repairs) if self.repairs else None


@dataclass(frozen=True)
class Stars:
    stars: int
    missed: list[str]
    """The rules missed, by name: ``repair``, ``stock_out``, ``satisfaction``, ``complaints``, ``open``."""


def _hours(seconds: float) -> float:
    return seconds / 3600.0


def figures(db: Session, station: Station, start: datetime, end: datetime, zone: str | None = None) -> Figures:
    """The figures of [start, end) from the records (aware moments); ``zone`` dates the daily ratings (the station's).
    Only the records they are made of are read: alarm events, stops, availability, the doors' states, the month's
    feedback and the complaints open in it."""
    devices = {d.id: d.kind for d in station.devices}
    doors = {d for d, kind in devices.items() if kind == "door"}
    # Alarm events and stops from before the month too (a fault raised before it may be open in it); the doors' states,
    # one a passage, only from the month and the last lock or unlock before it.
    sparse = HistoryRow.name.in_([*ALARM_EVENTS, STATION_STOPPED, AVAILABILITY])
    in_month = (HistoryRow.name == STATE) & HistoryRow.entity_id.in_(sorted(doors)) & (HistoryRow.at >= start)
    columns = select(HistoryRow.at, HistoryRow.entity_id, HistoryRow.name, HistoryRow.data, HistoryRow.seq)
    kept = list(db.execute(columns.where(HistoryRow.station == station.id, HistoryRow.at < end, sparse | in_month)))
    for door in sorted(doors):
        kept += db.execute(
            columns.where(HistoryRow.station == station.id, HistoryRow.name == STATE, HistoryRow.entity_id == door, HistoryRow.at < start,
                          HistoryRow.data["locked"].as_boolean().is_not(None))  # a state row holds what changed: the lock's last
            .order_by(HistoryRow.at.desc(), HistoryRow.seq.desc()).limit(1)
        ).all()  # fmt: skip
    history = [(as_utc(at), entity, name, data) for at, entity, name, data, _ in sorted(kept, key=lambda r: (as_utc(r[0]), r[4]))]
    repairs = _repairs(history, devices, start, end, frozenset(station.rating.not_faults))
    stock_out = {supply.id: _stock_out_hours(db, supply.id, supply.places[0], start, end) for supply in station.supplies}
    closed, closed_at_end = _closed_hours(history, doors, start, end)
    in_view = (Feedback.at >= start) | (Feedback.category.is_not(None) & (Feedback.closed_at.is_(None) | (Feedback.closed_at >= start)))
    rows = list(db.scalars(select(Feedback).where(Feedback.at < end, in_view)))
    rated = [row for row in rows if row.rating is not None and as_utc(row.at) >= start]
    complaints = [row for row in rows if row.category is not None]
    in_period = [row for row in complaints if as_utc(row.at) >= start]
    still_open = [row for row in complaints if _open_at(row, end)]
    late = [row for row in complaints if row.due is not None and _late(row, start, end)]
    in_time = [row for row in in_period if row.closed_at is not None and row.due is not None and as_utc(row.closed_at) <= as_utc(row.due)]
    local = ZoneInfo(zone or station.timezone)
    by_day: dict[str, list[int]] = {}
    for row in rated:
        by_day.setdefault(f"{as_utc(row.at).astimezone(local):%Y-%m-%d}", []).append(int(row.rating or 0))
    hours = _hours((end - start).total_seconds())
    return Figures(
        start=start, end=end, repairs=repairs, stock_out_hours=stock_out, ratings=len(rated),
        satisfaction=sum(int(row.rating or 0) for row in rated) / len(rated) if rated else None,
        complaints=len(in_period), complaints_open=len(still_open), complaints_overdue=len(late), resolved_in_time=len(in_time),
        open_hours=hours - closed, hours=hours,
        daily_rating=[(day, sum(values) / len(values), len(values)) for day, values in sorted(by_day.items())],
        out_at_end=frozenset(_out_now(db, station, end)), closed_at_end=closed_at_end,
    )  # fmt: skip


def _late(row: Feedback, start: datetime, end: datetime) -> bool:
    """A complaint past its deadline in [start, end): still open at the end, or closed in the period after it was due."""
    due = as_utc(row.due) if row.due is not None else None
    if due is None or due >= end:
        return False
    if row.closed_at is None:
        return as_utc(row.at) < end
    closed = as_utc(row.closed_at)
    return closed >= end or (start <= closed and closed > due)


def _out_now(db: Session, station: Station, moment: datetime) -> list[str]:
    """The items whose draw place held none at ``moment`` (by their last move before it)."""
    out = []
    for supply in station.supplies:
        last = db.scalar(
            select(SupplyMove.after).where(SupplyMove.item == supply.id, SupplyMove.place == supply.places[0], SupplyMove.at < moment)
            .order_by(SupplyMove.at.desc(), SupplyMove.id.desc()).limit(1)
        )  # fmt: skip
        if last == 0:
            out.append(supply.id)
    return out


def _open_at(row: Feedback, moment: datetime) -> bool:
    """Whether a complaint was open at ``moment``: made before it, and not closed by then."""
    return as_utc(row.at) < moment and (row.closed_at is None or as_utc(row.closed_at) >= moment)


def _repairs(
    events: Iterable[tuple[datetime, str, str, dict[str, Any]]],
    devices: dict[str, str],
    start: datetime,
    end: datetime,
    not_faults: frozenset[str],
) -> list[Repair]:
    """Each device fault raised before ``end`` and not cleared before ``start``, paired by (device, type) in order; a
    camera's incidents and the station's ``not_faults`` (a door held open, an empty tank) are about use, not damage."""
    opened: dict[tuple[str, str], datetime] = {}
    found = []
    for at, entity, name, data in events:
        if name == STATION_STOPPED:  # the alarm book does not outlive a stop: a fault still there is raised again after it
            for (device, kind), raised in opened.items():
                if at >= start:
                    found.append(Repair(device, kind, raised, at, _hours((at - raised).total_seconds())))
            opened.clear()
            continue
        if name not in ALARM_EVENTS or entity not in devices:  # a supply's alarm (``supplies:cups``) is not a device's
            continue
        kind = str(data.get("type", ""))
        if kind in INCIDENTS or kind in not_faults:
            continue
        key = (entity, kind)
        if name in ("alarm_raised", "alarm_reopened"):
            opened.setdefault(key, at)
        elif key in opened:
            raised = opened.pop(key)
            if at >= start:
                found.append(Repair(entity, kind, raised, at, _hours((at - raised).total_seconds())))
    for (entity, kind), raised in opened.items():
        found.append(Repair(entity, kind, raised, None, _hours((end - raised).total_seconds())))
    return sorted(found, key=lambda repair: repair.raised)


def _stock_out_hours(db: Session, item: str, place: str, start: datetime, end: datetime) -> float:
    """Hours in [start, end) that ``place`` held none of ``item`` (known from its first move on): the last move before
    ``start`` says how the month began, the month's moves how it went (the meter books one every few seconds of use)."""
    at_place = select(SupplyMove.at, SupplyMove.after).where(SupplyMove.item == item, SupplyMove.place == place)
    before = db.execute(at_place.where(SupplyMove.at < start).order_by(SupplyMove.at.desc(), SupplyMove.id.desc()).limit(1)).all()
    moves = [*before, *db.execute(at_place.where(SupplyMove.at >= start, SupplyMove.at < end).order_by(SupplyMove.at, SupplyMove.id))]
    total = 0.0
    out_since: datetime | None = None
    for at, after in moves:
        moment = as_utc(at)
        if after == 0 and out_since is None:
            out_since = moment
        elif after > 0 and out_since is not None:
            total += _overlap(out_since, moment, start, end)
            out_since = None
    if out_since is not None:
        total += _overlap(out_since, end, start, end)
    return total


def _overlap(a: datetime, b: datetime, start: datetime, end: datetime) -> float:
    return max(0.0, _hours((min(b, end) - max(a, start)).total_seconds()))


def _closed_hours(
    history: list[tuple[datetime, str, str, dict[str, Any]]], doors: set[str], start: datetime, end: datetime
) -> tuple[float, bool]:
    """Hours in [start, end) the station was down (from ``station_stopped`` to its next record: a device's availability
    after the start) or a door was locked or unavailable (several doors closed at once count once), and whether it was
    closed at the end."""
    intervals: list[tuple[datetime, datetime]] = []
    down_since: datetime | None = None
    locked: dict[str, datetime] = {}
    for at, entity, name, data in history:
        if down_since is not None and name != STATION_STOPPED:
            intervals.append((down_since, at))
            down_since = None
        if name == STATION_STOPPED:
            down_since = down_since or at
        elif entity in doors and name == "state" and "locked" in data:
            if data["locked"] is True:
                locked.setdefault(entity, at)
            elif entity in locked:
                intervals.append((locked.pop(entity), at))
        elif entity in doors and name == "availability":
            if data.get("available") is False:
                locked.setdefault(entity, at)
            elif entity in locked:
                intervals.append((locked.pop(entity), at))
    closed_at_end = down_since is not None or bool(locked)
    if down_since is not None:
        intervals.append((down_since, end))
    intervals += [(since, end) for since in locked.values()]
    merged = 0.0
    reach = start
    for a, b in sorted((max(a, start), min(b, end)) for a, b in intervals if b > start and a < end):
        if b <= reach:
            continue
        merged += _hours((b - max(a, reach)).total_seconds())
        reach = b
    return merged, closed_at_end


def stars(found: Figures, scheme: RatingSection) -> Stars:
    """Five stars, less one for each rule of ``scheme`` the figures miss; never below one."""
    missed = []
    if found.longest_repair_hours > scheme.repair_hours:
        missed.append("repair")
    if any(hours > scheme.stock_out_hours for hours in found.stock_out_hours.values()):
        missed.append("stock_out")
    if found.satisfaction is not None and found.ratings >= scheme.min_ratings and found.satisfaction < scheme.satisfaction:
        missed.append("satisfaction")
    if found.complaints_overdue > scheme.overdue_complaints:
        missed.append("complaints")
    if found.open_share < scheme.open_share:
        missed.append("open")
    return Stars(max(1, 5 - len(missed)), missed)


def projected(db: Session, so_far: Figures, month_end: datetime) -> Figures:
    """The month's figures as they will be at ``month_end`` if nothing more is done after ``so_far`` (the figures up to
    now): what is open stays open (faults, empty shelves, complaints, a locked door) and counts on; nothing new happens."""
    start, now = so_far.start, so_far.end
    ahead = _hours((month_end - now).total_seconds())
    repairs = [r if r.cleared is not None else Repair(r.device, r.type, r.raised, None, r.hours + ahead) for r in so_far.repairs]
    stock_out = {item: hours + (ahead if item in so_far.out_at_end else 0.0) for item, hours in so_far.stock_out_hours.items()}
    complaints = db.scalars(select(Feedback).where(Feedback.category.is_not(None), Feedback.at < now, Feedback.closed_at.is_(None)))
    open_rows = list(complaints)
    late_now = so_far.complaints_overdue - sum(1 for row in open_rows if row.due is not None and as_utc(row.due) < now)
    return Figures(
        start=start, end=month_end, repairs=repairs, stock_out_hours=stock_out, ratings=so_far.ratings,
        satisfaction=so_far.satisfaction, complaints=so_far.complaints, complaints_open=len(open_rows),
        complaints_overdue=late_now + sum(1 for row in open_rows if row.due is not None and as_utc(row.due) < month_end),
        resolved_in_time=so_far.resolved_in_time, hours=_hours((month_end - start).total_seconds()),
        open_hours=so_far.open_hours + (0.0 if so_far.closed_at_end else ahead), daily_rating=so_far.daily_rating,
        out_at_end=so_far.out_at_end, closed_at_end=so_far.closed_at_end,
    )  # fmt: skip


def page(now_figures: Figures, now_stars: Stars, ahead: Figures, ahead_stars: Stars, station: Station, lang: str) -> Page:
    """The month's star figures as a report page: the stars now and projected, each figure against its threshold, and
    the repairs, stock-outs and satisfaction plotted."""
    from scenarios.i18n import in_language, t
    from scenarios.page import Cell, Chart, Facts, Note, Page, Row, Section, Table

    scheme = station.rating
    zone = ZoneInfo(station.timezone)

    def when(moment: datetime) -> str:
        return f"{moment.astimezone(zone):%Y-%m-%d %H:%M}"

    def judged(value: str, rule: str, stars_of: Stars) -> Cell:
        missed = rule in stars_of.missed
        return Cell(value, t("stars.missed" if missed else "stars.met", lang), warn="!" if missed else "")

    def fault(kind: str) -> str:
        said = t(f"alarm_{kind}", lang)
        return kind if said == f"alarm_{kind}" else said

    rated = f"{now_figures.satisfaction:.2f}" if now_figures.satisfaction is not None else "—"
    worst_now = max(now_figures.stock_out_hours.values(), default=0.0)
    worst_ahead = max(ahead.stock_out_hours.values(), default=0.0)
    rules = [
        ("repair", t("stars.rule_repair", lang).format(h=scheme.repair_hours),
         f"{now_figures.longest_repair_hours:.1f} h", f"{ahead.longest_repair_hours:.1f} h"),
        ("stock_out", t("stars.rule_stock_out", lang).format(h=scheme.stock_out_hours), f"{worst_now:.1f} h", f"{worst_ahead:.1f} h"),
        ("satisfaction", t("stars.rule_satisfaction", lang).format(v=scheme.satisfaction, n=scheme.min_ratings),
         f"{rated} ({now_figures.ratings})", rated),
        ("complaints", t("stars.rule_complaints", lang).format(n=scheme.overdue_complaints),
         str(now_figures.complaints_overdue), str(ahead.complaints_overdue)),
        ("open", t("stars.rule_open", lang).format(p=f"{scheme.open_share:.0%}"),
         f"{now_figures.open_share:.1%}", f"{ahead.open_share:.1%}"),
    ]  # fmt: skip
    table = Table(
        "stars-rules", (t("stars.rule", lang), t("stars.now", lang), t("stars.projected", lang)),
        tuple(Row(Cell(text), (judged(now, rule, now_stars), judged(later, rule, ahead_stars))) for rule, text, now, later in rules),
    )  # fmt: skip
    detail = t("stars.complaints_detail", lang).format(
        made=now_figures.complaints, open=now_figures.complaints_open, in_time=now_figures.resolved_in_time
    )
    facts = Facts("stars-facts", (
        (t("stars.now", lang), (Cell("★" * now_stars.stars, strong=True),)),
        (t("stars.projected", lang), (Cell("★" * ahead_stars.stars, strong=True),)),
        (t("stars.period", lang), (Cell(f"{when(now_figures.start)} – {when(now_figures.end)}"),)),
        (t("stars.complaints", lang), (Cell(detail),)),
    ))  # fmt: skip
    labels = {d.id: in_language(d.label, lang) for d in station.devices}
    repair_rows = tuple(
        Row(Cell(labels.get(r.device, r.device)), (
            Cell(fault(r.type)), Cell(when(r.raised)),
            Cell(f"{r.hours:.1f}", t("stars.still_open", lang) if r.cleared is None else "",
                 warn="!" if r.hours > scheme.repair_hours else ""),
        ))
        for r in now_figures.repairs
    )  # fmt: skip
    head = (t("stars.device", lang), t("stars.fault", lang), t("stars.raised", lang), t("stars.hours", lang))
    items = {s.id: in_language(s.label, lang) for s in station.supplies}
    out = now_figures.stock_out_hours
    limit = {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": scheme.stock_out_hours, "y1": scheme.stock_out_hours,
             "line": {"dash": "dash", "color": "#b3261e"}}  # fmt: skip
    days = now_figures.daily_rating
    charts = (
        Chart("stars-stock-out", {
            "data": [{"type": "bar", "x": [items[i] for i in out], "y": [round(h, 1) for h in out.values()],
                      "name": t("stars.stock_out_hours", lang)}],
            "layout": {"yaxis": {"title": {"text": t("stars.hours", lang)}}, "shapes": [limit]},
        }, height=280),
        Chart("stars-satisfaction", {
            "data": [{"type": "scatter", "mode": "lines+markers", "x": [d for d, _, _ in days], "y": [round(m, 2) for _, m, _ in days],
                      "name": t("stars.satisfaction", lang)}],
            "layout": {"xaxis": {"type": "category"}, "yaxis": {"range": [1, 5], "title": {"text": t("stars.satisfaction", lang)}}},
        }, height=280),
    )  # fmt: skip
    month = f"{now_figures.start.astimezone(zone):%Y-%m}"
    return Page(
        lang,
        t("stars.title", lang).format(station=in_language(station.name or station.id, lang), month=month),
        (
            Section("stars", t("stars.sec_stars", lang), (facts, table, Note(t("stars.scheme", lang)))),
            Section("repairs", t("stars.sec_repairs", lang), (Table("stars-repairs", head, repair_rows),) if repair_rows
                    else (Note(t("stars.no_repairs", lang)),)),
            Section("charts", t("stars.sec_charts", lang), charts),
        ),
        footer="stars.footer",
    )  # fmt: skip


def month_bounds(month_first: date, zone: str) -> tuple[datetime, datetime]:
    """The station's calendar month starting ``month_first``, as UTC moments [start, end)."""
    local = ZoneInfo(zone)
    start = datetime.combine(month_first, time(), local)
    end = datetime.combine((month_first + timedelta(days=32)).replace(day=1), time(), local)
    return start.astimezone(UTC), end.astimezone(UTC)
