"""The base every actor shares."""

from __future__ import annotations

from typing import ClassVar

from actors.port import Port


class Actor:
    """A thing in the station with its own state machine.

    ``start`` runs once when the binding hosts the actor (publish the first state,
    arm the first timers); ``receive`` handles one message at a time, so an actor's
    state needs no locks whichever binding hosts it.
    """

    kind: ClassVar[str] = "actor"

    def __init__(self, actor_id: str, port: Port) -> None:
        self.id = actor_id
        self.port = port

    def start(self) -> None:
        pass

    def receive(self, message: object) -> None:
        raise TypeError(f"{self.kind} {self.id!r} cannot handle {type(message).__name__}")
