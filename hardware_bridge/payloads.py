"""The MQTT contract's messages, versioned (``"v": 1``), checked against each kind's schemas.

What a kind reports and obeys is declared with the kind (actors/registry.py, schemas in
actors/contract.py).  Every payload that comes in is validated here before the twin
sees it: wrong JSON, wrong types, unknown fields, out-of-range values and oversized
messages become a ``PayloadError`` naming the topic and the field, and the bridge
counts it and goes on.  A state message may carry only the fields that changed.
"""

from __future__ import annotations

import functools
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from actors.registry import DEVICE_KINDS
from hardware_bridge.errors import PayloadError

VERSION = 1
MAX_BYTES = 64 * 1024


class _Strict(BaseModel):
    # strict: "yes" is not a boolean and "3" not a number, whatever lax parsing would make of them.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class StateMessage(_Strict):
    v: Literal[1]
    ts: Annotated[float, Field(ge=0)]
    state: dict[str, Any]


class SetMessage(_Strict):
    v: Literal[1]
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    set: dict[str, Any]
    expires: Annotated[float, Field(ge=0)] | None = None
    """Unix seconds after which the command must not be carried out: by then the twin has failed it."""


class AckMessage(_Strict):
    v: Literal[1]
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    ok: bool
    error: Annotated[str, Field(max_length=500)] | None = None


class EventMessage(_Strict):
    v: Literal[1]
    ts: Annotated[float, Field(ge=0)]
    event: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    data: dict[str, Any] = {}


class FateMessage(_Strict):
    """A command's fate on ``bridge/result``, for whoever sent it (Home Assistant, an integrator)."""

    v: Literal[1]
    id: str
    device: str
    by: str
    ok: bool
    error: str | None
    set: dict[str, Any]


def load_json(topic: str, payload: bytes) -> Any:
    """A payload's JSON, bounded in size and depth: anything else is a ``PayloadError`` naming the topic."""
    if len(payload) > MAX_BYTES:
        raise PayloadError(f"{topic}: payload of {len(payload)} bytes is over the {MAX_BYTES}-byte limit")
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"{topic}: not JSON ({exc})") from None
    except RecursionError:
        raise PayloadError(f"{topic}: JSON nested too deeply") from None


def _validate(model: type[BaseModel], value: Any, topic: str) -> Any:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(payload)'}: {e['msg']}" for e in exc.errors(include_url=False))
        raise PayloadError(f"{topic}: {problems}") from None


def parse_state(kind: str, topic: str, payload: bytes) -> tuple[float, dict[str, Any]]:
    """(device time, the fields reported) of a state message of a device of ``kind``."""
    message: StateMessage = _validate(StateMessage, load_json(topic, payload), topic)
    entry = DEVICE_KINDS.get(kind)
    if entry is None:
        raise PayloadError(f"{topic}: no device kind {kind!r}")
    schema = entry.reports
    fields = _validate(schema, message.state, topic)
    return message.ts, fields.model_dump(mode="json", exclude_none=True)


def parse_set(kind: str, topic: str, payload: bytes) -> tuple[str, dict[str, Any], float | None]:
    """(command id, the fields, when it expires)."""
    message: SetMessage = _validate(SetMessage, load_json(topic, payload), topic)
    return message.id, settable(kind, message.set, topic), message.expires


def obeys(kind: str) -> type[BaseModel] | None:
    entry = DEVICE_KINDS.get(kind)
    return entry.obeys if entry is not None else None


def settable(kind: str, fields: dict[str, Any], where: str) -> dict[str, Any]:
    """The fields of a command, checked against what a device of ``kind`` obeys."""
    schema = obeys(kind)
    if schema is None:
        raise PayloadError(f"{where}: a {kind} takes no commands")
    checked = _validate(schema, fields, where).model_dump(mode="json", exclude_none=True)
    if not checked:
        raise PayloadError(f"{where}: a command must set at least one of {', '.join(schema.model_fields)}")
    return checked  # type: ignore[no-any-return]


@functools.cache
def settable_fields(kind: str) -> dict[str, dict[str, Any]]:
    """What a device of ``kind`` takes in a command, field by field (type, range, choices), for forms."""
    schema = obeys(kind)
    if schema is None:
        return {}
    fields = {}
    for name, spec in schema.model_json_schema()["properties"].items():
        (value,) = [option for option in spec.get("anyOf", [spec]) if option.get("type") != "null"]
        fields[name] = {k: v for k, v in value.items() if k in ("type", "minimum", "maximum", "enum", "maxLength")}
    return fields


def parse_ack(topic: str, payload: bytes) -> AckMessage:
    return _validate(AckMessage, load_json(topic, payload), topic)  # type: ignore[no-any-return]


def parse_event(topic: str, payload: bytes) -> EventMessage:
    return _validate(EventMessage, load_json(topic, payload), topic)  # type: ignore[no-any-return]


def state_payload(ts: float, state: dict[str, Any]) -> bytes:
    return json.dumps({"v": VERSION, "ts": ts, "state": state}, separators=(",", ":")).encode()


def set_payload(command_id: str, fields: dict[str, Any], expires: float | None = None) -> bytes:
    body: dict[str, Any] = {"v": VERSION, "id": command_id, "set": fields}
    if expires is not None:
        body["expires"] = expires
    return json.dumps(body, separators=(",", ":")).encode()


def ack_payload(command_id: str, ok: bool, error: str | None = None) -> bytes:
    return json.dumps({"v": VERSION, "id": command_id, "ok": ok, "error": error}, separators=(",", ":")).encode()


def event_payload(ts: float, event: str, data: dict[str, Any]) -> bytes:
    return json.dumps({"v": VERSION, "ts": ts, "event": event, "data": data}, separators=(",", ":"), default=str).encode()


def fate_payload(command_id: str, device: str, by: str, ok: bool, error: str | None, fields: dict[str, Any]) -> bytes:
    fate = FateMessage(v=1, id=command_id, device=device, by=by, ok=ok, error=error, set=fields)
    return fate.model_dump_json().encode()
