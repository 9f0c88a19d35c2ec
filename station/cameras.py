"""The station's cameras, each watched by its own agent (``vision.agent``): a thread here, or a Ray actor with one CPU.

Under ``placement = ray`` the agents are Ray actors reserving a whole CPU each (unlike the
device policies, which reserve none: a camera runs its pose model all day), so Ray spreads
them over the cores and machines it has. An agent that dies (its worker or its node lost) is
found within ``CHECK_EVERY_S`` and started again; meanwhile the broker has said the camera
offline for it (its last will). A cluster with fewer free CPUs than cameras starts the
cameras it can and keeps the others waiting for a CPU (said in the log, and the camera stays
unavailable), rather than crowding several pose models onto one core.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from actors.camera import CameraConfig
from actors.runtime import Placement
from hardware_bridge.mqtt import BrokerConfig
from vision.behaviour import Behaviour
from vision.camera import Zone
from vision.evidence import Evidence
from vision.watch import CameraSettings

logger = logging.getLogger(__name__)
CHECK_EVERY_S = 10.0


class CameraHosts:
    def __init__(
        self,
        station: str,
        cameras: Mapping[str, CameraConfig],
        broker_of: Callable[[str], BrokerConfig],
        evidence: Evidence,
        placement: Placement,
    ) -> None:
        self.station, self.cameras, self.broker_of, self.evidence, self.placement = station, dict(cameras), broker_of, evidence, placement
        self.agents: dict[str, Any] = {}
        self._starting: dict[str, Any] = {}
        """Camera -> its Ray agent's ``start`` call, until it has returned (the agent may wait for a free CPU)."""
        self._waiting_said: set[str] = set()
        self.restarts = 0
        self._stopped = threading.Event()
        self._watchdog: threading.Thread | None = None

    def start(self) -> CameraHosts:
        for camera in self.cameras:
            self.agents[camera] = self._start(camera)
        if self.cameras:
            self._watchdog = threading.Thread(target=self._keep_alive, name="cameras-watchdog", daemon=True)
            self._watchdog.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._watchdog is not None:
            self._watchdog.join(timeout=CHECK_EVERY_S + 5)
        for camera, agent in self.agents.items():
            try:
                if self.placement is Placement.RAY:
                    import ray

                    ray.get(agent.stop.remote(), timeout=15)
                    ray.kill(agent)
                else:
                    agent.stop()
            except Exception:  # one camera's agent failing to stop keeps no other from stopping
                logger.exception("camera %s: its agent did not stop cleanly", camera)

    def _start(self, camera: str) -> Any:
        from vision.agent import CameraAgent

        config = self.cameras[camera]
        settings = CameraSettings(config.url, fps=config.fps, zones=judging_zones(config), realtime=True)  # a file plays at its own pace
        args = (self.station, camera, self.broker_of(camera), settings, self.evidence)
        if self.placement is Placement.RAY:
            import ray

            hosted: Any = ray.remote(num_cpus=1)(CameraAgent)  # one whole CPU: a camera runs its pose model all day
            agent = hosted.remote(*args)
            self._starting[camera] = agent.start.remote()
            return agent
        inline = CameraAgent(*args)
        inline.start()
        return inline

    def _keep_alive(self) -> None:
        """Every ``CHECK_EVERY_S``, an agent found gone (its thread, or its Ray worker or node) is replaced."""
        while not self._stopped.wait(CHECK_EVERY_S):
            for camera, agent in list(self.agents.items()):
                alive = self._alive(camera, agent) if self.placement is Placement.RAY else agent.alive()
                if alive is not False or self._stopped.is_set():
                    continue
                logger.warning("camera %s: its agent is gone; starting another", camera)
                try:
                    self._forget(agent)
                    self.agents[camera] = self._start(camera)
                    self.restarts += 1
                except Exception:
                    logger.exception("camera %s: its agent could not be started again; trying at the next check", camera)

    def _alive(self, camera: str, agent: Any) -> bool | None:
        """A Ray agent's health: None while it still waits for a free CPU to start on."""
        import ray

        try:
            starting = self._starting.get(camera)
            if starting is not None:
                if not ray.wait([starting], timeout=0)[0]:
                    self._say_waiting(camera)
                    return None
                ray.get(starting)
                del self._starting[camera]
            return bool(ray.get(agent.alive.remote(), timeout=CHECK_EVERY_S))
        except Exception:  # the actor died with its worker or node
            return False

    def _forget(self, agent: Any) -> None:
        if self.placement is Placement.RAY:
            import ray

            ray.kill(agent)
        else:
            agent.stop()

    def _say_waiting(self, camera: str) -> None:
        if camera not in self._waiting_said:
            self._waiting_said.add(camera)
            logger.warning(
                "camera %s waits for a free CPU in the Ray cluster (each camera holds one; %d cameras): add a machine to the "
                "cluster, or run fewer cameras here", camera, len(self.cameras),
            )  # fmt: skip


def judging_zones(config: CameraConfig) -> tuple[Zone, ...]:
    """The station file's zones of a camera, as its judge reads them."""
    return tuple(Zone(zone.name, zone.points, frozenset(Behaviour(b) for b in zone.behaviours)) for zone in config.zones)
