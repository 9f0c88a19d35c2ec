"""The smart door: who came in, who left, how many are inside now.

``DoorPolicy`` is the door as the station runs it live: each worker the real door
lets in becomes a ``Visitor`` actor, spawned through the port, until the door lets
them out.  ``Door`` is the simulated door, which the simulated workers pass through
and which counts them; it keeps the policy, so both worlds share one door.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from actors.actor import Device
from actors.bounds import MOST_INSIDE, POSITIVE
from actors.message import Actuate, DeviceEvent, DoorLocked, Entered, Left, OccupancyChanged
from actors.port import Port
from actors.visitor import Visitor

WORKER_ENTERED = "worker_entered"
WORKER_LEFT = "worker_left"
DOOR_EVENTS = (WORKER_ENTERED, WORKER_LEFT)
"""What a door (and only a door) tells of the people passing it."""


@dataclass(frozen=True, slots=True)
class DoorConfig:
    observers: tuple[str, ...] = ()
    """Actors told of every change in occupancy (air conditioning, lights)."""
    crowd: str | None = None
    """The actor whose workers come through this door (the population), told when it locks or unlocks."""
    most_inside: int = field(default=MOST_INSIDE, metadata=POSITIVE)
    """More people inside than this is a miscount (a door reporting 99999): refused, not shown."""
    unit_cost_cny: float = 0.0
    monthly_cost_cny: float = 0.0

    def report_limits(self) -> dict[str, int]:
        return {"occupancy": self.most_inside}


def visitor_id(worker: str) -> str:
    return f"visitor:{worker}"


class DoorPolicy(Device):
    kind = "door"

    def __init__(self, actor_id: str, port: Port, config: DoorConfig) -> None:
        super().__init__(actor_id, port)
        self.config = config
        self.inside: dict[str, str] = {}
        """Workers the real door let in and has not let out: worker -> group."""

    def receive(self, message: object) -> None:
        if isinstance(message, DeviceEvent) and message.event in DOOR_EVENTS:
            self._passed(message.event, str(message.data["worker"]), str(message.data["group"]))
        else:
            super().receive(message)

    def _passed(self, event: str, worker: str, group: str) -> None:
        """A second scan of someone inside, or a leaving never seen coming in (the station restarted), changes nothing."""
        if event == WORKER_ENTERED and worker not in self.inside:
            self.inside[worker] = group
            self.port.spawn(Visitor, visitor_id(worker), group)
        elif event == WORKER_LEFT and worker in self.inside:
            self.port.send(visitor_id(worker), Left(worker, self.inside.pop(worker)))


class Door(DoorPolicy):
    """The simulated door: counts the simulated workers who pass it and tells its observers."""

    def __init__(self, actor_id: str, port: Port, config: DoorConfig) -> None:
        super().__init__(actor_id, port, config)
        self.entries = 0
        self.exits = 0

    @property
    def occupancy(self) -> int:
        return self.entries - self.exits

    def start(self) -> None:
        self._publish()

    def receive(self, message: object) -> None:
        if isinstance(message, Actuate) and "locked" in message.fields:
            # A locked door lets nobody in: the crowd turns its arrivals away until it is unlocked (leaving stays free).
            super().receive(message)
            if self.config.crowd is not None:
                self.port.send(self.config.crowd, DoorLocked(bool(message.fields["locked"])))
            return
        if isinstance(message, Entered):
            self.entries += 1
        elif isinstance(message, Left):
            self.exits += 1
        else:
            super().receive(message)
            return
        self._publish()
        for observer in self.config.observers:
            self.port.send(observer, OccupancyChanged(self.occupancy))

    def _publish(self) -> None:
        self.port.publish({"occupancy": self.occupancy, "entries": self.entries, "exits": self.exits})
