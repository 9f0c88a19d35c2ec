"""Motion gating: an empty, still room costs a frame difference, not a pose model run.

A frame is analysed when enough of it has changed since the last frame analysed (frame
differencing on a small, blurred grey copy, so sensor noise and compression flicker do not
count), when people are being tracked (they may sit still; a fall ends still), or at least
every ``every_s`` (a change too slow to see, and a check that the pipeline still runs).
"""

from __future__ import annotations

import cv2
import numpy as np

SMALL = (160, 90)
"""Width, height of the grey copy compared: a person at the far end of a station is still a few pixels of it."""


class MotionGate:
    def __init__(self, changed_share: float = 0.004, pixel_delta: int = 20, every_s: float = 10.0) -> None:
        self.changed_share = changed_share
        self.pixel_delta = pixel_delta
        self.every_s = every_s
        self.skipped = 0
        """Frames not analysed: the per-camera metric of what gating saved."""
        self._reference: np.ndarray | None = None
        self._analysed_at = float("-inf")

    def wants(self, t: float, frame_bgr: np.ndarray, tracking: bool = False) -> bool:
        """Whether to run the pose stage on this frame (at time ``t``, seconds)."""
        if tracking:  # analysed anyway: no difference to compute (the first frame after is compared with an old one)
            self._analysed_at = t
            return True
        small = cv2.GaussianBlur(cv2.cvtColor(cv2.resize(frame_bgr, SMALL, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY), (5, 5), 0)
        moved = self._reference is None or float((cv2.absdiff(small, self._reference) > self.pixel_delta).mean()) >= self.changed_share
        if moved or t - self._analysed_at >= self.every_s:
            self._reference, self._analysed_at = small, t
            return True
        self.skipped += 1
        return False
