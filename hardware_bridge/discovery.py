"""Home Assistant MQTT discovery (device-based): an existing Home Assistant shows the station.

One retained config per device on ``homeassistant/device/<id>/config`` lists its
components: a sensor or binary sensor for each reported field of its kind, and a
switch for each settable on/off.  Home Assistant's switches publish to the bridge's
command topic, so its commands go through the same validation, ids, acks and audit as
any other.  The configs are sent again whenever Home Assistant says it is back
(``homeassistant/status`` = ``online``).
"""

from __future__ import annotations

import json
from typing import Any, get_args

from hardware_bridge import payloads, topics
from hardware_bridge.errors import PayloadError
from hardware_bridge.topics import Channel

PREFIX = "homeassistant"
STATUS_TOPIC = f"{PREFIX}/status"
UNITS = {"_w": "W", "_kw": "kW", "_kwh": "kWh", "_c": "°C", "_pct": "%", "_l": "L"}
DEVICE_CLASSES = {"_w": "power", "_kw": "power", "_kwh": "energy", "_c": "temperature"}


def command_topic(station: str) -> str:
    return f"{topics.PREFIX}/{topics.check_id(station, 'station')}/bridge/command"


def config_topic(station: str, device: str) -> str:
    return f"{PREFIX}/device/yxy_{station}_{device}/config"


def _is_bool(annotation: Any) -> bool:
    return annotation is bool or bool in get_args(annotation)


def device_config(station: str, device: str, kind: str, name: str, version: str) -> dict[str, Any]:
    state = topics.topic(station, kind, device, Channel.STATE)
    components: dict[str, Any] = {}
    for field, info in payloads.STATE[kind].model_fields.items():
        unique = f"yxy_{station}_{device}_{field}"
        value = f"{{{{ value_json.state.{field} }}}}"
        if _is_bool(info.annotation):
            components[field] = {"p": "binary_sensor", "unique_id": unique, "name": field, "state_topic": state,
                                 "value_template": f"{{{{ 'ON' if value_json.state.{field} else 'OFF' }}}}"}  # fmt: skip
        elif field in ("soc",):
            continue
        else:
            component = {"p": "sensor", "unique_id": unique, "name": field, "state_topic": state, "value_template": value}
            for suffix, unit in UNITS.items():
                if field.endswith(suffix):
                    component["unit_of_measurement"] = unit
                    if suffix in DEVICE_CLASSES:
                        component["device_class"] = DEVICE_CLASSES[suffix]
            components[field] = component
    settable = payloads.SET.get(kind)
    if settable is not None and "on" in settable.model_fields:
        components["switch"] = {
            "p": "switch",
            "unique_id": f"yxy_{station}_{device}_switch",
            "name": "power",
            "state_topic": state,
            "value_template": "{{ 'ON' if value_json.state.on else 'OFF' }}",
            "command_topic": command_topic(station),
            "command_template": '{"device": "' + device + "\", \"set\": {\"on\": {{ 'true' if value == 'ON' else 'false' }}}}",
        }
    return {
        "dev": {"ids": [f"yxy_{station}_{device}"], "name": name, "mf": "Yunxiaoyi 云小驿", "mdl": kind},
        "o": {"name": "yunxiaoyi", "sw": version},
        "cmps": components,
        "availability_topic": topics.topic(station, kind, device, Channel.AVAILABILITY),
        "qos": 1,
    }


def parse_command(payload: bytes) -> tuple[str, dict[str, Any]]:
    """(device, fields) of a command sent to the bridge's command topic (by Home Assistant)."""
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"bridge command: not JSON ({exc})") from None
    if not isinstance(body, dict) or not isinstance(body.get("device"), str) or not isinstance(body.get("set"), dict):
        raise PayloadError('bridge command: expected {"device": "<id>", "set": {...}}')
    return body["device"], body["set"]
