"""Anonymised daily counts of who used the station, per worker group: what the city's or province's platform receives.

The union reports how the station is used without reporting anyone: each day (in the
station's time zone) the entries the door admitted and the distinct people behind them,
per worker group (members by the register's group, visitors apart, members since
deleted as ``unknown``), and the turn-aways by reason.  No id, number, name or phone
leaves; a count from 1 to ``SMALLEST_SHOWN - 1`` is sent as ``null`` (fewer than three:
a day with one sanitation worker at 3 a.m. would otherwise point at that worker).  The
format is documented in docs/federation.md and versioned in ``format``.

Read from the history's ``door_decided`` records, which the live door writes (a member by
their visit key, a visitor by theirs), so the counts are as long-lived as the door log
(``[privacy] door_log``, within the history's ``[security] retention``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from actors.door_access import ADMITTED, Verdict
from actors.door_pass import Refusal
from store.history import History
from store.members import WorkerGroup
from store.models import Member

FORMAT = "yunxiaoyi.federation.daily/1"
SMALLEST_SHOWN = 3
MOST_DAYS = 366
VISITOR = "visitor"
UNKNOWN = "unknown"
"""A member admitted then deleted from the register: counted, with no group to say."""
GROUPS = (*(g.value for g in WorkerGroup), VISITOR, UNKNOWN)
REASONS = (*(v.value for v in Verdict if v not in ADMITTED), *(r.value for r in Refusal))


class FederationError(ValueError):
    """A period the export cannot cover (backwards, or longer than a year): said to the caller as it is."""


def daily_counts(engine: Engine, station: str, timezone: str, first: date, last: date) -> dict[str, Any]:
    """The document for the days ``first`` to ``last``, both included, in the station's ``timezone``."""
    if last < first:
        raise FederationError(f"the period ends ({last}) before it begins ({first})")
    if (last - first).days + 1 > MOST_DAYS:
        raise FederationError(f"{(last - first).days + 1} days asked; at most {MOST_DAYS} at once")
    zone = ZoneInfo(timezone)
    with Session(engine) as db:
        groups_of = {str(visit): group for visit, group in db.execute(select(Member.visit_key, Member.worker_group))}
    entries: defaultdict[date, Counter[str]] = defaultdict(Counter)
    people: defaultdict[date, defaultdict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    turned_away: defaultdict[date, Counter[str]] = defaultdict(Counter)
    since = datetime.combine(first, time(), zone)
    until = datetime.combine(last + timedelta(days=1), time(), zone) - timedelta(microseconds=1)
    visitors = 0
    for at, _door, _name, data in History(engine, station).replay(since, until, ["door_decided"]):
        day = at.astimezone(zone).date()
        if not data.get("admitted"):
            turned_away[day][str(data.get("reason"))] += 1
            continue
        visit = data.get("visit")
        if data.get("via") not in ("pass", "face"):
            # A visitor's key (or none) links their visits within the station; the platform gets a count of people.
            group, person = VISITOR, str(visit) if visit else f"unlinked {(visitors := visitors + 1)}"
        else:  # a member by their visit key: their group while the register holds them
            group, person = (
                (groups_of.get(str(visit), UNKNOWN), str(visit)) if visit else (UNKNOWN, f"unlinked {(visitors := visitors + 1)}")
            )
        entries[day][group] += 1
        people[day][group].add(person)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return {
        "format": FORMAT,
        "station": station,
        "timezone": timezone,
        "smallest_shown": SMALLEST_SHOWN,
        "days": [
            {
                "date": day.isoformat(),
                "entries": {g: _shown(entries[day][g]) for g in GROUPS},
                "people": {g: _shown(len(people[day][g])) for g in GROUPS},
                "turned_away": {r: _shown(turned_away[day][r]) for r in REASONS},
            }
            for day in days
        ],
    }


def _shown(count: int) -> int | None:
    """A count as sent: none and many as they are, a few (1 or 2) as null."""
    return count if count == 0 or count >= SMALLEST_SHOWN else None
