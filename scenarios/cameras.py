"""Cameras in a planner's run: the alarms a station's cameras will raise, true and false, and the incidents they miss.

A simulated camera is the live camera's policy (``actors.camera.CameraPolicy``: one alarm per
incident, a fall critical) fed by the simulation instead of a camera agent. It hears the door's
count of people inside (``OccupancyChanged``) and sees ``coverage`` of them. While they are in
view, incidents happen to them as Poisson processes at the camera's configured rates (falls and
cigarettes per person-hour; disputes per person-hour while two or more are in view), redrawn
whenever the count changes (the exponential's lack of memory makes that exact). Each incident
is drawn as keypoints by our generator, seen from where the camera is mounted, and judged by the
installed models (``vision.sight``): caught, the alarm goes through the policy after the
model's own alert delay; missed, it is counted as missed. False alarms come at the rate the
installed models measured on their validation clips (``behaviours.json``; the training
conditions, as the true incidents here are drawn), per person in view (a dispute's per pair):
each clip of ordinary activity held one person (one pair). Judging a whole week of ordinary
activity frame by frame would take hours a replication; the validation measure is the same
models on the same generator.

Every draw comes from the camera's own random streams, so a run is reproducible, inline or in
Ray. A station with no door tells its cameras nobody's count: they see no one (the model says so
when it builds the station).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

from actors.camera import INCIDENT, CameraConfig, CameraPolicy
from actors.message import DeviceEvent, OccupancyChanged
from actors.port import Port, Timer
from scenarios.kpi import CAMERA_RECORD
from twin.randomness import RandomStream

if TYPE_CHECKING:
    from vision.sight import Seen

BEHAVIOURS = ("fall", "smoking", "dispute")


class Happens(NamedTuple):
    behaviour: str
    true: bool


class AlarmDue(NamedTuple):
    behaviour: str
    true: bool
    began_at: float
    peak: float


@functools.cache
def false_alarm_rates() -> Mapping[str, float]:
    """False alarms an hour of one person's (a dispute: one pair's) ordinary activity in view, each installed model's:
    from its validation clips, drawn under the training conditions as the true incidents here are, estimated as (k +
    0.5) / hours from the k it made in those hours (Jeffreys' estimate: none in one hour is not a rate of nought)."""
    from vision.behaviour import BEHAVIOURS as MANIFEST

    models = json.loads(MANIFEST.read_text(encoding="utf-8"))["models"]
    rates = {}
    for name, entry in models.items():
        figures = entry["validation"]
        hours = float(figures["camera_hours_of_ordinary_activity"])
        made = round(float(figures["false_alarms_per_camera_hour"]) * hours)
        rates[name] = (made + 0.5) / hours
    return MappingProxyType(rates)  # read once a process (every camera of every replication asks), never changed


class SimulatedCamera(CameraPolicy):
    """A camera in a planner's run (see the module)."""

    def __init__(self, actor_id: str, port: Port, config: object = None) -> None:
        super().__init__(actor_id, port, config)
        self.config = config if isinstance(config, CameraConfig) else CameraConfig()
        self.inside = 0
        self._pending: dict[Happens, Timer] = {}
        self._false_rates = false_alarm_rates()
        self._incidents = 0
        self._streams: dict[str, RandomStream] = {}

    def start(self) -> None:
        from vision.sight import installed

        installed()  # the models loaded now, in the start's round trip (a Ray actor has a minute for it, a message 10 s)
        self._publish()
        self._redraw()

    def receive(self, message: object) -> None:
        if isinstance(message, OccupancyChanged):
            self.inside = message.occupancy
            self._publish()
            self._redraw()
        elif isinstance(message, Happens):
            self._pending.pop(message, None)
            self._happens(message)
            self._redraw_one(message)
        elif isinstance(message, AlarmDue):
            self._raise(message)
        else:
            super().receive(message)

    @property
    def in_view(self) -> float:
        return self.inside * self.config.coverage

    def _hazard(self, what: Happens) -> float:
        """Events a second now."""
        people = self.in_view
        if what.true:
            rate = {
                "fall": self.config.falls_per_1000_person_hours,
                "smoking": self.config.smoking_per_1000_person_hours,
                "dispute": self.config.disputes_per_1000_person_hours if people >= 2 else 0.0,
            }[what.behaviour]
            return rate / 1000.0 * people / 3600.0
        # A clip of ordinary activity held one person (a dispute's, one pair): its rate is per person (pair) in view.
        exposed = people * (people - 1) / 2 if what.behaviour == "dispute" else people
        return self._false_rates.get(what.behaviour, 0.0) * max(exposed, 0.0) / 3600.0

    def _redraw(self) -> None:
        for what in [Happens(b, true) for b in BEHAVIOURS for true in (True, False)]:
            self._redraw_one(what)

    def _redraw_one(self, what: Happens) -> None:
        pending = self._pending.pop(what, None)
        if pending is not None:
            pending.cancel()
        hazard = self._hazard(what)
        if hazard > 0:
            draw = self._stream(f"{what.behaviour}/{'true' if what.true else 'false'}").standard_exponential()
            self._pending[what] = self.port.timer(draw / hazard, what)

    def _stream(self, name: str) -> RandomStream:
        """The camera's stream ``name``, made once: each is drawn on, not begun again at every redraw."""
        if name not in self._streams:
            self._streams[name] = self.port.stream(name)
        return self._streams[name]

    def _happens(self, what: Happens) -> None:
        now = self.port.now()
        if not what.true:
            self._raise(AlarmDue(what.behaviour, False, now, 0.0))
            return
        seen = self._judge(what.behaviour)
        if seen.caught:
            self.port.timer(seen.delay_s, AlarmDue(what.behaviour, True, now, seen.peak))
        else:
            self.port.record(CAMERA_RECORD, {"behaviour": what.behaviour, "true": True, "alarm": False, "delay_s": None})

    def _judge(self, behaviour: str) -> Seen:
        import numpy as np

        from vision.behaviour import Behaviour
        from vision.sight import judged

        seed = int(self._stream(f"{behaviour}/scene").random() * 2**63)
        return judged(Behaviour(behaviour), self.config.height_m, self.config.pitch_deg, self.config.fps, np.random.default_rng(seed))

    def _raise(self, due: AlarmDue) -> None:
        """The alarm through the live policy's own path (one alarm per incident), and the record the KPIs count."""
        self._incidents += 1
        now = self.port.now()
        self.receive(DeviceEvent(INCIDENT, {
            "behaviour": due.behaviour, "step": "opened", "number": self._incidents, "opened_at": now, "peak": due.peak,
        }))  # fmt: skip
        self.port.record(CAMERA_RECORD, {"behaviour": due.behaviour, "true": due.true, "alarm": True, "delay_s": now - due.began_at})
        self._publish()

    def _publish(self) -> None:
        self.port.publish({"lens": "ok", "people": round(self.in_view), "incidents": self._incidents})
