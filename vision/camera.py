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

import itertools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from vision.behaviour import Behaviour, BehaviourModel, Incident, Incidents, Rule
from vision.features import NEAR_PAIR, READ_SLACK, Reading, pair_apart
from vision.motion import MotionGate
from vision.pose import Person, PoseModel
from vision.tracker import Seen, Track, Tracker

HISTORY = 400
"""Frames a track keeps: a habit's 40 s at up to 10 fps."""
MOST_PAIRS = 64
"""Pairs read at once: a crowd's nearest; with ``MOST_TRACKS`` people all close, the rest wait for the crowd to thin."""


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
    """An incident this frame opened, updated or closed, with the tracks it is about (their keypoints are the alarm's;
    none when it closed because they are gone)."""

    step: Step
    incident: Incident
    tracks: tuple[Track, ...]

    @classmethod
    def of(cls, t: float, incident: Incident, tracks: tuple[Track, ...]) -> Change:
        step = Step.CLOSED if incident.closed_at is not None else Step.OPENED if incident.opened_at == t else Step.UPDATED
        return cls(step, incident, tracks)


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
    """Each track's features at ``t`` as ``reading`` (one person's) reads them: its last ``reading.window_s``, and how
    long it has been lost."""
    return {track.id: reading.features([_recent(track, t, reading)], picture, t - track.last_seen) for track in tracks}


def pairs_near(tracks: Sequence[Track]) -> list[tuple[Track, Track]]:
    """The pairs of ``tracks`` near enough to be read together (``vision.features.pair_apart`` within ``NEAR_PAIR``),
    each lower id first, nearest first, at most ``MOST_PAIRS`` of them."""
    ordered = sorted(tracks, key=lambda track: track.id)
    apart = [(pair_apart(a.box, b.box), n, a, b) for n, (a, b) in enumerate(itertools.combinations(ordered, 2))]
    return [(a, b) for distance, _, a, b in sorted(apart, key=lambda x: x[:2]) if distance <= NEAR_PAIR][:MOST_PAIRS]


def pair_rows(pairs: Iterable[tuple[Track, Track]], t: float, picture: tuple[int, int]) -> list[np.ndarray]:
    """Each pair's features at ``t``: the two tracks' last ``PAIR_WINDOW_S`` read together."""
    return [Reading.PAIR.features([_recent(a, t, Reading.PAIR), _recent(b, t, Reading.PAIR)], picture, 0.0) for a, b in pairs]


def _recent(track: Track, t: float, reading: Reading) -> list[tuple[float, np.ndarray, np.ndarray]]:
    return [h for h in track.history if h[0] > t - reading.window_s]


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
        pairs = pairs_near(alive)  # once a frame: read by a dispute model, and the pairs whose scores are kept
        judged = Judged(t, analysed=True, people=len(update.seen), lost_boxes=[tuple(track.box) for track in update.lost])
        if alive and self.models:
            matrices: dict[Reading, tuple[list[tuple[Track, ...]], np.ndarray]] = {}
            due = {r for r in Reading if t - self._read_at.get(r, -np.inf) >= r.every_s - READ_SLACK}
            self._read_at |= dict.fromkeys(due, t)
            for behaviour, model in self.models.items():
                if model.reading not in due:
                    continue
                if model.reading not in matrices:
                    matrices[model.reading] = self._read(alive, pairs, t, model.reading)
                subjects, rows = matrices[model.reading]
                if not subjects:
                    continue
                fallen = {i.subject[0] for i in self.incidents.open if i.behaviour is Behaviour.FALL} if model.reading.people > 1 else set()
                for tracks, score in zip(subjects, model.scores(rows), strict=True):
                    if not any(self._judged_here(track, behaviour) for track in tracks):
                        continue
                    if any(track.id in fallen for track in tracks):
                        continue  # a fall's open alarm explains the body thrown down: the custodian is on the way already
                    incident = self.incidents.judge(t, behaviour, tuple(track.id for track in tracks), float(score))
                    if incident is not None:
                        judged.changes.append(Change.of(t, incident, tracks))
        # A pair that moved apart is no longer read: its smoothed score is forgotten, not carried to when they meet again.
        seen: set[tuple[int, ...]] = {(track.id,) for track in alive} | {(a.id, b.id) for a, b in pairs}
        judged.changes += [Change.of(t, incident, ()) for incident in self.incidents.quiet(t, seen)]
        return judged

    def _read(
        self, alive: list[Track], pairs: list[tuple[Track, Track]], t: float, reading: Reading
    ) -> tuple[list[tuple[Track, ...]], np.ndarray]:
        """The subjects ``reading`` reads now (each track, or each pair near enough) and their features, one row each."""
        if reading is Reading.PAIR:
            rows = pair_rows(pairs, t, self.picture)
            return list(pairs), np.stack(rows) if rows else np.zeros((0, len(reading.names)), np.float32)
        single = track_rows(alive, t, self.picture, reading)
        return [(track,) for track in alive], np.stack([single[track.id] for track in alive])

    def _judged_here(self, track: Track, behaviour: Behaviour) -> bool:
        return not self.zones or any(zone.holds(track.box, self.picture, behaviour) for zone in self.zones)


def feature_rows(
    frames: Sequence[Sequence[Seen]], fps: float, picture: tuple[int, int], reading: Reading = Reading.MOMENT, every: int = 1
) -> np.ndarray:
    """A clip's frames as the camera reads them: through the tracker, one row of ``reading``'s features every ``every``
    frames (of the newest live track, or for a pair the two newest; zeros when there are too few). Training and the
    held-out evaluation read clips this way."""
    tracker, rows = Tracker(window=HISTORY), []
    for n, people in enumerate(frames):
        t = n / fps
        update = tracker.update(t, people)
        if n % every:
            continue
        alive = sorted([*update.seen, *update.lost], key=lambda track: (track.last_seen, track.id))
        if len(alive) < reading.people:
            rows.append(np.zeros(len(reading.names), np.float32))
        elif reading is Reading.PAIR:
            newest = sorted(alive[-2:], key=lambda track: track.id)
            rows.append(pair_rows([(newest[0], newest[1])], t, picture)[0])
        else:
            rows.append(track_rows([alive[-1]], t, picture, reading)[alive[-1].id])
    return np.array(rows, np.float32)
