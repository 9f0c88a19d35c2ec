"""A bank of identical units that workers queue for: the shape most station devices share.

Microwaves, toilets, seats, charging points, the coffee machine, lockers and the
battery cabinet differ in what a unit is and when it is ready, not in how a queue
works, so they subclass this and override the small hooks (``ready_in``,
``on_started``, ``on_finished``, ``extra_state``) rather than re-implement queues.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, NamedTuple

from actors.actor import Device
from actors.bounds import MOST_INSIDE
from actors.distribution import Constant, Distribution
from actors.message import Finished, Refusal, Refused, Request, Started, Withdraw
from actors.port import Port, Timer

READY_TOLERANCE_S = 1e-6
"""A unit due within this many seconds counts as ready (charging curves are float maths)."""


@dataclass(frozen=True, slots=True)
class ServicePointConfig:
    units: int = 1
    queue_limit: int | None = None
    """Places to wait; a worker who finds them all taken is turned away (blocked). None: no limit."""
    service: Distribution = Constant(60.0)
    """How long one use takes when the worker does not decide it (``Request.hold_s``)."""
    unit_cost_cny: float = 0.0
    monthly_cost_cny: float = 0.0

    def report_limits(self) -> dict[str, int]:
        """Units in use or free are at most the units; those waiting at most the places (or the people inside)."""
        waiting = MOST_INSIDE if self.queue_limit is None else self.queue_limit
        return {"busy": self.units, "free": self.units, "queue": waiting}


class _ServiceDone(NamedTuple):
    request: Request


class _ReadyAgain(NamedTuple):
    pass


@dataclass(slots=True, eq=False)
class _Waiting:
    request: Request
    since: float


class ServicePoint(Device):
    kind = "service_point"
    max_ready_wait_s: float | None = None
    """A worker is turned away when the next unit will not be ready within this time."""

    def __init__(self, actor_id: str, port: Port, config: ServicePointConfig) -> None:
        super().__init__(actor_id, port)
        self.config = config
        self.busy = 0
        self.queue: deque[_Waiting] = deque()
        self._wake: Timer | None = None
        # Hooks a kind does not override are skipped on the hot path.
        cls = type(self)
        self._has_extra_state = cls.extra_state is not ServicePoint.extra_state
        self._has_on_started = cls.on_started is not ServicePoint.on_started
        self._has_on_finished = cls.on_finished is not ServicePoint.on_finished
        self._always_ready = cls.ready_in is ServicePoint.ready_in
        self._published = (-1, -1)
        """(busy, queue) as last published."""

    # Hooks for device kinds -------------------------------------------------------

    def ready_in(self, now: float, position: int) -> float | None:
        """Seconds until a free unit can serve the request at ``position`` in line (0: next).

        ``None`` means not foreseeable (no battery will be charged in time).
        """
        return 0.0

    def service_time(self, request: Request) -> float:
        return request.hold_s if request.hold_s is not None else self.config.service.sample(self.port.rng)

    def on_started(self, request: Request, now: float) -> dict[str, Any]:
        """Called as a unit starts serving; returns extra fields for the ``service_started`` event."""
        return {}

    def on_finished(self, request: Request, now: float) -> None:
        pass

    def extra_state(self, now: float) -> dict[str, Any]:
        return {}

    # The queue --------------------------------------------------------------------

    def start(self) -> None:
        self.publish(self.port.now())

    def receive(self, message: object) -> None:
        now = self.port.now()
        if isinstance(message, Request):
            self._on_request(message, now)
        elif isinstance(message, _ServiceDone):
            self._on_done(message.request, now)
        elif isinstance(message, Withdraw):
            self._on_withdraw(message.worker)
        elif isinstance(message, _ReadyAgain):
            self._wake = None
            self._dispatch(now)
        else:
            super().receive(message)
            return
        self.publish(now)

    def publish(self, now: float) -> None:
        busy, queue = self.busy, len(self.queue)
        if self._has_extra_state:
            self.port.publish({"busy": busy, "queue": queue, **self.extra_state(now)})
            return
        # Only what changed (the twin would find the rest unchanged), and nothing when nothing did.
        published = self._published
        if busy != published[0]:
            self.port.publish({"busy": busy} if queue == published[1] else {"busy": busy, "queue": queue})
        elif queue != published[1]:
            self.port.publish({"queue": queue})
        else:
            return
        self._published = (busy, queue)

    def _on_request(self, request: Request, now: float) -> None:
        queued = len(self.queue)
        if self.busy < self.config.units and not queued and self._next_ready(now):
            self._begin(request, now, now)
            return
        reason = self._refusal(request, now, queued)
        if reason is not None:
            self._refuse(request, reason)
            return
        self.queue.append(_Waiting(request, now))
        self._dispatch(now)

    def _next_ready(self, now: float) -> bool:
        if self._always_ready:
            return True
        ready = self.ready_in(now, 0)
        return ready is not None and ready <= READY_TOLERANCE_S

    def _refusal(self, request: Request, now: float, queued: int) -> Refusal | None:
        if self.max_ready_wait_s is not None:
            ready = self.ready_in(now, queued)
            if ready is None or ready > self.max_ready_wait_s:
                return Refusal.BLOCKED
        if request.balk_queue is not None and queued >= request.balk_queue:
            return Refusal.BALKED
        if request.balk_chance is not None and request.balk_draw < request.balk_chance[min(queued, len(request.balk_chance) - 1)]:
            return Refusal.BALKED
        if self.config.queue_limit is not None and queued >= self.config.queue_limit:
            return Refusal.BLOCKED
        return None

    def _refuse(self, request: Request, reason: Refusal) -> None:
        self.port.record(
            "request_refused",
            {"worker": request.worker, "group": request.group, "need": request.need, "reason": reason.value},
        )
        self.port.send(request.worker, Refused(self.id, reason))

    def _dispatch(self, now: float) -> None:
        while self.queue and self.busy < self.config.units:
            if not self._next_ready(now):
                ready = self.ready_in(now, 0)
                if ready is not None and self._wake is None:
                    self._wake = self.port.timer(ready, _ReadyAgain())
                return
            waiting = self.queue.popleft()
            self._begin(waiting.request, waiting.since, now)

    def _begin(self, request: Request, since: float, now: float) -> None:
        self.busy += 1
        wait_s = now - since
        event: dict[str, Any] = {"worker": request.worker, "group": request.group, "need": request.need, "wait_s": wait_s}
        if self._has_on_started:
            event.update(self.on_started(request, now))
        self.port.record("service_started", event)
        if request.notify_start:
            self.port.send(request.worker, Started(self.id, wait_s))
        self.port.timer(self.service_time(request), _ServiceDone(request))

    def _on_done(self, request: Request, now: float) -> None:
        self.busy -= 1
        if self._has_on_finished:
            self.on_finished(request, now)
        if request.notify_finish:
            self.port.send(request.worker, Finished(self.id))
        if self.queue:
            self._dispatch(now)

    def _on_withdraw(self, worker: str) -> None:
        for waiting in self.queue:
            if waiting.request.worker == worker:
                self.queue.remove(waiting)
                self._refuse(waiting.request, Refusal.RENEGED)
                return
        # Already being served: the Started message is on its way, nothing to undo.
