"""The star-rating figures on the web: the month's stars now and projected, from the station's own records, and their
plotted report (what the union shows the city's raters)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from scenarios.page import render
from store import stars
from web.books import month_first, station_today
from web.deps import DatabaseDep, Everyone, Refused, Services, ServicesDep

Month = Annotated[str | None, Query(max_length=7, pattern=r"^\d{4}-\d{2}$", description="YYYY-MM; the station's month by default")]


class StarsView(BaseModel):
    month: str
    stars: int
    missed: list[str]
    projected_stars: int
    projected_missed: list[str]
    longest_repair_hours: float
    faults_open: int
    stock_out_hours: dict[str, float]
    satisfaction: float | None
    ratings: int
    complaints_open: int
    complaints_overdue: int
    open_share: float = Field(description="The share of the month's hours so far the station was open.")


def _reckon(db: Session, svc: Services, month: str | None) -> tuple[stars.Figures, stars.Stars, stars.Figures, stars.Stars]:
    first = month_first(svc, month)
    start, end = stars.month_bounds(first, svc.station.timezone)
    now = svc.station_time.now()
    if now <= start:
        raise Refused(status.HTTP_422_UNPROCESSABLE_CONTENT, "stars_future", f"{first:%Y-%m} has not begun", month=f"{first:%Y-%m}")
    until: datetime = min(now, end)
    found = stars.figures(db, svc.station, start, until)
    ahead = stars.projected(db, found, end) if until < end else found
    return found, stars.stars(found, svc.station.rating), ahead, stars.stars(ahead, svc.station.rating)


router = APIRouter(prefix="/api/stars", tags=["stars"])


@router.get("", response_model=StarsView)
def month_stars(_: Everyone, db: DatabaseDep, svc: ServicesDep, month: Month = None) -> StarsView:
    """The month's stars by the station's scheme, now and at the month's end if nothing more is done."""
    found, now, _ahead, later = _reckon(db, svc, month)
    return StarsView(
        month=month or f"{station_today(svc):%Y-%m}", stars=now.stars, missed=now.missed,
        projected_stars=later.stars, projected_missed=later.missed, longest_repair_hours=found.longest_repair_hours,
        faults_open=sum(1 for r in found.repairs if r.cleared is None), stock_out_hours=found.stock_out_hours,
        satisfaction=found.satisfaction, ratings=found.ratings, complaints_open=found.complaints_open,
        complaints_overdue=found.complaints_overdue, open_share=found.open_share,
    )  # fmt: skip


@router.get("/report", response_class=HTMLResponse)
def report(_: Everyone, db: DatabaseDep, svc: ServicesDep, month: Month = None, lang: Literal["zh", "en"] = "zh") -> HTMLResponse:
    """The month's star figures as a printable, plotted report."""
    found, now, ahead, later = _reckon(db, svc, month)
    return HTMLResponse(render(stars.page(found, now, ahead, later, svc.station, lang)))
