"""Placement: an actor hosted inline or as a Ray actor, behind one handle.

The only module of actors/ that imports Ray (tests/test_layers.py allows it).  A
placed actor runs against an ``EffectPort``: what it does while handling a message
(send, set or cancel a timer, publish, record, spawn, stop, actuate, raise or clear an
alarm) is collected in order and handed back to whoever owns the clock, which applies
it (actors/binding.py, the same for every world).  The actor itself stays
the plain class the SimPy binding hosts directly, and a handle costs one call per
message whether the actor is in this process or in a Ray worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from actors.actor import Actor
from actors.message import DeviceCommand
from twin.clock import Clock

if TYPE_CHECKING:  # numpy is imported by what draws numbers, not by `yxy --help` naming a placement
    from twin.randomness import RandomStream


class Placement(StrEnum):
    INLINE = "inline"
    RAY = "ray"


class Send(NamedTuple):
    to: str
    message: object
    delay: float


class StartTimer(NamedTuple):
    timer_id: int
    delay: float
    message: object


class CancelTimer(NamedTuple):
    timer_id: int


class Publish(NamedTuple):
    state: Mapping[str, Any]


class Record(NamedTuple):
    name: str
    data: Mapping[str, Any]


class Spawn(NamedTuple):
    actor_class: type[Actor]
    actor_id: str
    args: tuple[Any, ...]


class Stop(NamedTuple):
    pass


class ActuateDevice(NamedTuple):
    fields: Mapping[str, Any]
    answering: DeviceCommand | None = None


class AlarmRaise(NamedTuple):
    source: str
    type: str
    severity: str
    detail: str


class AlarmClear(NamedTuple):
    source: str
    type: str


Effect = Send | StartTimer | CancelTimer | Publish | Record | Spawn | Stop | ActuateDevice | AlarmRaise | AlarmClear


class _TimerHandle:
    __slots__ = ("_port", "_timer_id")

    def __init__(self, port: EffectPort, timer_id: int) -> None:
        self._port = port
        self._timer_id = timer_id

    def cancel(self) -> None:
        self._port.effects.append(CancelTimer(self._timer_id))


class EffectPort:
    """A Port that records what its actor does; the clock's owner sets ``now`` per call."""

    def __init__(self, actor_id: str, seed: int, start: datetime, speed: float = 1.0) -> None:
        self.actor_id = actor_id
        self.effects: list[Effect] = []
        self._seed = seed
        self._now = 0.0
        self._clock = Clock(start, self.now, speed)
        self._rng: RandomStream | None = None
        self._timers = 0

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def rng(self) -> RandomStream:
        if self._rng is None:
            self._rng = self.stream("")
        return self._rng

    def stream(self, name: str) -> RandomStream:
        from twin.randomness import actor_stream

        return actor_stream(self._seed, self.actor_id, name)

    def now(self) -> float:
        return self._now

    def send(self, to: str, message: object, delay: float = 0.0) -> None:
        self.effects.append(Send(to, message, delay))

    def timer(self, delay: float, message: object) -> _TimerHandle:
        self._timers += 1
        self.effects.append(StartTimer(self._timers, delay, message))
        return _TimerHandle(self, self._timers)

    def publish(self, state: Mapping[str, Any]) -> None:
        self.effects.append(Publish(dict(state)))

    def record(self, name: str, data: Mapping[str, Any]) -> None:
        self.effects.append(Record(name, dict(data)))

    def spawn(self, actor_class: type[Actor], actor_id: str, *args: Any) -> None:
        self.effects.append(Spawn(actor_class, actor_id, args))

    def stop(self) -> None:
        self.effects.append(Stop())

    def actuate(self, fields: Mapping[str, Any], answering: DeviceCommand | None = None) -> None:
        self.effects.append(ActuateDevice(dict(fields), answering))

    def raise_alarm(self, source: str, type_: str, severity: str, detail: str) -> None:
        self.effects.append(AlarmRaise(source, type_, severity, detail))

    def clear_alarm(self, source: str, type_: str) -> None:
        self.effects.append(AlarmClear(source, type_))

    def take(self) -> list[Effect]:
        effects, self.effects = self.effects, []
        return effects


class ActorHost:
    """One placed actor and its port; every call answers with the effects, in order."""

    def __init__(
        self, actor_class: type[Actor], actor_id: str, args: tuple[Any, ...], seed: int, start: datetime, speed: float = 1.0
    ) -> None:
        self.port = EffectPort(actor_id, seed, start, speed)
        self.actor = actor_class(actor_id, self.port, *args)

    def start(self, now: float) -> list[Effect]:
        self.port._now = now
        self.actor.start()
        return self.port.take()

    def deliver(self, now: float, message: object) -> list[Effect]:
        self.port._now = now
        self.actor.receive(message)
        return self.port.take()


class ActorHandle(Protocol):
    def start(self, now: float) -> list[Effect]: ...

    def deliver(self, now: float, message: object) -> list[Effect]: ...

    def release(self) -> None: ...


class InlineHandle:
    """The host in this process: for tests of the effect path and for tiny stations."""

    def __init__(self, host: ActorHost) -> None:
        self._host = host

    def start(self, now: float) -> list[Effect]:
        return self._host.start(now)

    def deliver(self, now: float, message: object) -> list[Effect]:
        return self._host.deliver(now, message)

    def release(self) -> None:
        pass


class ActorUnresponsive(RuntimeError):
    """A Ray actor did not answer in time (its node is gone or it hangs): the caller is not left blocked."""


class RayHandle:
    """The host as a Ray actor; each message is one blocking round trip (~1 ms).

    Actors reserve no CPU (``num_cpus=0``): a station holds far more actors than the
    machine has cores, and they are idle but for the moment they handle a message.
    Every round trip has a deadline: a live bridge waiting on a lost node forever
    would stop taking the station's messages.
    """

    START_TIMEOUT_S = 60.0
    """Creating the actor may start a worker process first."""
    REPLY_TIMEOUT_S = 10.0

    def __init__(self, actor_class: type[Actor], actor_id: str, args: tuple[Any, ...], seed: int, start: datetime, speed: float) -> None:
        import ray

        remote_host = ray.remote(ActorHost).options(num_cpus=0, name=None, max_restarts=0)
        self._ray = ray
        self._actor_id = actor_id
        self._actor: Any = remote_host.remote(actor_class, actor_id, args, seed, start, speed)

    def start(self, now: float) -> list[Effect]:
        return self._reply(self._actor.start.remote(now), self.START_TIMEOUT_S)

    def deliver(self, now: float, message: object) -> list[Effect]:
        return self._reply(self._actor.deliver.remote(now, message), self.REPLY_TIMEOUT_S)

    def _reply(self, pending: Any, timeout_s: float) -> list[Effect]:
        try:
            effects: list[Effect] = self._ray.get(pending, timeout=timeout_s)
        except self._ray.exceptions.GetTimeoutError:
            raise ActorUnresponsive(f"actor {self._actor_id} did not answer within {timeout_s:g} s") from None
        except (self._ray.exceptions.RayActorError, self._ray.exceptions.ActorUnavailableError) as exc:  # its node or process is gone
            raise ActorUnresponsive(f"actor {self._actor_id} is gone: {exc.__class__.__name__}") from None
        return effects

    def release(self) -> None:
        self._ray.kill(self._actor)


def place(
    placement: Placement, actor_class: type[Actor], actor_id: str, args: tuple[Any, ...], seed: int, start: datetime, speed: float = 1.0
) -> ActorHandle:
    """The actor hosted inline or in Ray, on a clock of the binding's ``start`` and ``speed``."""
    if placement is Placement.RAY:
        return RayHandle(actor_class, actor_id, args, seed, start, speed)
    return InlineHandle(ActorHost(actor_class, actor_id, args, seed, start, speed))
