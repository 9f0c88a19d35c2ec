"""The cameras' second stage: who is who from frame to frame.

Each frame's people (``vision.pose.Person``, or a simulated camera's keypoints, which have the
same shape) are matched to the tracks of the frames before by the Hungarian method
(``scipy.optimize.linear_sum_assignment``) on a cost of box overlap and keypoint distance,
against where each track is predicted to be now (constant velocity). A track that finds no
one is kept for ``keep_lost_s``: people vanish for a few frames (turned away, behind
someone, lying down, which MoveNet often misses), and the fall stage reads "lost right after
a fast descent" as evidence, so ``update`` also says which tracks just ended.

Bounded: at most ``MOST_TRACKS`` tracks, ``window`` frames of history each.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from scipy.optimize import linear_sum_assignment

MOST_TRACKS = 32
"""More tracks than this at once is a crowd the station cannot hold; the least recently seen go first."""
FORBIDDEN = 1e6
AHEAD_S = 0.5
"""The longest a track's last movement is carried on for its prediction."""
SEEN = 0.2
"""A keypoint counts in the distance when the model scores it at least this."""


class Seen(Protocol):
    """What a stage before found of one person: a box (x1, y1, x2, y2) and 17 keypoints (x, y, score)."""

    @property
    def box(self) -> tuple[float, float, float, float]: ...

    @property
    def keypoints(self) -> np.ndarray: ...


@dataclass
class Track:
    id: int
    box: np.ndarray
    """x1, y1, x2, y2 as last seen."""
    keypoints: np.ndarray
    velocity: np.ndarray
    """Of the box, per second (smoothed)."""
    last_seen: float
    first_seen: float
    history: deque[tuple[float, np.ndarray, np.ndarray]] = field(default_factory=deque)
    """(t, box, keypoints) of the frames it was seen in, the newest last, at most the tracker's window."""

    def predicted(self, t: float) -> np.ndarray:
        """Where the box should be at ``t``: its centre moved on at its velocity for at most ``AHEAD_S`` (a fall's speed
        carried on for a second and a half would put it through the floor), its size as last seen."""
        ahead = min(t - self.last_seen, AHEAD_S)
        centre = (self.velocity[:2] + self.velocity[2:]) / 2 * ahead
        predicted: np.ndarray = self.box + np.array([centre[0], centre[1], centre[0], centre[1]])
        return predicted


@dataclass(frozen=True)
class Update:
    seen: list[Track]
    """Tracks matched in this frame (new ones included)."""
    lost: list[Track]
    """Tracks not seen in this frame but still kept (briefly vanished)."""
    ended: list[Track]
    """Tracks given up in this frame, after ``keep_lost_s`` unseen (or pushed out by a crowd)."""


class Tracker:
    def __init__(self, keep_lost_s: float = 1.5, min_iou: float = 0.05, most_keypoint_distance: float = 0.5, window: int = 64) -> None:
        """``most_keypoint_distance``: in box diagonals, the farthest a person's keypoints may move from where the track
        is predicted to match it (when the boxes do not overlap at least ``min_iou``)."""
        self.keep_lost_s = keep_lost_s
        self.min_iou = min_iou
        self.most_keypoint_distance = most_keypoint_distance
        self.window = window
        self.tracks: dict[int, Track] = {}
        self._next_id = 1
        self.last_t: float | None = None

    def update(self, t: float, people: Sequence[Seen]) -> Update:
        """Match this frame's people (at time ``t``, seconds, not before the last frame) to the tracks."""
        if self.last_t is not None and t < self.last_t:
            raise ValueError(f"frames must come in time order: {t} after {self.last_t}")
        self.last_t = t
        tracks = list(self.tracks.values())
        boxes = [np.asarray(p.box, np.float64) for p in people]
        cost = np.full((len(tracks), len(boxes)), FORBIDDEN)
        for i, track in enumerate(tracks):
            predicted = track.predicted(t)
            for j, (box, person) in enumerate(zip(boxes, people, strict=True)):
                cost[i, j] = self._cost(predicted, track, box, np.asarray(person.keypoints, np.float64))
        matched: dict[int, int] = {}
        if tracks and boxes:
            rows, cols = linear_sum_assignment(cost)
            matched = {int(j): int(i) for i, j in zip(rows, cols, strict=True) if cost[i, j] < FORBIDDEN}
        seen = []
        for j, (box, person) in enumerate(zip(boxes, people, strict=True)):
            keypoints = np.asarray(person.keypoints, np.float64)
            if j in matched:
                seen.append(self._seen(tracks[matched[j]], t, box, keypoints))
            else:
                seen.append(self._new(t, box, keypoints))
        matched_ids = {track.id for track in seen}
        lost, ended = [], []
        for track in tracks:
            if track.id in matched_ids:
                continue
            if t - track.last_seen > self.keep_lost_s:
                ended.append(self.tracks.pop(track.id))
            else:
                lost.append(track)
        while len(self.tracks) > MOST_TRACKS:  # a crowd: the least recently seen go
            oldest = min(self.tracks.values(), key=lambda track: track.last_seen)
            ended.append(self.tracks.pop(oldest.id))
            lost = [track for track in lost if track.id != oldest.id]
        return Update(seen, lost, ended)

    def _cost(self, predicted: np.ndarray, track: Track, box: np.ndarray, keypoints: np.ndarray) -> float:
        overlap = iou(predicted, box)
        shift = predicted - track.box
        distance = keypoint_distance(track.keypoints + np.array([shift[0], shift[1], 0.0]), keypoints, predicted)
        if overlap < self.min_iou and distance > self.most_keypoint_distance:
            return FORBIDDEN
        return (1.0 - overlap) + min(distance, 1.0)

    def _seen(self, track: Track, t: float, box: np.ndarray, keypoints: np.ndarray) -> Track:
        dt = t - track.last_seen
        if dt > 0:
            track.velocity = 0.5 * track.velocity + 0.5 * (box - track.box) / dt
        track.box, track.keypoints, track.last_seen = box, keypoints, t
        self._remember(track, t)
        return track

    def _new(self, t: float, box: np.ndarray, keypoints: np.ndarray) -> Track:
        track = Track(self._next_id, box, keypoints, np.zeros(4), t, t, deque(maxlen=self.window))
        self._next_id += 1
        self.tracks[track.id] = track
        self._remember(track, t)
        return track

    @staticmethod
    def _remember(track: Track, t: float) -> None:
        track.history.append((t, track.box.copy(), track.keypoints.copy()))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boxes (x1, y1, x2, y2)."""
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def keypoint_distance(a: np.ndarray, b: np.ndarray, box: np.ndarray) -> float:
    """The mean distance between the keypoints both see, in diagonals of ``box``; far (2.0) when none are shared."""
    both = (a[:, 2] >= SEEN) & (b[:, 2] >= SEEN)
    if not both.any():
        return 2.0
    diagonal = float(np.hypot(box[2] - box[0], box[3] - box[1])) or 1.0
    return float(np.hypot(*(a[both, :2] - b[both, :2]).T).mean() / diagonal)
