"""Faces blurred before anything of a frame is written: the only images the cameras keep are alarms' snapshots.

The head of every person the pose stage found is covered, from the keypoints that a head
has (nose, eyes, ears) widened by the shoulders' span, or the person's whole box when none
of them is seen (someone facing away, lying down, seen from above); so is the whole last
box of every track lost in the frame (a fallen person is often not found at all). The region is pixelated in
coarse blocks and then smoothed, which no deblurring undoes, and nothing but the blurred
frame leaves this module (``snapshot`` returns JPEG bytes of it).
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from vision.pose import KEYPOINTS, Person

HEAD = tuple(KEYPOINTS.index(name) for name in ("nose", "left_eye", "right_eye", "left_ear", "right_ear"))
SHOULDERS = (KEYPOINTS.index("left_shoulder"), KEYPOINTS.index("right_shoulder"))
SEEN = 0.2
BLOCKS = 4
"""The mosaic's blocks across a head region: four, so no eye, nose or mouth keeps a block of its own (a face detector
works on just such coarse light and dark patches, and found a face in a finer mosaic)."""


def _clipped(box: tuple[float, float, float, float], width: int, height: int) -> tuple[int, int, int, int]:
    left, top = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
    right, bottom = min(width, int(np.ceil(box[2]))), min(height, int(np.ceil(box[3])))
    return left, top, max(left, right), max(top, bottom)


def head_region(person: Person, width: int, height: int) -> tuple[int, int, int, int]:
    """x1, y1, x2, y2 in the frame (clipped) that covers the person's head, generously."""
    box_w = person.box[2] - person.box[0]
    points = person.keypoints
    head = points[list(HEAD)]
    head = head[head[:, 2] >= SEEN]
    shoulders = points[list(SHOULDERS)]
    shoulders = shoulders[shoulders[:, 2] >= SEEN]
    if len(head):
        span = float(np.ptp(shoulders[:, 0])) if len(shoulders) == 2 else 0.0
        size = max(span * 0.9, float(np.ptp(head[:, 0])) * 2.2, box_w * 0.35, 24.0)
        cx, cy = float(head[:, 0].mean()), float(head[:, 1].mean())
        region = (cx - size / 2, cy - size * 0.65, cx + size / 2, cy + size * 0.55)
    else:  # no head keypoint seen (turned away, lying down, seen from above): where the head is is not known, so all of it
        region = person.box
    return _clipped(region, width, height)


def blurred(frame_bgr: np.ndarray, people: Iterable[Person], unseen: Iterable[tuple[float, float, float, float]] = ()) -> np.ndarray:
    """A copy of the frame with every person's head region pixelated and smoothed (the frame itself is left as it is).
    ``unseen``: the last boxes of tracks the model lost in this frame (a fallen person is often not found): each is
    covered whole, since nothing says where its head is."""
    out = frame_bgr.copy()
    height, width = out.shape[:2]
    regions = [head_region(person, width, height) for person in people]
    regions += [_clipped(box, width, height) for box in unseen]
    for x1, y1, x2, y2 in regions:
        if x2 - x1 < 2 or y2 - y1 < 2:
            continue
        region = out[y1:y2, x1:x2]
        small = cv2.resize(region, (BLOCKS, BLOCKS), interpolation=cv2.INTER_AREA)
        mosaic = cv2.resize(small, (x2 - x1, y2 - y1), interpolation=cv2.INTER_NEAREST)
        kernel = (max(3, (x2 - x1) // BLOCKS) | 1, max(3, (y2 - y1) // BLOCKS) | 1)
        out[y1:y2, x1:x2] = cv2.GaussianBlur(mosaic, kernel, 0)
    return out


def snapshot(
    frame_bgr: np.ndarray, people: Iterable[Person], unseen: Iterable[tuple[float, float, float, float]] = (), quality: int = 80
) -> bytes:
    """The alarm's picture: the frame with every head blurred (and every lost track's box), as JPEG. The unblurred frame
    is never encoded."""
    ok, encoded = cv2.imencode(".jpg", blurred(frame_bgr, people, unseen), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("the frame could not be encoded as JPEG")
    return encoded.tobytes()
