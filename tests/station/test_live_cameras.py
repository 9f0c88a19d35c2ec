"""Cameras in the live station (issue 13): three file-backed cameras, one broken, each watched by its own agent (a
thread, or a Ray actor with one CPU) that speaks the MQTT contract with the camera's own account: the broken one is
unavailable with its reason, the others report their frames and go on; a dark lens raises an alarm; /metrics has each
camera's figures."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from actors.runtime import Placement
from scenarios.schema import load_station
from station.live import LiveStation
from station.settings import Settings
from tests.brokers import free_port, wait_for
from tests.vision.test_watch import walking_video
from twin.entity import Twin
from web.metrics import StationMetrics


def dark_video(path: Path, frames: int = 400) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (320, 180))
    for _ in range(frames):
        writer.write(np.full((180, 320, 3), 3, np.uint8))
    writer.release()
    return path


def _station(tmp_path: Path, urls: dict[str, str]) -> object:
    raw = {
        "station": {"id": f"t{uuid.uuid4().hex[:10]}", "name": "camera test", "timezone": "Asia/Shanghai"},
        "devices": {name: {"kind": "camera", "url": url, "fps": 5.0} for name, url in urls.items()},
    }
    return load_station(tmp_path / "station.toml", raw=raw)


@pytest.fixture(params=[Placement.INLINE, Placement.RAY], ids=["inline", "ray"])
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveStation]:
    broken = tmp_path / "door.avi"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00AVI this is not a video")
    urls = {
        "hall": str(walking_video(tmp_path / "hall.avi", frames=600)),
        "yard": str(dark_video(tmp_path / "yard.avi")),
        "door": str(broken),
    }
    settings = Settings(
        broker_port=free_port(), database_url=f"sqlite:///{tmp_path / 'live.db'}", audit_key_file=str(tmp_path / "audit.key"),
        placement=request.param,
    )  # fmt: skip
    if request.param is Placement.RAY:
        import ray

        ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False)  # a cluster of four CPUs, this machine's two lent
    station = LiveStation(_station(tmp_path, urls), settings).start()  # type: ignore[arg-type]
    try:
        yield station
    finally:
        station.stop()
        if request.param is Placement.RAY:
            ray.shutdown()


def _entity(station: LiveStation, camera: str) -> tuple[bool, dict[str, object]]:
    assert station.bridge is not None
    return station.bridge.read(lambda twin: (twin.entities[camera].available, dict(twin.entities[camera].reported)))


def test_three_cameras_one_broken_each_says_how_it_is_and_a_dark_lens_raises_an_alarm(live: LiveStation) -> None:
    assert live.bridge is not None
    wait_for(lambda: _entity(live, "hall")[1].get("frames", 0) > 0, timeout_s=60, what="the hall camera's first frames")
    available, hall = _entity(live, "hall")
    assert available and hall["lens"] == "ok" and float(hall["inference_ms"]) > 0  # type: ignore[arg-type]
    wait_for(lambda: _entity(live, "door")[1].get("lens") == "no_frames", timeout_s=30, what="the broken camera's report")
    available, door = _entity(live, "door")
    assert not available and "cannot be opened" in str(door["problem"]) and "door.avi" in str(door["problem"])

    book = live.bridge.alarms

    def lens_alarm(_twin: Twin) -> list[str]:
        return [a.detail for a in book.alarms.values() if a.source == "yard" and a.type == "camera_lens" and a.active]

    wait_for(lambda: bool(live.bridge.read(lens_alarm)), timeout_s=30, what="the dark camera's lens alarm")  # type: ignore[union-attr]
    assert "dark" in live.bridge.read(lens_alarm)[0]
    frames = int(_entity(live, "hall")[1]["frames"])  # type: ignore[call-overload]
    wait_for(lambda: int(_entity(live, "hall")[1]["frames"]) > frames, timeout_s=25, what="the good camera going on")  # type: ignore[call-overload]
    counts = live.bridge.read(lambda _t: [a.count for a in book.alarms.values() if a.source == "yard"])
    assert counts == [1], "a lens dark for minutes is one alarm, not one a report"

    scraped = {
        (sample.name, sample.labels.get("camera")): sample.value
        for family in text_string_to_metric_families(generate_latest(StationMetrics(live).registry).decode())
        for sample in family.samples
        if sample.name.startswith("yxy_camera_")
    }
    assert scraped[("yxy_camera_frames_total", "hall")] >= frames > 0 and scraped[("yxy_camera_inference_ms", "hall")] > 0
    assert scraped[("yxy_camera_available", "door")] == 0 and scraped[("yxy_camera_available", "hall")] == 1
    assert scraped[("yxy_camera_lens_ok", "yard")] == 0 and scraped[("yxy_camera_alarms_open", "yard")] == 1
    assert scraped[("yxy_camera_frames_skipped_total", "hall")] >= 0 and ("yxy_camera_incidents_total", "hall") in scraped
    if live.settings.placement is Placement.RAY:
        import ray

        assert ray.available_resources().get("CPU", 0) <= ray.cluster_resources()["CPU"] - 3, "each camera holds a whole CPU"
