"""The smart door: who came in, who left, how many are inside now."""

from __future__ import annotations

from dataclasses import dataclass

from actors.actor import Actor
from actors.message import Entered, Left, OccupancyChanged
from actors.port import Port


@dataclass(frozen=True, slots=True)
class DoorConfig:
    observers: tuple[str, ...] = ()
    """Actors told of every change in occupancy (air conditioning, lights)."""
    unit_cost_cny: float = 0.0
    monthly_cost_cny: float = 0.0


class Door(Actor):
    kind = "door"

    def __init__(self, actor_id: str, port: Port, config: DoorConfig) -> None:
        super().__init__(actor_id, port)
        self.config = config
        self.entries = 0
        self.exits = 0

    @property
    def occupancy(self) -> int:
        return self.entries - self.exits

    def start(self) -> None:
        self._publish()

    def receive(self, message: object) -> None:
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
