"""Health and metrics, so a fleet of stations can be watched: ``/healthz``, ``/readyz`` and ``/metrics``.

``/healthz`` says the process answers; ``/readyz`` says the station can do its job (the
broker connected, the database writable, the audit log intact, the bridge's loop not behind). Both are
open, as load balancers and supervisors call them unsigned, and say nothing but
yes or no with a reason.

``/metrics`` is Prometheus text (prometheus-client). Most figures are read from the
live station when scraped, under the bridge's lock, so the message path pays nothing
for them; the few that must be counted as they happen (commands by fate, ack
latency) come from the twin's feed, and web requests from an ASGI middleware that
labels by route template, never by raw path (no unbounded label values). It admits
a scraper presenting ``YXY_METRICS_TOKEN`` as a bearer token, or an officer or
auditor signed in; the figures hold no personal data, but a station's traffic is
nobody else's business.
"""

from __future__ import annotations

import hmac
from collections import Counter as Tally
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from station.live import LiveStation
from twin.entity import Twin
from twin.feed import Change
from web.auth import OVERSIGHT, Role
from web.deps import DatabaseDep, ServicesDep, signed_in, token_of

LOOP_BEHIND_S = 5.0
"""The loop is behind when a message waited longer than this to be handled (or this many are queued)."""
LOOP_BEHIND_QUEUED = 5_000


@dataclass(frozen=True)
class _Snapshot:
    online: int
    devices: int
    alarms_open: int
    actors: int
    feed_subscribers: int
    cameras: dict[str, tuple[dict[str, Any], bool, int]]
    """Per camera: what its agent last reported, whether it is available, and its alarms open."""


CAMERA_GAUGES = {
    "fps": ("yxy_camera_fps", "Frames a second the camera's agent read, lately."),
    "inference_ms": ("yxy_camera_inference_ms", "Median pose-model time a frame analysed, lately (ms)."),
    "people": ("yxy_camera_people", "People in the camera's last analysed frame."),
}
CAMERA_COUNTERS = {
    "frames": ("yxy_camera_frames", "Frames read since the camera's agent started."),
    "frames_skipped": ("yxy_camera_frames_skipped", "Frames motion gating skipped (nothing moved, nobody tracked)."),
    "incidents": ("yxy_camera_incidents", "Incidents opened (each raised an alarm) since the camera's agent started."),
}


class StationMetrics(Collector):
    """What the station is doing, for Prometheus: collected at scrape time, plus the feed's command counters."""

    def __init__(self, live: LiveStation) -> None:
        self.live = live
        self.registry = CollectorRegistry()
        self.commands = Counter("yxy_commands", "Commands settled, by fate (acked or failed).", ["fate"], registry=self.registry)
        self.ack_latency = Histogram(
            "yxy_command_ack_seconds", "From a command sent to its acknowledgement.", registry=self.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0),
        )  # fmt: skip
        self.requests = Counter(
            "yxy_web_requests", "Web requests by method, route template and status.", ["method", "route", "status"], registry=self.registry
        )
        self.registry.register(self)

    def watch(self, twin: Twin) -> None:
        """Count commands as they settle; run in the bridge's loop (``bridge.call``)."""

        def settled(change: Change) -> None:
            command = twin.commands.get(str(change.data.get("command")))
            self.commands.labels("acked" if change.name == "command_acked" else "failed").inc()
            if change.name == "command_acked" and command is not None:
                self.ack_latency.observe(max(0.0, change.t - (command.sent_at if command.sent_at is not None else command.issued_at)))

        twin.subscribe(settled, names=["command_acked", "command_failed"])

    def collect(self) -> Iterator[Any]:
        bridge = self.live.bridge
        if bridge is None:
            return

        def snapshot(twin: Twin) -> _Snapshot:
            devices = [twin.entities[d] for d in bridge.devices]
            active = bridge.alarms.active()
            open_by_source = Tally(a.source for a in active)
            cameras = {e.id: (dict(e.reported), bool(e.available), open_by_source[e.id]) for e in devices if e.kind == "camera"}
            online = sum(1 for e in devices if e.available)
            return _Snapshot(online, len(devices), len(active), len(bridge.binding.actors), twin.feed.subscribers, cameras)

        now: _Snapshot = bridge.read(snapshot)
        messages = CounterMetricFamily("yxy_mqtt_messages", "MQTT messages in, by device kind, channel and outcome.",
                                       labels=["kind", "channel", "outcome"])  # fmt: skip
        for (kind, channel, outcome), count in sorted(bridge.messages.items()):
            messages.add_metric([kind, channel, outcome], count)
        yield messages
        rejected = CounterMetricFamily("yxy_mqtt_rejected", "MQTT messages refused, by reason.", labels=["reason"])
        for reason, count in sorted(bridge.rejected.items()):
            rejected.add_metric([reason], count)
        yield rejected
        yield GaugeMetricFamily("yxy_loop_lag_seconds", "How long the last message waited for the bridge's loop.", value=bridge.lag_s)
        yield GaugeMetricFamily("yxy_loop_queued", "Messages and requests waiting for the bridge's loop.", value=bridge.queued())
        yield GaugeMetricFamily(
            "yxy_broker_connected", "1 while the bridge is connected to the broker.", value=float(bridge.mqtt.connected)
        )
        yield GaugeMetricFamily("yxy_devices", "Devices of the station.", value=now.devices)
        yield GaugeMetricFamily("yxy_devices_online", "Devices online now.", value=now.online)
        yield GaugeMetricFamily("yxy_alarms_open", "Alarms raised or acknowledged, not yet cleared.", value=now.alarms_open)
        yield GaugeMetricFamily("yxy_actors", "Actors hosted (devices, automations, visitors inside).", value=now.actors)
        yield GaugeMetricFamily("yxy_feed_subscribers", "Subscribers of the twin's feed (history, day book, web viewers).",
                                value=now.feed_subscribers)  # fmt: skip
        yield GaugeMetricFamily("yxy_history_backlog", "Changes waiting to be written to the history.", value=self.live.history_backlog)
        yield from _camera_metrics(now.cameras)


def _camera_metrics(cameras: dict[str, tuple[dict[str, Any], bool, int]]) -> Iterator[Any]:
    """Each camera's figures as its agent last reported them (labelled by the station file's camera ids: bounded), its
    availability, and the alarms it has open."""
    families: list[Any] = [GaugeMetricFamily(name, text, labels=["camera"]) for name, text in CAMERA_GAUGES.values()]
    families += [CounterMetricFamily(name, text, labels=["camera"]) for name, text in CAMERA_COUNTERS.values()]
    available = GaugeMetricFamily("yxy_camera_available", "1 while the camera gives frames its agent can read.", labels=["camera"])
    lens_ok = GaugeMetricFamily("yxy_camera_lens_ok", "1 while the picture is neither dark, covered nor frozen.", labels=["camera"])
    alarms = GaugeMetricFamily("yxy_camera_alarms_open", "The camera's alarms raised or acknowledged, not yet cleared.", labels=["camera"])
    for camera, (reported, is_available, open_alarms) in sorted(cameras.items()):
        for family, field in zip(families, [*CAMERA_GAUGES, *CAMERA_COUNTERS], strict=True):
            value = reported.get(field)
            if isinstance(value, int | float) and not isinstance(value, bool):
                family.add_metric([camera], float(value))
        available.add_metric([camera], float(is_available))
        lens_ok.add_metric([camera], float(reported.get("lens") == "ok"))
        alarms.add_metric([camera], float(open_alarms))
    yield from (*families, available, lens_ok, alarms)


class RequestCounter:
    """Counts each web request by its route template (``/api/devices/{device}``) and status: a plain ASGI middleware."""

    def __init__(self, app: ASGIApp, metrics: Any) -> None:
        self.app = app
        self.metrics = metrics
        """Anything with a ``requests`` counter; looked up per request, as the station opens in ``lifespan``."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        answered = 500

        async def sending(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            metrics = self.metrics()
            if metrics is not None:
                route = getattr(scope.get("route"), "path", "(no route)")
                metrics.requests.labels(scope["method"], route, str(answered)).inc()


router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The station can do its job: broker connected, database writable, loop not behind")
def readyz(svc: ServicesDep) -> JSONResponse:
    problems = []
    if not svc.bridge.mqtt.connected:
        problems.append("broker not connected")
    if svc.bridge.lag_s > LOOP_BEHIND_S or svc.bridge.queued() > LOOP_BEHIND_QUEUED:
        problems.append(f"bridge loop behind ({svc.bridge.lag_s:.1f} s, {svc.bridge.queued()} queued)")
    try:
        with svc.sessions.begin() as db:  # a write that changes nothing: the database takes writes (not read-only, not locked)
            db.execute(text("UPDATE staff_user SET id = id WHERE 1 = 0"))
    except SQLAlchemyError as exc:
        problems.append(f"database not writable ({exc.__class__.__name__})")
    else:
        with svc.sessions() as db:
            broken = svc.audit_log.recently_verified(db)
        if broken:
            first = broken[0]
            where = f"at entry {first.entry_id}" if first.entry_id is not None else "at its end"
            problems.append(f"audit log tampered with {where}: {first.why} ({len(broken)} breaks; yxy audit verify lists them)")
    if problems:
        return JSONResponse({"status": "not ready", "problems": problems}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
    return JSONResponse({"status": "ready", "problems": []})


class ScraperOrOversight:
    """A Prometheus scraper with the metrics token, or a signed-in officer or auditor (the route test reads ``roles``)."""

    roles = OVERSIGHT

    def __call__(self, request: Request, db: DatabaseDep) -> None:
        expected = request.app.state.services.settings.metrics_token
        presented = token_of(request)
        if expected and presented and hmac.compare_digest(presented.encode(), expected.encode()):
            return
        user = signed_in(request, db)
        if Role(user.role) not in self.roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"a {user.role} may not read the metrics")


@router.get("/metrics", summary="Prometheus metrics (token YXY_METRICS_TOKEN, or an officer or auditor)")
def metrics(svc: ServicesDep, _: Annotated[None, Depends(ScraperOrOversight())]) -> Response:
    return Response(generate_latest(svc.metrics.registry), media_type=CONTENT_TYPE_LATEST)
