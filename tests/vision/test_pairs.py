"""Two people together (issue 13): the pair's features do not care which of the two is first or how large the picture
is; an argument and a shove read as agitated and close, a hug and a handshake as close and calm; a camera's judge raises
one dispute incident about both people, and none for people talking, hugging or passing; a crowd's pairs are bounded."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vision.behaviour import Behaviour, load_behaviours
from vision.camera import MOST_PAIRS, Judge, Step, pairs_near
from vision.features import PAIR_NAMES, pair_features
from vision.synthetic import CCTV, NO_NOISE, Activity, Actor, Body, Noise, Script, clip, facing, gesturing, shoved, shoving, standing
from vision.tracker import MOST_TRACKS, Track
from vision.training import PAIRS, Conditions, pair_scene

CAMERA = CCTV(height_m=3.0, pitch=math.radians(35))
PICTURE = (CAMERA.width, CAMERA.height)
MIDDLE = (CAMERA.height_m - 0.9) / math.tan(CAMERA.pitch)
FPS = 5.0
P = {name: n for n, name in enumerate(PAIR_NAMES)}
CONDITIONS = Conditions(1.72, 1.0, 3.0, math.radians(35), 0.0, 0.0, 0.008, 0.04, FPS)

Window = list[tuple[float, np.ndarray, np.ndarray]]


def _windows(scripts: list[Script], seconds: float = 4.0, noise: Noise = NO_NOISE, seed: int = 0) -> tuple[Window, Window]:
    actors = [Actor(n + 1, Body(), Activity.TALK, script) for n, script in enumerate(scripts)]
    frames = clip(actors, CAMERA, seconds, FPS, noise, np.random.default_rng(seed))
    windows: dict[int, Window] = {1: [], 2: []}
    for n, people in enumerate(frames):
        for seen in people:
            windows[seen.truth].append((n / FPS, np.array(seen.box), seen.keypoints))
    return windows[1], windows[2]


def _arguing(axis: float, gap: float, reach: float) -> list[Script]:
    spots = facing(0.0, MIDDLE, axis, gap)
    return [gesturing(standing(*spot), 1.6, reach, n * 2.0, 0.15 if reach > 0.8 else 0.0) for n, spot in enumerate(spots)]


@settings(max_examples=25, deadline=None)
@given(axis=st.floats(0, 2 * math.pi), gap=st.floats(0.6, 1.4), reach=st.floats(0.1, 1.5), seed=st.integers(0, 1000))
def test_a_pairs_features_are_the_same_whichever_comes_first_and_at_any_picture_size(
    axis: float, gap: float, reach: float, seed: int
) -> None:
    first, second = _windows(_arguing(axis, gap, reach), noise=Noise(missed_lying=0.0), seed=seed)
    features = pair_features(first, second, PICTURE)
    assert np.allclose(features, pair_features(second, first, PICTURE), atol=1e-5), "swapping the two changes nothing"

    def scaled(window: Window) -> Window:
        return [(t, box * 2, np.column_stack([points[:, :2] * 2, points[:, 2]])) for t, box, points in window]

    doubled = pair_features(scaled(first), scaled(second), (PICTURE[0] * 2, PICTURE[1] * 2))
    assert np.allclose(features, doubled, rtol=0.05, atol=0.02), "measured in the people's own height, not in pixels"
    assert np.isfinite(features).all()


@settings(max_examples=20, deadline=None)
@given(axis=st.floats(0, 2 * math.pi), gap=st.floats(0.6, 1.0))
def test_an_angry_pair_moves_its_arms_faster_and_wider_than_a_calm_one(axis: float, gap: float) -> None:
    angry = pair_features(*_windows(_arguing(axis, gap, 1.3)), PICTURE)
    calm = pair_features(*_windows(_arguing(axis, gap, 0.2)), PICTURE)
    assert angry[P["arms_fast_max"]] > 2 * calm[P["arms_fast_max"]]
    assert angry[P["arms_spread_max"]] > 2 * calm[P["arms_spread_max"]]


def test_a_shove_throws_the_other_back_and_standing_still_does_not() -> None:
    spots = facing(0.0, MIDDLE, math.pi / 2, 0.8)  # across the picture
    pushed = pair_features(*_windows([shoving(standing(*spots[0]), 2.0, 1.0), shoved(standing(*spots[1]), 2.0, 1.0, 0.6)]), PICTURE)
    still = pair_features(*_windows([standing(*spots[0]), standing(*spots[1])]), PICTURE)
    assert pushed[P["shove_max"]] > 0.5 > still[P["shove_max"]] + 0.3
    assert still[P["facing_min"]] > 0, "two people on a line across the picture, each facing the other"


def test_pairs_are_read_only_when_near_and_a_crowd_gives_at_most_most_pairs() -> None:
    def track(n: int, x: float) -> Track:
        return Track(n, np.array([x, 50.0, x + 30, 150.0]), np.zeros((17, 3)), np.zeros(4), 0.0, 0.0)

    assert [(a.id, b.id) for a, b in pairs_near([track(2, 100), track(1, 150), track(3, 1000)])] == [(1, 2)]
    crowd = [track(n, 100 + 3 * n) for n in range(MOST_TRACKS)]
    nearest = pairs_near(crowd)
    assert len(nearest) == MOST_PAIRS and all(a.id < b.id for a, b in nearest)
    gaps = [abs(a.box[0] - b.box[0]) for a, b in nearest]
    assert gaps == sorted(gaps) and max(gaps) == 9, "the nearest pairs of a crowd are read first: 31 three apart, 30 six, 3 nine"


def _judged(kind: str, seed: int) -> list[tuple[Step, tuple[int, ...]]]:
    rng = np.random.default_rng(seed)
    scripts, _ = pair_scene(kind, CONDITIONS, rng)
    actors = [Actor(n + 1, Body(), activity, script) for n, (script, activity) in enumerate(scripts)]
    frames = clip(actors, CAMERA, 20.0, FPS, Noise(jitter=0.008, dropped=0.04), rng)
    judge = Judge(load_behaviours(), PICTURE)
    steps = []
    for n, people in enumerate(frames):
        steps += [(c.step, c.incident.subject) for c in judge.observe(n / FPS, people).changes if c.incident.behaviour is Behaviour.DISPUTE]
    return steps


@settings(max_examples=4, deadline=None)
@given(kind=st.sampled_from(["argue", "push"]), seed=st.integers(0, 10_000))
def test_a_dispute_raises_one_incident_about_both_people(kind: str, seed: int) -> None:
    opened = [subject for step, subject in _judged(kind, seed) if step is Step.OPENED]
    assert len(opened) == 1 and len(opened[0]) == 2, opened


@settings(max_examples=6, deadline=None)
@given(kind=st.sampled_from(PAIRS), seed=st.integers(0, 10_000))
def test_talking_hugging_shaking_hands_and_passing_raise_no_dispute(kind: str, seed: int) -> None:
    assert _judged(kind, seed) == []
