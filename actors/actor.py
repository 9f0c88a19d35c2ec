"""The base every actor shares."""

from __future__ import annotations

from typing import ClassVar

from actors.message import DeviceCommand, Reported
from actors.port import Port, Timer


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
        """What every device does with a message its kind does not know: mirror a live report, pass a command
        through to the hardware, else refuse."""
        if isinstance(message, Reported):
            self.port.publish(message.fields)
            return
        if isinstance(message, DeviceCommand):
            self.port.actuate(message.fields)  # a kind with no opinion passes a command straight to its hardware
            return
        raise TypeError(f"{self.kind} {self.id!r} cannot handle {type(message).__name__}")

    def at_next_hour(self, message: object) -> Timer:
        """A timer for the next full clock hour: rates, daylight and weather change on the hour."""
        return self.port.timer(self.port.clock.seconds_to_next_hour(self.port.now()), message)
