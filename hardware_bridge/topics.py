"""The MQTT topic contract (docs/mqtt.md).

    yxy/<station>/<kind>/<device>/state         retained; the device's reported state
    yxy/<station>/<kind>/<device>/set           a command {"id", "set"}; QoS 1, never retained
    yxy/<station>/<kind>/<device>/ack           {"id", "ok", "error"}; QoS 1
    yxy/<station>/<kind>/<device>/event         something that happened (a door scan, a cycle done)
    yxy/<station>/<kind>/<device>/availability  "online" / "offline"; retained; the device's last will
    yxy/<station>/<kind>/<device>/twin          the bridge's retained full state of the device (what integrators read)
    yxy/<station>/bridge/availability           the bridge's own, retained, its last will
    yxy/<station>/bridge/command                an integrator's command to the bridge
    yxy/<station>/bridge/result                 each command's fate (acked or failed), for whoever sent it

Ids use only [A-Za-z0-9_-], so no id can smuggle a level separator or a wildcard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from hardware_bridge.errors import TopicError

PREFIX = "yxy"
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Channel(StrEnum):
    STATE = "state"
    SET = "set"
    ACK = "ack"
    EVENT = "event"
    AVAILABILITY = "availability"


TWIN = "twin"
"""Not a `Channel`: nothing but the bridge writes it and no device reads it."""
ONLINE = "online"
OFFLINE = "offline"


def is_id(value: str) -> bool:
    return bool(_ID.match(value))


def check_id(value: str, what: str) -> str:
    if not _ID.match(value):
        raise TopicError(f"{what} {value!r} must be 1-64 characters of A-Z, a-z, 0-9, _ or -")
    return value


@dataclass(frozen=True, slots=True)
class DeviceTopic:
    station: str
    kind: str
    device: str
    channel: Channel

    def __str__(self) -> str:
        return f"{PREFIX}/{self.station}/{self.kind}/{self.device}/{self.channel.value}"


def topic(station: str, kind: str, device: str, channel: Channel | str) -> str:
    """A device's topic on ``channel``, or on the bridge's own ``TWIN`` beside them."""
    for value, what in ((station, "station"), (kind, "kind"), (device, "device")):
        check_id(value, what)
    return f"{PREFIX}/{station}/{kind}/{device}/{channel}"


def parse(text: str, station: str) -> DeviceTopic:
    parts = text.split("/")
    if len(parts) != 5 or parts[0] != PREFIX:
        raise TopicError(f"topic {text!r} is not yxy/<station>/<kind>/<device>/<channel>")
    _, topic_station, kind, device, channel = parts
    if topic_station != station:
        raise TopicError(f"topic {text!r} belongs to station {topic_station!r}, not {station!r}")
    check_id(kind, "kind")
    check_id(device, "device")
    try:
        return DeviceTopic(station, kind, device, Channel(channel))
    except ValueError:
        raise TopicError(f"topic {text!r}: unknown channel {channel!r}") from None


def station_filter(station: str, channel: Channel | str = "+") -> str:
    """Subscription filter for one channel (or all, with ``+``) of every device of a station."""
    return f"{PREFIX}/{check_id(station, 'station')}/+/+/{channel}"


def bridge_availability(station: str) -> str:
    return f"{PREFIX}/{check_id(station, 'station')}/bridge/availability"


def twin_topic(station: str, kind: str, device: str) -> str:
    """Where the bridge keeps a device's full merged state, retained: a device may report only what changed."""
    return topic(station, kind, device, TWIN)


def bridge_result(station: str) -> str:
    return f"{PREFIX}/{check_id(station, 'station')}/bridge/result"
