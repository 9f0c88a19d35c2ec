"""The live door's count of who is inside follows the door's own count (issue 12, review): a leaving the station never
heard of (a lost message, a restart) does not keep a place taken for ever; someone who just came in is never dropped
on a report that may predate them; a door that counts more than it saw come in holds the capacity by its count."""

from __future__ import annotations

from datetime import datetime

import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.door import COUNT_SETTLES_S, DoorConfig, DoorPolicy
from actors.message import DeviceEvent, Reported
from scenarios.sim import SimBinding
from twin.clock import Clock
from twin.entity import Twin


def _door(capacity: int = 40) -> tuple[SimBinding, DoorPolicy, simpy.Environment]:
    env = simpy.Environment()
    binding = SimBinding(env, Twin("t", retain=0), Clock(datetime(2026, 12, 7, 12), lambda: env.now), 7)
    binding.host(DoorPolicy, "door", DoorConfig(capacity=capacity, reserve=0))
    door = binding.actors["door"]
    assert isinstance(door, DoorPolicy)
    return binding, door, env


def _enter(binding: SimBinding, worker: str) -> None:
    binding.deliver("door", DeviceEvent("worker_entered", {"worker": worker, "group": "riders"}))


def test_a_lower_count_drops_the_longest_inside_but_never_who_just_came() -> None:
    binding, door, _ = _door()
    for n in range(5):
        _enter(binding, f"w{n}")
    binding.run(until=COUNT_SETTLES_S + 1)
    _enter(binding, "late")  # came in after the report was made
    binding.deliver("door", Reported({"occupancy": 1}))
    assert list(door.inside) == ["late"], "the five long inside went; the one who just came stays"
    assert door.occupied == 1
    assert all(f"visitor:w{n}" not in binding.actors for n in range(5)) and "visitor:late" in binding.actors
    binding.deliver("door", DeviceEvent("worker_left", {"worker": "w0", "group": "riders"}))  # heard late: changes nothing
    assert door.occupied == 1


def test_a_door_counting_more_than_it_saw_holds_the_capacity_by_its_count() -> None:
    binding, door, _ = _door(capacity=3)
    _enter(binding, "seen")
    binding.deliver("door", Reported({"occupancy": 3}))  # two slipped in behind someone
    assert door.occupied == 3


@settings(max_examples=60, deadline=None)
@given(events=st.lists(st.tuples(st.sampled_from(["in", "out", "count"]), st.integers(0, 6), st.floats(0.001, 400)), max_size=40))
def test_the_count_is_never_below_the_doors_nor_below_those_who_just_came(events: list[tuple[str, int, float]]) -> None:
    binding, door, env = _door()
    for what, n, wait in events:
        binding.run(until=env.now + wait)
        if what == "in":
            _enter(binding, f"w{n}")
        elif what == "out":
            binding.deliver("door", DeviceEvent("worker_left", {"worker": f"w{n}", "group": "riders"}))
        else:
            before = set(door.inside)
            recent = {w for w, at in door.entered_at.items() if at > env.now - COUNT_SETTLES_S}
            binding.deliver("door", Reported({"occupancy": n}))
            assert door.occupied >= n and recent <= set(door.inside) <= before, "nobody who just came in is dropped"
            assert len(door.inside) <= max(n, len(recent)), "those long inside beyond the door's count are taken to have left"
        assert set(door.entered_at) == set(door.inside)
