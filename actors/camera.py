"""A camera: what the station makes of what it saw (``vision/``) and of how it is.

Live, a camera is read by the station's own camera agent (``vision.agent``, hosted inline or
as a Ray actor with one CPU), which speaks the MQTT contract like any device: availability
(offline while the camera gives no frames), a state of metrics and lens, and an ``incident``
event for each incident a behaviour model opened, updated or closed, naming the evidence it
kept (blurred snapshot, keypoints, scores). This policy raises one alarm per incident when it
opens (a fall is critical: someone may be hurt; a dispute a warning; smoking information) and
one ``camera_lens`` alarm while the picture is dark, covered or frozen, cleared when it is
well again. Closing an incident clears nothing: the custodian closes the alarm once handled.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from actors.actor import Device
from actors.bounds import POSITIVE
from actors.message import DeviceEvent, Reported
from actors.port import Port

logger = logging.getLogger(__name__)

INCIDENT = "incident"
LENS_ALARM = "camera_lens"
SEVERITIES = {"fall": "critical", "dispute": "warning", "smoking": "info"}
OPENED_KEPT = 256
MOST_ZONES = 16
RATE = MappingProxyType({"ge": 0.0, "le": 10_000.0})
"""Incidents per 1000 person-hours a planner may ask for: up to ten a person-hour, each judged from keypoints (about
0.05 s), so a week's run stays minutes however wild the what-if (a billion would never end)."""
MOST_CORNERS = 32


@dataclass(frozen=True, slots=True)
class CameraZone:
    """Where on a camera's picture behaviours are judged: a polygon of (x, y) corners in fractions of the picture's width
    and height (x to the right, y down), a person being in it when the middle of their feet is; and which behaviours it
    judges (every one when empty). A smokers' corner by the door; the floor straight under a steep camera left out for
    falls. A camera with zones judges nothing outside them."""

    name: str = "zone"
    points: tuple[tuple[float, float], ...] = ()
    behaviours: tuple[Literal["fall", "smoking", "dispute"], ...] = ()

    def __post_init__(self) -> None:
        if not 3 <= len(self.points) <= MOST_CORNERS:
            raise ValueError(f"zone {self.name!r}: give 3 to {MOST_CORNERS} corners, as [x, y] in fractions of the picture")
        outside = [point for point in self.points if not all(0.0 <= value <= 1.0 for value in point)]
        if outside:
            raise ValueError(f"zone {self.name!r}: corner {list(outside[0])} lies outside the picture (x and y from 0 to 1)")


@dataclass(frozen=True, slots=True)
class CameraConfig:
    url: str = ""
    """Where the station reads it live: rtsp://, http(s):// (MJPEG or a snapshot URL) or a video file; empty: a camera
    only simulated (planners' runs), which live mode does not watch."""
    fps: float = field(default=5.0, metadata=POSITIVE)
    """Frames a second judged: a fall takes about a second, and 5 keep its shape."""
    zones: tuple[CameraZone, ...] = field(default=(), metadata=MappingProxyType({"max_length": MOST_ZONES}))
    """Where behaviours are judged (``CameraZone``); none: the whole picture."""
    height_m: float = field(default=3.0, metadata=MappingProxyType({"ge": 1.5, "le": 12.0}))
    """How high it is mounted; planners' runs draw what it sees from there."""
    pitch_deg: float = field(default=35.0, metadata=MappingProxyType({"ge": 10.0, "le": 80.0}))
    """How far below the horizon it looks."""
    coverage: float = field(default=0.5, metadata=MappingProxyType({"ge": 0.0, "le": 1.0}))
    """Planners' runs: the share of the people inside it sees whole (ASSUMPTION: half the room)."""
    falls_per_1000_person_hours: float = field(default=0.5, metadata=RATE)
    """Planners' runs: how often someone in view falls (ASSUMPTION: a what-if; no station has published one)."""
    smoking_per_1000_person_hours: float = field(default=2.0, metadata=RATE)
    """Planners' runs: how often someone in view lights a cigarette (ASSUMPTION)."""
    disputes_per_1000_person_hours: float = field(default=0.5, metadata=RATE)
    """Planners' runs: how often people in view fall out, while two or more are in view (ASSUMPTION)."""
    unit_cost_cny: float = 0.0
    monthly_cost_cny: float = 0.0


class CameraPolicy(Device):
    kind = "camera"

    def __init__(self, actor_id: str, port: Port, config: object = None) -> None:
        super().__init__(actor_id, port, config)
        self._lens: str | None = None
        self._opened: deque[tuple[Any, ...]] = deque(maxlen=OPENED_KEPT)
        """The incidents already raised: an ``opened`` told again (a replay) adds nothing to the alarm."""

    def receive(self, message: object) -> None:
        if isinstance(message, DeviceEvent) and message.event == INCIDENT:
            self._incident(message.data)
        elif isinstance(message, Reported):
            lens = message.fields.get("lens")
            if lens != self._lens and lens in ("ok", "dark", "covered", "frozen"):  # said when it changes, not at every report
                self._lens = lens
                if lens == "ok":
                    self.port.clear_alarm(self.id, LENS_ALARM)
                else:  # no words of the camera's own: the page says what the alarm is and what to do, in its language
                    self.port.raise_alarm(self.id, LENS_ALARM, "warning", str(lens))
            super().receive(message)
        else:
            super().receive(message)

    def _incident(self, data: Mapping[str, Any]) -> None:
        behaviour, step = data.get("behaviour"), data.get("step")
        if behaviour not in SEVERITIES or step not in ("opened", "updated", "closed"):
            logger.warning("camera %s: an incident of %r, step %r, is not one this station knows; ignored", self.id, behaviour, step)
            return
        if step != "opened":
            return
        key = (behaviour, data.get("number"), data.get("opened_at"), data.get("evidence"))
        if key in self._opened:
            return
        self._opened.append(key)
        peak, evidence = data.get("peak"), data.get("evidence")
        detail = f"{behaviour}: score {float(peak):.2f}" if isinstance(peak, int | float) else str(behaviour)
        if isinstance(evidence, str):
            detail += f"; evidence {evidence}"
        self.port.raise_alarm(self.id, str(behaviour), SEVERITIES[str(behaviour)], detail)
