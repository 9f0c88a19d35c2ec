"""The features a behaviour model reads (issue 13): a fall, a smoker's rhythm and a phone call look different from
standing, sitting and walking, whatever the camera's height and angle and the person's distance."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from vision.features import NAMES, track_features
from vision.synthetic import (
    CCTV,
    NO_NOISE,
    Activity,
    Actor,
    Body,
    Script,
    clip,
    falling,
    hand_to_mouth,
    phoning,
    sitting,
    skeleton,
    standing,
    walking,
)

FPS = 5.0
F = {name: n for n, name in enumerate(NAMES)}


def _window(script: Script, camera: CCTV, seconds: float = 6.0) -> list[tuple[float, np.ndarray, np.ndarray]]:
    frames = clip([Actor(1, Body(), Activity.STAND, script)], camera, seconds, FPS, NO_NOISE, np.random.default_rng(0))
    return [(n / FPS, np.array(f[0].box), f[0].keypoints) for n, f in enumerate(frames) if f]


cameras = st.builds(
    CCTV, height_m=st.floats(2.5, 4.0), pitch=st.floats(math.radians(20), math.radians(45)),
)  # fmt: skip
offsets = st.floats(-0.5, 0.5)


def _in_view(camera: CCTV, offset: float) -> float:
    """How far ahead a person stands to be seen whole: where the camera's line of sight meets their middle, give or take."""
    distance = (camera.height_m - 0.9) / math.tan(camera.pitch) + offset
    pixels, ahead = camera.project(skeleton(Body(), standing(0.0, distance, math.pi)(0.0)))
    assume(ahead.all() and (pixels[:, 1] > 0).all() and (pixels[:, 1] < camera.height).all())
    return distance


@settings(max_examples=25, deadline=None)
@given(camera=cameras, offset=offsets)
def test_a_fall_tips_the_torso_and_drops_the_hips_fast_unlike_standing_sitting_or_walking(camera: CCTV, offset: float) -> None:
    distance = _in_view(camera, offset)
    fall = track_features(_window(falling(standing(0.0, distance, math.pi), at_s=3.0, duration_s=0.8, direction="sideways"), camera))
    calm = [
        track_features(_window(standing(0.0, distance, math.pi), camera)),
        track_features(_window(sitting(0.0, distance, math.pi), camera)),
        track_features(_window(walking(0.0, distance + 0.9, math.pi, speed=0.3), camera)),  # towards the camera
    ]
    assert fall[F["torso_angle"]] > 1.0 and all(c[F["torso_angle"]] < 0.4 for c in calm)
    assert fall[F["drop_speed_max"]] > max(c[F["drop_speed_max"]] for c in calm) * 2


@settings(max_examples=25, deadline=None)
@given(camera=cameras, offset=offsets)
def test_a_smoker_brings_the_hand_to_the_mouth_again_and_again_a_caller_holds_it_at_the_ear(camera: CCTV, offset: float) -> None:
    distance = _in_view(camera, offset)
    facing = math.pi
    smoke = track_features(_window(hand_to_mouth(standing(0.0, distance, facing), every_s=4.0, hold_s=1.0), camera, seconds=12.0))
    call = track_features(_window(phoning(standing(0.0, distance, facing)), camera, seconds=12.0))
    still = track_features(_window(standing(0.0, distance, facing), camera, seconds=12.0))
    assert smoke[F["hand_mouth_approaches"]] >= 3 and still[F["hand_mouth_approaches"]] == 0
    assert smoke[F["hand_mouth_min"]] < 0.12 < still[F["hand_mouth_min"]]
    assert call[F["hand_ear_near_share"]] > 0.8 > smoke[F["hand_ear_near_share"]]


def test_a_short_window_gives_zeros_and_every_feature_is_named() -> None:
    assert track_features([]).tolist() == [0.0] * len(NAMES)
    assert len(set(NAMES)) == len(NAMES)
