"""The cameras' pipeline on one core: frames a second, and its overhead against onnxruntime alone on the same frames.

Two measures, each beside its baseline in the same run (issue 13's bench):
  - overhead: the pipeline as a camera runs it (motion gate, letterboxing, the pose model,
    mapping back, the tracker, each track's features, the behaviour models and incidents) on a busy feed (someone always
    moving: nothing gated), against onnxruntime alone run on the same frames already
    letterboxed (what any camera using this model pays). Target: at most 1.1.
  - cameras a core: a realistic, mostly empty feed (a still room with sensor noise; a
    person walks through for a few seconds every minute) at 5 fps: the pipeline's time a
    frame with motion gating, and how many such cameras one core sustains.
The frames are the scikit-image wheel's astronaut pasted into a room at a moving place (a
real person for the pose model, no video file needed). One intra-op thread, as a camera has.

    .venv/bin/python bench/vision_fps.py [--frames 200] [--fps 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import cv2
import numpy as np
from skimage import data

from vision.behaviour import load_behaviours
from vision.camera import Judge
from vision.motion import MotionGate
from vision.pose import PoseModel, _letterboxed

ROOM = (720, 1280)


def room(rng: np.random.Generator) -> np.ndarray:
    frame = np.full((*ROOM, 3), 85, np.uint8)
    frame[480:] = 60
    frame[200:480, 900:1100] = 120  # a cabinet
    return np.clip(frame.astype(np.int16) + rng.integers(-4, 5, frame.shape), 0, 255).astype(np.uint8)


def with_person(frame: np.ndarray, x: int) -> np.ndarray:
    person = cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), (300, 300))
    out = frame.copy()
    x = max(0, min(ROOM[1] - 300, x))
    out[300:600, x : x + 300] = person
    return out


def run_pipeline(model: PoseModel, frames: list[np.ndarray], fps: float, gate: MotionGate | None) -> list[float]:
    """Seconds a frame, the whole pipeline as a camera runs it (``vision.camera.Judge``)."""
    judge = Judge(load_behaviours(), (ROOM[1], ROOM[0]), pose=model, gate=gate)
    spent = []
    for n, frame in enumerate(frames):
        started = time.perf_counter()
        judge.frame(n / fps, frame)
        spent.append(time.perf_counter() - started)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--fps", type=float, default=5.0)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    model = PoseModel(threads=1)
    busy = [with_person(room(rng), 40 + 6 * n) for n in range(args.frames)]
    boxed = [_letterboxed(frame, *model.input_hw)[0][np.newaxis] for frame in busy]
    feed = model.input.name
    for frame in boxed[:5]:
        model.session.run(None, {feed: frame})  # warm both up the same
    run_pipeline(model, busy[:5], args.fps, None)
    rounds = []
    for _ in range(3):  # interleaved, medians: this machine's speed wanders
        started = time.perf_counter()
        for frame in boxed:
            model.session.run(None, {feed: frame})
        alone = (time.perf_counter() - started) / len(boxed)
        pipeline = sum(run_pipeline(model, busy, args.fps, MotionGate())) / len(busy)
        rounds.append((alone, pipeline))
    alone, pipeline = statistics.median(r[0] for r in rounds), statistics.median(r[1] for r in rounds)
    print(
        f"busy feed ({args.frames} frames, someone always moving): onnxruntime alone {1000 * alone:.1f} ms a frame, "
        f"the pipeline {1000 * pipeline:.1f} ms ({1 / pipeline:.1f} fps on one core): "
        f"overhead {pipeline / alone:.2f} (target <= 1.1)"
    )

    minute = int(60 * args.fps)
    quiet = []
    for n in range(3 * minute):  # three minutes: a person crosses for 6 s each minute
        second = (n % minute) / args.fps
        frame = room(rng)
        quiet.append(with_person(frame, int(150 * (second - 20))) if 20 <= second < 26 else frame)
    gate = MotionGate()
    spent = run_pipeline(model, quiet, args.fps, gate)
    per_frame = sum(spent) / len(spent)
    print(
        f"quiet feed (3 min at {args.fps:g} fps, someone crossing 6 s a minute): {1000 * per_frame:.1f} ms a frame with "
        f"motion gating, {gate.skipped} of {len(quiet)} frames skipped; one core sustains {1 / (per_frame * args.fps):.0f} such cameras"
    )


if __name__ == "__main__":
    main()
