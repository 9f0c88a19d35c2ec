"""One camera's judgement, from the people in a frame to incidents: the same code for a simulated camera's keypoints
and a live camera's frames.

``Judge.observe(t, people)`` takes what the pose stage found (or what ``vision.synthetic``
draws), tracks it, reads each track's last seconds as features (``vision.features.Reading``: a
moment's 3 s or a habit's 40 s, as each model asks), scores them with
the behaviour models where the camera's zones say to, and turns the scores into incidents
(``vision.behaviour.Incidents``). ``Judge.frame(t, frame)`` is the live front: motion gating,
then the pose model, then ``observe``, timing each stage for the camera's metrics. Training
reads its clips through ``track_rows``, so the model card's figures are what this code does.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from vision.behaviour import Behaviour, BehaviourModel, Incident, Incidents, Rule
from vision.features import Reading
from vision.motion import MotionGate
from vision.pose import Person, PoseModel
from vision.tracker import Seen, Track, Tracker

HISTORY = 400
"""Frames a track keeps: a habit's 40 s at up to 10 fps."""


@dataclass(frozen=True)
class Zone:
    """Where on the picture behaviours are judged, as a polygon of (x, y) in fractions of the picture's width and
    height; a person is in it when the middle of their feet (the bottom of their box) is. ``behaviours``: which it
    judges (all when empty): a smoking zone by the door, no fall judged where the picture looks straight down."""

    name: str
    points: tuple[tuple[float, float], ...]
    behaviours: frozenset[Behaviour] = frozenset()

    def holds(self, box: np.ndarray, picture: tuple[int, int], behaviour: Behaviour) -> bool:
        if self.behaviours and behaviour not in self.behaviours:
            return False
        x, y = (box[0] + box[2]) / 2 / picture[0], box[3] / picture[1]
        return _inside_polygon(x, y, self.points)


def _inside_polygon(x: float, y: float, points: Sequence[tuple[float, float]]) -> bool:
    inside = False
    for (x1, y1), (x2, y2) in zip(points, [*points[1:], points[0]], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


class Step(StrEnum):
    OPENED = "opened"
    UPDATED = "updated"
    CLOSED = "closed"


@dataclass(frozen=True)
class Change:
    """An incident this frame opened, updated or closed, with the track it is about (its keypoints are the alarm's)."""

    step: Step
    incident: Incident
    track: Track | None

    @classmethod
    def of(cls, t: float, incident: Incident, track: Track | None) -> Change:
        step = Step.CLOSED if incident.closed_at is not None else Step.OPENED if incident.opened_at == t else Step.UPDATED
        return cls(step, incident, track)


@dataclass
class Judged:
    """What one frame gave."""

    t: float
    analysed: bool
    """False when motion gating skipped the frame (nothing changed, nobody tracked)."""
    people: int
    changes: list[Change] = field(default_factory=list)
    found: list[Person] = field(default_factory=list)
    """The pose stage's people (live frames only): the snapshot blurs their heads."""
    lost_boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    """Boxes of tracks not found in this frame: blurred whole in a snapshot."""
    pose_s: float = 0.0
    judge_s: float = 0.0


def track_rows(tracks: Iterable[Track], t: float, picture: tuple[int, int], reading: Reading = Reading.MOMENT) -> dict[int, np.ndarray]:
    """Each track's features at ``t`` as ``reading`` reads them: its last ``reading.window_s``, and how long it has been
    lost."""
    return {
        track.id: reading.features([h for h in track.history if h[0] > t - reading.window_s], picture, t - track.last_seen)
        for track in tracks
    }


class Judge:
    """A camera's tracker, behaviour models, zones and incidents (bounded by the tracker's ``MOST_TRACKS``)."""

    def __init__(
        self,
        models: dict[Behaviour, BehaviourModel],
        picture: tuple[int, int],
        zones: Sequence[Zone] = (),
        rules: dict[Behaviour, Rule] | None = None,
        pose: PoseModel | None = None,
        gate: MotionGate | None = None,
    ) -> None:
        self.models, self.picture, self.zones = models, picture, tuple(zones)
        self.tracker = Tracker(window=HISTORY)
        self.incidents = Incidents({b: (rules or {}).get(b, m.rule) for b, m in models.items()})
        self.pose, self.gate = pose, gate
        self._read_at: dict[Reading, float] = {}

    def frame(self, t: float, frame_bgr: np.ndarray) -> Judged:
        """A live frame: gated, posed, observed. The picture's size is the judge's: a camera whose frames change size is
        reporting something else (``vision.source`` says so before this)."""
        if self.pose is None:
            raise RuntimeError("this judge has no pose model: give it people, not frames")
        height, width = frame_bgr.shape[:2]
        if (width, height) != self.picture:
            raise ValueError(f"a frame of {width}x{height} where this camera gives {self.picture[0]}x{self.picture[1]}")
        if self.gate is not None and not self.gate.wants(t, frame_bgr, tracking=bool(self.tracker.tracks)):
            return Judged(t, analysed=False, people=0)
        started = time.perf_counter()
        people = self.pose.people(frame_bgr)
        posed = time.perf_counter()
        judged = self.observe(t, people)
        judged.found, judged.pose_s, judged.judge_s = people, posed - started, time.perf_counter() - posed
        return judged

    def observe(self, t: float, people: Sequence[Seen]) -> Judged:
        """This moment's people (pose stage or generator), into tracks, scores and incidents."""
        update = self.tracker.update(t, people)
        alive = [*update.seen, *update.lost]
        judged = Judged(t, analysed=True, people=len(update.seen), lost_boxes=[tuple(track.box) for track in update.lost])
        if alive and self.models:
            matrices: dict[Reading, np.ndarray] = {}
            due = {r for r in Reading if t - self._read_at.get(r, -np.inf) >= r.every_s - 1e-6}
            self._read_at |= dict.fromkeys(due, t)
            for behaviour, model in self.models.items():
                if model.reading not in due:
                    continue
                if model.reading not in matrices:
                    rows = track_rows(alive, t, self.picture, model.reading)
                    matrices[model.reading] = np.stack([rows[track.id] for track in alive])
                scores = model.scores(matrices[model.reading])
                for track, score in zip(alive, scores, strict=True):
                    if not self._judged_here(track, behaviour):
                        continue
                    incident = self.incidents.judge(t, behaviour, (track.id,), float(score))
                    if incident is not None:
                        judged.changes.append(Change.of(t, incident, track))
        judged.changes += [Change.of(t, incident, None) for incident in self.incidents.quiet(t, {(track.id,) for track in alive})]
        return judged

    def _judged_here(self, track: Track, behaviour: Behaviour) -> bool:
        return not self.zones or any(zone.holds(track.box, self.picture, behaviour) for zone in self.zones)


def feature_rows(
    frames: Sequence[Sequence[Seen]], fps: float, picture: tuple[int, int], reading: Reading = Reading.MOMENT, every: int = 1
) -> np.ndarray:
    """A one-person clip's frames as the camera reads them: through the tracker, one row of ``reading``'s features every
    ``every`` frames (the newest live track's; zeros when there is none). Training and the held-out evaluation read clips
    this way."""
    tracker, rows = Tracker(window=HISTORY), []
    for n, people in enumerate(frames):
        t = n / fps
        update = tracker.update(t, people)
        if n % every:
            continue
        alive = [*update.seen, *update.lost]
        if alive:
            newest = max(alive, key=lambda track: (track.last_seen, track.id))
            rows.append(track_rows([newest], t, picture, reading)[newest.id])
        else:
            rows.append(np.zeros(len(reading.names), np.float32))
    return np.array(rows, np.float32)
