"""The live binding: the station's actors on the wall clock, placed inline or in Ray.

It lives in the bridge's loop thread, the twin's one owner.  Actors are placed
through actors/runtime.py, so a device actor is the same class as in a simulation,
in this process or as a Ray actor, behind one handle.  The binding delivers their
messages, keeps their timers (the bridge's loop wakes for the next one), and applies
what they did: an actuation goes out to the real device as an MQTT command, and a
publish made while the actor takes in a device's report becomes the device's
reported state.  Any other publish is the actor's simulated physics talking (a
cabinet's charge curve, a room's temperature model) and is dropped: live, the
reported state comes from the device and from nowhere else.

A Ray actor that stops answering (its node is lost, it hangs) is replaced by the
same actor in this process, once, and the message it did not answer is handed to
the replacement: the loop waits for it one reply deadline, not on every message.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from actors.actor import Actor
from actors.message import Reported
from actors.runtime import (
    ActorHandle,
    ActorUnresponsive,
    ActuateDevice,
    CancelTimer,
    Effect,
    Placement,
    Publish,
    Record,
    Send,
    Spawn,
    StartTimer,
    Stop,
    place,
)
from twin.clock import Clock
from twin.entity import Twin

logger = logging.getLogger(__name__)

Actuator = Callable[[str, Mapping[str, Any]], None]
"""(device id, fields): send a command to the real device."""


class LiveBinding:
    def __init__(self, twin: Twin, clock: Clock, seed: int, placement: Placement, actuate: Actuator) -> None:
        self.twin = twin
        self.clock = clock
        self.seed = seed
        self.placement = placement
        self._actuate = actuate
        self.handles: dict[str, ActorHandle] = {}
        self._timers: list[tuple[float, int, str, int | None, object]] = []
        self._cancelled: set[tuple[str, int]] = set()
        self._order = itertools.count()
        self._mailbox: deque[tuple[str, object]] = deque()
        self._made: dict[str, tuple[type[Actor], tuple[Any, ...]]] = {}
        self.dropped_publishes = 0
        self.replaced: list[str] = []
        """Actors that stopped answering in Ray and now run in this process."""

    def host(self, actor_class: type[Actor], actor_id: str, *args: Any) -> None:
        previous = self.handles.pop(actor_id, None)
        if previous is not None:
            previous.release()
        handle = place(self.placement, actor_class, actor_id, args, self.seed, self.clock.start)
        self.handles[actor_id] = handle
        self._made[actor_id] = (actor_class, args)
        self._apply(actor_id, handle.start(self.clock.now()))
        self._drain()

    def deliver(self, actor_id: str, message: object) -> None:
        """Hand ``message`` to an actor now, then whatever it and the others sent in turn."""
        self._mailbox.append((actor_id, message))
        self._drain()

    def next_due(self) -> float | None:
        return self._timers[0][0] if self._timers else None

    def run_due(self) -> None:
        now = self.clock.now()
        while self._timers and self._timers[0][0] <= now:
            _, _, actor_id, timer_id, message = heapq.heappop(self._timers)
            if timer_id is not None and (actor_id, timer_id) in self._cancelled:
                self._cancelled.discard((actor_id, timer_id))
                continue
            self._mailbox.append((actor_id, message))
        self._drain()

    def stop(self) -> None:
        for handle in self.handles.values():
            handle.release()
        self.handles.clear()

    def _drain(self) -> None:
        while self._mailbox:
            actor_id, message = self._mailbox.popleft()
            handle = self.handles.get(actor_id)
            if handle is None:
                continue  # a message to an actor gone (a visitor who left) is dropped
            try:
                effects = handle.deliver(self.clock.now(), message)
            except ActorUnresponsive as exc:
                logger.error("%s; it runs in this process from now on", exc)
                effects = self._replace(actor_id, handle).deliver(self.clock.now(), message)
            self._apply(actor_id, effects, reporting=isinstance(message, Reported))

    def _replace(self, actor_id: str, lost: ActorHandle) -> ActorHandle:
        """The same actor, fresh, in this process; its start's messages queue behind what is already waiting.

        The lost actor's timers go with it: the fresh one arms its own as it starts.
        """
        lost.release()
        self._timers = [timer for timer in self._timers if timer[2] != actor_id or timer[3] is None]
        heapq.heapify(self._timers)
        self._cancelled = {(owner, timer) for owner, timer in self._cancelled if owner != actor_id}
        actor_class, args = self._made[actor_id]
        handle = self.handles[actor_id] = place(Placement.INLINE, actor_class, actor_id, args, self.seed, self.clock.start)
        self._apply(actor_id, handle.start(self.clock.now()))
        self.replaced.append(actor_id)
        return handle

    def _apply(self, actor_id: str, effects: list[Effect], reporting: bool = False) -> None:
        now = self.clock.now()
        for effect in effects:
            if isinstance(effect, Send):
                if effect.delay > 0:
                    heapq.heappush(self._timers, (now + effect.delay, next(self._order), effect.to, None, effect.message))
                else:
                    self._mailbox.append((effect.to, effect.message))
            elif isinstance(effect, StartTimer):
                heapq.heappush(self._timers, (now + effect.delay, next(self._order), actor_id, effect.timer_id, effect.message))
            elif isinstance(effect, CancelTimer):
                self._cancelled.add((actor_id, effect.timer_id))
            elif isinstance(effect, Publish):
                if reporting and actor_id in self.twin.entities:
                    self.twin.report(actor_id, now, effect.state)
                else:
                    self.dropped_publishes += 1
            elif isinstance(effect, Record):
                self.twin.record(actor_id, now, effect.name, effect.data)
            elif isinstance(effect, Spawn):
                self.host(effect.actor_class, effect.actor_id, *effect.args)
            elif isinstance(effect, Stop):
                handle = self.handles.pop(actor_id, None)
                self._made.pop(actor_id, None)
                if handle is not None:
                    handle.release()
            elif isinstance(effect, ActuateDevice):
                self._actuate(actor_id, effect.fields)
