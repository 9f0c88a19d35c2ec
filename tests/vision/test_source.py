"""A camera's frames and its lens (issue 13): files and streams read at a set rate, clear errors naming the camera (its
password left out), and a dark, covered, frozen or silent camera said as such."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from vision.source import FrameSource, LensCheck, LensState, SourceError


def video(path: Path, frames: int = 12, size: tuple[int, int] = (320, 180)) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, size)
    rng = np.random.default_rng(1)
    for n in range(frames):
        frame = rng.integers(40, 200, (size[1], size[0], 3), dtype=np.uint8)
        frame[50:120, 10 * n : 10 * n + 40] = 250
        writer.write(frame)
    writer.release()
    return path


def test_a_file_gives_its_frames_at_the_set_rate_on_its_own_clock_and_ends(tmp_path: Path) -> None:
    source = FrameSource(f"file://{video(tmp_path / 'cam.avi')}", fps=5.0)  # a 10 fps file of 12 frames
    frames = list(source.frames())
    source.close()
    assert [round(t, 2) for t, _ in frames] == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0], "every other frame, stamped in the video's time"
    assert all(f is not None and f.shape == (180, 320, 3) for _, f in frames)


class Dead:
    """A camera that opened and then gives nothing (OpenCV's VideoCapture, as far as the source uses it)."""

    def isOpened(self) -> bool:
        return True

    def set(self, *_: object) -> bool:
        return True

    def grab(self) -> bool:
        return False

    def read(self) -> tuple[bool, None]:
        return False, None

    def release(self) -> None:
        pass


class Closed(Dead):
    def isOpened(self) -> bool:
        return False


def test_a_dead_stream_waits_out_each_frame_and_is_opened_again() -> None:
    opened: list[str] = []
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    def opener(url: str) -> Dead:
        opened.append(url)
        return Dead()

    source = FrameSource("rtsp://10.0.0.9/stream1", fps=5.0, opener=opener)  # type: ignore[arg-type]
    frames = source.frames(clock=lambda: clock[0], sleep=sleep)
    got = [next(frames) for _ in range(25)]
    assert all(frame is None for _, frame in got)
    assert got[-1][0] >= 4.5, "a frame's time is waited out each time: 25 empty frames take 5 s, not a spin"
    assert len(opened) == 3, "opened at first, then again after 2 s and 4 s of nothing"


def test_a_camera_that_cannot_be_opened_is_named_without_its_password(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"no such file|cannot be opened"):
        FrameSource(str(tmp_path / "missing.avi"))
    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"RIFF" + bytes(1000))
    with pytest.raises(SourceError, match=r"broken\.avi"):
        FrameSource(str(broken))

    for url, secret, shown in (
        ("rtsp://admin:s3cret@10.0.0.9/stream1", "s3cret", "admin:***@10.0.0.9"),
        ("rtsp://admin:p@ss@10.0.0.9/stream1", "p@ss", "admin:***@10.0.0.9"),
        ("rtsp://admin:a/b@10.0.0.9/stream1", "a/b", "admin:***@10.0.0.9"),
        ("http://10.0.0.9/cgi-bin/snapshot.cgi?user=admin&pwd=s3cret&channel=1", "s3cret", "pwd=***&channel=1"),
    ):
        with pytest.raises(SourceError) as refused:
            FrameSource(url, opener=lambda _url: Closed())  # type: ignore[arg-type,return-value]
        assert secret not in str(refused.value) and shown in str(refused.value), str(refused.value)


def _frame(level: int) -> np.ndarray:
    return np.full((180, 320, 3), level, np.uint8)


def _scene(seed: int) -> np.ndarray:
    """A real picture (the scikit-image wheel's cameraman) with a little sensor noise: no two frames alike."""
    gray = cv2.resize(data.camera(), (320, 180))
    noisy = gray.astype(int) + np.random.default_rng(seed).integers(-3, 4, gray.shape)
    return cv2.cvtColor(np.clip(noisy, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)


def test_the_lens_is_judged_dark_covered_frozen_or_silent() -> None:
    lens = LensCheck(frozen_s=5.0, silent_s=3.0)
    assert lens.judge(0.0, _scene(1)) is LensState.OK
    assert lens.judge(0.2, _frame(3)) is LensState.DARK
    assert lens.judge(0.4, _frame(140)) is LensState.COVERED
    still = _scene(7)
    states = [lens.judge(1.0 + n, still) for n in range(8)]
    assert states[:5] == [LensState.OK] * 5 and states[-1] is LensState.FROZEN, states
    assert lens.judge(9.2, _scene(9)) is LensState.OK, "a picture that moves again is well again"
    assert [lens.judge(9.2 + n, None) for n in (1, 2, 3, 4)] == [LensState.OK, LensState.OK, LensState.NO_FRAMES, LensState.NO_FRAMES]
