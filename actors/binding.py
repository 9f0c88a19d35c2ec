"""The one binding core: actors hosted on an environment's clock, their effects applied in one place.

Simulation and live mode are the same model on two environments, as SimPy's own
``RealtimeEnvironment`` is the same model as its ``Environment``: a planner's run
drives a SimPy environment as fast as it goes; the live bridge advances one to the
wall clock between the messages it takes from the broker (``advance_to``).  A timer
or a delayed message is one event of the environment whose callback delivers it; a
message sent with no delay goes into the binding's mailbox and is delivered in send
order at the same instant once the handler that sent it has returned (run to
completion).  A process per actor would add a Store put, a Store get and a generator
resume to every message and change nothing the actors do (bench/sim_speed.py).

An actor lives in this process (``placement=None``: a ``DirectPort`` applies what it
does as it does it) or is placed through actors/runtime.py (inline or in Ray: it
hands back its effects and ``Placed`` replays them, in order, onto the very same
port methods).  So what an effect means is written once, here, for every binding.

The worlds differ only in small hooks a subclass overrides: where an actuation goes
(``actuate``: a simulated device's own physics here, the real device over MQTT live),
what becomes of a message for an actor that is gone (``undeliverable``), and what to
do when a placed actor stops answering (``unresponsive``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from actors.actor import Actor
from actors.message import Actuate, DeviceCommand, Observed
from actors.runtime import (
    ActorHandle,
    ActorUnresponsive,
    ActuateDevice,
    AlarmClear,
    AlarmRaise,
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
from twin.alarm import AlarmBook, Severity
from twin.clock import Clock
from twin.entity import Twin
from twin.feed import Change
from twin.randomness import RandomStream, actor_stream

_NORMAL = 1
"""SimPy's ``NORMAL`` priority (``simpy.events.NORMAL``): a timer is an ordinary event."""


class Environment(Protocol):
    """What the core needs of a SimPy environment: its time, and events that call back when they are due."""

    @property
    def now(self) -> float: ...

    def schedule(self, event: Any, priority: Any = _NORMAL, delay: float = 0) -> None: ...

    def peek(self) -> float: ...


class Receiver(Protocol):
    def start(self) -> None: ...

    def receive(self, message: object) -> None: ...


class BindingError(RuntimeError):
    """The model broke a rule of hosting (an actor hosted twice, a message for an actor never hosted): a bug."""


class TimedDelivery:
    """A timed delivery that is its own event on the environment's calendar.

    SimPy's ``step`` needs of an event only ``callbacks`` (called with the event) and
    ``_ok``; a timer has both, so ``schedule`` puts it on the calendar as it is, with
    no ``Timeout`` made and no callback appended per timer.  The simulation's
    environment (scenarios/sim.py) goes further and fires timers without ``step``.
    """

    __slots__ = ("actor", "binding", "callbacks", "cancelled", "message")
    _ok = True

    def __init__(self, binding: Binding, actor: str, message: object) -> None:
        self.binding = binding
        self.actor = actor
        self.message = message
        self.cancelled = False
        self.callbacks: tuple[Callable[[TimedDelivery], None], ...] | None = _FIRE

    def cancel(self) -> None:
        self.cancelled = True

    def fire(self) -> None:
        if not self.cancelled:
            self.binding.run_to_completion(self.actor, self.message)


_FIRE = (TimedDelivery.fire,)


class DirectPort:
    """The Port of an actor living in this process: each call is the effect, applied at once."""

    __slots__ = ("_binding", "_env", "_rng", "_twin", "actor_id")

    def __init__(self, binding: Binding, actor_id: str) -> None:
        self._binding = binding
        self._env = binding.env
        self._twin = binding.twin
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

    def timer(self, delay: float, message: object) -> TimedDelivery:
        return self._binding.timer(self.actor_id, delay, message)

    def publish(self, state: Mapping[str, Any]) -> None:
        self._twin.report(self.actor_id, self._env.now, state)

    def record(self, name: str, data: Mapping[str, Any]) -> None:
        self._twin.record(self.actor_id, self._env.now, name, data)

    def actuate(self, fields: Mapping[str, Any], answering: DeviceCommand | None = None) -> None:
        self._binding.actuate(self.actor_id, fields, answering)

    def spawn(self, actor_class: type[Actor], actor_id: str, *args: Any) -> None:
        self._binding.host(actor_class, actor_id, *args, register=False)

    def stop(self) -> None:
        self._binding.release(self.actor_id)

    def raise_alarm(self, source: str, type_: str, severity: str, detail: str) -> None:
        self._binding.alarms.raise_(source, type_, self._env.now, detail, Severity(severity), by=self.actor_id)

    def clear_alarm(self, source: str, type_: str) -> None:
        self._binding.alarms.clear_source(source, type_, self._env.now)


class Placed:
    """The binding's side of a placed actor: hands it messages, replays what it did onto its port."""

    __slots__ = ("actor_class", "actor_id", "args", "binding", "handle", "port", "timers")

    def __init__(self, binding: Binding, actor_class: type[Actor], actor_id: str, args: tuple[Any, ...], handle: ActorHandle) -> None:
        self.binding = binding
        self.actor_class = actor_class
        self.actor_id = actor_id
        self.args = args
        self.handle = handle
        self.port = DirectPort(binding, actor_id)
        self.timers: dict[int, TimedDelivery] = {}

    def start(self) -> None:
        self.apply(self.handle.start(self.binding.env.now))

    def receive(self, message: object) -> None:
        try:
            effects = self.handle.deliver(self.binding.env.now, message)
        except ActorUnresponsive as exc:
            self.binding.unresponsive(self, message, exc)
            return
        self.apply(effects)

    def release(self) -> None:
        self.handle.release()

    def drop_timers(self) -> None:
        for timer in self.timers.values():
            timer.cancel()
        self.timers.clear()

    def apply(self, effects: list[Effect]) -> None:
        port = self.port
        for effect in effects:
            if isinstance(effect, Send):
                port.send(effect.to, effect.message, effect.delay)
            elif isinstance(effect, StartTimer):
                self.timers[effect.timer_id] = port.timer(effect.delay, effect.message)
            elif isinstance(effect, CancelTimer):
                timer = self.timers.pop(effect.timer_id, None)
                if timer is not None:
                    timer.cancel()
            elif isinstance(effect, Publish):
                port.publish(effect.state)
            elif isinstance(effect, Record):
                port.record(effect.name, effect.data)
            elif isinstance(effect, Spawn):
                port.spawn(effect.actor_class, effect.actor_id, *effect.args)
            elif isinstance(effect, Stop):
                port.stop()
            elif isinstance(effect, ActuateDevice):
                port.actuate(effect.fields, effect.answering)
            elif isinstance(effect, AlarmRaise):
                port.raise_alarm(effect.source, effect.type, effect.severity, effect.detail)
            elif isinstance(effect, AlarmClear):
                port.clear_alarm(effect.source, effect.type)


class Binding:
    """Hosts actors on ``env``; what they publish and record goes to ``twin``, their alarms to ``alarms``."""

    def __init__(
        self,
        env: Environment,
        twin: Twin,
        clock: Clock,
        seed: int,
        placement: Placement | None = None,
        alarms: AlarmBook | None = None,
    ) -> None:
        self.env = env
        self.twin = twin
        self.clock = clock
        self.seed = seed
        self.placement = placement
        self.alarms = alarms if alarms is not None else AlarmBook(twin)
        self.actors: dict[str, Receiver] = {}
        self.mailbox: deque[tuple[str, object]] = deque()

    # ---- hosting --------------------------------------------------------------------

    def host(
        self, actor_class: type[Actor], actor_id: str, *args: Any, register: bool = True, attributes: Mapping[str, Any] | None = None
    ) -> None:
        """Build ``actor_class(actor_id, port, *args)``, register it as a twin entity unless transient, start it."""
        if actor_id in self.actors:
            raise BindingError(f"actor {actor_id!r} is already hosted")
        if register:
            self.twin.add(actor_id, actor_class.kind, attributes)
        receiver: Receiver
        if self.placement is None:
            receiver = actor_class(actor_id, DirectPort(self, actor_id), *args)
        else:
            handle = place(self.placement, actor_class, actor_id, args, self.seed, self.clock.start, self.clock.speed)
            receiver = Placed(self, actor_class, actor_id, args, handle)
        self.actors[actor_id] = receiver
        receiver.start()

    def release(self, actor_id: str) -> None:
        receiver = self.actors.pop(actor_id)
        if isinstance(receiver, Placed):
            receiver.release()

    def observe(self, actor_id: str, names: Iterable[str]) -> None:
        """Hand ``actor_id`` the twin's changes of ``names`` as ``Observed`` messages, after what caused them."""

        def forward(change: Change) -> None:
            self.mailbox.append((actor_id, Observed(change.entity_id, change.name, change.data)))

        self.twin.subscribe(forward, names=names)

    def stop_all(self) -> None:
        """Release every actor (a live station shutting down frees its Ray actors)."""
        for actor_id in list(self.actors):
            self.release(actor_id)

    # ---- effects (what a port's calls mean, for every binding) -------------------------

    def send(self, to: str, message: object, delay: float) -> None:
        if delay > 0:
            self.env.schedule(TimedDelivery(self, to, message), _NORMAL, delay)
        else:
            self.mailbox.append((to, message))

    def timer(self, actor_id: str, delay: float, message: object) -> TimedDelivery:
        timer = TimedDelivery(self, actor_id, message)
        self.env.schedule(timer, _NORMAL, delay if delay > 0 else 0.0)
        return timer

    def actuate(self, actor_id: str, fields: Mapping[str, Any], answering: DeviceCommand | None = None) -> None:
        """In a simulation the device's actor drives its own simulated hardware: an ``Actuate`` to itself."""
        self.send(actor_id, Actuate(fields), 0.0)

    # ---- delivery -------------------------------------------------------------------

    def run(self, until: float) -> None:
        """Deliver what the actors sent as they started, then run the clock to ``until``."""
        self._drain()
        self.env.run(until=until)  # type: ignore[attr-defined]

    def deliver(self, actor_id: str, message: object) -> None:
        """Hand ``message`` to an actor now, then every message its handling sent, in order."""
        self.mailbox.append((actor_id, message))
        self._drain()

    def drain(self) -> None:
        """Deliver what is waiting: live, a change the bridge made itself (a device gone silent) has observers."""
        self._drain()

    def run_to_completion(self, actor_id: str, message: object) -> None:
        """Deliver one timed message, then every message its handling sent, in order."""
        self.mailbox.append((actor_id, message))
        self._drain()

    def _drain(self) -> None:
        # One loop for every message of a simulation (a few hundred thousand a second): kept flat.
        mailbox, actors = self.mailbox, self.actors
        while mailbox:
            actor_id, message = mailbox.popleft()
            actor = actors.get(actor_id)
            if actor is None:
                self.undeliverable(actor_id, message)
            else:
                actor.receive(message)

    # ---- hooks ----------------------------------------------------------------------

    def undeliverable(self, actor_id: str, message: object) -> None:
        """A message for an actor not (or no longer) hosted: in a simulation that is a bug in the model."""
        raise BindingError(f"{type(message).__name__} sent to {actor_id!r}, which is not (or no longer) in the station")

    def unresponsive(self, placed: Placed, message: object, error: ActorUnresponsive) -> None:
        """A placed actor did not answer: in a simulation the run cannot go on."""
        raise error
