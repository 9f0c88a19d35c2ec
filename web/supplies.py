"""The station's supplies on the web: what is on the shelves, and the custodian's moves (used, delivered, counted, lent,
brought back, moved between places), each audited before it is booked; the stock alarms follow at once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi import Path as ApiPath
from pydantic import BaseModel, Field

from scenarios.schema import Supply
from store import supplies as stock
from store.models import User
from web.auth import EVERYONE, OPERATORS
from web.deps import DatabaseDep, Instant, RequireRole, ServicesDep, Strict, audit, refused

Readers = Annotated[User, Depends(RequireRole(*EVERYONE))]
Keepers = Annotated[User, Depends(RequireRole(*OPERATORS))]
"""Who moves stock: the custodian, an operator restocking, an officer; never the auditor."""
Item = Annotated[str, ApiPath(max_length=64, pattern=r"^[a-zA-Z0-9_-]+$")]


class MoveBody(Strict):
    kind: stock.MoveKind
    quantity: int = Field(ge=0, le=stock.MOST_AT_ONCE, strict=True)
    place: str | None = Field(None, max_length=64, description="Where; the place people take it from by default.")
    to: str | None = Field(None, max_length=64, description="Where a moved quantity goes.")
    note: str = Field("", max_length=200)


class SupplyView(BaseModel):
    id: str
    label: str
    unit: str
    kind: str
    reorder_at: int
    restock_to: int
    places: dict[str, int]
    total: int
    counted: bool = Field(description="False until its first stocktake or delivery: its level is not known yet.")
    alarms: list[str] = Field(description="stock_out, stock_low: what its level calls for.")
    per_use: dict[str, int]
    short: int = Field(0, description="In a move's answer: what was asked for and not there.")


class MoveView(BaseModel):
    id: int
    at: Instant
    place: str
    kind: str
    delta: int
    short: int
    after: int
    by: str
    note: str


def _view(supply: Supply, level: stock.Level, short: int = 0) -> SupplyView:
    return SupplyView(
        id=supply.id, label=supply.label, unit=supply.unit, kind=supply.kind, reorder_at=supply.reorder_at, restock_to=supply.restock_to,
        places=level.places, total=level.total, counted=level.counted, alarms=sorted(stock.alarms_for(level)), per_use=dict(supply.per_use),
        short=short,
    )  # fmt: skip


def _supply(supplies: tuple[Supply, ...], item: str) -> Supply:
    try:
        return stock.supply_of(supplies, item)
    except stock.SupplyError as exc:
        raise refused(exc, {"supply_unknown": status.HTTP_404_NOT_FOUND}) from None


router = APIRouter(prefix="/api/supplies", tags=["supplies"])


@router.get("", response_model=list[SupplyView])
def shelves(_: Readers, db: DatabaseDep, svc: ServicesDep) -> list[SupplyView]:
    """Every item the station keeps, with its stock at each place and the alarms its level calls for."""
    supplies = svc.station.supplies
    return [_view(supply, stock.level(db, supply)) for supply in supplies]


@router.post("/{item}/moves", response_model=SupplyView)
def move(item: Item, body: MoveBody, request: Request, user: Keepers, db: DatabaseDep, svc: ServicesDep) -> SupplyView:
    """One move of an item's stock, audited before it is booked; a use the shelf cannot cover takes what is there (the
    answer's ``short`` says how much was missing) and the stock-out alarm goes up."""
    supply = _supply(svc.station.supplies, item)
    # The note stays with the move; the never-forgetting audit log keeps what was moved, not what was said (a first-aid
    # kit's use may name the rider it was for).
    said = {**body.model_dump(mode="json", exclude={"note"}), "note_chars": len(body.note)}
    audit(db, request, user, "supply_moved", f"supply:{item}", None, said)
    try:
        level, short = stock.move(db, svc.station.supplies, item, body.kind, body.quantity, user.username, svc.station_time.now(),
                                  body.place, body.to, body.note)  # fmt: skip
    except stock.SupplyError as exc:
        raise refused(exc) from None
    view = _view(supply, level, short)
    db.commit()
    svc.supplies.sync(item)  # booked first; then the alarm book says what the shelf does
    return view


@router.get("/{item}/moves", response_model=list[MoveView])
def moves(item: Item, _: Readers, db: DatabaseDep, svc: ServicesDep, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[MoveView]:
    """The item's latest moves, newest first: who used, delivered or counted what, and when."""
    _supply(svc.station.supplies, item)
    return [MoveView.model_validate(row, from_attributes=True) for row in stock.moves_of(db, item, limit)]
