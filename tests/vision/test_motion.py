"""Motion gating (issue 13): a still, empty room is skipped but for a check every few seconds; a person moving, or
being tracked, is analysed every frame; sensor noise is not motion."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vision.motion import MotionGate

FPS = 5.0


def room(noise: np.random.Generator | None = None, square_at: int | None = None) -> np.ndarray:
    frame = np.full((360, 640, 3), 90, np.uint8)
    frame[250:360] = 60  # the floor
    if noise is not None:
        frame = np.clip(frame.astype(int) + noise.integers(-6, 7, frame.shape), 0, 255).astype(np.uint8)
    if square_at is not None:
        frame[150:250, square_at : square_at + 40] = 200  # someone walking across
    return frame


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_a_still_room_with_sensor_noise_is_analysed_only_every_ten_seconds(seed: int) -> None:
    rng = np.random.default_rng(seed)
    gate = MotionGate(every_s=10.0)
    analysed = [gate.wants(n / 2, room(rng)) for n in range(120)]  # a minute at 2 frames a second
    assert sum(analysed) == 6 and gate.skipped == len(analysed) - 6


def test_someone_walking_is_analysed_every_frame_and_so_is_anyone_tracked() -> None:
    gate = MotionGate()
    gate.wants(0.0, room())
    assert all(gate.wants(n / FPS, room(square_at=20 * n)) for n in range(1, 25))
    still = room(square_at=400)
    gate.wants(10.0, still)
    assert not gate.wants(10.2, still)
    assert gate.wants(10.4, still, tracking=True), "someone sitting still is still followed"
