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


def _features(script: Script, camera: CCTV, seconds: float = 6.0, lost_for_s: float = 0.0) -> np.ndarray:
    return track_features(_window(script, camera, seconds), (camera.width, camera.height), lost_for_s)


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
    fall = _features(falling(standing(0.0, distance, math.pi), at_s=3.0, duration_s=0.8, direction="sideways"), camera)
    calm = [
        _features(standing(0.0, distance, math.pi), camera),
        _features(sitting(0.0, distance, math.pi), camera),
        _features(walking(0.0, distance + 0.9, math.pi, speed=0.3), camera),  # towards the camera
    ]
    assert fall[F["torso_angle"]] > 1.0 and all(c[F["torso_angle"]] < 0.4 for c in calm)
    assert fall[F["head_feet_change_1s"]] > max(c[F["head_feet_change_1s"]] for c in calm) * 2
    assert fall[F["top_drop_max_1s"]] > max(c[F["top_drop_max_1s"]] for c in calm) * 2


@settings(max_examples=25, deadline=None)
@given(camera=cameras, offset=offsets)
def test_a_smoker_brings_the_hand_to_the_mouth_again_and_again_a_caller_holds_it_at_the_ear(camera: CCTV, offset: float) -> None:
    distance = _in_view(camera, offset)
    facing = math.pi
    smoke = _features(hand_to_mouth(standing(0.0, distance, facing), every_s=4.0, hold_s=1.0), camera, seconds=12.0)
    call = _features(phoning(standing(0.0, distance, facing)), camera, seconds=12.0)
    still = _features(standing(0.0, distance, facing), camera, seconds=12.0)
    assert smoke[F["hand_mouth_approaches"]] >= 3 and still[F["hand_mouth_approaches"]] == 0
    assert smoke[F["hand_mouth_min"]] < 0.12 < still[F["hand_mouth_min"]]
    assert call[F["hand_ear_near_share"]] > 0.8 > smoke[F["hand_ear_near_share"]]


def test_a_short_window_gives_zeros_and_every_feature_is_named() -> None:
    assert track_features([], (448, 256)).tolist() == [0.0] * len(NAMES)
    assert len(set(NAMES)) == len(NAMES)


def test_frames_cut_by_the_pictures_edge_are_left_out_and_leaving_the_picture_is_not_a_fall() -> None:
    """Someone walking out under the camera shrinks in the picture as they go: those frames say where the picture ends."""
    camera = CCTV(height_m=2.6, pitch=math.radians(55))
    window = _window(walking(0.0, 4.0, math.pi, speed=1.4), camera, seconds=4.0)
    assert any(box[3] >= camera.height - 1 for _, box, _ in window), "the walk should leave by the picture's bottom edge"
    inside = [w for w in window if w[1][3] < camera.height - 2 and w[1][1] > 2 and w[1][0] > 2 and w[1][2] < camera.width - 2]
    picture = (camera.width, camera.height)
    assert len(inside) < len(window) and np.array_equal(track_features(window, picture), track_features(inside, picture))
    gone = track_features(window, picture, lost_for_s=2.0)
    assert gone[F["lost_after_drop"]] == 0.0, "a track lost at the picture's edge left it; it did not fall"
