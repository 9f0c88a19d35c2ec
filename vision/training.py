"""Our behaviour models, trained on our own generator's keypoint sequences (``vision.synthetic``) and measured on
sequences drawn from conditions outside those trained on: the accuracy is measured on synthetic data, and the model
card says so.

A clip is ten seconds of one person doing one thing in front of one camera, under drawn
conditions (``Conditions``: body, camera height and angle, distance, the pose model's noise,
frame rate). Windows of ``WINDOW_S`` end at every frame; a window is labelled a fall when it
ends from just after the fall began to ``AFTER_FALL_S`` after it ended. The model is a
gradient-boosted tree ensemble (scikit-learn), exported to ONNX (skl2onnx, no ZipMap) so the
cameras run it with onnxruntime like the pose model.

Events: a clip raises an alarm when the fall probability, smoothed over frames, crosses
``THRESHOLD``; a fall clip is detected when it alarms between the fall's start and
``AFTER_FALL_S`` after it (alert delay: from the start), and any alarm in a clip of ordinary
activity is a false alarm.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from vision.features import NAMES, track_features
from vision.synthetic import (
    CCTV,
    Activity,
    Actor,
    Body,
    Noise,
    Script,
    clip,
    falling,
    hand_to_mouth,
    lying_down,
    phoning,
    sitting,
    sitting_down,
    standing,
    walking,
)

WINDOW_S = 3.0
AFTER_FALL_S = 3.0
CLIP_S = 10.0
THRESHOLD = 0.6
SMOOTHING = 0.5
"""Weight of the newest window's probability in the smoothed one (an exponential moving average)."""
SEED = 20261207


@dataclass(frozen=True)
class Conditions:
    height_m: float
    build: float
    camera_height_m: float
    pitch: float
    offset_m: float
    """Where the person stands against where the camera's line of sight meets their middle."""
    side_m: float
    jitter: float
    dropped: float
    fps: float


def draw(rng: np.random.Generator, held_out: bool) -> Conditions:
    """Training conditions, or held-out ones from outside every training range (smaller and taller people, lower and
    higher cameras, shallower and steeper angles, noisier pose, other frame rates)."""

    def pick(inside: tuple[float, float], outside: tuple[tuple[float, float], tuple[float, float]]) -> float:
        low, high = outside[int(rng.integers(2))] if held_out else inside
        return float(rng.uniform(low, high))

    return Conditions(
        height_m=pick((1.55, 1.85), ((1.45, 1.55), (1.85, 1.95))),
        build=pick((0.9, 1.1), ((0.8, 0.9), (1.1, 1.25))),
        camera_height_m=pick((2.7, 3.6), ((2.5, 2.7), (3.6, 4.0))),
        pitch=math.radians(pick((25, 50), ((20, 25), (50, 60)))),
        offset_m=pick((-0.5, 0.5), ((-0.8, -0.5), (0.5, 0.8))),
        side_m=float(rng.uniform(-1.0, 1.0)),
        jitter=pick((0.004, 0.012), ((0.012, 0.018), (0.012, 0.018))),
        dropped=pick((0.02, 0.08), ((0.08, 0.12), (0.08, 0.12))),
        fps=float(rng.choice([4.0, 8.0])) if held_out else 5.0,
    )


ORDINARY = ("stand", "walk", "sit", "sit_down", "lie_down", "smoke", "eat", "drink", "phone")
"""What people do at the station that is not a fall, the look-alikes included (sitting down fast, lying down to sleep)."""


def scene(kind: str, conditions: Conditions, rng: np.random.Generator) -> tuple[Script, Activity, float | None, float | None]:
    """The script of a clip of ``kind`` (``fall`` or one of ``ORDINARY``): (script, activity, fall start, fall end)."""
    c = conditions
    distance = (c.camera_height_m - 0.9) / math.tan(c.pitch) + c.offset_m
    heading = float(rng.uniform(0, 2 * math.pi))
    x, body = c.side_m, Body(c.height_m, c.build)
    at = float(rng.uniform(3.0, 5.0))
    if kind == "fall":
        duration = float(rng.uniform(0.5, 1.3))
        base = (
            walking(x - 0.3 * at * math.sin(heading), distance - 0.3 * at * math.cos(heading), heading, speed=0.3)
            if rng.random() < 0.5
            else standing(x, distance, heading)
        )
        direction = str(rng.choice(["forward", "backward", "sideways"]))
        return falling(base, at, duration, direction), Activity.FALL, at, at + duration
    scripts: dict[str, Callable[[], tuple[Script, Activity]]] = {
        "stand": lambda: (standing(x, distance, heading), Activity.STAND),
        "walk": lambda: (_walk_through(x, distance, heading, float(rng.uniform(0.8, 1.6))), Activity.WALK),
        "sit": lambda: (sitting(x, distance, heading), Activity.SIT),
        "sit_down": lambda: (sitting_down(x, distance, heading, at, float(rng.uniform(0.5, 1.2)), body=body), Activity.SIT),
        "lie_down": lambda: (lying_down(x, distance, heading, at, float(rng.uniform(2.5, 5.0))), Activity.LIE),
        "smoke": lambda: (
            hand_to_mouth(standing(x, distance, heading), float(rng.uniform(6, 15)), float(rng.uniform(1.0, 2.5))),
            Activity.SMOKE,
        ),
        "eat": lambda: (hand_to_mouth(sitting(x, distance, heading), float(rng.uniform(2.5, 5)), 0.4, rise_s=0.4), Activity.EAT),
        "drink": lambda: (hand_to_mouth(standing(x, distance, heading), 30.0, float(rng.uniform(2, 4)), offset_s=-at), Activity.DRINK),
        "phone": lambda: (phoning(standing(x, distance, heading)), Activity.PHONE),
    }
    script, activity = scripts[kind]()
    return script, activity, None, None


def _walk_through(x: float, y: float, heading: float, speed: float) -> Script:
    """Walking at an ordinary pace, in any direction, passing the spot (x, y) at the clip's middle."""
    half = speed * CLIP_S / 2
    return walking(x - half * math.sin(heading), y - half * math.cos(heading), heading, speed=speed)


@dataclass(frozen=True)
class Clip:
    kind: str
    times: np.ndarray
    features: np.ndarray
    """One row of ``NAMES`` a frame: the window ending at that frame."""
    fall: tuple[float, float] | None


def make_clip(kind: str, conditions: Conditions, rng: np.random.Generator) -> Clip:
    script, activity, start, end = scene(kind, conditions, rng)
    body = Body(conditions.height_m, conditions.build)
    noise = Noise(jitter=conditions.jitter, dropped=conditions.dropped)
    frames = clip(
        [Actor(1, body, activity, script)],
        CCTV(height_m=conditions.camera_height_m, pitch=conditions.pitch),
        CLIP_S,
        conditions.fps,
        noise,
        rng,
    )
    history: list[tuple[float, np.ndarray, np.ndarray]] = []
    times, rows = [], []
    for n, frame in enumerate(frames):
        t = n / conditions.fps
        if frame:
            history.append((t, np.asarray(frame[0].box), frame[0].keypoints))
        window = [h for h in history if h[0] > t - WINDOW_S]
        lost = t - history[-1][0] if history else 0.0
        times.append(t)
        rows.append(track_features(window, lost_for_s=lost))
    return Clip(kind, np.array(times), np.array(rows, np.float32), None if start is None or end is None else (start, end))


def labels(one: Clip) -> np.ndarray:
    """Per frame: 1 from just after the fall began to ``AFTER_FALL_S`` after it ended."""
    if one.fall is None:
        return np.zeros(len(one.times), np.int64)
    start, end = one.fall
    return ((one.times >= start + 0.3) & (one.times <= end + AFTER_FALL_S)).astype(np.int64)


def dataset(clips: int, held_out: bool, seed: int) -> list[Clip]:
    """``clips`` clips, a third of them falls, the rest ordinary activity in equal shares."""
    rng = np.random.default_rng(seed)
    kinds = ["fall" if n % 3 == 0 else ORDINARY[(n // 3 * 2 + n % 3 - 1) % len(ORDINARY)] for n in range(clips)]
    return [make_clip(kind, draw(rng, held_out), rng) for kind in kinds]


def fit_fall_model(clips: list[Clip], seed: int = SEED) -> Any:
    """A gradient-boosted ensemble on every frame's window of every clip (scikit-learn has no types: ``Any``)."""
    from sklearn.ensemble import GradientBoostingClassifier

    features = np.concatenate([c.features for c in clips])
    targets = np.concatenate([labels(c) for c in clips])
    model = GradientBoostingClassifier(n_estimators=150, max_depth=3, learning_rate=0.1, subsample=0.8, random_state=seed)
    return model.fit(features, targets)


def to_onnx(model: Any) -> bytes:
    """The model as ONNX (opset 17, probabilities as a plain tensor: no ZipMap), for onnxruntime."""
    from skl2onnx import to_onnx as convert

    onnx_model = convert(model, np.zeros((1, len(NAMES)), np.float32), options={id(model): {"zipmap": False}}, target_opset=17)
    return bytes(onnx_model.SerializeToString())


@dataclass(frozen=True)
class Evaluation:
    precision: float
    recall: float
    f1: float
    false_alarms_per_hour: float
    delays_s: list[float]
    ordinary_hours: float


def evaluate(probability: Callable[[np.ndarray], np.ndarray], clips: list[Clip], threshold: float = THRESHOLD) -> Evaluation:
    """Event-level figures: a fall clip alarming within its fall's window is a true alarm, any alarm of an ordinary clip
    a false one (counted per camera-hour of ordinary activity)."""
    true_alarms = false_alarms = missed = 0
    delays = []
    ordinary_s = 0.0
    for one in clips:
        smoothed, first = 0.0, None
        for t, p in zip(one.times, probability(one.features), strict=True):
            smoothed = SMOOTHING * float(p) + (1 - SMOOTHING) * smoothed
            if smoothed >= threshold:
                first = float(t)
                break
        if one.fall is None:
            ordinary_s += CLIP_S
            false_alarms += first is not None
        elif first is not None and one.fall[0] <= first <= one.fall[1] + AFTER_FALL_S:
            true_alarms += 1
            delays.append(first - one.fall[0])
        else:
            missed += 1
            false_alarms += first is not None
    precision = true_alarms / max(true_alarms + false_alarms, 1)
    recall = true_alarms / max(true_alarms + missed, 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    return Evaluation(precision, recall, f1, false_alarms * 3600 / max(ordinary_s, 1.0), delays, ordinary_s / 3600)
