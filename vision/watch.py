"""A live camera watched: its frames read, its lens judged, its people judged, and what came of it reported.

``CameraWatcher.step(budget_s)`` reads and judges frames for up to ``budget_s`` and returns
what happened as plain data: a ``CameraReport`` every ``report_every_s`` (or at once when the
camera comes or goes: available, lens state, fps, inference time, frames gating skipped,
people, incidents so far) and an ``IncidentReport`` per incident opened, updated or closed
(the behaviour, the scores over time, the person's keypoints over the window, and on
opening a snapshot with every head blurred, the only image that ever leaves a camera).

Stepping, not a loop of its own, is what lets the same watcher run inline in a thread of the
station or as a Ray actor with one CPU (``--placement ray``): whoever hosts it calls ``step``
again and again and hands the reports on. A camera that cannot be opened, drops, or gives
frames of the wrong kind is reported unavailable with the reason, and opened again later; it
never stops the others, which have watchers of their own.
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from vision.behaviour import Behaviour, BehaviourModel, load_behaviours
from vision.camera import Change, Judge, Judged, Step, Zone
from vision.motion import MotionGate
from vision.pose import ModelError, PoseModel
from vision.privacy import snapshot
from vision.source import FrameSource, LensCheck, LensState, SourceError, _where

REOPEN_AFTER_S = 10.0
"""A camera that could not be opened is tried again after this long."""
UPDATE_EVERY_S = 5.0
"""An open incident's updates are reported at most this often (its evidence and the broker need no more)."""


@dataclass(frozen=True)
class CameraSettings:
    url: str
    fps: float = 5.0
    zones: tuple[Zone, ...] = ()
    report_every_s: float = 10.0
    realtime: bool = False
    """A video file played at its own pace, as a camera would give it (the station's file cameras); else as fast as it
    is judged (``yxy vision run`` on a recording)."""


@dataclass(frozen=True)
class CameraReport:
    """How the camera is: what its device state and per-camera metrics are made of."""

    camera: str
    at: float
    """Seconds since the epoch (UTC)."""
    available: bool
    lens: LensState
    problem: str
    """Why it is unavailable or its lens is not ok, in plain words ('' when all is well)."""
    fps: float
    inference_ms: float
    frames: int
    frames_skipped: int
    people: int
    incidents: int


@dataclass(frozen=True)
class IncidentReport:
    """One incident's step, with its evidence."""

    camera: str
    at: float
    step: Step
    behaviour: Behaviour
    number: int
    opened_at: float
    peak: float
    scores: list[tuple[float, float]]
    """(seconds since the epoch, smoothed score), the newest last."""
    keypoints: list[dict[str, Any]]
    """The tracks the incident is about over the window its model reads (``vision.features.Reading.window_s``):
    {"at", "track", "box", "keypoints"} a track a frame."""
    picture: tuple[int, int]
    snapshot: bytes | None = None
    """A JPEG of the frame with every head blurred, on opening only."""


Report = CameraReport | IncidentReport


@dataclass
class _Counters:
    frames: int = 0
    incidents: int = 0
    frame_times: deque[float] = field(default_factory=lambda: deque(maxlen=50))
    pose_ms: deque[float] = field(default_factory=lambda: deque(maxlen=50))
    people: int = 0


class CameraWatcher:
    def __init__(
        self,
        camera: str,
        settings: CameraSettings,
        models: dict[Behaviour, BehaviourModel] | None = None,
        opener: Callable[[str], cv2.VideoCapture] = cv2.VideoCapture,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.camera, self.settings, self.clock = camera, settings, clock
        self._opener = opener
        self._models = models
        self._source: FrameSource | None = None
        self._frames: Iterator[tuple[float, np.ndarray | None]] | None = None
        self._judge: Judge | None = None
        self._lens = LensCheck()
        self._gate = MotionGate()
        self._counters = _Counters()
        self._lens_state, self._problem, self._available = LensState.NO_FRAMES, "not opened yet", False
        self._next_open_at = 0.0
        self._reported_at = float("-inf")
        self._started = 0.0
        self._offset = 0.0
        """Seconds since the epoch less the judge's seconds, as of the newest frame: the judge counts on a clock that never
        steps (monotonic, or a file's own time), reports are dated on the wall's."""
        self._told: dict[int, float] = {}
        """Open incident -> when its last update was reported, on the judge's clock."""
        self.ended = False
        """A file camera read to its end (a live camera never ends: it is opened again)."""

    def step(self, budget_s: float = 1.0) -> list[Report]:
        """Read and judge frames for up to ``budget_s`` (wall time); what happened, in order."""
        reports: list[Report] = []
        until = time.monotonic() + budget_s
        while time.monotonic() < until and not self.ended:
            if self._frames is None and not self._open(reports):
                break
            assert self._frames is not None
            try:
                t, frame = next(self._frames)
            except StopIteration:
                self.ended = True
                self._become(reports, False, LensState.NO_FRAMES, "the video has ended")
                break
            except SourceError as exc:
                self._drop(reports, str(exc))
                break
            self._take(reports, t, frame)
        now = self.clock()
        if now - self._reported_at >= self.settings.report_every_s:
            reports.append(self._report(now))
        return reports

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
        self._source, self._frames = None, None

    def _open(self, reports: list[Report]) -> bool:
        if time.monotonic() < self._next_open_at:
            time.sleep(0.05)  # a host calling again at once does not spin a core on a camera that is away
            return False
        try:
            if self._models is None:
                self._models = load_behaviours()
            self._source = FrameSource(self.settings.url, fps=self.settings.fps, opener=self._opener)
        except (SourceError, ModelError, ValueError) as exc:
            self._next_open_at = time.monotonic() + REOPEN_AFTER_S
            self._become(reports, False, LensState.NO_FRAMES, str(exc))
            return False
        self._started = time.monotonic()
        self._frames = self._source.frames()
        return True

    def _drop(self, reports: list[Report], problem: str) -> None:
        self.close()
        self._end_judge(reports)
        self._next_open_at = time.monotonic() + REOPEN_AFTER_S
        self._become(reports, False, LensState.NO_FRAMES, problem)

    def _end_judge(self, reports: list[Report]) -> None:
        """The judge goes (the camera dropped, or its picture changed size): its open incidents are closed and said."""
        if self._judge is not None:
            t = self._judge.tracker.last_t or 0.0
            reports += [self._incident(Change.of(t, incident, ()), t, None) for incident in self._judge.incidents.close_all(t)]
        self._judge = None

    def _take(self, reports: list[Report], t: float, frame: np.ndarray | None) -> None:
        assert self._source is not None
        if not self._source.live and self.settings.realtime:
            time.sleep(max(0.0, self._started + t - time.monotonic()))
        self._offset = self.clock() - t
        lens = self._lens.judge(t, frame)
        problem = "" if lens is LensState.OK else LENS_PROBLEMS[lens]
        self._become(reports, lens is not LensState.NO_FRAMES, lens, problem)
        if frame is None:
            return
        counters = self._counters
        counters.frames += 1
        counters.frame_times.append(t)
        judge = self._judge_for(frame, reports)
        try:
            judged = judge.frame(t, frame)
        except ValueError as exc:  # a frame the pose model cannot take: this camera's problem, said
            self._drop(reports, f"camera {_where(self.settings.url)}: {exc}")
            return
        if judged.analysed:
            counters.pose_ms.append(1000 * judged.pose_s)
            counters.people = judged.people
        for change in judged.changes:
            if change.step is Step.UPDATED and judged.t - self._told.get(change.incident.number, -np.inf) < UPDATE_EVERY_S:
                continue
            self._told[change.incident.number] = judged.t
            if change.step is Step.CLOSED:
                del self._told[change.incident.number]
            reports.append(self._incident(change, judged.t, (frame, judged) if change.step is Step.OPENED else None))

    def _judge_for(self, frame: np.ndarray, reports: list[Report]) -> Judge:
        picture = (frame.shape[1], frame.shape[0])
        if self._judge is None or self._judge.picture != picture:  # a camera switching resolution (day to night) starts afresh
            self._end_judge(reports)
            assert self._models is not None
            self._judge = Judge(self._models, picture, self.settings.zones, pose=PoseModel(), gate=self._gate)
        return self._judge

    def _incident(self, change: Change, t: float, seen: tuple[np.ndarray, Judged] | None) -> IncidentReport:
        """The report of one step, dated on the wall's clock; ``seen`` (the frame and what was found in it) on opening
        only, for the snapshot, blurred here before anything of the frame leaves."""
        incident, offset = change.incident, self._offset
        assert self._models is not None
        window_s = self._models[incident.behaviour].reading.window_s  # what the model read: a fall's 3 s, a dispute's 4
        if change.step is Step.OPENED:
            self._counters.incidents += 1
        assert self._judge is not None
        return IncidentReport(
            camera=self.camera,
            at=t + offset,
            step=change.step,
            behaviour=incident.behaviour,
            number=incident.number,
            opened_at=incident.opened_at + offset,
            peak=round(incident.peak, 4),
            scores=[(at + offset, score) for at, score in incident.scores],
            keypoints=[
                {"at": at + offset, "track": track.id, "box": [round(float(v), 1) for v in box], "keypoints": np.round(points, 3).tolist()}
                for track in change.tracks
                for at, box, points in track.history
                if at > t - window_s
            ],
            picture=self._judge.picture,
            snapshot=None if seen is None else snapshot(seen[0], seen[1].found, seen[1].lost_boxes),
        )

    def _become(self, reports: list[Report], available: bool, lens: LensState, problem: str) -> None:
        changed = (available, lens) != (self._available, self._lens_state)
        self._available, self._lens_state, self._problem = available, lens, problem
        if changed:
            reports.append(self._report(self.clock()))

    def _report(self, now: float) -> CameraReport:
        self._reported_at = now
        counters = self._counters
        times = counters.frame_times
        fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0
        return CameraReport(
            camera=self.camera,
            at=now,
            available=self._available,
            lens=self._lens_state,
            problem=self._problem,
            fps=round(fps, 2),
            inference_ms=round(statistics.median(counters.pose_ms), 1) if counters.pose_ms else 0.0,
            frames=counters.frames,
            frames_skipped=self._gate.skipped,
            people=counters.people,
            incidents=counters.incidents,
        )


LENS_PROBLEMS = {
    LensState.DARK: "the picture is black: lights out or the infrared lamp failed",
    LensState.COVERED: "the picture is one flat colour: the lens is covered",
    LensState.FROZEN: "the picture has not changed at all: the camera's encoder is stuck",
    LensState.NO_FRAMES: "the camera sends no frames",
}
