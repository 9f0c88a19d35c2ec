"""The live station end to end: embedded broker, emulated devices driven by the population, history, automations."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hardware_bridge.broker import EmbeddedBroker
from hardware_bridge.emulator import Emulator
from hardware_bridge.mqtt import BrokerConfig
from scenarios.schema import load_scenario
from station.live import LiveStation
from station.settings import Settings
from tests.conftest import LIBRARY
from tests.hardware_bridge.conftest import free_port, wait_for
from twin.entity import Twin


def test_a_living_station(tmp_path: Path) -> None:
    scenario = load_scenario(
        LIBRARY / "automated_station.toml",
        ["scenario.start=2026-07-20T12:00:00", "automations.every=1s", "automations.cooldown=30s"],
    )
    options = Settings(
        broker_port=free_port(), database_url=f"sqlite:///{tmp_path / 'live.db'}", emulate=True, speed=300.0, report_interval_s=1.0
    )
    station = LiveStation(scenario.station, options, scenario).start()
    bridge = station.bridge
    assert bridge is not None
    try:
        wait_for(lambda: bridge.read(lambda t: all(e.available for e in t.entities.values())), timeout_s=30, what="every device online")
        wait_for(lambda: bridge.read(lambda t: t.entity("door").reported.get("entries", 0)) > 0, timeout_s=60, what="workers walking in")

        def ac_commanded(twin: Twin) -> bool:
            return any(c.entity_id == "ac" for c in twin.commands.values())

        wait_for(lambda: bridge.read(ac_commanded), timeout_s=60, what="the automations to command the AC")
        wait_for(lambda: bridge.read(lambda t: all(c.state.value != "pending" for c in t.commands.values())), timeout_s=30, what="acks")
        assert sum(bridge.rejected.values()) == 0
    finally:
        station.stop()
    now = datetime.now(UTC)
    points = station.history.series("door", "entries", now - timedelta(hours=1), now + timedelta(minutes=1))
    assert points and points[-1].value > 0, "the history kept the door's counts"
    assert station.daybook is not None
    today = station.daybook.figures(now)
    assert today.visitors > 0 and sum(d.uses for d in today.devices) > 0
    served = {d.device: d.uses for d in today.devices if d.uses}
    assert all(d.utilisation is not None and 0 <= d.utilisation <= 1 for d in today.devices if d.device in served)

    restarted = LiveStation(scenario.station, options.model_copy(update={"emulate": False, "broker_port": free_port()})).start()
    try:
        assert restarted.daybook is not None
        again = restarted.daybook.figures(now)
    finally:
        restarted.stop()
    assert (again.visitors, again.commands, again.alarms_raised) == (today.visitors, today.commands, today.alarms_raised)
    for device in again.devices:
        if device.device in served:
            assert served[device.device] - 1 <= device.uses <= served[device.device], "the first counter heard is a baseline"


def test_an_emulated_station_plays_on_past_its_horizon_and_stops_when_told() -> None:
    scenario = load_scenario(LIBRARY / "typical_week.toml", ["scenario.horizon=1h", "scenario.warmup=0s"])
    with EmbeddedBroker(port=free_port()) as broker:
        emulator = Emulator(scenario, BrokerConfig.from_url(broker.url)).start(stagger_s=0)
        door = emulator.devices["door"]
        said: Counter[tuple[str, str]] = Counter()
        publish = door.event

        def event(name: str, data: Mapping[str, Any]) -> None:
            said[name, data["worker"]] += 1
            publish(name, data)

        door.event = event  # type: ignore[method-assign]
        try:
            emulator.drive(speed=3600.0, start=datetime(2026, 7, 20, 12, 0))  # an hour a second, from a weekday noon
            wait_for(lambda: emulator.rounds >= 3, timeout_s=20, what="three rounds of the one-hour horizon")
            wait_for(lambda: emulator.devices["door"].state.get("entries", 0) > 0, what="workers at the door")
        finally:
            began = time.monotonic()
            emulator.stop()
        assert time.monotonic() - began < 5 and emulator._simulation is not None and not emulator._simulation.is_alive()
    entered = Counter({w: n for (name, w), n in said.items() if name == "worker_entered"})
    left = Counter({w: n for (name, w), n in said.items() if name == "worker_left"})
    assert entered and entered - left == Counter(emulator._inside), "whoever a round left inside was let out before the next"
