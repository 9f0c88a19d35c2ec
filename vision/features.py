"""The cameras' third stage: what a track's last seconds look like, as numbers a behaviour model can read.

Everything is measured in the person's own size (their height in the picture, taken from
the window's tallest upright frame), so a person near the camera and one at the far end
give the same numbers for the same movement, whatever the camera's height and angle.

A window is a track's history (``vision.tracker.Track.history``: time, box, keypoints) over
the last few seconds, at whatever rate frames came (motion gating and dropped frames leave
gaps); features that need speed divide by the real time between frames.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from vision.pose import KEYPOINTS

J = {name: n for n, name in enumerate(KEYPOINTS)}
SEEN = 0.2
SHOULDERS = [J["left_shoulder"], J["right_shoulder"]]
HIPS = [J["left_hip"], J["right_hip"]]
WRISTS = [J["left_wrist"], J["right_wrist"]]
EARS = [J["left_ear"], J["right_ear"]]
NAMES = (
    "torso_angle", "torso_angle_max", "torso_angle_change", "aspect", "aspect_change", "drop_speed_max", "hip_drop",
    "hand_mouth_min", "hand_mouth_near_share", "hand_mouth_approaches", "hand_ear_near_share", "seen_share",
    "lost_after_drop", "torso_turn_speed_max", "torso_angle_first",
)  # fmt: skip
"""The single-track features, in the order ``track_features`` gives them."""
NEAR_MOUTH = 0.12
"""A wrist within this many heights of the nose is at the mouth."""
NEAR_EAR = 0.1


def _mid(points: np.ndarray, joints: list[int]) -> np.ndarray | None:
    seen = points[joints][points[joints, 2] >= SEEN]
    return seen[:, :2].mean(axis=0) if len(seen) else None


def _torso_angle(points: np.ndarray) -> float | None:
    """Radians from upright (0) through lying (pi/2) to head down (pi): the line from the hips' middle to the shoulders'
    middle. (A fall along the camera's line of sight foreshortens the torso instead of turning it: still to come.)"""
    shoulders, hips = _mid(points, SHOULDERS), _mid(points, HIPS)
    if shoulders is None or hips is None:
        return None
    dx, dy = shoulders - hips
    return float(np.arctan2(abs(dx), -dy))  # picture y grows downward: upright (shoulders above) 0, upside down pi


def _nearest(points: np.ndarray, hands: list[int], target: int) -> float | None:
    if points[target, 2] < SEEN:
        return None
    distances = [float(np.hypot(*(points[h, :2] - points[target, :2]))) for h in hands if points[h, 2] >= SEEN]
    return min(distances) if distances else None


def _at_ear(points: np.ndarray) -> float:
    """The nearest wrist to either ear, in pixels (NaN when no wrist or ear is seen)."""
    found = [d for ear in EARS if (d := _nearest(points, WRISTS, ear)) is not None]
    return min(found) if found else float("nan")


def _turn_speed_max(times: np.ndarray, angles: list[float | None]) -> float:
    """The fastest the torso turned towards or from lying, in radians a second (a fall turns it within a second; lying
    down to sleep takes several)."""
    known = [(t, a) for t, a in zip(times, angles, strict=True) if a is not None]
    speeds = [abs(b - a) / max(u - t, 1e-3) for (t, a), (u, b) in itertools.pairwise(known)]
    return float(max(speeds, default=0.0))


def track_features(window: Sequence[tuple[float, np.ndarray, np.ndarray]], lost_for_s: float = 0.0) -> np.ndarray:
    """``NAMES`` for one track's window of (t, box, keypoints), oldest first; ``lost_for_s``: how long since it was last
    seen (a person lying down after a fall is often not found at all)."""
    if len(window) < 2:
        return np.zeros(len(NAMES), np.float32)
    times = np.array([t for t, _, _ in window])
    boxes = np.array([box for _, box, _ in window], np.float64)
    points = [np.asarray(k, np.float64) for _, _, k in window]
    heights = boxes[:, 3] - boxes[:, 1]
    widths = boxes[:, 2] - boxes[:, 0]
    angles = [_torso_angle(p) for p in points]
    upright = [h for h, a in zip(heights, angles, strict=True) if a is not None and a < 0.5]
    size = max(upright) if upright else float(max(heights.max(), widths.max()))
    size = max(size, 1.0)
    known = [a for a in angles if a is not None]
    torso_now = next((a for a in reversed(angles) if a is not None), 0.0)
    aspect = widths / np.maximum(heights, 1.0)
    hips = [_mid(p, HIPS) for p in points]
    hip_y = np.array([h[1] if h is not None else np.nan for h in hips])
    dt = np.maximum(np.diff(times), 1e-3)
    drops = np.diff(hip_y) / dt / size
    drop_max = float(np.nanmax(drops)) if np.isfinite(drops).any() else 0.0
    hip_drop = float((np.nanmax(hip_y) - hip_y[np.isfinite(hip_y)][0]) / size) if np.isfinite(hip_y).any() else 0.0
    mouth = np.array([np.nan if (d := _nearest(p, WRISTS, J["nose"])) is None else d / size for p in points])
    ear = np.array([_at_ear(p) / size for p in points])
    near = mouth < NEAR_MOUTH
    approaches = int(np.sum(near[1:] & ~near[:-1])) + int(bool(near[0]))
    seen = float(np.mean([p[:, 2].mean() >= SEEN for p in points]))
    return np.array(
        [
            torso_now, max(known, default=0.0), (known[-1] - known[0]) if len(known) > 1 else 0.0,
            float(aspect[-1]), float(aspect[-1] - aspect[0]), max(drop_max, 0.0), hip_drop,
            float(np.nanmin(mouth)) if np.isfinite(mouth).any() else 1.0, float(np.nanmean(near)) if len(near) else 0.0, float(approaches),
            float(np.nanmean(ear < NEAR_EAR)) if np.isfinite(ear).any() else 0.0, seen,
            lost_for_s if drop_max > 0.8 else 0.0, _turn_speed_max(times, angles), known[0] if known else 0.0,
        ],
        np.float32,
    )  # fmt: skip
