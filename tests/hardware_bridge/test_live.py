"""The live station end to end: embedded broker, emulated devices driven by the population, history, automations."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from actors.message import DeviceCommand
from hardware_bridge.broker import EmbeddedBroker
from hardware_bridge.clock import station_now
from hardware_bridge.emulator import Emulator
from hardware_bridge.mqtt import BrokerConfig
from hardware_bridge.security import write_secret
from scenarios.schema import load_scenario
from station.live import LiveStation
from station.settings import Settings
from store.db import sessions
from store.models import AuditEntry
from tests.conftest import LIBRARY
from tests.hardware_bridge.conftest import free_port, wait_for
from twin.entity import Twin


def test_a_living_station(tmp_path: Path) -> None:
    """Devices driven by a crowd at 300x through the station's broker, the station itself on the wall clock (so that a
    restart's day book, replayed from the history, can be compared with the one kept live)."""
    scenario = load_scenario(
        LIBRARY / "automated_station.toml",
        ["scenario.start=2026-07-20T12:00:00", "automations.every=1s", "automations.cooldown=30s"],
    )
    secret_file = tmp_path / "station.secret"
    secret = write_secret(secret_file)
    options = Settings(
        broker_port=free_port(), database_url=f"sqlite:///{tmp_path / 'live.db'}", report_interval_s=1.0,
        broker_secret_file=str(secret_file),
    )  # fmt: skip
    station = LiveStation(scenario.station, options).start()
    bridge = station.bridge
    assert bridge is not None and station.broker is not None and not station.emulated
    emulator = Emulator(scenario, BrokerConfig.from_url(station.broker.url), report_interval_s=1.0, secret=secret).start()
    emulator.drive(speed=300.0, start=station_now(scenario.station.timezone))
    try:
        wait_for(lambda: bridge.read(lambda t: all(e.available for e in t.entities.values())), timeout_s=30, what="every device online")
        wait_for(lambda: bridge.read(lambda t: t.entity("door").reported.get("entries", 0)) > 0, timeout_s=60, what="workers walking in")

        def ac_commanded(twin: Twin) -> bool:
            return any(c.entity_id == "ac" for c in twin.commands.values())

        wait_for(lambda: bridge.read(ac_commanded), timeout_s=60, what="the automations to command the AC")
        wait_for(lambda: bridge.read(lambda t: all(c.state.value != "pending" for c in t.commands.values())), timeout_s=30, what="acks")
        assert sum(bridge.rejected.values()) == 0
    finally:
        emulator.stop()
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


def test_an_emulated_station_lives_on_its_crowds_clock_and_a_custodian_outranks_the_rules(tmp_path: Path) -> None:
    """At 600x from 05:45 (the wall says evening in Shanghai): the custodian's lights-on holds 30 station minutes
    (3 real seconds), then the rule switches them off because it is daylight on the crowd's clock, signed and
    reasoned in the audit log before it went out; a command that cannot be audited is not sent."""
    scenario = load_scenario(LIBRARY / "automated_station.toml", ["scenario.start=2026-07-20T05:45:00", "automations.every=1m"])
    options = Settings(
        broker_port=free_port(), database_url=f"sqlite:///{tmp_path / 'live.db'}", emulate=True, emulate_from_now=False,
        speed=600.0, report_interval_s=1.0,
    )  # fmt: skip
    station = LiveStation(scenario.station, options, scenario).start()
    bridge = station.bridge
    assert bridge is not None and station.emulated and station.audit_log is not None
    zone = station.zone
    try:
        began = station.station_time.datetime_at(station.station_time.now()).astimezone(zone)
        assert timedelta(0) <= began.replace(tzinfo=None) - datetime(2026, 7, 20, 5, 45) < timedelta(minutes=10), began
        wait_for(lambda: bridge.read(lambda t: "on" in t.entity("lights").reported), timeout_s=30, what="the lights' report")
        bridge.command("lights", {"on": True}, by="custodian:wang")
        wait_for(lambda: bridge.read(lambda t: bool(station.holds.at(bridge.clock.now()))), timeout_s=10, what="the hold")
        hold = bridge.read(lambda t: station.holds.at(bridge.clock.now()))["lights"]
        assert hold.by == "custodian:wang" and hold.rule == "lights_by_occupancy"
        held_for = station.station_time.datetime_at(hold.until_s) - station.station_time.datetime_at(bridge.clock.now())
        assert timedelta(minutes=25) < held_for <= timedelta(minutes=30), held_for

        def switched_off(db_url: str = options.database_url) -> list[AuditEntry]:
            with sessions(station.db).begin() as db:
                rows = db.query(AuditEntry).filter(AuditEntry.username == "automation:lights_by_occupancy").all()
                return [r for r in rows if r.after and r.after.get("on") is False]

        wait_for(lambda: bool(switched_off()), timeout_s=30, what="the rule to take the lights back")
        entry = switched_off()[0]
        assert entry.role == "automation" and entry.action == "command" and entry.target == "lights"
        assert entry.after is not None and entry.after["reason"] == {"why": "daylight"}, "the crowd's clock: past 06:00"
        sent = entry.after["command"]  # audited first, then desired and sent from the loop: it follows at once
        wait_for(lambda: bridge.read(lambda t: sent in t.commands), timeout_s=5, what="the audited command sent")
        command = bridge.read(lambda t: t.commands[sent])
        assert command.by == "automation:lights_by_occupancy" and command.reason == {"why": "daylight"}
        off_at = station.station_time.datetime_at(command.issued_at).astimezone(zone)
        assert off_at.replace(tzinfo=None) >= datetime(2026, 7, 20, 6, 15) - timedelta(minutes=1), "not before the hold ended"
        assert station.daybook is not None and station.daybook.day.isoformat() == "2026-07-20"

        def refuse(*_: object) -> None:
            raise OSError("disk full")

        before = bridge.read(lambda t: len(t.commands))
        bridge.router.audit = refuse
        bridge.call(lambda t: bridge.router.actuate("lights", {"on": True}, DeviceCommand({"on": True}, "automation:test")))
        wait_for(lambda: bridge.read(lambda t: bridge.rejected["unaudited"]) == 1, timeout_s=5, what="the refusal")
        assert bridge.read(lambda t: len(t.commands)) == before, "not audited, not sent"

        def stuck(*_: object) -> None:
            time.sleep(0.5)  # the database waits for a lock: the loop does not wait with it

        bridge.router.audit = stuck
        began = time.monotonic()
        bridge.call(lambda t: bridge.router.actuate("lights", {"on": True}, DeviceCommand({"on": True}, "automation:test")))
        assert bridge.read(lambda t: len(t.commands)) == before and time.monotonic() - began < 0.3
        wait_for(lambda: bridge.read(lambda t: len(t.commands)) == before + 1, timeout_s=5, what="sent once audited")
    finally:
        station.stop()


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
