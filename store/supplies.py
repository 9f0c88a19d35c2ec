"""The station's supplies: each item's stock by place, and every move of it, never below nought.

An item (``[supplies.<id>]`` in the station file, ``scenarios.schema.Supply``) is kept at one or
more places; the first is where people (and the devices' counted uses) take it from. A move
is a use (by hand, or a device's uses times its ``per_use``), a delivery, a stocktake, a loan
lent or brought back, or a move between places. A use larger than the stock takes what is
there and records the rest as ``short``: stock never goes below nought (a database CHECK
too), and a use that finds the shelf empty is exactly what a stock-out alarm is for.

**Decision: an item never counted raises nothing.** A new station's stock is unknown, not
nought; its first stocktake (or delivery) starts it. From then on ``alarms_for`` says which of
the two alarms an item's level calls for, and the live station keeps the twin's alarm book in
step after every move (``station.supplies``).

Moves are serialised by one lock (PostgreSQL's advisory lock, SQLite's write lock): two
custodians and the device meter changing the same shelf at once never lose a move.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from scenarios.schema import Supply
from store.db import hold_write_lock
from store.errors import Refusal, unprintable
from store.models import SupplyMove, SupplyStock

_LOCK_KEY = 0x79787973  # "yxys": the advisory lock supply moves take on PostgreSQL
MOST_AT_ONCE = 10**6
"""The largest quantity one move may carry: a pallet of cups, not an overflow."""
STOCK_OUT = "stock_out"
STOCK_LOW = "stock_low"


class MoveKind(StrEnum):
    USED = "used"
    DELIVERED = "delivered"
    COUNTED = "counted"
    """A stocktake: the level is what was counted, the move is the difference."""
    LENT = "lent"
    RETURNED = "returned"
    MOVED = "moved"
    """From one place to another (two moves: out of one, into the other)."""


TAKES = (MoveKind.USED, MoveKind.LENT)


class SupplyError(Refusal):
    """A move the stock cannot take."""


@dataclass(frozen=True)
class Level:
    """An item's stock after a move: at each place, in all, and whether it was ever counted."""

    item: str
    places: dict[str, int]
    counted: bool
    reorder_at: int
    draw_place: str
    short_at: frozenset[str] = frozenset()
    """Places emptied by a take that asked for more than was there, not refilled since."""

    @property
    def total(self) -> int:
        return sum(self.places.values())


def alarms_for(level: Level) -> set[str]:
    """The alarms an item's level calls for: out where people take it from, or everywhere, or wherever a take found
    less than it asked for (that is what would have gone below nought); else low at or below its reorder point; none
    for an item never counted."""
    if not level.counted:
        return set()
    if level.places.get(level.draw_place, 0) == 0 or level.total == 0 or level.short_at:
        return {STOCK_OUT}
    return {STOCK_LOW} if level.total <= level.reorder_at else set()


def alarm_source(item: str) -> str:
    """The alarm book's source for an item's alarms (not a device: ``supplies:cups``)."""
    return f"supplies:{item}"


def supply_of(supplies: tuple[Supply, ...], item: str) -> Supply:
    """The station's item ``item``, or a ``SupplyError`` (``supply_unknown``)."""
    found = next((supply for supply in supplies if supply.id == item), None)
    if found is None:
        raise SupplyError("supply_unknown", f"the station keeps no {item[:64]!r}", item=item[:64])
    return found


def level(db: Session, supply: Supply) -> Level:
    rows = dict(db.execute(select(SupplyStock.place, SupplyStock.quantity).where(SupplyStock.item == supply.id)).all())
    places = {place: int(rows.get(place, 0)) for place in supply.places}
    short_at = set()
    for place in (place for place, quantity in places.items() if quantity == 0 and place in rows):
        last = db.scalar(
            select(SupplyMove.short).where(SupplyMove.item == supply.id, SupplyMove.place == place).order_by(SupplyMove.id.desc()).limit(1)
        )
        if last:
            short_at.add(place)
    return Level(supply.id, places, bool(rows), supply.reorder_at, supply.places[0], frozenset(short_at))


def levels(db: Session, supplies: tuple[Supply, ...]) -> list[Level]:
    return [level(db, supply) for supply in supplies]


def _set(db: Session, item: str, place: str, quantity: int, at: datetime) -> None:
    row = db.get(SupplyStock, (item, place), populate_existing=True)
    if row is None:
        db.add(SupplyStock(item=item, place=place, quantity=quantity, updated_at=at))
    else:
        row.quantity, row.updated_at = quantity, at


def move(
    db: Session,
    supplies: tuple[Supply, ...],
    item: str,
    kind: MoveKind,
    quantity: int,
    by: str,
    at: datetime,
    place: str | None = None,
    to: str | None = None,
    note: str = "",
) -> tuple[Level, int]:
    """Change ``item``'s stock at ``place`` (its draw place by default) by one move; the level after, and how much of a
    use or a loan was not there (``short``). ``to``: where a ``moved`` quantity goes."""
    supply = supply_of(supplies, item)
    where = place or supply.places[0]
    if where not in supply.places:
        raise SupplyError("supply_place", f"place: {item} is not kept at {where[:64]!r}", place=where[:64])
    if type(quantity) is not int or not 0 <= quantity <= MOST_AT_ONCE or (quantity == 0 and kind is not MoveKind.COUNTED):
        raise SupplyError("supply_quantity", f"quantity: a whole number from 1 to {MOST_AT_ONCE} (a count may be 0)")
    if len(note) > 200 or unprintable(note, allowed=""):
        raise SupplyError("supply_note", "note: one line of at most 200 characters")
    if kind is MoveKind.MOVED and (to is None or to not in supply.places or to == where):
        raise SupplyError("supply_place", f"to: a moved quantity goes to another place {item} is kept at", place=(to or "")[:64])
    if kind is MoveKind.RETURNED and supply.kind != "loan":
        raise SupplyError("supply_not_lent", f"{item} is not lent out, so it is not brought back", item=item)
    hold_write_lock(db, _LOCK_KEY)
    before = db.scalar(select(SupplyStock.quantity).where(SupplyStock.item == item, SupplyStock.place == where)) or 0
    short = 0
    if kind is MoveKind.MOVED and quantity > before:
        # Moving is done by hand, counting what is carried: more than is there is a mistake to say, not a shortage.
        raise SupplyError("supply_move_too_many", f"{where} holds {before} of {item}: {quantity} cannot be moved from it",
                          place=where, there=before, unit=supply.unit)  # fmt: skip
    if kind is MoveKind.COUNTED:
        after = quantity
    elif kind in TAKES or kind is MoveKind.MOVED:
        taken = min(before, quantity)
        short, after = quantity - taken, before - taken
    else:
        after = before + quantity
    _set(db, item, where, after, at)
    db.add(SupplyMove(at=at, item=item, place=where, kind=kind.value, delta=after - before, short=short, after=after, by=by[:64],
                      note=note.strip()))  # fmt: skip
    if kind is MoveKind.MOVED and to is not None:
        arrived = before - after
        there = db.scalar(select(SupplyStock.quantity).where(SupplyStock.item == item, SupplyStock.place == to)) or 0
        _set(db, item, to, there + arrived, at)
        db.add(SupplyMove(at=at, item=item, place=to, kind=kind.value, delta=arrived, short=0, after=there + arrived, by=by[:64],
                          note=note.strip()))  # fmt: skip
    db.flush()
    return level(db, supply), short


def uses_taken(supplies: tuple[Supply, ...], device: str, uses: int) -> list[tuple[str, int]]:
    """What ``uses`` of ``device`` take of each item: (item, units), for the items whose ``per_use`` names it."""
    return [(supply.id, uses * per) for supply in supplies for used_by, per in supply.per_use if used_by == device]


def moves_of(db: Session, item: str, limit: int = 100) -> list[SupplyMove]:
    return list(db.scalars(select(SupplyMove).where(SupplyMove.item == item).order_by(SupplyMove.id.desc()).limit(limit)))
