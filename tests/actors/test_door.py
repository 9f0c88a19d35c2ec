"""The door's lock is obeyed by the simulated crowd (and so by the emulator, which runs it): nobody comes in."""

from __future__ import annotations

import simpy

from actors.message import DeviceCommand
from actors.population import TURNED_AWAY_AT_DOOR
from scenarios.model import build_station
from scenarios.schema import load_scenario
from scenarios.sim import SimBinding
from tests.conftest import LIBRARY
from twin.clock import Clock
from twin.entity import Twin
from twin.feed import Change


def test_a_locked_door_turns_arrivals_away_until_it_is_unlocked() -> None:
    scenario = load_scenario(LIBRARY / "typical_week.toml", ["scenario.start=2026-07-20T11:00:00"])
    env = simpy.Environment()
    twin = Twin(scenario.station.id, retain=0)
    seen: list[Change] = []
    twin.subscribe(seen.append, names=["visit_started", TURNED_AWAY_AT_DOOR, "state"])
    binding = build_station(scenario, SimBinding(env, twin, Clock(scenario.start, lambda: env.now), 7))
    binding.send("door", DeviceCommand({"locked": True}, "custodian:wang"), 600.0)
    binding.send("door", DeviceCommand({"locked": False}, "custodian:wang"), 1800.0)
    binding.run(until=2400.0)

    def came_in(since: float, until: float) -> int:
        return sum(1 for c in seen if c.name == "visit_started" and c.data["enters"] and since <= c.t < until)

    turned_away = [c for c in seen if c.name == TURNED_AWAY_AT_DOOR]
    assert came_in(0, 600) > 0 and came_in(600 + 1e-6, 1800) == 0, "locked: nobody came in"
    assert turned_away and all(600 <= c.t <= 1800 for c in turned_away)
    assert came_in(1800 + 1e-6, 2400) > 0, "unlocked: they come in again"
    locks = [c.data["locked"] for c in seen if c.name == "state" and c.entity_id == "door" and "locked" in c.data]
    assert locks == [True, False], "the door reports its lock as it changes"
