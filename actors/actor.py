"""The bases every actor shares: ``Actor``, and ``Device`` for the station's equipment."""

from __future__ import annotations

from typing import ClassVar

from actors.message import Actuate, DeviceCommand, DeviceEvent, Reported
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
        raise TypeError(f"{self.kind} {self.id!r} cannot handle {type(message).__name__}")

    def at_next_hour(self, message: object) -> Timer:
        """A timer for the next full clock hour: rates, daylight and weather change on the hour."""
        return self.port.timer(self.port.clock.seconds_to_next_hour(self.port.now()), message)


class Device(Actor):
    """A device's policy: what the station makes of its reports and of the commands it is sent.

    This class is the whole of a device live, and the base of its simulated self.  A
    kind with no opinion of its own mirrors what the real device reports, passes a
    command to the hardware as asked, and takes no notice of its events; its
    simulated subclass adds the physics (a queue, a room's temperature, a charging
    curve), which therefore never runs live.  A simulated device with no physics for a
    commanded field simply takes the value it was set to, as a real one reports it.
    """

    kind: ClassVar[str] = "device"

    def __init__(self, actor_id: str, port: Port, config: object = None) -> None:
        """Every device is hosted with its kind's config; the plain policy has no use for it."""
        super().__init__(actor_id, port)

    def receive(self, message: object) -> None:
        if isinstance(message, Reported):
            self.port.publish(message.fields)
        elif isinstance(message, DeviceCommand):
            self.port.actuate(self.shape(message), message)
        elif isinstance(message, Actuate):
            self.port.publish(message.fields)
        elif not isinstance(message, DeviceEvent):
            super().receive(message)

    def shape(self, command: DeviceCommand) -> dict[str, object]:
        """What the hardware is told for ``command``: as asked, unless a kind's rules say otherwise (the AC's 26 °C)."""
        return dict(command.fields)
