"""The broker as a security boundary: accounts and ACLs, on a real Mosquitto (MQTT 5 and 3.1.1) and the secured embedded broker.

Each Mosquitto case starts one of its own on a free port from the files
`mosquitto_files` writes, so the files themselves are under test. As in conftest.py,
a missing mosquitto binary fails in CI (CI=true) and skips elsewhere.

A refusal is checked where the broker says it (CONNACK, SUBACK, and the MQTT 5
PUBACK) and where it matters: nothing arrives. "Nothing arrived" is never a sleep:
the same client publishes something it may after what it may not, and once that
has arrived anything refused before it would have too (one client's QoS 1
messages keep their order).
"""

from __future__ import annotations

import base64
import dataclasses
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode
from typer.testing import CliRunner

from cli.common import load
from cli.main import app
from hardware_bridge import topics
from hardware_bridge.bridge import Bridge
from hardware_bridge.broker import EmbeddedBroker
from hardware_bridge.clock import wall_clock
from hardware_bridge.emulator import EmulatedDevice
from hardware_bridge.mqtt import BrokerConfig, MqttClient
from hardware_bridge.security import (
    DEVICE_WRITES,
    BrokerAccount,
    BrokerSetupError,
    Role,
    account_acl,
    bridge_username,
    device_password,
    device_username,
    filter_within,
    integrator_username,
    mosquitto_files,
    mosquitto_hash,
    read_secret,
    station_accounts,
    topic_matches,
    with_account,
    write_secret,
)
from hardware_bridge.topics import Channel
from tests.brokers import MOSQUITTO_BIN, SecuredMosquitto, free_port, require, wait_for
from twin.entity import CommandState

DEVICES = {"lights": "lights", "ac": "air_conditioner", "door": "door"}
SECRET = bytes(range(32))
NOT_AUTHORIZED = 135
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"


# ---- brokers --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Secured:
    """A broker that admits only the station's accounts, and how to reach it."""

    name: str
    station: str
    config: BrokerConfig
    accounts: dict[str, BrokerAccount]

    @property
    def v5(self) -> bool:
        return self.config.protocol == "5"

    def account(self, who: str) -> BrokerAccount:
        """``bridge``, ``ha`` or a device id."""
        if who == "bridge":
            return self.accounts[bridge_username(self.station)]
        if who == "ha":
            return self.accounts[integrator_username(self.station)]
        return self.accounts[device_username(self.station, who)]

    def topic(self, device: str, channel: str) -> str:
        return f"{topics.PREFIX}/{self.station}/{DEVICES[device]}/{device}/{channel}"


@pytest.fixture(params=["embedded", "mosquitto-5", "mosquitto-3.1.1"])
def secured(request: pytest.FixtureRequest, station: str, tmp_path: Path) -> Iterator[Secured]:
    if request.param == "embedded":
        accounts = station_accounts(station, DEVICES, SECRET)
        with EmbeddedBroker(port=free_port(), accounts=accounts) as embedded:
            yield Secured("embedded", station, BrokerConfig.from_url(embedded.url), accounts)
        return
    require(MOSQUITTO_BIN)
    port = free_port()
    files = mosquitto_files(tmp_path / "mosquitto", station, DEVICES, SECRET, port, persistence=False)
    mosquitto = SecuredMosquitto(files.config, port).start()
    try:
        yield Secured(request.param, station, BrokerConfig("127.0.0.1", port, protocol=request.param.split("-")[1]), files.accounts)
    finally:
        mosquitto.stop()


# ---- a client that shows what the broker answered -------------------------------------------------------------------


class Probe:
    """A bare paho client recording the broker's answers (CONNACK, SUBACK, PUBACK reason codes) and the messages it gets."""

    def __init__(
        self,
        broker: Secured,
        who: str | None,
        password: str | None = None,
        client_id: str | None = None,
        clean: bool = True,
        will: str | None = None,
    ) -> None:
        self.broker = broker
        self.clean = clean
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"probe-{uuid.uuid4().hex[:10]}",
            protocol=paho.MQTTv5 if broker.v5 else paho.MQTTv311,
            clean_session=None if broker.v5 else clean,
        )
        if who is not None:
            account = broker.account(who)
            self.client.username_pw_set(account.username, account.password if password is None else password)
        if will is not None:
            self.client.will_set(will, b"will", qos=1)
        self.connack: ReasonCode | None = None
        self.disconnects = 0
        self.messages: list[tuple[str, bytes]] = []
        self._answers: dict[int, ReasonCode | list[ReasonCode]] = {}
        self._lock = threading.Lock()
        self._connacked = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_publish = self._on_publish
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect

    def connect(self) -> ReasonCode:
        clean_start = self.clean if self.broker.v5 else paho.MQTT_CLEAN_START_FIRST_ONLY
        self.client.connect(self.broker.config.host, self.broker.config.port, keepalive=30, clean_start=clean_start)
        self.client.loop_start()
        assert self._connacked.wait(10), "no CONNACK"
        assert self.connack is not None
        return self.connack

    def logged_in(self) -> Probe:
        reason = self.connect()
        assert not reason.is_failure, f"{self.broker.name} refused the login: {reason}"
        return self

    def subscribe(self, *topic_filters: str) -> list[ReasonCode]:
        _, mid = self.client.subscribe([(topic_filter, 1) for topic_filter in topic_filters])
        assert mid is not None
        answer = self._answer(mid, "SUBACK")
        assert isinstance(answer, list)
        return answer

    def publish(self, topic: str, payload: bytes = b"{}", retain: bool = False) -> ReasonCode:
        """The PUBACK's reason code: on MQTT 3.1.1 always success, since that PUBACK has no way to say no."""
        answer = self._answer(self.client.publish(topic, payload, qos=1, retain=retain).mid, "PUBACK")
        assert isinstance(answer, ReasonCode)
        return answer

    def got(self, topic: str, payload: bytes | None = None) -> bool:
        with self._lock:
            return any(t == topic and payload in (None, p) for t, p in self.messages)

    def wait_for(self, topic: str, payload: bytes | None = None) -> None:
        wait_for(lambda: self.got(topic, payload), 10, f"{topic} {payload!r} at {self.broker.name}")

    def topics(self) -> set[str]:
        with self._lock:
            return {t for t, _ in self.messages}

    def close(self) -> None:
        self.client.disconnect()
        self.abort()

    def abort(self) -> None:
        """Drop the line without DISCONNECT (its will goes out); close what paho 2.2 leaves open (see hardware_bridge/mqtt.py)."""
        wake = getattr(self.client, "_sockpairW", None)
        if wake is not None:
            wake.send(b"0")  # paho's loop would otherwise notice it is to stop only at its next 1 s select timeout
        self.client.loop_stop()
        sock = self.client.socket()
        if sock is not None:
            sock.close()
        for name in ("_sockpairR", "_sockpairW"):
            pair = getattr(self.client, name, None)
            if pair is not None:
                pair.close()
                setattr(self.client, name, None)

    def _answer(self, mid: int, what: str) -> ReasonCode | list[ReasonCode]:
        wait_for(lambda: mid in self._answers, 10, f"the {what} of message {mid}")
        with self._lock:
            return self._answers.pop(mid)

    def _on_connect(self, client: paho.Client, _userdata: object, _flags: object, reason: ReasonCode, _properties: object) -> None:
        self.connack = reason
        if reason.is_failure:
            client.disconnect()  # paho would otherwise retry the refused login
        self._connacked.set()

    def _on_subscribe(self, _client: paho.Client, _userdata: object, mid: int, reasons: list[ReasonCode], _properties: object) -> None:
        with self._lock:
            self._answers[mid] = list(reasons)

    def _on_publish(self, _client: paho.Client, _userdata: object, mid: int, reason: ReasonCode, _properties: object) -> None:
        with self._lock:
            self._answers[mid] = reason

    def _on_disconnect(self, _client: paho.Client, _userdata: object, _flags: object, _reason: object, _properties: object) -> None:
        self.disconnects += 1

    def _on_message(self, _client: paho.Client, _userdata: object, message: paho.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, bytes(message.payload)))


@pytest.fixture
def probes() -> Iterator[list[Probe]]:
    """Probes to close after the test, whatever it asserted."""
    made: list[Probe] = []
    yield made
    for probe in made:
        probe.close()


def probe(
    probes: list[Probe],
    broker: Secured,
    who: str | None,
    password: str | None = None,
    client_id: str | None = None,
    clean: bool = True,
    will: str | None = None,
) -> Probe:
    made = Probe(broker, who, password, client_id, clean, will)
    probes.append(made)
    return made


def refused_for_credentials(reason: ReasonCode) -> bool:
    """Both brokers say "not authorized" (MQTT 5: 0x87; 3.1.1: 5, which paho reads as the same), even for a wrong password."""
    return reason.is_failure and reason.value == NOT_AUTHORIZED


# ---- logging in -----------------------------------------------------------------------------------------------------


def test_a_client_without_credentials_is_refused(secured: Secured, probes: list[Probe]) -> None:
    reason = probe(probes, secured, None).connect()
    assert refused_for_credentials(reason), reason


def test_a_wrong_password_is_refused(secured: Secured, probes: list[Probe]) -> None:
    lights, ac = secured.account("lights"), secured.account("ac")
    for who, password in (("lights", "not-the-password"), ("lights", ac.password), ("bridge", lights.password), ("ha", "")):
        reason = probe(probes, secured, who, password=password).connect()
        assert refused_for_credentials(reason), (who, reason)
    assert not probe(probes, secured, "lights").connect().is_failure


# ---- devices ----------------------------------------------------------------------------------------------------------


def test_a_device_publishes_its_own_state_and_it_arrives(secured: Secured, probes: list[Probe]) -> None:
    bridge = probe(probes, secured, "bridge").logged_in()
    ha = probe(probes, secured, "ha").logged_in()
    assert not any(r.is_failure for r in bridge.subscribe(f"yxy/{secured.station}/#"))
    assert not any(r.is_failure for r in ha.subscribe(f"yxy/{secured.station}/+/+/state"))
    lights = probe(probes, secured, "lights").logged_in()
    state = b'{"v": 1, "state": {"on": true}}'
    assert not lights.publish(secured.topic("lights", Channel.STATE), state, retain=True).is_failure
    for watcher in (bridge, ha):
        watcher.wait_for(secured.topic("lights", Channel.STATE), state)


def test_a_device_cannot_write_another_devices_topics_a_command_or_the_bridges(secured: Secured, probes: list[Probe]) -> None:
    station = secured.station
    bridge = probe(probes, secured, "bridge").logged_in()
    bridge.subscribe(f"yxy/{station}/#")
    ha = probe(probes, secured, "ha").logged_in()
    ha.subscribe(f"yxy/{station}/+/+/state", "homeassistant/#")
    forbidden = [
        *(secured.topic("ac", channel) for channel in (*Channel, topics.TWIN)),
        secured.topic("lights", Channel.SET),
        secured.topic("lights", topics.TWIN),
        f"yxy/{station}/bridge/command",
        topics.bridge_availability(station),
        f"homeassistant/device/yxy_{station}_lights/config",
        "homeassistant/status",
    ]
    lights = probe(probes, secured, "lights").logged_in()
    answers = {topic: lights.publish(topic, b"forged") for topic in forbidden}
    marker = secured.topic("lights", Channel.STATE)
    lights.publish(marker, b"marker")
    for watcher in (bridge, ha):
        watcher.wait_for(marker, b"marker")
        assert watcher.topics() == {marker}
    if secured.v5:
        assert {topic: answer.value for topic, answer in answers.items()} == dict.fromkeys(forbidden, NOT_AUTHORIZED)
    else:
        assert not any(answer.is_failure for answer in answers.values())  # 3.1.1's PUBACK cannot refuse: the message is dropped


def test_a_device_receives_its_own_command_and_no_other(secured: Secured, probes: list[Probe]) -> None:
    station = secured.station
    lights = probe(probes, secured, "lights").logged_in()
    own, other = secured.topic("lights", Channel.SET), secured.topic("ac", Channel.SET)
    answers = lights.subscribe(own, other, f"yxy/{station}/+/+/set", f"yxy/{station}/#")
    assert not answers[0].is_failure
    if secured.name == "embedded":
        assert all(answer.is_failure for answer in answers[1:])  # refused at SUBACK; Mosquitto 2.0 grants it and delivers nothing
    bridge = probe(probes, secured, "bridge").logged_in()
    assert not bridge.publish(other, b"for the ac").is_failure
    assert not bridge.publish(own, b"for the lights").is_failure
    lights.wait_for(own, b"for the lights")
    assert lights.topics() == {own}


def test_a_will_outside_the_acl_never_reaches_anyone(secured: Secured, probes: list[Probe]) -> None:
    """amqtt publishes a will unchecked, so the embedded broker refuses such a CONNECT; Mosquitto 2.0 admits it and drops the will."""
    ac = probe(probes, secured, "ac").logged_in()
    ac.subscribe(secured.topic("ac", Channel.SET))
    bridge = probe(probes, secured, "bridge").logged_in()
    bridge.subscribe(f"yxy/{secured.station}/#")
    forger = probe(probes, secured, "lights", will=secured.topic("ac", Channel.SET))
    reason = forger.connect()
    assert reason.is_failure == (secured.name == "embedded"), reason
    forger.abort()
    time.sleep(0.2)  # the forger's dropped line is seen first; then a will the ACL allows shows wills are going out
    door = probe(probes, secured, "door", will=secured.topic("door", Channel.AVAILABILITY)).logged_in()
    door.abort()
    bridge.wait_for(secured.topic("door", Channel.AVAILABILITY), b"will")
    assert not ac.got(secured.topic("ac", Channel.SET))
    assert bridge.topics() == {secured.topic("door", Channel.AVAILABILITY)}


def test_a_refused_client_cannot_take_over_a_devices_session(secured: Secured, probes: list[Probe]) -> None:
    """amqtt 0.12.1 would hand a refused CONNECT the session of the client id it names: its subscriptions wiped, or its will
    replaced by one the broker then publishes. The embedded broker authenticates first, as Mosquitto does."""
    own = secured.topic("lights", Channel.SET)
    lights = probe(probes, secured, "lights", client_id="yxy-lights", clean=False).logged_in()
    lights.subscribe(own)
    for clean in (True, False):
        intruder = probe(probes, secured, None, client_id="yxy-lights", clean=clean, will=own)
        assert refused_for_credentials(intruder.connect())
        intruder.abort()
    bridge = probe(probes, secured, "bridge").logged_in()
    bridge.publish(own, b"real")
    lights.wait_for(own, b"real")
    assert lights.disconnects == 0
    assert [payload for _, payload in lights.messages] == [b"real"]


# ---- the bridge and the integrator ---------------------------------------------------------------------------------


def test_the_bridge_commands_devices_and_publishes_the_twin_but_cannot_spoof_state(secured: Secured, probes: list[Probe]) -> None:
    station = secured.station
    lights = probe(probes, secured, "lights").logged_in()
    lights.subscribe(secured.topic("lights", Channel.SET))
    ha = probe(probes, secured, "ha").logged_in()
    ha.subscribe(f"yxy/{station}/+/+/state", f"yxy/{station}/+/+/twin", "homeassistant/#")
    bridge = probe(probes, secured, "bridge").logged_in()
    assert not bridge.publish(secured.topic("lights", Channel.SET), b"command").is_failure
    lights.wait_for(secured.topic("lights", Channel.SET), b"command")
    spoofed = bridge.publish(secured.topic("lights", Channel.STATE), b"spoofed")
    assert spoofed.value == NOT_AUTHORIZED if secured.v5 else not spoofed.is_failure
    config = f"homeassistant/device/yxy_{station}_lights/config"
    assert not bridge.publish(config, b"discovery", retain=True).is_failure
    assert not bridge.publish(secured.topic("lights", topics.TWIN), b"twin", retain=True).is_failure
    ha.wait_for(secured.topic("lights", topics.TWIN), b"twin")
    assert ha.topics() == {config, secured.topic("lights", topics.TWIN)}


def test_the_integrator_commands_through_the_bridge_and_reads_but_never_commands_a_device(secured: Secured, probes: list[Probe]) -> None:
    station = secured.station
    command = f"yxy/{station}/bridge/command"
    bridge = probe(probes, secured, "bridge").logged_in()
    bridge.subscribe(f"yxy/{station}/#")
    bridge.publish(secured.topic("ac", topics.TWIN), b"retained twin", retain=True)
    ha = probe(probes, secured, "ha").logged_in()
    answers = ha.subscribe(f"yxy/{station}/+/+/twin", f"yxy/{station}/+/+/state", f"yxy/{station}/#")
    assert not any(answer.is_failure for answer in answers[:2])
    if secured.name == "embedded":
        assert answers[2].is_failure  # Mosquitto 2.0 grants it, and delivers only what the account may read
    ha.wait_for(secured.topic("ac", topics.TWIN), b"retained twin")  # retained, published before it subscribed
    refused = [ha.publish(secured.topic("ac", Channel.SET), b"forged"), ha.publish(secured.topic("ac", Channel.STATE), b"forged")]
    assert not ha.publish(command, b'{"device": "ac", "set": {"on": true}}').is_failure
    bridge.wait_for(command)
    assert bridge.topics() == {secured.topic("ac", topics.TWIN), command}
    if secured.v5:
        assert [answer.value for answer in refused] == [NOT_AUTHORIZED, NOT_AUTHORIZED]
    ac = probe(probes, secured, "ac").logged_in()
    ac.subscribe(secured.topic("ac", Channel.SET))
    bridge.publish(secured.topic("ac", Channel.SET), b"a command")
    ac.wait_for(secured.topic("ac", Channel.SET), b"a command")
    ac.publish(secured.topic("ac", Channel.ACK), b"an ack")
    ac.publish(secured.topic("ac", Channel.STATE), b"a state")
    ha.wait_for(secured.topic("ac", Channel.STATE), b"a state")
    assert ha.topics() == {secured.topic("ac", topics.TWIN), secured.topic("ac", Channel.STATE)}  # no command, no ack


def test_the_bridge_and_a_device_work_within_their_accounts(secured: Secured) -> None:
    """The real bridge and an emulated device, each logged in with its own account: state in, a command out and acknowledged."""
    bridge = Bridge(secured.station, DEVICES, with_account(secured.config, secured.account("bridge")), wall_clock()).start()
    lights = EmulatedDevice(
        secured.station, "lights", "lights", with_account(secured.config, secured.account("lights")), state={"on": False}
    ).start()
    try:
        wait_for(lambda: bridge.read(lambda t: dict(t.entity("lights").reported)).get("on") is False, what="the first report")
        command = bridge.command("lights", {"on": True}, by="custodian")

        def state() -> CommandState | None:
            found = bridge.read(lambda t: t.commands.get(command))
            return found.state if found else None

        wait_for(lambda: state() is CommandState.ACKED, what="the ack")
    finally:
        lights.stop()
        bridge.stop()


# ---- the rules as data ----------------------------------------------------------------------------------------------

ids = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(station=ids, devices=st.dictionaries(ids, ids.filter(lambda kind: kind != "bridge"), min_size=2, max_size=6))
def test_a_device_account_writes_only_its_own_reports_and_never_a_command(station: str, devices: dict[str, str]) -> None:
    accounts = station_accounts(station, devices, SECRET)
    for account in accounts.values():
        if account.role is not Role.DEVICE:
            continue
        acl = account_acl(account)
        own = f"yxy/{station}/{account.kind}/{account.device}"
        assert set(acl.writes) == {f"{own}/{channel}" for channel in DEVICE_WRITES}  # exact topics, no wildcard
        assert acl.reads == (f"{own}/set",)
        for device, kind in devices.items():
            for channel in (*Channel, topics.TWIN, "anything"):
                topic = f"yxy/{station}/{kind}/{device}/{channel}"
                if device != account.device or channel in (Channel.SET, topics.TWIN):
                    assert not acl.may_publish(topic), (account.username, topic)
                if device != account.device:
                    assert not acl.may_receive(topic), (account.username, topic)
        for topic in (f"yxy/{station}/bridge/command", topics.bridge_availability(station), "homeassistant/status"):
            assert not acl.may_publish(topic)


levels = st.lists(st.sampled_from(["a", "b", "+"]), min_size=1, max_size=4)
filters = st.one_of(levels, levels.map(lambda x: [*x, "#"]), st.just(["#"])).map("/".join)
concrete = st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=5).map("/".join)


@settings(max_examples=300, deadline=None)
@given(requested=filters, allowed=filters, topic=concrete)
def test_a_subscription_within_an_allowed_filter_never_reaches_beyond_it(requested: str, allowed: str, topic: str) -> None:
    """What makes the embedded broker's subscribe check safe: a filter it admits matches no topic the ACL does not."""
    if filter_within(requested, allowed) and topic_matches(requested, topic):
        assert topic_matches(allowed, topic)


def test_passwords_derive_from_the_secret_alone() -> None:
    accounts = station_accounts("yunting", DEVICES, SECRET)
    again = station_accounts("yunting", DEVICES, SECRET)
    other = station_accounts("yunting", DEVICES, bytes(reversed(SECRET)))
    passwords = [a.password for a in accounts.values()]
    assert [a.password for a in again.values()] == passwords
    assert len(set(passwords)) == len(passwords) == len(DEVICES) + 2
    assert all(len(p) == 24 for p in passwords)
    assert not set(passwords) & {a.password for a in other.values()}
    assert accounts[device_username("yunting", "door")].password == device_password(SECRET, "yunting", "door")
    assert all(account.password not in repr(account) for account in accounts.values())


def test_the_password_file_is_in_mosquitto_passwds_own_format(tmp_path: Path) -> None:
    require(MOSQUITTO_PASSWD)
    subprocess.run([MOSQUITTO_PASSWD, "-b", "-c", str(tmp_path / "passwd"), "alice", "s3cret pass"], check=True, capture_output=True)
    username, theirs = (tmp_path / "passwd").read_text(encoding="utf-8").strip().split(":", 1)
    _, algorithm, iterations, salt, _ = theirs.split("$")
    assert (username, algorithm) == ("alice", "7")
    assert mosquitto_hash("s3cret pass", base64.b64decode(salt), int(iterations)) == theirs


def test_the_secret_file_is_private_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "station.secret"
    secret = write_secret(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_secret(path) == secret
    with pytest.raises(BrokerSetupError, match="exists already; not overwritten"):
        write_secret(path)
    assert read_secret(path) == secret
    with pytest.raises(BrokerSetupError, match=r"secret file .*missing: not found"):
        read_secret(tmp_path / "missing")
    (tmp_path / "short").write_text("c2hvcnQ\n", encoding="ascii")
    with pytest.raises(BrokerSetupError, match=r"secret file .*short: expected one line of base64url"):
        read_secret(tmp_path / "short")
    with pytest.raises(BrokerSetupError, match=r"secret file .*keys: cannot read it"):
        read_secret(tmp_path / "keys")


# ---- yxy broker ---------------------------------------------------------------------------------------------------------


def yxy(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed command, as a user runs it."""
    command = Path(sys.executable).parent / "yxy"
    return subprocess.run(
        [str(command), *args], capture_output=True, text=True, timeout=120, check=False, env={**os.environ, "COLUMNS": "200"}
    )


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def login(broker: BrokerConfig, account: BrokerAccount, timeout_s: float = 5.0) -> bool:
    """Whether the project's own client gets in with the account (it keeps retrying a refusal, hence the timeout)."""
    client = MqttClient(with_account(broker, account), f"login-{uuid.uuid4().hex[:8]}", lambda *_: None)
    client.start()
    try:
        return client.wait_connected(timeout_s)
    finally:
        client.close()


def test_broker_config_writes_files_a_real_mosquitto_starts_with(tmp_path: Path) -> None:
    require(MOSQUITTO_BIN)
    out, port = tmp_path / "broker", free_port()
    first = yxy("broker", "config", "automated_station", "--out", str(out), "--port", str(port))
    assert first.returncode == 0, first.stdout + first.stderr
    secret = read_secret(out / "secret")
    scenario = load("automated_station", [], None)
    accounts = station_accounts(scenario.station.id, {d.id: d.kind for d in scenario.station.devices}, secret)
    assert "(new:" in first.stdout and f"mosquitto -c {out / 'mosquitto.conf'}" in first.stdout
    assert "bridge-yunting" in first.stdout and "dev-yunting-battery_cabinet" in first.stdout and "ha-yunting" in first.stdout
    assert not any(account.password in first.stdout for account in accounts.values())
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {
        "mosquitto.conf": 0o600, "passwd": 0o600, "acl": 0o600, "secret": 0o600, "data": 0o700,
    }  # fmt: skip
    broker = BrokerConfig("127.0.0.1", port, protocol="5")
    mosquitto = SecuredMosquitto(out / "mosquitto.conf", port).start()
    try:
        assert login(broker, accounts[bridge_username("yunting")])
        assert login(broker, accounts[device_username("yunting", "door")])
        assert not login(broker, dataclasses.replace(accounts[bridge_username("yunting")], password="guessed"), timeout_s=1)
    finally:
        mosquitto.stop()
    code, stdout, stderr = run("broker", "config", "automated_station", "--out", str(out), "--port", str(port), "--show-passwords")
    assert code == 0, stdout + stderr
    assert read_secret(out / "secret") == secret and "(kept:" in stdout
    assert accounts[device_username("yunting", "door")].password in stdout
    mosquitto = SecuredMosquitto(out / "mosquitto.conf", port).start()  # new salts, the same passwords
    try:
        assert login(dataclasses.replace(broker, protocol="3.1.1"), accounts[integrator_username("yunting")])
    finally:
        mosquitto.stop()


def test_broker_config_says_what_is_wrong_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("", encoding="utf-8")
    (tmp_path / "garbled").write_text("not a secret\n", encoding="utf-8")
    out = str(tmp_path / "broker")
    for args, message in (
        (["--out", str(tmp_path / "a_file")], "--out"),
        (["--out", str(tmp_path / "a_file" / "below")], "--out"),
        (["--out", out, "--secret-file", str(tmp_path)], "cannot read it"),
        (["--out", out, "--secret-file", str(tmp_path / "garbled")], "expected one line of base64url"),
        (["--out", out, "--tls-cert", str(tmp_path / "a_file")], "go together"),
        (["--out", out, "--tls-cert", "x.pem", "--tls-key", "k.pem", "--tls-ca", "ca.pem"], "x.pem: not found"),
    ):
        code, stdout, stderr = run("broker", "config", "automated_station", *args)
        assert code == 2, (args, stdout, stderr)
        assert len(stderr.strip().splitlines()) == 1 and stderr.startswith("error:") and message in stderr, (args, stderr)
        assert "Traceback" not in stdout + stderr
    assert (tmp_path / "garbled").read_text(encoding="utf-8") == "not a secret\n"


def test_broker_password_prints_one_devices_password(tmp_path: Path) -> None:
    secret = write_secret(tmp_path / "secret")
    code, stdout, stderr = run("broker", "password", "automated_station", "door", "--secret-file", str(tmp_path / "secret"))
    assert code == 0, stderr
    assert stdout.strip() == device_password(secret, "yunting", "door")
    assert "dev-yunting-door" in stderr
    code, stdout, stderr = run("broker", "password", "automated_station", "oven", "--secret-file", str(tmp_path / "secret"))
    assert code == 2 and stderr.startswith("error: device 'oven'") and len(stderr.strip().splitlines()) == 1
    for client, username in (("integrator", "ha-yunting"), ("bridge", "bridge-yunting")):  # Home Assistant needs its own
        code, stdout, stderr = run("broker", "password", "automated_station", client, "--secret-file", str(tmp_path / "secret"))
        assert code == 0 and stdout.strip() == station_accounts("yunting", {}, secret)[username].password, stderr
        assert username in stderr
    code, _, stderr = run("broker", "password", "automated_station", "door", "--secret-file", str(tmp_path / "none"))
    assert code == 2 and "not found" in stderr


def test_a_tls_listener_admits_the_accounts_over_tls_only(tmp_path: Path) -> None:
    require(MOSQUITTO_BIN)
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    files = mosquitto_files(tmp_path / "broker", "tls_station", DEVICES, SECRET, port, tls=(cert, key, cert), persistence=False)
    mosquitto = SecuredMosquitto(files.config, port).start()
    try:
        bridge = files.accounts[bridge_username("tls_station")]
        assert login(BrokerConfig("127.0.0.1", port, tls=True, ca_certs=str(cert)), bridge)
        assert not login(BrokerConfig("127.0.0.1", port), bridge, timeout_s=1)
    finally:
        mosquitto.stop()
