"""The SimPy binding: the station's actors on a SimPy environment's clock.

The binding core (actors/binding.py) does all of it: timers and delayed messages as
SimPy events, the run-to-completion mailbox, effects of placed actors (sim-ray)
replayed onto the same port an inline actor uses.  What a simulation adds is only
its reading of a message for an actor that is gone: the model broke an invariant,
which a planner must hear about rather than get quietly wrong numbers.

Everything is ordered by time, then by scheduling or send order, so a replication is
exactly reproducible, and sim-inline and sim-ray give the same events in the same
order.
"""

from __future__ import annotations

from heapq import heappop
from typing import cast

import simpy

from actors.binding import Binding, TimedDelivery
from actors.runtime import Placement
from scenarios.errors import SimulationError
from twin.clock import Clock
from twin.entity import Twin


class SimEnvironment(simpy.Environment):
    """SimPy's environment, whose run fires the binding's timers without a ``step`` each.

    A replication is nearly all timers (arrivals, ends of service, patience), so the
    loop takes each due one off the calendar and delivers it itself; anything else on
    the calendar (a process, a Resource's event: a test's or the emulator's) goes
    through SimPy's own ``step``, in the same order.  As in ``Environment.run``, what
    is due exactly at ``until`` is left for the next run.
    """

    def run(self, until: float | simpy.Event | None = None) -> object:
        if until is None or isinstance(until, simpy.Event):
            return super().run(until)
        at = float(until)
        if at <= self._now:
            raise ValueError(f"until ({at}) must be greater than the current simulation time")
        queue = cast("list[tuple[float, int, int, TimedDelivery]]", self._queue)  # and SimPy's own events
        step, timer = self.step, TimedDelivery
        while queue and queue[0][0] < at:
            if type(queue[0][3]) is timer:
                self._now, _, _, delivery = heappop(queue)
                delivery.fire()
            else:
                step()
        self._now = at
        return None


class SimBinding(Binding):
    """Hosts actors on a SimPy ``env``; what they publish goes to ``twin``."""

    def __init__(self, env: simpy.Environment, twin: Twin, clock: Clock, seed: int, placement: Placement | None = None) -> None:
        super().__init__(env, twin, clock, seed, placement)

    def undeliverable(self, actor_id: str, message: object) -> None:
        raise SimulationError(f"{type(message).__name__} sent to {actor_id!r}, which is not (or no longer) in the station")
