"""A worker on one visit: the needs they came with, met one after another.

The plan is drawn when the worker arrives (by the population), so the worker itself
draws nothing and a visit is the same however the station treats it.  Plans are
NamedTuples for the same reason messages are: one is made per arrival.  A need that
fails (balked, turned away, patience ran out) is recorded as unmet and the worker
goes on to the next one.
"""

from __future__ import annotations

from typing import NamedTuple

from actors.actor import Actor
from actors.message import Admitted, AtDoor, Denied, Entered, Finished, Left, Refused, Request, Started, Withdraw
from actors.port import Port, Timer


class NeedPlan(NamedTuple):
    need: str
    device: str
    hold_s: float | None = None
    patience_s: float | None = None
    balk_queue: int | None = None
    background: bool = False
    """Go on once served (a locker, a phone left charging) instead of waiting for the end."""
    balk_chance: tuple[float, ...] | None = None
    balk_draw: float = 1.0


class VisitPlan(NamedTuple):
    group: str
    needs: tuple[NeedPlan, ...]
    enters_station: bool = True
    """False for a visit that stays outside (a battery swap at the outdoor cabinet)."""
    door: str | None = None
    """The door to pass on the way in and out, if the station has one."""
    shows: object = None
    """At a door that checks who comes in: the member's pass (its text) or, for a visitor, an ``AsVisitor``."""


class _PatienceRanOut(NamedTuple):
    pass


class Worker(Actor):
    kind = "worker"

    def __init__(self, actor_id: str, port: Port, plan: VisitPlan) -> None:
        super().__init__(actor_id, port)
        self.plan = plan
        self.served = 0
        self.unmet = 0
        self._index = -1
        self._arrived = 0.0
        self._patience: Timer | None = None

    def start(self) -> None:
        if self.plan.door is not None and self.plan.shows is not None:
            self.port.send(self.plan.door, AtDoor(self.id, self.plan.group, self.plan.shows))  # the visit begins inside
            return
        if self.plan.door is not None:
            self.port.send(self.plan.door, Entered(self.id, self.plan.group))
        self._begin()

    def _begin(self) -> None:
        self._arrived = self.port.now()
        self.port.record("visit_started", {"group": self.plan.group, "needs": len(self.plan.needs), "enters": self.plan.enters_station})
        self._next()

    def receive(self, message: object) -> None:
        if isinstance(message, Admitted):
            self._begin()  # the door counted them in
        elif isinstance(message, Denied):
            self.port.stop()  # turned away at the door: the door's record says why, and nothing was begun inside
        elif isinstance(message, Finished):
            self.served += 1
            self._next()
        elif isinstance(message, Started):
            self._stop_patience()
            if self.plan.needs[self._index].background:  # no Finished comes: served now, and on to the next need
                self.served += 1
                self._next()
        elif isinstance(message, Refused):
            self._stop_patience()
            self.unmet += 1
            need = self.plan.needs[self._index]
            self.port.record(
                "need_unmet", {"group": self.plan.group, "need": need.need, "device": need.device, "reason": message.reason.value}
            )
            self._next()
        elif isinstance(message, _PatienceRanOut):
            self._patience = None
            self.port.send(self.plan.needs[self._index].device, Withdraw(self.id))
        else:
            super().receive(message)

    def _stop_patience(self) -> None:
        if self._patience is not None:
            self._patience.cancel()
            self._patience = None

    def _next(self) -> None:
        self._index += 1
        if self._index >= len(self.plan.needs):
            self._leave()
            return
        need = self.plan.needs[self._index]
        waits_on_start = need.background or need.patience_s is not None
        request = Request(
            self.id,
            self.plan.group,
            need.need,
            need.hold_s,
            need.balk_queue,
            not need.background,
            waits_on_start,
            need.balk_chance,
            need.balk_draw,
        )
        self.port.send(need.device, request)
        if need.patience_s is not None:
            self._patience = self.port.timer(need.patience_s, _PatienceRanOut())

    def _leave(self) -> None:
        if self.plan.door is not None:
            self.port.send(self.plan.door, Left(self.id, self.plan.group))
        self.port.record(
            "visit_ended",
            {
                "group": self.plan.group,
                "time_s": self.port.now() - self._arrived,
                "served": self.served,
                "unmet": self.unmet,
                "enters": self.plan.enters_station,
            },
        )
        self.port.stop()
