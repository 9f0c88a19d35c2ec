"""The SimPy binding: actors hosted in one process on a SimPy environment's clock.

The design card has each actor as a SimPy process reading an inbox.  Actors here
are reactive (they only ever react to a message), so the binding keeps one inbox
for all of them instead: a timer or a delayed message is a SimPy event whose
callback delivers it, and a message sent with no delay goes into the binding's
mailbox, delivered in send order at the same simulated instant once the handler
that sent it has returned (run to completion, as in any actor system).  A process
per actor would add a Store put, a Store get and a generator resume to every
message and change nothing the actors do; the mailbox also spares each immediate
message a trip through SimPy's heap, which is most of what makes the binding cheap
(bench/sim_speed.py).  Everything is ordered by time, then by scheduling or send
order, so a replication is exactly reproducible.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

import simpy

from actors.actor import Actor
from scenarios.errors import SimulationError
from twin.clock import Clock
from twin.entity import Twin
from twin.randomness import RandomStream


class _SimTimer:
    __slots__ = ("actor", "binding", "cancelled", "message")

    def __init__(self, binding: SimBinding, actor: str, message: object) -> None:
        self.binding = binding
        self.actor = actor
        self.message = message
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __call__(self, _event: simpy.Event) -> None:
        if not self.cancelled:
            self.binding.run_to_completion(self.actor, self.message)


class SimPort:
    __slots__ = ("_binding", "_env", "_rng", "actor_id")

    def __init__(self, binding: SimBinding, actor_id: str) -> None:
        self._binding = binding
        self._env = binding.env
        self.actor_id = actor_id
        self._rng: RandomStream | None = None

    @property
    def clock(self) -> Clock:
        return self._binding.clock

    @property
    def rng(self) -> RandomStream:
        # Made on first use: most workers never draw, and a generator costs ~20 µs to seed.
        if self._rng is None:
            self._rng = self.stream("")
        return self._rng

    def stream(self, name: str) -> RandomStream:
        return RandomStream(self._binding.seed, f"{self.actor_id}/{name}")

    def now(self) -> float:
        return self._env.now

    def send(self, to: str, message: object, delay: float = 0.0) -> None:
        if delay > 0:
            self._env.timeout(delay).callbacks.append(_SimTimer(self._binding, to, message))
        else:
            self._binding.mailbox.append((to, message))

    def timer(self, delay: float, message: object) -> _SimTimer:
        timer = _SimTimer(self._binding, self.actor_id, message)
        self._env.timeout(delay if delay > 0 else 0.0).callbacks.append(timer)
        return timer

    def publish(self, state: Mapping[str, Any]) -> None:
        self._binding.twin.report(self.actor_id, self._env.now, state)

    def record(self, name: str, data: Mapping[str, Any]) -> None:
        self._binding.twin.record(self.actor_id, self._env.now, name, data)

    def spawn(self, actor: Actor) -> None:
        self._binding.host(actor, register=False)

    def stop(self) -> None:
        self._binding.release(self.actor_id)

    def port_for(self, actor_id: str) -> SimPort:
        return SimPort(self._binding, actor_id)


class SimBinding:
    """Hosts actors on ``env``; what they publish goes to ``twin``."""

    def __init__(self, env: simpy.Environment, twin: Twin, clock: Clock, seed: int) -> None:
        self.env = env
        self.twin = twin
        self.clock = clock
        self.seed = seed
        self.actors: dict[str, Actor] = {}
        self.mailbox: deque[tuple[str, object]] = deque()

    def port_for(self, actor_id: str) -> SimPort:
        return SimPort(self, actor_id)

    def host(self, actor: Actor, register: bool = True, attributes: Mapping[str, Any] | None = None) -> None:
        """Register ``actor`` (as a twin entity too unless it is transient) and start it now."""
        if actor.id in self.actors:
            raise SimulationError(f"actor {actor.id!r} is already hosted")
        if register:
            self.twin.add(actor.id, actor.kind, attributes)
        self.actors[actor.id] = actor
        actor.start()

    def release(self, actor_id: str) -> None:
        del self.actors[actor_id]

    def run(self, until: float) -> None:
        """Deliver what the actors sent as they started, then run the clock to ``until``."""
        self._drain()
        self.env.run(until=until)

    def run_to_completion(self, actor_id: str, message: object) -> None:
        """Deliver one timed message, then every message its handling sent, in order."""
        self.deliver(actor_id, message)
        self._drain()

    def _drain(self) -> None:
        mailbox, deliver = self.mailbox, self.deliver
        while mailbox:
            deliver(*mailbox.popleft())

    def deliver(self, actor_id: str, message: object) -> None:
        actor = self.actors.get(actor_id)
        if actor is None:
            raise SimulationError(f"{type(message).__name__} sent to {actor_id!r}, which is not (or no longer) in the station")
        actor.receive(message)
