"""The station as a whole: who came and went, the floor plan with the station's clock, and today's figures."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from store.members import members_by_visit
from web.auth import Role
from web.deps import (
    DatabaseDep,
    Everyone,
    Instant,
    ServicesDep,
)  # fmt: skip


class DoorEvent(BaseModel):
    at: Instant
    door: str
    event: str = Field(description="worker_entered, worker_left, or door_decided (the door checked someone).")
    worker: str | None
    group: str | None
    reason: str | None = Field(None, description="door_decided: why the door opened or stayed shut (the catalog's door.<reason>).")
    admitted: bool | None = None
    via: str | None = Field(None, description="door_decided: how they asked: pass or face (a member), visitor, emergency.")
    member: int | None = Field(None, description="door_decided: the member's number while the register holds them (custodians, officers).")
    member_name: str | None = Field(None, description="The member's name while they are in the register, for custodians and officers only.")


class PlacedDevice(BaseModel):
    id: str
    kind: str
    label: str
    units: int | None = Field(description="Units workers use (seats, microwaves); None for devices without units.")
    x_m: float
    y_m: float
    placed: bool = Field(description="False: the scenario gives no place; the plan puts it in a row below the floor.")


class StationClock(BaseModel):
    now: datetime = Field(description="What time it is at the station, as this answer left.")
    speed: float = Field(description="Station seconds per real second: 1, or an emulated demo's pace (60).")
    emulated: bool = Field(description="The station's time is an emulated crowd's, not the wall's.")


class StationPlan(BaseModel):
    station: str
    name: str
    timezone: str
    width_m: float
    depth_m: float
    devices: list[PlacedDevice]
    clock: StationClock
    sms: bool = Field(False, description="The station can send members' sign-in codes by SMS (YXY_SMS_COMMAND is set).")


class DeviceToday(BaseModel):
    device: str
    label: str
    units: int
    uses: int = Field(description="Uses started today (the device's cycle counter, else rises in busy units).")
    utilisation: float | None = Field(description="Busy unit-seconds over unit-seconds the device was heard from today, 0-1.")
    wait_mean_s: float | None = Field(description="Mean wait of today's uses by Little's law (person-seconds queued / uses).")
    queue_peak: int
    uses_by_hour: list[int]
    wait_by_hour_s: list[float | None]


class TodayFigures(BaseModel):
    day: date = Field(description="Today in the station's time zone.")
    timezone: str
    visitors_by_hour: list[int] = Field(description="Workers let in by the door in each clock hour (station time), 0-23.")
    visitors: int
    commands: int
    alarms_raised: int
    devices: list[DeviceToday] = Field(description="Every device workers queue for, busiest first.")


station_log = APIRouter(prefix="/api/station", tags=["station"])


@station_log.get("/door-log", response_model=list[DoorEvent])
def door_log(
    user: Everyone,
    svc: ServicesDep,
    db: DatabaseDep,
    hours: Annotated[float, Query(gt=0, le=24 * 31)] = 24.0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[DoorEvent]:
    """Who came in and who left, and whom the door let in or turned away and why, newest first.

    A member is named only to those who look after the station (custodians and officers), and only while the register
    holds them: the door log itself keeps a visit key, which names nobody."""
    now = datetime.now(UTC)
    names = ["worker_entered", "worker_left", "door_decided"]
    rows = svc.history.events(now - timedelta(hours=hours), now, names=names, limit=limit, newest_first=True)
    visits = {str(r.data["visit"]) for r in rows if r.name == "door_decided" and r.data.get("visit")}
    known = members_by_visit(db, visits) if visits and user.role in (Role.CUSTODIAN, Role.ADMIN) else {}
    events = []
    for r in rows:
        member, name = known.get(str(r.data.get("visit")), (None, None))
        events.append(DoorEvent(
            at=r.at, door=r.entity_id, event=r.name, worker=r.data.get("worker"), group=r.data.get("group"),
            reason=r.data.get("reason"), admitted=r.data.get("admitted"), via=r.data.get("via"), member=member, member_name=name,
        ))  # fmt: skip
    return events


@station_log.get("/plan", response_model=StationPlan)
def plan(_: Everyone, svc: ServicesDep) -> StationPlan:
    """The floor plan: where each device stands, so the page can draw the station as it is."""
    station = svc.station
    width, depth = station.floor_m
    shown = [d for d in station.devices if d.id in svc.bridge.devices]
    unplaced = {d.id: n for n, d in enumerate(d for d in shown if d.at is None)}
    placed = []
    for device in shown:
        if device.at is not None:
            x, y, known = device.at[0], device.at[1], True
        else:  # evenly along a row below the floor: the operator sees it is there and that nobody placed it
            x, y, known = width * (unplaced[device.id] + 0.5) / len(unplaced), depth + 1.0, False
        units = getattr(device.config, "units", None)
        placed.append(PlacedDevice(id=device.id, kind=device.kind, label=device.label, units=units, x_m=x, y_m=y, placed=known))
    return StationPlan(
        station=station.id, name=station.name or station.id, timezone=station.timezone,
        width_m=width, depth_m=depth, devices=placed,
        clock=StationClock(now=svc.station_time.now(), speed=svc.station_time.clock.speed, emulated=svc.station_time.emulated),
        sms=bool(svc.settings.sms_command),
    )  # fmt: skip


@station_log.get("/today", response_model=TodayFigures)
def today(_: Everyone, svc: ServicesDep) -> TodayFigures:
    """Today's figures in the station's own day: visitors by hour, waits and the busiest devices."""
    # The station's clock on the feed's run seconds (the wall clock may have been stepped since the station started;
    # an emulated crowd's day is its own).
    book = svc.bridge.read(lambda _twin: svc.daybook.figures(svc.station_time.now()))
    labels = {d.id: d.label for d in svc.station.devices}
    devices = [DeviceToday(label=labels.get(d.device, d.device), **dataclasses.asdict(d)) for d in book.devices]
    fields = {f.name: getattr(book, f.name) for f in dataclasses.fields(book) if f.name != "devices"}
    return TodayFigures(visitors=book.visitors, devices=devices, **fields)
