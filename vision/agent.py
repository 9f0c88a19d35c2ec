"""A camera's agent: its ``CameraWatcher`` speaking the station's MQTT contract like any device, with its own account.

It says the camera is ``online`` while frames come and ``offline`` when they stop (and the
broker says it for it if the agent dies: its last will), reports the camera's state (lens,
fps, inference time, frames skipped by motion gating, people, incidents) and tells of each
incident as an ``incident`` event that names the evidence it kept, written before the event
goes out, so an alarm never points at a snapshot that is not there yet.

The agent runs wherever the station starts it (``station.cameras``): a thread of the station
(``--placement inline``), or a Ray actor with one CPU (``--placement ray``: the station's
cameras spread over cores and machines; the evidence folder must then be one they all reach).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from hardware_bridge import payloads, topics
from hardware_bridge.clock import epoch_s
from hardware_bridge.mqtt import BrokerConfig, MqttClient, Will
from hardware_bridge.topics import Channel
from vision.evidence import Evidence
from vision.watch import CameraReport, CameraSettings, CameraWatcher, IncidentReport

logger = logging.getLogger(__name__)
SCORES_TOLD = 20
"""The newest smoothed scores an event carries (the evidence keeps up to ``vision.evidence.MOST_SCORES``)."""


class CameraAgent:
    def __init__(self, station: str, camera: str, broker: BrokerConfig, settings: CameraSettings, evidence: Evidence) -> None:
        self.station, self.camera, self.evidence = station, camera, evidence
        self.watcher = CameraWatcher(camera, settings)
        self._availability = topics.topic(station, "camera", camera, Channel.AVAILABILITY)
        self._state = topics.topic(station, "camera", camera, Channel.STATE)
        self._event = topics.topic(station, "camera", camera, Channel.EVENT)
        self._available: bool | None = None
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self.mqtt = MqttClient(
            broker, f"yxy-camera-{station}-{camera}", lambda *_: None, will=Will(self._availability, topics.OFFLINE.encode())
        )

    def start(self) -> bool:
        """Connect and watch in a thread of its own (a Ray actor's call returns at once); True once started."""
        self.mqtt.start()
        self._thread = threading.Thread(target=self._run, name=f"camera-{self.camera}", daemon=True)
        self._thread.start()
        return True

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.watcher.close()
        self.mqtt.close(last_words=(self._availability, topics.OFFLINE.encode()))

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                for report in self.watcher.step(budget_s=1.0):
                    if isinstance(report, CameraReport):
                        self._tell_state(report)
                    else:
                        self._tell_incident(report)
            except Exception:  # this camera's trouble, never the station's: said, and tried again
                logger.exception("camera %s: watching failed; trying again", self.camera)
                self._say_available(False)
                self._stopped.wait(5.0)
                continue
            if self.watcher.ended:  # a file read to its end: the camera stays offline, as a cable pulled would leave it
                self._stopped.wait(1.0)

    def _say_available(self, available: bool) -> None:
        """Said when it changes, and ``offline`` after every report while the camera is away: the bridge takes a state
        report as a sign of life, and here it is the agent's, not the camera's."""
        if available != self._available or not available:
            self._available = available
            self.mqtt.publish(self._availability, topics.ONLINE if available else topics.OFFLINE, qos=1, retain=True)

    def _tell_state(self, report: CameraReport) -> None:
        state: dict[str, Any] = {
            "lens": report.lens.value, "problem": report.problem[:500], "fps": report.fps, "inference_ms": report.inference_ms,
            "frames": report.frames, "frames_skipped": report.frames_skipped, "people": report.people, "incidents": report.incidents,
        }  # fmt: skip
        self.mqtt.publish(self._state, payloads.state_payload(epoch_s(), state), qos=1, retain=True)
        self._say_available(report.available)

    def _tell_incident(self, report: IncidentReport) -> None:
        try:
            kept = self.evidence.keep(report)
        except (OSError, ValueError):  # the disk full, or an id the evidence cannot be named by: the alarm goes out all the same
            logger.exception("camera %s: the evidence of incident %s could not be written", self.camera, report.number)
            kept = None
        data = {
            "behaviour": report.behaviour.value, "step": report.step.value, "number": report.number, "peak": report.peak,
            "opened_at": report.opened_at, "scores": [[round(t, 2), s] for t, s in report.scores[-SCORES_TOLD:]], "evidence": kept,
        }  # fmt: skip
        self.mqtt.publish(self._event, payloads.event_payload(time.time(), "incident", data), qos=1)
