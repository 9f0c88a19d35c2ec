"""Faces blurred before a snapshot is written (issue 13's "Must show"): in the written JPEG no pixel of a head region is
as it was, no face is left for a face detector to find, and the rest of the frame is untouched."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from vision.pose import PoseModel
from vision.privacy import blurred, head_region, snapshot


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def _faces(image_bgr: np.ndarray) -> int:
    detector = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")  # ships in the OpenCV wheel
    gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
    return len(detector.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(30, 30)))


def test_the_written_snapshot_has_no_face_and_no_head_pixel_as_it_was(astronaut: np.ndarray) -> None:
    people = PoseModel().people(astronaut)
    assert people and _faces(astronaut) >= 1, "the photo has a face to hide"
    written = cv2.imdecode(np.frombuffer(snapshot(astronaut, people), np.uint8), cv2.IMREAD_COLOR)
    assert written.shape == astronaut.shape
    assert _faces(written) == 0, "a face detector finds no face in what is written"
    height, width = astronaut.shape[:2]
    x1, y1, x2, y2 = head_region(people[0], width, height)
    assert (x2 - x1) * (y2 - y1) > 60 * 60, "the head region is a head's size"
    exact = blurred(astronaut, people)
    region, original = exact[y1:y2, x1:x2].astype(int), astronaut[y1:y2, x1:x2].astype(int)
    detail = cv2.Laplacian(cv2.cvtColor(exact[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY), cv2.CV_64F).var()
    before = cv2.Laplacian(cv2.cvtColor(astronaut[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY), cv2.CV_64F).var()
    assert detail < before / 20, f"the head's fine detail is gone ({detail:.1f} left of {before:.1f})"
    written_region = written[y1:y2, x1:x2].astype(int)
    assert np.abs(written_region - region).mean() < 3, "what is written there is the blurred head (up to JPEG's rounding)"
    unchanged = (np.abs(written_region - original).sum(axis=2) == 0).mean()
    assert unchanged < 0.005, f"{unchanged:.1%} of the head's pixels are as they were"
    outside = np.ones((height, width), bool)
    outside[y1:y2, x1:x2] = False
    assert np.array_equal(exact[outside], astronaut[outside]), "nothing but heads is touched"


def test_a_person_whose_head_is_not_seen_is_covered_whole(astronaut: np.ndarray) -> None:
    (person, *_) = PoseModel().people(astronaut)
    hidden = type(person)(person.box, person.keypoints.copy(), person.score)
    hidden.keypoints[:5, 2] = 0.0  # facing away, lying down or seen from above: no nose, eyes or ears
    height, width = astronaut.shape[:2]
    x1, y1, x2, y2 = head_region(hidden, width, height)
    assert x1 <= person.box[0] and y1 <= person.box[1] and x2 >= min(width, person.box[2]) and y2 >= min(height, person.box[3])
    assert _faces(blurred(astronaut, [hidden])) == 0


def test_a_lost_track_is_covered_whole_in_the_snapshot(astronaut: np.ndarray) -> None:
    """A fallen person is often not found at all: their track's last box is blurred, face and all."""
    box = PoseModel().people(astronaut)[0].box
    written = cv2.imdecode(np.frombuffer(snapshot(astronaut, [], unseen=[box]), np.uint8), cv2.IMREAD_COLOR)
    assert _faces(astronaut) >= 1 and _faces(written) == 0
