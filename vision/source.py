"""Where a camera's frames come from, and whether they show anything: RTSP, HTTP (MJPEG or a snapshot URL) or a file,
read with OpenCV at a set rate; a lens gone dark, covered or frozen, and a feed gone silent, are said, not guessed
from a frame rate.

``FrameSource`` opens the camera (a clear ``SourceError`` naming it when it cannot) and gives
frames no faster than ``fps``: a live stream is drained (``grab``) between the frames kept,
so the analysis never lags behind on a buffer; a file is read in its own time (for tests and
installers). ``LensCheck`` judges each frame kept: ``dark`` (a black picture: the lights out,
an IR lamp failed), ``covered`` (one flat colour: tape, paint, a bag), ``frozen`` (the very same
picture for ``frozen_s``: a stuck encoder) and ``no_frames`` (nothing for ``silent_s``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np

SCHEMES = ("rtsp://", "rtsps://", "http://", "https://", "file://")


class SourceError(RuntimeError):
    """A camera that cannot be opened or read: which one, and why."""


class LensState(StrEnum):
    OK = "ok"
    DARK = "dark"
    COVERED = "covered"
    FROZEN = "frozen"
    NO_FRAMES = "no_frames"


def _where(url: str) -> str:
    """The camera's address without a password (rtsp://user:secret@host/... is how cameras are reached)."""
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:
        credentials, _, host = rest.partition("@")
        return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"
    return url


class FrameSource:
    def __init__(self, url: str, fps: float = 5.0, opener: Callable[[str], cv2.VideoCapture] = cv2.VideoCapture) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be above 0, not {fps}")
        self.url, self.fps = url, fps
        self.live = url.startswith(SCHEMES[:4])
        self.capture = opener(url.removeprefix("file://"))
        if not self.capture.isOpened():
            raise SourceError(f"camera {_where(url)}: cannot be opened (wrong address, no such file, or not a video OpenCV reads)")

    def frames(self, clock: Callable[[], float] = time.monotonic) -> Iterator[tuple[float, np.ndarray | None]]:
        """(t, frame) no faster than ``fps``; a frame of None when the camera gave nothing (it may come back). A file
        ends at its last frame."""
        period = 1.0 / self.fps
        next_at = clock()
        while True:
            if self.live:
                while clock() < next_at:  # drained, not buffered: the frame analysed is the newest
                    if not self.capture.grab():
                        break
            ok, frame = self.capture.read()
            now = clock()
            if not ok:
                if not self.live:
                    return
                yield now, None
            else:
                if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
                    raise SourceError(f"camera {_where(self.url)}: frames of {frame.dtype} {frame.shape}, not 8-bit colour")
                yield now, frame
            next_at = max(next_at + period, now) if self.live else now

    def close(self) -> None:
        self.capture.release()


@dataclass
class LensCheck:
    """Judges a camera's frames, one after another (``t`` in seconds)."""

    frozen_s: float = 30.0
    silent_s: float = 10.0
    darkest: float = 12.0
    """Mean brightness (0-255) under which a picture is dark."""
    flattest: float = 4.0
    """Brightness spread under which a picture is one flat colour (covered)."""

    def __post_init__(self) -> None:
        self._last_frame_at: float | None = None
        self._same_since: float | None = None
        self._previous: np.ndarray | None = None

    def judge(self, t: float, frame: np.ndarray | None) -> LensState:
        if frame is None:
            if self._last_frame_at is None:
                self._last_frame_at = t
            return LensState.NO_FRAMES if t - self._last_frame_at >= self.silent_s else LensState.OK
        self._last_frame_at = t
        small = cv2.cvtColor(cv2.resize(frame, (64, 36), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
        same = self._previous is not None and np.array_equal(small, self._previous)
        self._previous = small
        self._same_since = (self._same_since if self._same_since is not None else t) if same else None
        mean, spread = float(small.mean()), float(small.std())
        if mean < self.darkest and spread < self.darkest:
            return LensState.DARK
        if spread < self.flattest:
            return LensState.COVERED
        if self._same_since is not None and t - self._same_since >= self.frozen_s:
            return LensState.FROZEN  # a live picture always moves a little: sensor noise changes some pixel
        return LensState.OK
