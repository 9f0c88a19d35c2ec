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
from urllib.parse import parse_qsl, urlsplit, urlunsplit

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


SECRET_FIELDS = ("pass", "pwd", "password", "passwd", "token", "key", "auth", "user", "username")
"""Query fields an HTTP snapshot camera takes credentials in (``?user=admin&pwd=...``): masked in every message."""


def _where(url: str) -> str:
    """The camera's address with any password masked: ``rtsp://user:***@host/...`` and ``?pwd=***``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    credentials, at, after = rest.rpartition("@")  # the last @: a password may hold an @ or a /, as cameras' often do
    if at and "?" not in credentials:
        rest = f"{credentials.split(':', 1)[0]}:***@{after}"
    parts = urlsplit(f"{scheme}://{rest}")
    query = "&".join(
        f"{name}=***" if name.lower() in SECRET_FIELDS else f"{name}={value}"
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    )
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


class FrameSource:
    def __init__(
        self, url: str, fps: float = 5.0, opener: Callable[[str], cv2.VideoCapture] = cv2.VideoCapture, timeout_s: float = 5.0
    ) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be above 0, not {fps}")
        self.url, self.fps, self.opener, self.timeout_s = url, fps, opener, timeout_s
        self.live = url.startswith(SCHEMES[:4])
        path = urlsplit(url).path.lower()
        self.snapshot = (
            self.live and url.startswith(("http://", "https://")) and (path.endswith((".jpg", ".jpeg", ".cgi")) or "snapshot" in path)
        )
        """A snapshot URL gives one picture a request: asked again for every frame."""
        self.capture = self._open()
        if not self.capture.isOpened():
            raise SourceError(f"camera {_where(url)}: cannot be opened (wrong address, no such file, or not a video OpenCV reads)")

    def _open(self) -> cv2.VideoCapture:
        capture = self.opener(self.url.removeprefix("file://"))
        if self.live:  # a stalled stream answers within these, so the camera is said to be silent, not waited on for ever
            capture.set(cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, self.timeout_s * 1000)
            capture.set(cv2.CAP_PROP_READ_TIMEOUT_MSEC, self.timeout_s * 1000)
        return capture

    def frames(
        self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ) -> Iterator[tuple[float, np.ndarray | None]]:
        """(t, frame) no faster than ``fps``. Live: t on ``clock``; a frame of None when the camera gave nothing, after
        waiting out the frame's time (a dead stream does not spin a core), and the camera is opened again, less often
        the longer it stays away. A file: t is the frame's own moment in the video, frames in between are skipped, and
        it ends at its last frame."""
        period = 1.0 / self.fps
        next_at = clock() if self.live else 0.0
        failures = 0
        while True:
            if self.snapshot:
                sleep(max(0.0, next_at - clock()))
                self.capture.release()
                self.capture = self._open()
            elif self.live:
                while clock() < next_at:  # drained, not buffered: the frame analysed is the newest
                    if not self.capture.grab():
                        break
            ok, frame = self.capture.read()
            if not self.live:
                if not ok:
                    return
                t = float(self.capture.get(cv2.CAP_PROP_POS_MSEC)) / 1000
                if t + 1e-6 < next_at:
                    continue  # between the frames kept
                next_at = t + period
                yield t, self._checked(frame)
                continue
            now = clock()
            if ok:
                failures = 0
                yield now, self._checked(frame)
            else:
                failures += 1
                yield now, None
                sleep(max(0.0, next_at + period - clock()))
                if failures % 10 == 0:  # at 5 fps: after 2 s, 4 s, ... the camera is opened afresh
                    self.capture.release()
                    self.capture = self._open()
            next_at = max(next_at + period, clock())

    def _checked(self, frame: np.ndarray) -> np.ndarray:
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise SourceError(f"camera {_where(self.url)}: frames of {frame.dtype} {frame.shape}, not 8-bit colour")
        return frame

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
