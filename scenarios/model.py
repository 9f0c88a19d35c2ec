"""One replication of a scenario: the station's actors on a fresh SimPy environment."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from typing import TypeVar

import numpy as np

from actors.automation import AUTOMATIONS_ID, OBSERVED, Automations
from actors.binding import Binding
from actors.population import Population
from actors.registry import DEVICE_KINDS
from actors.runtime import Placement
from actors.weather import Weather, WeatherConfig
from scenarios.cameras import SimulatedCamera
from scenarios.kpi import KpiCollector, ReplicationResult
from scenarios.schema import POPULATION_ID, WEATHER_ID, Scenario
from scenarios.sim import SimBinding, SimEnvironment
from twin.clock import Clock
from twin.entity import Twin
from twin.feed import Subscriber

AnyBinding = TypeVar("AnyBinding", bound=Binding)
logger = logging.getLogger(__name__)


def replication_seed(seed: int, replication: int) -> int:
    """Seeds of different replications never coincide and do not depend on the variant."""
    return int(np.random.SeedSequence(seed, spawn_key=(replication,)).generate_state(1, np.uint64)[0])


def run_replication(
    scenario: Scenario, replication: int, observers: Iterable[Subscriber] = (), placement: Placement | None = None
) -> ReplicationResult:
    """One replication; ``placement`` hosts the actors through the runtime (sim-ray) instead of inline."""
    seed = replication_seed(scenario.seed, replication)
    env = SimEnvironment()
    twin = Twin(scenario.station.id, retain=0)
    clock = Clock(scenario.start, lambda: env.now)
    by_kind = devices_by_kind(scenario)
    collector = KpiCollector(
        clock,
        scenario.horizon_s,
        scenario.warmup_s,
        resources={d.id: (d.kind, d.config.units) for d in scenario.station.devices if DEVICE_KINDS[d.kind].serves_workers},
        groups={g.name: list(dict.fromkeys(r.need for s in g.streams for r in s.needs)) for g in scenario.population.groups},
        battery_cabinets=by_kind["battery_cabinet"],
        door_checks=scenario.population.door_checks,
        cameras=bool(by_kind["camera"]),
    )
    collector.subscribe_to(twin)
    for observer in observers:  # one that names the changes it wants (``names``) hears only those: a feed is fast
        twin.subscribe(observer, names=getattr(observer, "names", None))
    binding = build_station(scenario, SimBinding(env, twin, clock, seed, placement))
    binding.run(until=scenario.horizon_s)
    return collector.result(replication, seed)


def devices_by_kind(scenario: Scenario) -> dict[str, list[str]]:
    return {kind: [d.id for d in scenario.station.devices if d.kind == kind] for kind in DEVICE_KINDS}


def build_station(scenario: Scenario, binding: AnyBinding, cameras_see: bool = True) -> AnyBinding:
    """Host the scenario's devices, weather and population on ``binding``, wired to one another; with ``cameras_see``
    the cameras watch the people inside and raise the alarms the installed models would (``scenarios.cameras``).

    The device emulator builds the same station on a real-time environment, its cameras blind: an emulated camera has
    no agent to speak for it, and a demo's alarms should be the devices'.
    """
    by_kind = devices_by_kind(scenario)
    if scenario.station.automations is not None:
        # First, so the automations hear every device's first report too.
        binding.host(Automations, AUTOMATIONS_ID, scenario.station.automations, register=False)
        binding.observe(AUTOMATIONS_ID, OBSERVED)
    occupancy_observers = tuple(by_kind["air_conditioner"] + by_kind["lights"] + (by_kind["camera"] if cameras_see else []))
    if cameras_see and by_kind["camera"] and not by_kind["door"]:
        logger.warning("cameras %s see no one: no door counts the people inside", ", ".join(by_kind["camera"]))
    for device in scenario.station.devices:
        config = device.config
        if device.kind == "door":
            config = dataclasses.replace(config, observers=occupancy_observers, crowd=POPULATION_ID)
        actor_class = SimulatedCamera if cameras_see and device.kind == "camera" else DEVICE_KINDS[device.kind].simulated
        binding.host(actor_class, device.id, config, attributes={"label": device.label, **_attributes(config)})
    weather_observers = (POPULATION_ID, *by_kind["air_conditioner"])
    binding.host(Weather, WEATHER_ID, WeatherConfig(scenario.temp_c, scenario.rain, weather_observers))
    binding.host(Population, POPULATION_ID, scenario.population)
    return binding


def _attributes(config: object) -> dict[str, object]:
    fields = {f.name for f in dataclasses.fields(config)}  # type: ignore[arg-type]
    return {name: getattr(config, name) for name in ("units", "unit_cost_cny", "monthly_cost_cny") if name in fields}
