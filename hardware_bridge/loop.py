"""The loop that owns the twin: one thread changes it, every other thread asks.

paho's network thread only queues what arrives, operators' commands are queued too,
and a web request that must change the twin (acknowledge an alarm) is queued as a
call; the loop takes them in order, one at a time.  Before each it runs the actors'
due timers (the live binding advanced to the wall clock) and after each what it owes
the station (jobs: command deadlines, silent devices, retained states, history
flushes), at most every ``CHECK_EVERY_S``: a scan of every device per message would
cap ingest.  Readers in other threads take the loop's lock for a consistent view.

What a queued item means is not the loop's business: each kind of item has one
handler (``handle``), so ingest and the command router stay apart.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from hardware_bridge.live_binding import LiveBinding
from twin.clock import Clock
from twin.entity import Twin

logger = logging.getLogger(__name__)

CHECK_EVERY_S = 0.1
LONGEST_NAP_S = 0.2
"""The loop wakes at least this often, so what is owed is never late by more."""

Item = TypeVar("Item")


@dataclass(frozen=True)
class Incoming:
    """One MQTT message as paho handed it over."""

    topic: str
    payload: bytes
    retained: bool
    arrived: float
    """On the twin's clock, when paho handed it over: deadlines are judged by arrival, not by when the loop got to it."""


class Plugin(Protocol):
    """A subscriber beside the devices (Home Assistant's discovery, integrators' commands): its own topics, its own rules."""

    @property
    def topics(self) -> tuple[str, ...]:
        """Exact topics it takes; the bridge subscribes to them at QoS 1."""

    def connected(self) -> None:
        """The bridge (re)connected to the broker: a broker restarted without persistence forgot what was retained."""

    def take(self, message: Incoming, now: float) -> None:
        """One message on one of its topics, in the loop; a ``BridgeError`` rejects it, counted by its class."""


@dataclass(frozen=True)
class _Call:
    action: Callable[[Twin], object]
    done: threading.Event
    result: list[object]


@dataclass
class _Job:
    period_s: float
    action: Callable[[Twin, float], None]
    due: float = 0.0


_IDLE = object()
"""Nothing arrived for a while: the loop still does what it owes."""
_STOP = object()


class TwinLoop:
    def __init__(self, name: str, twin: Twin, binding: LiveBinding, clock: Clock) -> None:
        self.twin = twin
        self.binding = binding
        self.clock = clock
        self.lag_s = 0.0
        """How long the last message waited between arriving and being handled."""
        self._inbox: queue.Queue[object] = queue.Queue()
        self._handlers: dict[type, Callable[[Any, float], None]] = {}
        self._jobs: list[_Job] = []
        self._next_check = 0.0
        self._caught_up_to = 0.0
        """Arrival time of the last message handled: everything that arrived before it has been seen."""
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    # ---- wiring (before start) ---------------------------------------------------------

    def handle(self, kind: type[Item], handler: Callable[[Item, float], None]) -> None:
        """``handler(item, now)`` takes every queued item of ``kind``, in the loop."""
        self._handlers[kind] = handler

    def every(self, period_s: float, action: Callable[[Twin, float], None]) -> None:
        """Run ``action(twin, now)`` in the loop every ``period_s`` (history flushes, deadlines)."""
        self._jobs.append(_Job(period_s, action))

    # ---- any thread ----------------------------------------------------------------------

    def submit(self, item: object) -> None:
        self._inbox.put(item)

    def post(self, action: Callable[[Twin], object]) -> None:
        """Run ``action`` in the loop, not waiting for it."""
        self._inbox.put(_Call(action, threading.Event(), []))

    def call(self, action: Callable[[Twin], Any], timeout_s: float = 5.0) -> Any:
        """Run ``action`` in the loop (to change the twin) and return its result or raise its error."""
        call = _Call(action, threading.Event(), [])
        self._inbox.put(call)
        if not call.done.wait(timeout_s):
            raise TimeoutError("the bridge did not get to the request in time")
        result = call.result[0]
        if isinstance(result, Exception):
            raise result
        return result

    def read(self, action: Callable[[Twin], Any]) -> Any:
        """Run ``action`` on the twin while the loop is not changing it."""
        with self._lock:
            return action(self.twin)

    def queued(self) -> int:
        """Messages and requests waiting for the loop."""
        return self._inbox.qsize()

    def seen_by(self, now: float) -> float:
        """Up to when everything that arrived has been handled: ``now``, unless messages still wait (the loop fell
        behind), then the arrival of the last one handled; an ack waiting in the queue was in time."""
        return now if self._inbox.empty() else min(now, self._caught_up_to)

    # ---- life cycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._inbox.put(_STOP)
        self._thread.join(10)

    def step(self) -> None:
        """Take one queued item and handle it, in the caller's thread: for a caller that drives the loop itself."""
        self._turn(self._inbox.get_nowait())

    # ---- the loop -------------------------------------------------------------------------

    def _run(self) -> None:
        item: object
        while True:
            try:
                item = self._inbox.get(timeout=self._nap_s())
            except queue.Empty:
                item = _IDLE
            if item is _STOP:
                return
            try:
                self._turn(item)
            except Exception:
                logger.exception("%s: unexpected error, carrying on", self._thread.name)

    def _turn(self, item: object) -> None:
        """The actors' due timers, then ``item``, then what is owed, then what the actors sent meanwhile."""
        with self._lock:
            now = self.binding.advance_to(self.clock.now())
            if isinstance(item, Incoming):
                self._caught_up_to = item.arrived
                self.lag_s = max(0.0, now - item.arrived)
            if isinstance(item, _Call):
                self._run_call(item)
            elif item is not _IDLE:
                self._handlers[type(item)](item, now)
            self._run_jobs(now)
            self.binding.drain()

    def _run_call(self, call: _Call) -> None:
        try:
            call.result.append(call.action(self.twin))
        except Exception as exc:  # handed back to the caller's thread
            call.result.append(exc)
        call.done.set()

    def _run_jobs(self, now: float) -> None:
        if now < self._next_check:
            return
        self._next_check = now + CHECK_EVERY_S
        for job in self._jobs:
            if now >= job.due:
                job.due = now + job.period_s
                job.action(self.twin, now)

    def _nap_s(self) -> float:
        """Until the next actor timer, at most ``LONGEST_NAP_S``."""
        due = self.binding.next_due()
        return LONGEST_NAP_S if due is None else min(LONGEST_NAP_S, max(0.0, due - self.clock.now()))
