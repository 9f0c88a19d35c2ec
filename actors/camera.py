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
from typing import Any

from actors.actor import Device
from actors.bounds import POSITIVE
from actors.message import DeviceEvent, Reported
from actors.port import Port

logger = logging.getLogger(__name__)

INCIDENT = "incident"
LENS_ALARM = "camera_lens"
SEVERITIES = {"fall": "critical", "dispute": "warning", "smoking": "info"}
OPENED_KEPT = 256


@dataclass(frozen=True, slots=True)
class CameraConfig:
    url: str = ""
    """Where the station reads it live: rtsp://, http(s):// (MJPEG or a snapshot URL) or a video file; empty: a camera
    only simulated (planners' runs), which live mode does not watch."""
    fps: float = field(default=5.0, metadata=POSITIVE)
    """Frames a second judged: a fall takes about a second, and 5 keep its shape."""
    height_m: float = field(default=3.0, metadata=POSITIVE)
    """How high it is mounted; planners' runs draw what it sees from there."""
    pitch_deg: float = field(default=35.0, metadata=MappingProxyType({"ge": 10.0, "le": 80.0}))
    """How far below the horizon it looks."""
    coverage: float = field(default=0.5, metadata=MappingProxyType({"ge": 0.0, "le": 1.0}))
    """Planners' runs: the share of the people inside it sees whole (ASSUMPTION: half the room)."""
    falls_per_1000_person_hours: float = 0.5
    """Planners' runs: how often someone in view falls (ASSUMPTION: a what-if; no station has published one)."""
    smoking_per_1000_person_hours: float = 2.0
    """Planners' runs: how often someone in view lights a cigarette (ASSUMPTION)."""
    disputes_per_1000_person_hours: float = 0.5
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
