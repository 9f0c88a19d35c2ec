"""The cameras' third stage: what a track's last seconds look like, as numbers a behaviour model can read.

Everything is measured in the person's own size (their height in the picture, taken from
the window's tallest upright frame), so a person near the camera and one at the far end
give the same numbers for the same movement, whatever the camera's height and angle.

A window is a track's history (``vision.tracker.Track.history``: time, box, keypoints) over
the last few seconds, at whatever rate frames came (motion gating and dropped frames leave
gaps); features that need speed divide by the real time between frames.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from enum import StrEnum

import numpy as np

from vision.pose import KEYPOINTS

J = {name: n for n, name in enumerate(KEYPOINTS)}
Window = Sequence[tuple[float, np.ndarray, np.ndarray]]
"""A track's frames, oldest first: (t, box, keypoints)."""
SEEN = 0.2
SHOULDERS = [J["left_shoulder"], J["right_shoulder"]]
HIPS = [J["left_hip"], J["right_hip"]]
WRISTS = [J["left_wrist"], J["right_wrist"]]
EARS = [J["left_ear"], J["right_ear"]]
ANKLES = [J["left_ankle"], J["right_ankle"]]
HEAD = [J["nose"], J["left_eye"], J["right_eye"], J["left_ear"], J["right_ear"]]
NAMES = (
    "torso_angle", "torso_angle_max", "torso_angle_change", "aspect", "aspect_change", "hip_drop",
    "hand_mouth_min", "hand_mouth_near_share", "hand_mouth_approaches", "hand_ear_near_share", "seen_share",
    "lost_after_drop", "torso_angle_first",
    "height_ratio_min_1s", "top_drop_max_1s", "torso_turn_max_1s", "hip_drop_max_1s", "height_ratio_now",
    "feet_travel", "upright_drop_1s", "upright_now", "head_feet_change_1s", "head_hips_change_1s",
    "upright_max", "descent_s",
)  # fmt: skip
"""The single-track features of a moment (``WINDOW_S``), in the order ``track_features`` gives them."""
WINDOW_S = 3.0
"""The seconds of a track a moment's features read: a fall and the moment after it."""
HABIT_NAMES = (
    "mouth_visits_per_min", "mouth_hold_median_s", "mouth_hold_max_s", "mouth_gap_median_s", "mouth_share", "ear_share",
    "habit_span_s",
)  # fmt: skip
"""The single-track features of a habit (``HABIT_WINDOW_S``), in the order ``habit_features`` gives them."""
PAIR_NAMES = (
    "gap_now", "gap_min", "gap_mean", "closing_max", "facing_min", "facing_max", "arms_fast_min", "arms_fast_max",
    "arms_spread_min", "arms_spread_max", "reach_min", "shove_max", "sway_max", "torso_swing_max", "walk_speed_max",
    "overlap_mean", "in_line",
)  # fmt: skip
"""The features of two tracks together (``PAIR_WINDOW_S``), in the order ``pair_features`` gives them."""
PAIR_WINDOW_S = 4.0
"""Long enough for a few of an angry talker's gestures and a shove and its recovery; short enough that a hug's
approach and a quarrel's start are not averaged away."""
READ_SLACK = 1e-6
"""Seconds a reading may come early: a frame's time is a sum of floats."""
LAG_S = 0.4
"""The span a pair's speeds are measured over (``_lagged``)."""
NEAR_PAIR = 3.0
"""Two tracks are read as a pair when their boxes' middles are within this many of their heights."""
HABIT_WINDOW_S = 40.0
"""Long enough to hold two or three drags of a cigarette, a drag every 10-20 s."""
VISIT_GAP_S = 1.0
NEAR_MOUTH = 0.12
"""A wrist within this many heights of the nose is at the mouth."""
NEAR_EAR = 0.1
TORSO_SHARE = 3.3
"""A standing person's height in upright torsos (shoulders' middle to hips'): so someone seen only sitting is measured in
the height they would stand at, and lying down from a seat is not mistaken for a fall by being measured in a seated
height."""
TURNED = 0.4
"""A head that moved this many heights away from over the feet within ``SPAN_S``: a body that went down; losing it
in the middle of the picture right after is evidence of a fall (the pose model misses most people lying down)."""
DESCENT_NO = 5.0
"""``descent_s`` when the head did not come down: longer than any descent a window holds."""
SPAN_S = 1.2
"""A fall takes about a second; sitting down fast takes as long but drops half as far, lying down to sleep takes several:
the most that changes within this span tells them apart, and is measured between frames, not between neighbours, so
it does not grow with the pose model's jitter or the frame rate."""


def _mids(points: np.ndarray, joints: list[int], every: bool = False) -> np.ndarray:
    """Per frame (``points``: frames x 17 x 3), the middle of the ``joints`` seen, (frames, 2); NaN where none is, or
    with ``every`` where any is not: a middle that jumps to one hip when the other goes unseen for a frame moves by
    half a hip's width, which a speed would read as a shove."""
    chosen = points[:, joints]
    seen = chosen[..., 2] >= SEEN
    count = seen.sum(axis=1)
    total = (chosen[..., :2] * seen[..., None]).sum(axis=1)
    enough = count == len(joints) if every else count > 0
    return np.where(enough[:, None], total / np.maximum(count, 1)[:, None], np.nan)


def _torso_angles(points: np.ndarray) -> np.ndarray:
    """Per frame, radians from upright (0) through lying (pi/2) to head down (pi): the line from the hips' middle to the
    shoulders' middle (NaN when either is unseen). Picture y grows downward: shoulders above the hips is 0."""
    dx, dy = (_mids(points, SHOULDERS) - _mids(points, HIPS)).T
    angles: np.ndarray = np.arctan2(np.abs(dx), -dy)
    return angles


def _nearest(points: np.ndarray, hands: list[int], target: int) -> np.ndarray:
    """Per frame, the pixels from the nearest seen hand to the ``target`` joint (NaN when it or every hand is unseen)."""
    distances = np.linalg.norm(points[:, hands, :2] - points[:, [target], :2], axis=-1)
    distances[points[:, hands, 2] < SEEN] = np.inf
    nearest: np.ndarray = distances.min(axis=1)
    nearest[(points[:, target, 2] < SEEN) | ~np.isfinite(nearest)] = np.nan
    return nearest


def _most_within(times: np.ndarray, values: np.ndarray, change: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> float:
    """The largest ``change(earlier, later)`` between two frames at most ``SPAN_S`` apart (NaN values skipped; 0 when
    no two known values are); ``values`` may be one number or one vector a frame."""
    known = np.isfinite(values) if values.ndim == 1 else np.isfinite(values).all(axis=1)
    t, v = times[known], values[known]
    pairs = (t[None, :] > t[:, None]) & (t[None, :] <= t[:, None] + SPAN_S)
    if not pairs.any():
        return 0.0
    return max(float(change(v[:, None], v[None, :])[pairs].max()), 0.0)


def _vectors(points: np.ndarray, tip: list[int], base: list[int]) -> np.ndarray:
    """Per frame, the picture's vector from the ``base`` joints' middle to the ``tip`` joints' (NaN when either is unseen)."""
    vectors: np.ndarray = _mids(points, tip) - _mids(points, base)
    return vectors


def _moved(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """How far a vector moved: whichever way a body falls in the picture, the head leaves where it stood over the feet."""
    moved: np.ndarray = np.linalg.norm(after - before, axis=-1)
    return moved


def _last_known(values: np.ndarray) -> float:
    known = values[np.isfinite(values)]
    return float(known[-1]) if len(known) else 0.0


def _rise(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    rise: np.ndarray = after - before
    return rise


def track_features(window: Window, picture: tuple[int, int], lost_for_s: float = 0.0) -> np.ndarray:
    """``NAMES`` for one track's window of (t, box, keypoints), oldest first, in a ``picture`` of (width, height);
    ``lost_for_s``: how long since it was last seen (a person lying down after a fall is often not found at all).

    Frames where the person is cut by the picture's edge are left out: their box and size say where the picture ends,
    not how the person stands (someone walking out under the camera would otherwise seem to fall)."""
    left_the_picture = bool(window) and not _inside(window[-1][1], picture)
    whole = _seen_whole(window, picture)
    if whole is None:
        return np.zeros(len(NAMES), np.float32)
    times, boxes, points = whole
    heights = boxes[:, 3] - boxes[:, 1]
    widths = boxes[:, 2] - boxes[:, 0]
    angles = _torso_angles(points)
    size = _standing_height(points, heights, widths, angles)
    known = angles[np.isfinite(angles)]
    aspect = widths / np.maximum(heights, 1.0)
    hip_y = _mids(points, HIPS)[:, 1] / size
    hip_drop = float(np.nanmax(hip_y) - hip_y[np.isfinite(hip_y)][0]) if np.isfinite(hip_y).any() else 0.0
    mouth = _nearest(points, WRISTS, J["nose"]) / size
    ear = np.fmin(*(_nearest(points, WRISTS, e) for e in EARS)) / size
    near = mouth < NEAR_MOUTH
    approaches = int(np.sum(near[1:] & ~near[:-1])) + int(bool(near[0]))
    seen = float(np.mean(points[:, :, 2].mean(axis=1) >= SEEN))
    shrink = _most_within(times, heights, lambda before, after: 1.0 - after / np.maximum(before, 1.0))
    top_drop = _most_within(times, boxes[:, 1] / size, _rise)
    head, ankles = _mids(points, HEAD), _mids(points, ANKLES)
    head_over_feet = (ankles[:, 1] - head[:, 1]) / size
    head_feet = (head - ankles) / size
    turned = _most_within(times, head_feet, _moved)
    head_hips = _vectors(points, HEAD, HIPS) / size
    feet_seen = np.isfinite(ankles).all(axis=1)
    feet, feet_times = ankles[feet_seen], times[feet_seen]
    feet_travel = float(np.linalg.norm(feet[-1] - feet[0]) / size / max(feet_times[-1] - feet_times[0], 0.5)) if len(feet) > 1 else 0.0
    return np.array(
        [
            known[-1] if len(known) else 0.0, known.max(initial=0.0), (known[-1] - known[0]) if len(known) > 1 else 0.0,
            float(aspect[-1]), float(aspect[-1] - aspect[0]), hip_drop,
            float(np.nanmin(mouth)) if np.isfinite(mouth).any() else 1.0, float(np.nanmean(near)) if len(near) else 0.0, float(approaches),
            float(np.nanmean(ear < NEAR_EAR)) if np.isfinite(ear).any() else 0.0, seen,
            0.0 if left_the_picture or turned < TURNED else lost_for_s, known[0] if len(known) else 0.0,
            1.0 - shrink, top_drop, _most_within(times, angles, _rise), _most_within(times, hip_y, _rise),
            float(heights[-1] / max(heights.max(), 1.0)), feet_travel,
            _most_within(times, head_over_feet, lambda before, after: before - after), _last_known(head_over_feet),
            turned, _most_within(times, head_hips, _moved),
            float(np.nanmax(head_over_feet)) if np.isfinite(head_over_feet).any() else 0.0, _descent_s(times, head_over_feet),
        ],
        np.float32,
    )  # fmt: skip


def _standing_height(points: np.ndarray, heights: np.ndarray, widths: np.ndarray, angles: np.ndarray) -> float:
    """The person's height standing, in pixels: the tallest upright frame, or ``TORSO_SHARE`` upright torsos."""
    upright = np.isfinite(angles) & (angles < 0.5)
    torsos = np.linalg.norm(_mids(points, SHOULDERS) - _mids(points, HIPS), axis=1)[upright]
    return max(
        float(heights[upright].max()) if upright.any() else float(max(heights.max(), widths.max())),
        TORSO_SHARE * float(torsos.max()) if upright.any() else 0.0,
        1.0,
    )


def habit_features(window: Window, picture: tuple[int, int]) -> np.ndarray:
    """``HABIT_NAMES`` for a track's last ``HABIT_WINDOW_S``: each time a hand went to the mouth (a visit: frames with a
    wrist at the mouth, gaps under ``VISIT_GAP_S`` bridged, as the pose model loses a wrist for a frame), how long it
    stayed, how long between visits, and how much of the time a hand was at the mouth or an ear. A smoker draws for a
    second or two every ten or twenty; an eater's hand comes every few seconds for a moment; a drinker's rarely and
    long; a caller's stays at the ear."""
    whole = _seen_whole(window, picture)
    if whole is None:
        return np.zeros(len(HABIT_NAMES), np.float32)
    times, boxes, points = whole
    size = _standing_height(points, boxes[:, 3] - boxes[:, 1], boxes[:, 2] - boxes[:, 0], _torso_angles(points))
    near = _nearest(points, WRISTS, J["nose"]) / size < NEAR_MOUTH
    ear = np.fmin(*(_nearest(points, WRISTS, e) for e in EARS)) / size < NEAR_EAR
    visits: list[list[float]] = []
    for t in times[near]:
        if visits and t - visits[-1][1] <= VISIT_GAP_S:
            visits[-1][1] = t
        else:
            visits.append([t, t])
    span = float(times[-1] - times[0])
    step = span / max(len(times) - 1, 1)
    holds = [end - start + step for start, end in visits]
    gaps = np.diff([start for start, _ in visits])
    return np.array(
        [
            len(visits) / max(span, 1.0) * 60.0, float(np.median(holds)) if holds else 0.0, max(holds, default=0.0),
            float(np.median(gaps)) if len(gaps) else HABIT_WINDOW_S, float(near.mean()), float(ear.mean()), span,
        ],
        np.float32,
    )  # fmt: skip


def _descent_s(times: np.ndarray, upright: np.ndarray) -> float:
    """How long the head took to come down from over the feet to its lowest, from the last moment it was still near its
    highest to the first it was near its lowest (``DESCENT_NO`` when it did not come down by ``TURNED``): a fall takes
    about a second whatever its size in the picture, lying down on a bench several."""
    known = np.isfinite(upright)
    t, u = times[known], upright[known]
    if len(u) < 2:
        return DESCENT_NO
    lowest = int(np.argmin(u))
    highest = int(np.argmax(u[: lowest + 1]))
    drop = float(u[highest] - u[lowest])
    if drop < TURNED:
        return DESCENT_NO
    began = highest + int(np.nonzero(u[highest : lowest + 1] >= u[highest] - 0.15 * drop)[0].max())
    ended = highest + int(np.nonzero(u[highest : lowest + 1] <= u[lowest] + 0.15 * drop)[0].min())
    return float(t[ended] - t[began])


def _seen_whole(window: Window, picture: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The times, boxes and keypoints of the frames where the person is wholly in the picture (None under two): a box
    cut by the picture's edge says where the picture ends, not how the person stands."""
    kept = [w for w in window if _inside(w[1], picture)]
    if len(kept) < 2:
        return None
    return (
        np.array([t for t, _, _ in kept]),
        np.array([box for _, box, _ in kept], np.float64),
        np.array([k for _, _, k in kept], np.float64),
    )


def _inside(box: np.ndarray, picture: tuple[int, int], margin: float = 2.0) -> bool:
    left, top, right, bottom = (float(v) for v in box)
    return left > margin and top > margin and right < picture[0] - margin and bottom < picture[1] - margin


def pair_features(first: Window, second: Window, picture: tuple[int, int]) -> np.ndarray:
    """``PAIR_NAMES`` for two tracks' windows, read on the frames both are wholly in the picture: how far apart they
    stand and how fast that closes, whether each faces the other, how fast and how widely their arms move against their
    shoulders, how near a hand comes to the other's body, how fast one is thrown back from the other (a shove), how much they
    step to and fro and their torsos swing, and how fast they walk on (people passing). A dispute is two people close,
    facing, agitated, perhaps pushing; a hug is close and still, a handshake close and brief, passers-by fast."""
    a, b = _seen_whole(first, picture), _seen_whole(second, picture)
    if a is None or b is None:
        return np.zeros(len(PAIR_NAMES), np.float32)
    common, in_a, in_b = np.intersect1d(a[0], b[0], return_indices=True)
    if len(common) < 2 or common[-1] - common[0] < LAG_S:
        return np.zeros(len(PAIR_NAMES), np.float32)
    sizes = [_standing_height(w[2], w[1][:, 3] - w[1][:, 1], w[1][:, 2] - w[1][:, 0], _torso_angles(w[2])) for w in (a, b)]
    size = (sizes[0] + sizes[1]) / 2
    pa, pb = a[2][in_a], b[2][in_b]
    times = common
    later, apart = _lagged(times)
    hips_a, hips_b = _mids(pa, HIPS, every=True), _mids(pb, HIPS, every=True)
    between = hips_b - hips_a
    gap = np.linalg.norm(between, axis=1) / size
    toward = between / np.maximum(np.linalg.norm(between, axis=1, keepdims=True), 1e-6)
    per_person = []
    for points, hips, other, sign in ((pa, hips_a, pb, 1.0), (pb, hips_b, pa, -1.0)):
        shoulders = _mids(points, SHOULDERS, every=True)
        nose = np.where(points[:, J["nose"], 2:3] >= SEEN, points[:, J["nose"], :2], np.nan)
        facing = ((nose - shoulders) * toward * sign).sum(axis=1) / size
        arms = points[:, WRISTS, :2] - shoulders[:, None, :]
        arms[points[:, WRISTS, 2] < SEEN] = np.nan
        arm_speed = np.linalg.norm(arms[later] - arms, axis=-1).max(axis=1) / apart / size
        body = (_mids(other, SHOULDERS, every=True) + _mids(other, HIPS, every=True)) / 2
        wrists = np.where(points[:, WRISTS, 2:3] >= SEEN, points[:, WRISTS, :2], np.nan)
        reach = np.linalg.norm(wrists - body[:, None, :], axis=-1).min(axis=1) / size
        thrown = -sign * ((hips[later] - hips) * toward).sum(axis=1) / apart / size
        torso = shoulders - hips
        angles = np.arctan2(np.abs(torso[:, 0]), -torso[:, 1])
        seen_hips = np.isfinite(hips).all(axis=1)
        centre, centre_times = hips[seen_hips], times[seen_hips]
        walked = (
            float(np.linalg.norm(centre[-1] - centre[0]) / size / max(centre_times[-1] - centre_times[0], 0.5)) if len(centre) > 1 else 0.0
        )
        per_person.append((
            _nanmean(facing), _nanquantile(arm_speed, 0.75), _spread(arms) / size, _nanmin(reach, 1.0), _nanmax(thrown, 0.0),
            float(centre.std(axis=0).max() / size) if len(centre) > 1 else 0.0,
            float(np.nanmax(angles) - np.nanmin(angles)) if np.isfinite(angles).any() else 0.0, walked,
        ))  # fmt: skip
    face, fast, spread, reach, thrown, sway, swing, walked = np.array(per_person).T  # each: the two people's
    known = np.isfinite(gap)
    closing = _most_within(times[known], gap[known], lambda before, after: before - after)
    return np.array(
        [
            _last_known(gap), _nanmin(gap, 0.0), _nanmean(gap), closing, face.min(), face.max(), fast.min(), fast.max(),
            spread.min(), spread.max(), reach.min(), thrown.max(), sway.max(), swing.max(), walked.max(),
            float(_overlaps(a[1][in_a], b[1][in_b]).mean()), _nanmean(np.abs(toward[:, 1])),
        ],
        np.float32,
    )  # fmt: skip


def _spread(arms: np.ndarray) -> float:
    """How far the wrists wander about their shoulders (frames x 2 wrists x 2): the mean over the wrists seen in at least
    two frames of their positions' spread (the root of the summed variances), in pixels; 0 when none is."""
    seen = [arm[np.isfinite(arm).all(axis=1)] for arm in arms.transpose(1, 0, 2)]
    spreads = [float(np.sqrt(arm.var(axis=0).sum())) for arm in seen if len(arm) >= 2]
    return float(np.mean(spreads)) if spreads else 0.0


def _overlaps(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Per frame, how much of the smaller of two boxes the other covers: one person standing behind the other, as a
    camera looking along the pair sees them."""
    width = np.clip(np.minimum(first[:, 2], second[:, 2]) - np.maximum(first[:, 0], second[:, 0]), 0, None)
    height = np.clip(np.minimum(first[:, 3], second[:, 3]) - np.maximum(first[:, 1], second[:, 1]), 0, None)
    areas = [(boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) for boxes in (first, second)]
    covered: np.ndarray = width * height / np.maximum(np.minimum(*areas), 1.0)
    return covered


def _lagged(times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each frame, the first frame at least ``LAG_S`` later and the seconds between (NaN when none is that much
    later): movement measured over a fixed span, not between neighbouring frames, does not grow with the frame rate or
    the pose model's jitter."""
    later = np.minimum(np.searchsorted(times, times + LAG_S - 1e-6), len(times) - 1)
    apart = times[later] - times
    return later, np.where(apart >= LAG_S - 1e-6, apart, np.nan)


def _nanmean(values: np.ndarray) -> float:
    return float(np.nanmean(values)) if np.isfinite(values).any() else 0.0


def _nanmin(values: np.ndarray, none: float) -> float:
    return float(np.nanmin(values)) if np.isfinite(values).any() else none


def _nanmax(values: np.ndarray, none: float) -> float:
    return float(np.nanmax(values)) if np.isfinite(values).any() else none


def _nanquantile(values: np.ndarray, q: float) -> float:
    return float(np.nanquantile(values, q)) if np.isfinite(values).any() else 0.0


def pair_apart(first: np.ndarray, second: np.ndarray) -> float:
    """How far apart two boxes' (x1, y1, x2, y2) middles are, in their mean height: pairs further than ``NEAR_PAIR`` are
    not read at all (most pairs in a crowd)."""
    height = max((first[3] - first[1] + second[3] - second[1]) / 2, 1.0)
    dx = (first[0] + first[2]) / 2 - (second[0] + second[2]) / 2
    dy = (first[1] + first[3]) / 2 - (second[1] + second[3]) / 2
    return float(math.hypot(dx, dy) / height)


class Reading(StrEnum):
    """What a behaviour model reads: a track's moment (a fall) or habit (smoking's rhythm), or two tracks' moment
    together (a dispute)."""

    MOMENT = "moment"
    HABIT = "habit"
    PAIR = "pair"

    @property
    def window_s(self) -> float:
        return {Reading.MOMENT: WINDOW_S, Reading.HABIT: HABIT_WINDOW_S, Reading.PAIR: PAIR_WINDOW_S}[self]

    @property
    def every_s(self) -> float:
        """How often it is read: a moment every frame, a pair twice a second, a habit once a second (the smoothing counts
        readings, not frames, so a model's rule holds at any frame rate)."""
        return {Reading.MOMENT: 0.0, Reading.HABIT: 1.0, Reading.PAIR: 0.5}[self]

    @property
    def names(self) -> tuple[str, ...]:
        return {Reading.MOMENT: NAMES, Reading.HABIT: HABIT_NAMES, Reading.PAIR: PAIR_NAMES}[self]

    def frames_between(self, fps: float) -> int:
        """At ``fps``, how many frames apart the camera's judge reads it: the first frame at least ``every_s`` after the
        last reading (``vision.camera.Judge``), so training reads its clips at the rhythm a camera will."""
        return max(1, math.ceil(fps * self.every_s - READ_SLACK * fps))

    @property
    def people(self) -> int:
        """How many tracks one reading reads."""
        return 2 if self is Reading.PAIR else 1

    def features(self, windows: Sequence[Window], picture: tuple[int, int], lost_for_s: float) -> np.ndarray:
        """The features of ``windows`` (``people`` of them); ``lost_for_s``: how long the track was last seen (a moment's)."""
        if self is Reading.MOMENT:
            return track_features(windows[0], picture, lost_for_s)
        if self is Reading.HABIT:
            return habit_features(windows[0], picture)
        return pair_features(windows[0], windows[1], picture)
