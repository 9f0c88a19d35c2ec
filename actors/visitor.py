"""A worker inside the live station: an actor from the moment the door lets them in until they leave.

The live counterpart of ``Worker``: the station does not know a real visitor's needs,
so this actor only keeps the visit (group, time inside) and records it on the feed,
where occupancy, time in station and the door log read it as they do in a simulation.
"""

from __future__ import annotations

from actors.actor import Actor
from actors.message import Left
from actors.port import Port


class Visitor(Actor):
    kind = "visitor"

    def __init__(self, actor_id: str, port: Port, group: str) -> None:
        super().__init__(actor_id, port)
        self.group = group
        self._arrived = 0.0

    def start(self) -> None:
        self._arrived = self.port.now()
        self.port.record("visit_started", {"group": self.group, "needs": 0, "enters": True})

    def receive(self, message: object) -> None:
        if isinstance(message, Left):
            elapsed = self.port.now() - self._arrived
            self.port.record("visit_ended", {"group": self.group, "time_s": elapsed, "served": 0, "unmet": 0, "enters": True})
            self.port.stop()
        else:
            super().receive(message)
