"""Payload schemas: what a device may say and what it may be told."""

from __future__ import annotations

import json

import pytest

from hardware_bridge import payloads
from hardware_bridge.errors import PayloadError


def state(fields: dict[str, object]) -> bytes:
    return json.dumps({"v": 1, "ts": 1764400000.0, "state": fields}).encode()


def test_a_partial_state_is_fine() -> None:
    ts, fields = payloads.parse_state("air_conditioner", "t", state({"indoor_temp_c": 27.5}))
    assert ts == 1764400000.0 and fields == {"indoor_temp_c": 27.5}
    _, aed = payloads.parse_state("aed", "t", state({"pads_expiry": "2027-03-01", "self_test_ok": True}))
    assert aed == {"pads_expiry": "2027-03-01", "self_test_ok": True}


@pytest.mark.parametrize(
    ("kind", "body", "words"),
    [
        ("lights", state({"on": "yes"}), "on: Input should be a valid boolean"),
        ("lights", state({"colour": "red"}), "colour: Extra inputs are not permitted"),
        ("air_conditioner", state({"setpoint_c": 45}), "setpoint_c: Input should be less than or equal to 32"),
        ("fridge", state({"temp_c": "4"}), "temp_c: Input should be a valid number"),
        ("lights", b'{"v": 2, "ts": 1, "state": {}}', "v: Input should be 1"),
        ("lights", b"\xff\xfe", "not JSON"),
        ("lights", b"[" * 70_000, "over the 65536-byte limit"),
        ("oven", state({}), "no device kind 'oven'"),
    ],
)
def test_bad_state(kind: str, body: bytes, words: str) -> None:
    with pytest.raises(PayloadError, match=words.replace("(", r"\(")):
        payloads.parse_state(kind, "yxy/s/x/y/state", body)


def test_commands_and_acks_round_trip() -> None:
    assert payloads.parse_set("lights", "t", payloads.set_payload("c-1", {"on": True}, expires=99.5)) == ("c-1", {"on": True}, 99.5)
    with pytest.raises(PayloadError, match="nested too deeply"):
        payloads.parse_set("lights", "t", b"[" * 5000 + b"]" * 5000)
    with pytest.raises(PayloadError, match="energy_kwh"):
        payloads.parse_state("lights", "t", b'{"v": 1, "ts": 1, "state": {"energy_kwh": 1e999}}')
    ack = payloads.parse_ack("t", payloads.ack_payload("c-1", False, "relay stuck"))
    assert (ack.id, ack.ok, ack.error) == ("c-1", False, "relay stuck")
    with pytest.raises(PayloadError, match="id: String should match pattern"):
        payloads.parse_ack("t", b'{"v": 1, "id": "a/b", "ok": true}')
    with pytest.raises(PayloadError, match="must set at least one of"):
        payloads.settable("lights", {}, "t")
