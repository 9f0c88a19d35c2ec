"""Home Assistant MQTT discovery (device-based): an existing Home Assistant shows the station.

One retained config per device on ``homeassistant/device/<id>/config`` lists its
components: a sensor or binary sensor for each reported field of its kind, and a
switch for each settable on/off.  Home Assistant's switches publish to the bridge's
command topic, so its commands go through the same validation, ids, acks and audit as
any other.  The configs are sent again whenever Home Assistant says it is back
(``homeassistant/status`` = ``online``).

``HomeAssistant`` is the bridge's plugin for it: the bridge works the same without it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, get_args

from actors.registry import DEVICE_KINDS
from hardware_bridge import payloads, topics
from hardware_bridge.errors import PayloadError
from hardware_bridge.loop import Incoming
from hardware_bridge.mqtt import MqttClient
from hardware_bridge.topics import Channel

PREFIX = "homeassistant"
STATUS_TOPIC = f"{PREFIX}/status"
UNITS = {"_w": "W", "_kw": "kW", "_kwh": "kWh", "_c": "°C", "_pct": "%", "_l": "L"}
DEVICE_CLASSES = {"_w": "power", "_kw": "power", "_kwh": "energy", "_c": "temperature"}
COUNTERS = ("uses", "entries", "exits")
"""Cycle counters: they only grow, but may restart from 0 (a device powered up again)."""
QOS = 1
"""On every component: Home Assistant 2025 copies only a few shared options (not ``qos``) from the device's top level."""


def _value(field: str) -> str:
    """A field's value, or ``None`` (Home Assistant's unknown) while the message does not carry it: never a false."""
    return f"{{{{ value_json.state.{field} if value_json.state.{field} is defined else 'None' }}}}"


def _on_off(field: str) -> str:
    return f"{{{{ ('ON' if value_json.state.{field} else 'OFF') if value_json.state.{field} is defined else 'None' }}}}"


def state_class(field: str) -> str:
    """Long-term statistics in Home Assistant need it: energy and counters are totals, the rest measurements."""
    return "total_increasing" if field.endswith("_kwh") or field in COUNTERS else "measurement"


def command_topic(station: str) -> str:
    return f"{topics.PREFIX}/{topics.check_id(station, 'station')}/bridge/command"


def config_topic(station: str, device: str) -> str:
    return f"{PREFIX}/device/yxy_{station}_{device}/config"


def _is_bool(annotation: Any) -> bool:
    return annotation is bool or bool in get_args(annotation)


def _is_number(annotation: Any) -> bool:
    """Only numbers have statistics: not a mode (``"cool"``), a text or a date (an AED's pads expiry)."""
    inner = [a for a in get_args(annotation) if a is not type(None)] or [annotation]
    return all(a in (int, float) or any(t in (int, float) for t in get_args(a)) for a in inner)


def device_config(station: str, device: str, kind: str, name: str, version: str) -> dict[str, Any]:
    state = topics.twin_topic(station, kind, device)  # the whole merged state: a device may report only what changed
    components: dict[str, Any] = {}
    for field, info in DEVICE_KINDS[kind].reports.model_fields.items():
        unique = f"yxy_{station}_{device}_{field}"
        if _is_bool(info.annotation):
            components[field] = {"p": "binary_sensor", "unique_id": unique, "name": field, "state_topic": state, "qos": QOS,
                                 "value_template": _on_off(field)}  # fmt: skip
        elif field in ("soc",):
            continue
        else:
            component = {"p": "sensor", "unique_id": unique, "name": field, "state_topic": state, "qos": QOS,
                         "value_template": _value(field)}  # fmt: skip
            if _is_number(info.annotation):
                component["state_class"] = state_class(field)
            for suffix, unit in UNITS.items():
                if field.endswith(suffix):
                    component["unit_of_measurement"] = unit
                    if suffix in DEVICE_CLASSES:
                        component["device_class"] = DEVICE_CLASSES[suffix]
            components[field] = component
    settable = payloads.obeys(kind)
    if settable is not None and "on" in settable.model_fields:
        components["switch"] = {
            "p": "switch",
            "unique_id": f"yxy_{station}_{device}_switch",
            "name": "power",
            "state_topic": state,
            "qos": QOS,
            "value_template": _on_off("on"),
            "command_topic": command_topic(station),
            "command_template": '{"device": "'
            + device
            + '", "by": "home_assistant", '
            + "\"set\": {\"on\": {{ 'true' if value == 'ON' else 'false' }}}}",
        }
    return {
        "dev": {"ids": [f"yxy_{station}_{device}"], "name": name, "mf": "Yunxiaoyi 云小驿", "mdl": kind},
        "o": {"name": "yunxiaoyi", "sw": version},
        "cmps": components,
        # Unavailable when the device is gone or the bridge is: a command with the bridge down would be lost.
        "availability": [
            {"topic": topics.topic(station, kind, device, Channel.AVAILABILITY)},
            {"topic": topics.bridge_availability(station)},
        ],
        "availability_mode": "all",
        "qos": QOS,
    }


_WHO = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
UNATTRIBUTED = "mqtt"
"""Who a command on the bridge's topic is recorded as when it does not say (not Home Assistant: anyone allowed to publish there)."""


def parse_command(payload: bytes) -> tuple[str, dict[str, Any], str, str | None]:
    """(device, fields, by, id) of a command on the bridge's command topic; ``by`` and ``id`` are optional."""
    body = payloads.load_json("bridge command", payload)
    if not isinstance(body, dict) or not isinstance(body.get("device"), str) or not isinstance(body.get("set"), dict):
        raise PayloadError('bridge command: expected {"device": "<id>", "set": {...}, "by": "<who>", "id": "<command id>"}')
    by, command_id = body.get("by", UNATTRIBUTED), body.get("id")
    if not isinstance(by, str) or not _WHO.match(by):
        raise PayloadError("bridge command: by must be 1-64 characters of A-Z, a-z, 0-9, _, ., : or -")
    if command_id is not None and (not isinstance(command_id, str) or not topics.is_id(command_id)):
        raise PayloadError("bridge command: id must be 1-64 characters of A-Z, a-z, 0-9, _ or -")
    return body["device"], body["set"], by, command_id


class HomeAssistant:
    """Announces every device to Home Assistant on connect, and again whenever Home Assistant says it is back."""

    topics = (STATUS_TOPIC,)

    def __init__(self, mqtt: MqttClient, station: str, devices: Mapping[str, str], names: Mapping[str, str], version: str) -> None:
        self.mqtt = mqtt
        self.station = station
        self.devices = devices
        self.names = names
        self.version = version

    def connected(self) -> None:
        self._announce()

    def take(self, message: Incoming, now: float) -> None:
        if message.payload.strip() == topics.ONLINE.encode():
            self._announce()

    def _announce(self) -> None:
        for device, kind in self.devices.items():
            config = device_config(self.station, device, kind, self.names.get(device, device), self.version)
            self.mqtt.publish(config_topic(self.station, device), json.dumps(config, ensure_ascii=False), qos=1, retain=True)
