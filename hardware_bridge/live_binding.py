"""The live binding: the binding core on a SimPy environment that the bridge's loop advances to the wall clock.

It is the simulation's binding (actors/binding.py) with three hooks of its own, as
SimPy's ``RealtimeEnvironment`` is its ``Environment`` with another ``step``:

- an actuation goes out to the real device (the bridge's ``Actuator``: a ``set`` over
  MQTT with an id, an ack deadline and the name of whoever asked), not to simulated
  physics, which live mode never hosts: a device's actor here is its kind's policy;
- a message for an actor that is gone (a visitor who left) is dropped, not a bug;
- a Ray actor that stops answering (its node is lost, it hangs) is replaced by the
  same actor in this process, once, and handed the message it did not answer: the
  loop waits for it one reply deadline, not on every message.

It lives in the bridge's loop thread, the twin's one owner.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import simpy
from simpy.events import NORMAL, URGENT, EventPriority

from actors.binding import Binding, DirectPort, Placed
from actors.message import DeviceCommand
from actors.runtime import ActorUnresponsive, Placement
from twin.alarm import AlarmBook
from twin.clock import Clock
from twin.entity import Twin

logger = logging.getLogger(__name__)

Actuator = Callable[[str, Mapping[str, Any], DeviceCommand | None], None]
"""(device id, fields, the command this carries out or None): send a command to the real device."""


class _WallClockEnvironment(simpy.Environment):
    """An environment advanced in small steps by ``run(until=now)``, once per turn of the bridge's loop.

    SimPy 4.1 puts the stop event of every ``run(until=...)`` back on the queue (to resume its remaining callbacks
    in a later run), even when none remain.  Left there, each one is "due now": the bridge's loop never slept and
    starved paho's thread (ingest fell from ~4,700 to ~800 messages a second).  Such an event has nothing to do,
    so it is not scheduled again."""

    def schedule(self, event: simpy.Event, priority: EventPriority = NORMAL, delay: float = 0) -> None:
        if priority < URGENT and not event.callbacks:
            return
        super().schedule(event, priority, delay)


class LiveBinding(Binding):
    def __init__(
        self, twin: Twin, clock: Clock, seed: int, placement: Placement, actuate: Actuator, alarms: AlarmBook | None = None
    ) -> None:
        """``clock`` is the actors' clock, in the station's own time of day (the lights' dark hours are local)."""
        env = _WallClockEnvironment(initial_time=clock.now())
        super().__init__(env, twin, clock, seed, None if placement is Placement.INLINE else placement, alarms)
        self._actuator = actuate
        self.undelivered = 0
        """Messages for actors that were gone (a visitor who had left)."""
        self.replaced: list[str] = []
        """Actors that stopped answering in Ray and now run in this process."""

    def advance_to(self, now: float) -> float:
        """Run every timer due by ``now`` (wall-clock seconds), and make ``now`` the actors' present."""
        if now > self.env.now:
            self.env.run(until=now)  # type: ignore[attr-defined]
        return self.env.now

    def next_due(self) -> float | None:
        due = self.env.peek()
        return None if due == float("inf") else due

    def actuate(self, actor_id: str, fields: Mapping[str, Any], answering: DeviceCommand | None = None) -> None:
        self._actuator(actor_id, fields, answering)

    def undeliverable(self, actor_id: str, message: object) -> None:
        self.undelivered += 1
        logger.debug("%s for %s, who is gone: dropped", type(message).__name__, actor_id)

    def unresponsive(self, placed: Placed, message: object, error: ActorUnresponsive) -> None:
        """The same actor, fresh, in this process; the lost one's timers go with it (the fresh one arms its own)."""
        logger.error("%s; it runs in this process from now on", error)
        placed.release()
        placed.drop_timers()
        actor = placed.actor_class(placed.actor_id, DirectPort(self, placed.actor_id), *placed.args)
        self.actors[placed.actor_id] = actor
        self.replaced.append(placed.actor_id)
        actor.start()
        actor.receive(message)
