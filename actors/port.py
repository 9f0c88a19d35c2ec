"""The one door through which an actor touches the world.

A binding (SimPy, Ray, the MQTT bridge) supplies the Port; the actor never learns
which one it has, which is what lets the same class run simulated and live.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from twin.clock import Clock

if TYPE_CHECKING:
    from actors.actor import Actor
    from actors.message import DeviceCommand
    from twin.randomness import RandomStream


class Timer(Protocol):
    def cancel(self) -> None: ...


class Port(Protocol):
    @property
    def clock(self) -> Clock: ...

    @property
    def rng(self) -> RandomStream:
        """The actor's own random stream, derived from (seed, actor id)."""

    def now(self) -> float: ...

    def stream(self, name: str) -> RandomStream:
        """Another named stream of this actor's (one per worker group, say), for common random numbers."""

    def send(self, to: str, message: object, delay: float = 0.0) -> None:
        """Deliver ``message`` to actor ``to`` after ``delay`` seconds, in send order."""

    def timer(self, delay: float, message: object) -> Timer:
        """Deliver ``message`` to this actor after ``delay`` seconds unless cancelled."""

    def publish(self, state: Mapping[str, Any]) -> None:
        """Report a change of this actor's state to the twin."""

    def record(self, name: str, data: Mapping[str, Any]) -> None:
        """Append an event (past tense: ``service_started``) to the twin's change feed."""

    def actuate(self, fields: Mapping[str, Any], answering: DeviceCommand | None = None) -> None:
        """Drive the device: over MQTT when live; in a simulation the actor's own physics (an ``Actuate`` to itself).

        ``answering`` is the command this carries out, so its id and who asked go with it (live, the operator's
        command is acknowledged by what went out); None for what the actor decided on its own."""

    def spawn(self, actor_class: type[Actor], actor_id: str, *args: Any) -> None:
        """Host ``actor_class(actor_id, <its port>, *args)`` (a worker arriving) and start it.

        The binding builds the actor, so it can place it wherever it places actors.
        """

    def stop(self) -> None:
        """Release this actor (a worker leaving); later messages to it are an error."""

    def raise_alarm(self, source: str, type_: str, severity: str, detail: str) -> None:
        """Raise an alarm on ``source`` in the station's one alarm book (repeats count; a recent one reopens)."""

    def clear_alarm(self, source: str, type_: str) -> None:
        """The alarm's condition has ended: clear the active alarm of (source, type), if any."""
