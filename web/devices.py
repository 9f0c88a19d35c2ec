"""The devices as the twin has them, their history, and commands to them (audited before they leave)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, Field

from actors.automation import ManualHold
from hardware_bridge.errors import BridgeError
from hardware_bridge.payloads import settable_fields
from twin.entity import Twin
from web.deps import (
    DatabaseDep,
    Everyone,
    Id,
    Instant,
    Operator,
    Services,
    ServicesDep,
    Strict,
    audit,
)  # fmt: skip


class DeviceView(BaseModel):
    id: str
    kind: str
    version: int
    available: bool | None
    reported: dict[str, Any]
    desired: dict[str, Any]
    settable: dict[str, dict[str, Any]] = Field(description="What a command may set: each field's type, range or choices.")
    last_command: LastCommand | None = Field(None, description="The newest command the twin still holds for the device.")
    manual_until: datetime | None = Field(
        None, description="A person's command holds the device against the automations until then (station clock)."
    )


class LastCommand(BaseModel):
    id: str
    by: str = Field(description="`<role>:<username>` for a person, `automation:<rule>` for the station's rules.")
    fields: dict[str, Any]
    reason: dict[str, Any] | None = Field(description='Why the automations asked, e.g. `{"why": "nobody_inside"}`.')
    at: datetime
    state: Literal["pending", "acked", "failed"]
    error: str | None = Field(None, description="Why it failed, if it did.")


class CommandRequest(Strict):
    set: dict[str, Any] = Field(description="Fields to set, as the device kind accepts (docs/mqtt.md).")


class CommandView(BaseModel):
    id: str
    device: str
    fields: dict[str, Any]
    by: str
    state: Literal["pending", "acked", "failed"]
    error: str | None


class PointView(BaseModel):
    at: Instant
    value: Any
    low: float | None
    high: float | None
    count: int


devices = APIRouter(prefix="/api/devices", tags=["devices"])
commands = APIRouter(prefix="/api/commands", tags=["commands"])


def _device(twin: Twin, device: str, svc: Services, hold: ManualHold | None) -> DeviceView:
    """The device as the twin has it, with its newest command and the hold a person's command put on it."""
    e = twin.entity(device)
    newest = twin.commands.get(e.last_command or "")
    last = None
    if newest is not None:
        last = LastCommand(
            id=newest.id, by=newest.by, fields=newest.fields, reason=newest.reason,
            at=svc.bridge.clock.datetime_at(newest.issued_at), state=newest.state.value, error=newest.error,
        )  # fmt: skip
    return DeviceView(
        id=e.id, kind=e.kind, version=e.version, available=e.available, reported=dict(e.reported), desired=dict(e.desired),
        settable=settable_fields(e.kind), last_command=last,
        manual_until=svc.station_time.moment(hold.until_s) if hold is not None else None,
    )  # fmt: skip


def _devices(svc: Services, ids: Iterable[str] | None = None) -> tuple[int, list[DeviceView]]:
    def read(twin: Twin) -> tuple[int, list[DeviceView]]:
        holds = svc.holds.at(svc.bridge.clock.now())
        shown = ids if ids is not None else twin.entities
        return twin.feed.last_seq, [_device(twin, d, svc, holds.get(d)) for d in shown]

    return svc.bridge.read(read)  # type: ignore[no-any-return]


@devices.get("", response_model=list[DeviceView])
def list_devices(_: Everyone, svc: ServicesDep, response: Response) -> list[DeviceView]:
    """Every device; ``X-Feed-Seq`` is the last change the list includes, where the live feed should resume (``?after=``)."""
    seq, views = _devices(svc)
    response.headers["X-Feed-Seq"] = str(seq)
    return views


@devices.get("/{device}", response_model=DeviceView)
def get_device(device: Id, _: Everyone, svc: ServicesDep) -> DeviceView:
    if device not in svc.bridge.devices:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no device {device!r}")
    return _devices(svc, [device])[1][0]


@devices.get("/{device}/history", response_model=list[PointView])
def device_history(
    device: Id,
    field: Annotated[str, Query(pattern=r"^[a-z][a-z0-9_]{0,63}$")],
    _: Everyone,
    svc: ServicesDep,
    hours: Annotated[float, Query(gt=0, le=24 * 366)] = 24.0,
    max_points: Annotated[int, Query(ge=2, le=2000)] = 300,
) -> list[PointView]:
    if device not in svc.bridge.devices:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no device {device!r}")
    now = datetime.now(UTC)
    points = svc.history.series(device, field, now - timedelta(hours=hours), now, max_points)
    return [PointView(at=p.at, value=p.value, low=p.low, high=p.high, count=p.count) for p in points]


@devices.post("/{device}/commands", response_model=CommandView, status_code=202)
def command_device(device: Id, body: CommandRequest, request: Request, user: Operator, db: DatabaseDep, svc: ServicesDep) -> CommandView:
    """Queue a command; its fate (acked or failed) shows on ``GET /api/commands/{id}`` and the live feed."""
    if device not in svc.bridge.devices:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no device {device!r}")
    before = svc.bridge.read(lambda twin: dict(twin.entity(device).reported))
    try:
        command = svc.bridge.check(device, body.set, by=f"{user.role}:{user.username}")
    except BridgeError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    audit(db, request, user, "command", device, before, {**body.set, "command": command.command_id})
    db.commit()  # the audit entry stands before the command leaves; if it cannot be written, nothing is sent
    svc.bridge.submit(command)
    return CommandView(
        id=command.command_id, device=device, fields=body.set, by=f"{user.role}:{user.username}", state="pending", error=None
    )


@commands.get("/{command_id}", response_model=CommandView)
def get_command(command_id: Id, _: Everyone, svc: ServicesDep) -> CommandView:
    def find(twin: Twin) -> CommandView | None:
        c = twin.commands.get(command_id)
        if c is None:
            return None
        return CommandView(id=c.id, device=c.entity_id, fields=c.fields, by=c.by, state=c.state.value, error=c.error)

    found = svc.bridge.read(find)
    if found is None:
        # Queued but not yet picked up by the bridge's loop: still pending.
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no command {command_id!r} (yet)")
    return found  # type: ignore[no-any-return]
