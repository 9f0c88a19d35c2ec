"""Live cameras watched side by side (issue 13's "Must show"): three file-backed cameras, one broken; the broken one is
said unavailable with a reason naming it, the others go on; the evidence kept is blurred, judged, exported without
images, and gone after the retention period."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from vision.behaviour import Behaviour
from vision.camera import Step
from vision.evidence import Evidence, EvidenceError
from vision.pose import PoseModel
from vision.privacy import snapshot
from vision.source import LensState
from vision.watch import CameraReport, CameraSettings, CameraWatcher, IncidentReport, Report

SIZE = (640, 360)


def walking_video(path: Path, frames: int = 40, fps: float = 10.0) -> Path:
    """The scikit-image astronaut crossing a room (a real person for the pose model), with the sensor noise of a camera."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, SIZE)
    person = cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), (180, 180))
    rng = np.random.default_rng(0)
    for n in range(frames):
        frame = np.full((SIZE[1], SIZE[0], 3), 85, np.uint8)
        frame[240:] = 60
        frame = np.clip(frame.astype(np.int16) + rng.integers(-4, 5, frame.shape), 0, 255).astype(np.uint8)
        x = 20 + abs((10 * n) % 840 - 420)  # to and fro
        frame[120:300, x : x + 180] = person
        writer.write(frame)
    writer.release()
    return path


def _watch(watcher: CameraWatcher, into: list[Report], steps: int) -> None:
    for _ in range(steps):
        into.extend(watcher.step(budget_s=0.5))
        if watcher.ended:
            return


def test_three_cameras_one_broken_the_broken_one_is_unavailable_and_the_others_go_on(tmp_path: Path) -> None:
    broken = tmp_path / "door.avi"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00AVI this is not a video")
    urls = {"hall": str(walking_video(tmp_path / "hall.avi")), "yard": str(walking_video(tmp_path / "yard.avi")), "door": str(broken)}
    reports: dict[str, list[Report]] = {name: [] for name in urls}
    watchers = {name: CameraWatcher(name, CameraSettings(url, fps=5.0)) for name, url in urls.items()}
    threads = [threading.Thread(target=_watch, args=(watchers[n], reports[n], 40)) for n in urls]  # each camera a thread, as inline
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for name in ("hall", "yard"):
        states = [r for r in reports[name] if isinstance(r, CameraReport)]
        assert states[0].available and states[-1].problem == "the video has ended", states
        assert states[-1].frames == 20, "a 10 fps video of 4 s judged at 5 fps"
        assert states[-1].people == 1, "the astronaut is in the last frame"
        assert states[-1].inference_ms > 0 and watchers[name].ended
    door = [r for r in reports["door"] if isinstance(r, CameraReport)]
    assert door and not any(r.available for r in door)
    assert door[0].lens is LensState.NO_FRAMES and "cannot be opened" in door[0].problem and "door.avi" in door[0].problem


@pytest.fixture(scope="module")
def opened() -> IncidentReport:
    """An incident's opening as a camera reports it, on the astronaut photo (a real face to hide)."""
    photo = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    people = PoseModel().people(photo)
    return IncidentReport(
        camera="hall", at=1_000_010.0, step=Step.OPENED, behaviour=Behaviour.FALL, number=1, opened_at=1_000_010.0, peak=0.91,
        scores=[(1_000_009.6, 0.7), (1_000_010.0, 0.91)],
        keypoints=[{"at": 1_000_010.0, "box": list(people[0].box), "keypoints": people[0].keypoints.tolist()}],
        picture=(photo.shape[1], photo.shape[0]), snapshot=snapshot(photo, people),
    )  # fmt: skip


def _faces(image_bgr: np.ndarray) -> int:
    detector = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    return len(detector.detectMultiScale(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY), 1.1, 5, minSize=(30, 30)))


def test_evidence_keeps_the_blurred_snapshot_the_scores_and_the_verdict_and_is_gone_after_retention(
    tmp_path: Path, opened: IncidentReport
) -> None:
    evidence = Evidence(tmp_path, keep_s=30 * 86400)
    incident = evidence.keep(opened)
    written = cv2.imdecode(np.frombuffer(evidence.snapshot(incident), np.uint8), cv2.IMREAD_COLOR)
    assert written.shape[:2] == (512, 512) and _faces(written) == 0, "what is written has no face left to find"
    later = IncidentReport(**{**opened.__dict__, "at": 1_000_030.0, "step": Step.CLOSED, "snapshot": None, "keypoints": []})
    assert evidence.keep(later) == incident
    (found,) = evidence.find("hall", "fall", 1_000_000.0, 1_000_020.0)
    assert found["closed_at"] == 1_000_030.0 and found["keypoints"] and found["scores"][-1] == [1_000_010.0, 0.91]
    assert evidence.find("hall", "smoking", 0.0, 2e6) == [] and evidence.find("../etc", "fall", 0.0, 2e6) == []
    assert list(evidence.labels()) == [], "nothing judged yet"
    evidence.judge(incident, "false", "custodian", 1_000_100.0)
    evidence.keep(IncidentReport(**{**later.__dict__, "at": 1_000_040.0, "scores": [(1_000_040.0, 0.2)]}))  # the agent, after
    (label,) = evidence.labels()
    assert label["verdict"] == {"alarm": "false", "by": "custodian", "at": 1_000_100.0} and "snapshot" not in label
    assert label["scores"][-1] == [1_000_040.0, 0.2] and len(label["scores"]) == 3, "scores are added to, not replaced"
    with pytest.raises(EvidenceError, match="say 'true' or 'false'"):
        evidence.judge(incident, "maybe", "custodian", 1_000_100.0)
    with pytest.raises(EvidenceError, match="no incident"):
        evidence.judge("../../etc/passwd", "true", "custodian", 1_000_100.0)
    assert evidence.purge(1_000_040.0 + 30 * 86400) == 0, "kept for the whole retention period after it ended"
    assert evidence.purge(1_000_041.0 + 30 * 86400) == 1
    assert not list(tmp_path.rglob("*.jpg")) and not list(tmp_path.rglob("*.json"))
    with pytest.raises(EvidenceError, match="past the retention period"):
        evidence.snapshot(incident)


def test_yxy_vision_run_watches_a_file_and_says_when_a_camera_cannot_be_opened(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    import cli.vision
    import vision.training
    from cli.main import app

    assert cli.vision.SEED == vision.training.SEED
    video = walking_video(tmp_path / "hall.avi", frames=20)
    done = CliRunner().invoke(app, ["vision", "run", "--camera", str(video), "--name", "hall", "--evidence", str(tmp_path / "ev")])
    assert done.exit_code == 0, done.output
    assert "hall: available, lens ok" in done.output and "the video has ended" in done.output and "10 frames" in done.output
    gone = CliRunner().invoke(app, ["vision", "run", "--camera", str(tmp_path / "nowhere.avi"), "--seconds", "1"])
    said = " ".join(gone.output.split())  # the terminal's 80 columns wrap the long path and the words after it anywhere
    assert gone.exit_code == 0 and "unavailable" in said and "cannot be opened" in said
    named = CliRunner().invoke(app, ["vision", "run", "--camera", str(video), "--name", "Hall 1"])
    assert named.exit_code == 2 and "use letters, digits" in named.output
