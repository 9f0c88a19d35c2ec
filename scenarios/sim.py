"""The SimPy binding: the station's actors on a SimPy environment's clock.

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

Actors live in this process by default (sim-inline).  With a ``placement`` they are
placed through actors/runtime.py instead (sim-ray: each actor a Ray actor, the clock
here): the binding applies the effects each placed actor hands back, in the order
the actor caused them, which is exactly what the inline port does as they happen.
So both give the same events in the same order, and the same results.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any, Protocol

import simpy

from actors.actor import Actor
from actors.message import Actuate
from actors.runtime import (
    ActorHandle,
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
from scenarios.errors import SimulationError
from twin.clock import Clock
from twin.entity import Twin
from twin.randomness import RandomStream, actor_stream


class _Receiver(Protocol):
    def start(self) -> None: ...

    def receive(self, message: object) -> None: ...


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
    """The Port of an actor living in this process."""

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
        # Made on first use: most workers never draw, and a stream costs ~50 µs to seed.
        if self._rng is None:
            self._rng = self.stream("")
        return self._rng

    def stream(self, name: str) -> RandomStream:
        return actor_stream(self._binding.seed, self.actor_id, name)

    def now(self) -> float:
        return self._env.now

    def send(self, to: str, message: object, delay: float = 0.0) -> None:
        self._binding.send(to, message, delay)

    def timer(self, delay: float, message: object) -> _SimTimer:
        return self._binding.timer(self.actor_id, delay, message)

    def publish(self, state: Mapping[str, Any]) -> None:
        self._binding.twin.report(self.actor_id, self._env.now, state)

    def record(self, name: str, data: Mapping[str, Any]) -> None:
        self._binding.twin.record(self.actor_id, self._env.now, name, data)

    def actuate(self, fields: Mapping[str, Any]) -> None:
        self._binding.send(self.actor_id, Actuate(fields), 0.0)

    def spawn(self, actor_class: type[Actor], actor_id: str, *args: Any) -> None:
        self._binding.host(actor_class, actor_id, *args, register=False)

    def stop(self) -> None:
        self._binding.release(self.actor_id)


class _Placed:
    """The binding's side of a placed actor: hands it messages, applies what it did."""

    __slots__ = ("actor_id", "binding", "handle", "timers")

    def __init__(self, binding: SimBinding, actor_id: str, handle: ActorHandle) -> None:
        self.binding = binding
        self.actor_id = actor_id
        self.handle = handle
        self.timers: dict[int, _SimTimer] = {}

    def start(self) -> None:
        self.apply(self.handle.start(self.binding.env.now))

    def receive(self, message: object) -> None:
        self.apply(self.handle.deliver(self.binding.env.now, message))

    def apply(self, effects: list[Effect]) -> None:
        binding, now = self.binding, self.binding.env.now
        for effect in effects:
            if isinstance(effect, Send):
                binding.send(effect.to, effect.message, effect.delay)
            elif isinstance(effect, StartTimer):
                self.timers[effect.timer_id] = binding.timer(self.actor_id, effect.delay, effect.message)
            elif isinstance(effect, CancelTimer):
                timer = self.timers.pop(effect.timer_id, None)
                if timer is not None:
                    timer.cancel()
            elif isinstance(effect, Publish):
                binding.twin.report(self.actor_id, now, effect.state)
            elif isinstance(effect, Record):
                binding.twin.record(self.actor_id, now, effect.name, effect.data)
            elif isinstance(effect, Spawn):
                binding.host(effect.actor_class, effect.actor_id, *effect.args, register=False)
            elif isinstance(effect, Stop):
                binding.release(self.actor_id)
                self.handle.release()
            elif isinstance(effect, ActuateDevice):
                binding.send(self.actor_id, Actuate(effect.fields), 0.0)


class SimBinding:
    """Hosts actors on ``env``; what they publish goes to ``twin``."""

    def __init__(self, env: simpy.Environment, twin: Twin, clock: Clock, seed: int, placement: Placement | None = None) -> None:
        self.env = env
        self.twin = twin
        self.clock = clock
        self.seed = seed
        self.placement = placement
        self.actors: dict[str, _Receiver] = {}
        self.mailbox: deque[tuple[str, object]] = deque()

    def host(
        self, actor_class: type[Actor], actor_id: str, *args: Any, register: bool = True, attributes: Mapping[str, Any] | None = None
    ) -> None:
        """Build ``actor_class(actor_id, port, *args)``, register it as a twin entity unless transient, start it."""
        if actor_id in self.actors:
            raise SimulationError(f"actor {actor_id!r} is already hosted")
        if register:
            self.twin.add(actor_id, actor_class.kind, attributes)
        receiver: _Receiver
        if self.placement is None:
            receiver = actor_class(actor_id, SimPort(self, actor_id), *args)
        else:
            handle = place(self.placement, actor_class, actor_id, args, self.seed, self.clock.start)
            receiver = _Placed(self, actor_id, handle)
        self.actors[actor_id] = receiver
        receiver.start()

    def release(self, actor_id: str) -> None:
        del self.actors[actor_id]

    def send(self, to: str, message: object, delay: float) -> None:
        if delay > 0:
            self.env.timeout(delay).callbacks.append(_SimTimer(self, to, message))
        else:
            self.mailbox.append((to, message))

    def timer(self, actor_id: str, delay: float, message: object) -> _SimTimer:
        timer = _SimTimer(self, actor_id, message)
        self.env.timeout(delay if delay > 0 else 0.0).callbacks.append(timer)
        return timer

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
