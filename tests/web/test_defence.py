"""The bridge defends the twin on a Mosquitto run from the generated ACLs: a device's own account that lies (forged
acks, a queue of 5000, a door event from the lights) and a command left retained change nothing, and each is
counted by its reason in /metrics.

The broker stops what the ACLs forbid (another device's topics, any ``set``: test_broker_acl.py); these are what an
account may publish and the bridge must still refuse.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hardware_bridge import discovery, payloads, topics
from hardware_bridge.mqtt import BrokerConfig, MqttClient
from hardware_bridge.security import bridge_username, integrator_username, mosquitto_files, station_accounts, with_account, write_secret
from hardware_bridge.topics import Channel
from scenarios.schema import load_scenario
from station.live import LiveStation
from station.settings import Settings
from store.db import migrate, sessions
from tests.brokers import MOSQUITTO_BIN, SecuredMosquitto, free_port, require, wait_for
from tests.conftest import LIBRARY
from twin.entity import CommandState
from web.app import create_app
from web.auth import Role, create_user

STATION = "yunting"
SECRET = bytes(range(32))


@dataclass
class Defended:
    live: LiveStation
    web: TestClient
    broker: BrokerConfig
    auditor: dict[str, str]

    def client(self, who: str) -> MqttClient:
        """A client logged in with a device's own account."""
        client = MqttClient(self.live.device_broker(who), f"liar-{who}", lambda *_: None)
        client.start()
        assert client.wait_connected(10), f"{who} logs in with its own account"
        return client

    def metric(self, name: str, **labels: str) -> float:
        text = self.web.get("/metrics", headers=self.auditor).text
        wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for line in text.splitlines():
            if line.startswith(f"{name}{{{wanted}}} "):
                return float(line.split()[-1])
        return 0.0


@pytest.fixture
def defended(tmp_path: Path) -> Iterator[Defended]:
    require(MOSQUITTO_BIN)
    scenario = load_scenario(LIBRARY / "typical_week.toml")
    port = free_port()
    devices = {d.id: d.kind for d in scenario.station.devices}
    files = mosquitto_files(tmp_path / "broker", STATION, devices, SECRET, port, persistence=False)
    write_secret(tmp_path / "secret", SECRET)
    mosquitto = SecuredMosquitto(files.config, port).start()
    url = f"mqtt://127.0.0.1:{port}"
    # A command someone left retained while the bridge was away: it must not run when the bridge comes.
    planted = MqttClient(with_account(BrokerConfig.from_url(url), files.accounts[integrator_username(STATION)]), "planter", lambda *_: None)
    planted.start()
    assert planted.wait_connected(10)
    planted.publish(discovery.command_topic(STATION), json.dumps({"device": "lights", "set": {"on": True}}), qos=1, retain=True)
    planted.close()
    settings = Settings(mqtt_url=url, broker_secret_file=str(tmp_path / "secret"), database_url=f"sqlite:///{tmp_path / 'd.db'}",
                        discovery=True)  # fmt: skip
    live = LiveStation(scenario.station, settings)
    migrate(live.db)
    with sessions(live.db).begin() as db:
        create_user(db, "auditor", "审计 李", Role.AUDITOR, "correct horse battery")
    live.start()
    try:
        with TestClient(create_app(Settings(database_url=settings.database_url), scenario.station, live)) as web:
            signed_in = web.post("/api/auth/token", json={"username": "auditor", "password": "correct horse battery"})
            yield Defended(live, web, BrokerConfig.from_url(url), {"Authorization": f"Bearer {signed_in.json()['token']}"})
    finally:
        live.stop()
        mosquitto.stop()


def test_lies_from_devices_own_accounts_change_nothing_and_are_counted(defended: Defended) -> None:
    bridge = defended.live.bridge
    assert bridge is not None
    wait_for(lambda: defended.metric("yxy_mqtt_rejected_total", reason="RetainedCommandError") == 1, what="the retained command refused")
    assert not bridge.read(lambda t: [c for c in t.commands.values() if c.entity_id == "lights"]), "the planted command never ran"

    microwave, lights, ac = defended.client("microwave"), defended.client("lights"), defended.client("ac")
    try:
        # Spoofed state: a 2-unit microwave with 5000 waiting, then 3 busy (more than its units).
        for state in ({"queue": 5000}, {"busy": 3}):
            microwave.publish(topics.topic(STATION, "microwave", "microwave", Channel.STATE), payloads.state_payload(1.0, state), qos=1)
        # A door event from the lights, a hundred times over.
        for n in range(100):
            entered = payloads.event_payload(1.0, "worker_entered", {"worker": f"riders.visits.{n}", "group": "riders"})
            lights.publish(topics.topic(STATION, "lights", "lights", Channel.EVENT), entered, qos=1)
        # Forged acks: one for an id never sent, one failing the lights' pending command from the AC's account.
        pending = bridge.command("lights", {"on": False}, by="custodian")
        ack_topic = topics.topic(STATION, "air_conditioner", "ac", Channel.ACK)
        ac.publish(ack_topic, payloads.ack_payload("never-sent-1", True), qos=1)
        ac.publish(ack_topic, payloads.ack_payload(pending, False, "forged failure"), qos=1)

        wait_for(lambda: defended.metric("yxy_mqtt_rejected_total", reason="OutOfRangeError") == 2, what="the spoofed states refused")
        wait_for(lambda: defended.metric("yxy_mqtt_rejected_total", reason="PassageError") == 100, what="the lights' door events refused")
        wait_for(lambda: defended.metric("yxy_mqtt_rejected_total", reason="UnknownCommandError") == 1, what="the forged ack refused")
        wait_for(
            lambda: defended.metric("yxy_mqtt_rejected_total", reason="PayloadError") == 1, what="the AC's ack of a lights command refused"
        )
    finally:
        for client in (microwave, lights, ac):
            client.close()

    reported = bridge.read(lambda t: dict(t.entity("microwave").reported))
    assert reported.get("queue", 0) < 5000 and reported.get("busy", 0) <= 2, reported
    assert not [a for a in bridge.binding.actors if a.startswith("visitor:")], "no visitor hosted from the lights' word"
    assert not bridge.read(lambda t: [c for c in t.feed.since(0) if c.name == "worker_entered" and c.entity_id == "lights"])
    command = bridge.read(lambda t: t.commands[pending])
    assert command.error != "forged failure", "a forged ack never fails a command"
    assert command.state is not CommandState.FAILED or "acknowledgement" in (command.error or ""), command

    # The retained command is gone from the broker: a newcomer subscribing gets nothing retained there.
    reader = with_account(defended.broker, station_accounts(STATION, defended.live.devices, SECRET)[bridge_username(STATION)])

    def a_newcomer_finds_no_command() -> bool:
        """The clear and a newcomer's subscription travel on two connections, in no set order: asked again until cleared."""
        seen: list[tuple[str, bytes, bool]] = []
        late = MqttClient(reader, "late-reader", lambda t, p, r: seen.append((t, p, r)))
        late.subscribe(discovery.command_topic(STATION), qos=1)
        late.subscribe(topics.bridge_availability(STATION), qos=1)
        late.start()
        try:
            wait_for(lambda: any(t == topics.bridge_availability(STATION) for t, _, _ in list(seen)), what="the retained availability")
            return not [p for t, p, r in seen if t == discovery.command_topic(STATION) and r and p]
        finally:
            late.close()

    wait_for(a_newcomer_finds_no_command, what="the retained command cleared")
