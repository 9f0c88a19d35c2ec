"""The tracker (issue 13's second stage): people keep their identity from frame to frame, whatever order the pose stage
lists them in, through short gaps and when they cross; a track lost for longer ends; every bound holds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vision.tracker import MOST_TRACKS, Tracker, iou

FPS = 5.0


@dataclass(frozen=True)
class Seen:
    box: tuple[float, float, float, float]
    keypoints: np.ndarray


def person(x: float, y: float, rng: np.random.Generator | None = None, noise: float = 0.0) -> Seen:
    """A standing person 40 px wide and 120 px tall at (x, y) (top left), with 17 keypoints down the body."""
    jitter = (lambda: rng.normal(0, noise, 2)) if rng is not None and noise else (lambda: np.zeros(2))
    points = np.array([[x + 20 + 10 * np.sin(k), y + 7 * k, 0.9] for k in range(17)])
    points[:, :2] += np.array([jitter() for _ in range(17)])
    return Seen((x, y, x + 40, y + 120), points)


@settings(max_examples=60, deadline=None)
@given(
    people=st.integers(min_value=1, max_value=6),
    frames=st.integers(min_value=2, max_value=30),
    speed=st.floats(min_value=0.0, max_value=60.0),
    seed=st.integers(min_value=0, max_value=2**31),
)
def test_people_keep_their_identity_whatever_order_they_are_listed_in(people: int, frames: int, speed: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    tracker = Tracker()
    starts = [(100.0 + 150 * n, 50.0 + 10 * n) for n in range(people)]
    identity: dict[int, int] = {}
    for frame in range(frames):
        t = frame / FPS
        seen = [person(x + speed * t, y, rng, noise=1.0) for x, y in starts]
        order = rng.permutation(people)
        update = tracker.update(t, [seen[k] for k in order])
        assert len({track.id for track in update.seen}) == people, "one track a person, never two people on one track"
        for k, track in zip(order, update.seen, strict=True):
            assert identity.setdefault(int(k), track.id) == track.id, "nobody's identity changes"
        assert not update.ended


@pytest.mark.parametrize(("gap_frames", "same"), [(3, True), (7, True), (9, False)])
def test_a_person_who_vanishes_briefly_comes_back_as_themselves(gap_frames: int, same: bool) -> None:
    """keep_lost_s = 1.5 s at 5 fps: gone for 7 frames (1.4 s) they are the same track; for 9 (1.8 s) a new one."""
    tracker = Tracker(keep_lost_s=1.5)
    first = tracker.update(0.0, [person(100, 100)]).seen[0].id
    ended = []
    for frame in range(1, gap_frames + 1):
        update = tracker.update(frame / FPS, [])
        ended += update.ended
        assert [t.id for t in update.lost] == ([] if ended else [first]), "kept while briefly gone, then given up once"
    back = tracker.update((gap_frames + 1) / FPS, [person(104, 100)]).seen[0].id
    assert (back == first) is same and (ended == []) is same


def test_two_people_crossing_keep_their_identities() -> None:
    tracker = Tracker()
    ids: list[tuple[int, int]] = []
    for frame in range(20):
        t = frame / FPS
        left, right = person(100 + 30 * frame, 100), person(670 - 30 * frame, 110)
        update = tracker.update(t, [right, left] if frame % 2 else [left, right])
        by_x = {track.id: track.box[0] for track in update.seen}
        ids.append((min(by_x, key=lambda i: abs(by_x[i] - (100 + 30 * frame))), min(by_x, key=lambda i: abs(by_x[i] - (670 - 30 * frame)))))
    assert len(set(ids)) == 1, f"the walkers swapped identities: {sorted(set(ids))}"


def test_the_tracker_is_bounded_and_time_runs_forward() -> None:
    tracker = Tracker(window=8)
    crowd = [person(50.0 * n, 60.0 * (n % 5)) for n in range(60)]
    for frame in range(20):
        tracker.update(frame / FPS, crowd)
    assert len(tracker.tracks) <= MOST_TRACKS
    assert all(len(track.history) <= 8 for track in tracker.tracks.values())
    with pytest.raises(ValueError, match="time order"):
        tracker.update(0.0, [])


def test_iou() -> None:
    a = np.array([0.0, 0.0, 10.0, 10.0])
    assert iou(a, a) == 1.0 and iou(a, a + 20) == 0.0 and iou(a, np.array([5.0, 0.0, 15.0, 10.0])) == pytest.approx(1 / 3)
