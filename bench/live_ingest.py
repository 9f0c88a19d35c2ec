"""Live ingest: device state messages through a real broker into the twin.

N microwaves' state messages are published through a Mosquitto of the bench's own,
started from the files `yxy broker config` writes (accounts and ACLs on: the bridge
logs in as itself; the publisher has an account that may write only state topics),
or through --mqtt as given, and measured three ways in the same run:
  - ceiling: a bare paho subscriber on the same topics (the broker's own pass-through);
  - bridge: the Bridge validating each payload, range-checking it against each
    microwave's config (busy at most its 2 units, a queue at most its places) and
    applying it to the twin;
  - station: the same with what the live station hangs on the feed: the history
    writer (SQLite, its own thread) and today's day book.
First flooded at --flood-rate (the sustained messages per second each side keeps
up with), then paced at --rate messages per second for latency from publish to
twin change (p50, p99).
Targets (issue 9): bridge at least 0.7 of the ceiling; p99 under 50 ms at 1,000
messages a second, with ACLs and range checks on.

The send time travels in the cycle counter ``uses`` (microseconds since the run
began), so every message is a change and carries its own timestamp.

    .venv/bin/python bench/live_ingest.py [--devices 100] [--flood-rate 5000] [--rate 1000] [--seconds 10] [--mqtt URL]
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from actors.actor import Device
from actors.microwave import MicrowaveConfig
from hardware_bridge import payloads, topics
from hardware_bridge.bridge import Bridge
from hardware_bridge.clock import wall_clock
from hardware_bridge.mqtt import BrokerConfig, MqttClient
from hardware_bridge.security import bridge_username, mosquitto_files, mosquitto_hash, new_secret, station_accounts, with_account
from hardware_bridge.topics import Channel
from store.db import engine_for, migrate
from store.history import HistoryWriter
from twin.daybook import Daybook
from twin.feed import STATE, Change

T0 = time.time()
MICROWAVE = MicrowaveConfig(units=2, queue_limit=20)
PUBLISHER = ("bench-publisher", "bench-publisher-password")


def sent_at(uses: int) -> float:
    return T0 + uses / 1e6


@dataclasses.dataclass
class Broker:
    """Where the bench publishes, and how the bridge and the ceiling log in (None: as given, no accounts)."""

    config: BrokerConfig
    secret: bytes | None = None

    def bridge(self, station: str) -> BrokerConfig:
        if self.secret is None:
            return self.config
        return with_account(self.config, station_accounts(station, {}, self.secret)[bridge_username(station)])

    def publisher(self) -> BrokerConfig:
        return self.config if self.secret is None else dataclasses.replace(self.config, username=PUBLISHER[0], password=PUBLISHER[1])


def secured_mosquitto(stations: list[str], devices: int) -> tuple[Broker, subprocess.Popen[bytes]]:
    """Mosquitto from the generated files for every station of the run, plus the publisher's account (state topics only)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    folder, secret = Path(tempfile.mkdtemp()), new_secret()
    device_ids = {f"m{i}": "microwave" for i in range(devices)}
    passwd, acl = [], []
    for station in stations:
        files = mosquitto_files(folder / station, station, device_ids, secret, port, persistence=False)
        passwd.append(files.passwd.read_text())
        acl.append(files.acl.read_text())
    combined = folder / "all"
    combined.mkdir()
    (combined / "passwd").write_text("".join(passwd) + f"{PUBLISHER[0]}:{mosquitto_hash(PUBLISHER[1])}\n")
    publisher_acl = "".join(f"topic write yxy/{station}/+/+/state\n" for station in stations)
    (combined / "acl").write_text("\n".join(acl) + f"\nuser {PUBLISHER[0]}\n{publisher_acl}")
    (combined / "mosquitto.conf").write_text(
        f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\nallow_anonymous false\npersistence false\nmax_queued_messages 100000\n"
        f"password_file {combined / 'passwd'}\nacl_file {combined / 'acl'}\n"
    )
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    process = subprocess.Popen([binary, "-c", str(combined / "mosquitto.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    return Broker(BrokerConfig("127.0.0.1", port, protocol="5"), secret), process


class Sink:
    """Counts arrivals and their latency (now - send time in the message)."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.latencies: list[float] = []
        self.first = 0.0
        self.last = 0.0
        self.done = threading.Event()

    def arrived(self, sent_at: float) -> None:
        now = time.time()
        if not self.latencies:
            self.first = now
        self.last = now
        self.latencies.append(now - sent_at)
        if len(self.latencies) >= self.expected:
            self.done.set()

    def rate(self) -> float:
        return (len(self.latencies) - 1) / (self.last - self.first) if self.last > self.first else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def publish(config: BrokerConfig, station: str, devices: int, count: int, rate: float | None) -> None:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:6]}", protocol=paho.MQTTv5)
    if config.username is not None:
        client.username_pw_set(config.username, config.password)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(config.host, config.port)
    client.loop_start()
    state_topics = [topics.topic(station, "microwave", f"m{i}", Channel.STATE) for i in range(devices)]
    started = time.perf_counter()
    sent = []
    for n in range(count):
        if rate:
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        uses = int((time.time() - T0) * 1e6)
        body = payloads.state_payload(time.time(), {"busy": n % 3, "queue": n % 7, "uses": uses})
        sent.append(client.publish(state_topics[n % devices], body, qos=1))
    for info in sent:  # paho queues what it has not sent yet: wait for all of it before hanging up
        info.wait_for_publish(30)
    client.loop_stop()
    client.disconnect()


def ceiling(broker: Broker, station: str, devices: int, count: int, rate: float | None) -> Sink:
    sink = Sink(count)

    def received(_topic: str, payload: bytes, _retained: bool) -> None:
        _, state = payloads.parse_state("microwave", _topic, payload)  # the bridge parses too: same work on the payload
        sink.arrived(sent_at(state["uses"]))

    client = MqttClient(broker.bridge(station), f"bench-sub-{uuid.uuid4().hex[:6]}", received)
    client.subscribe(topics.station_filter(station, Channel.STATE), qos=1)
    client.start()
    client.wait_connected(10)
    time.sleep(0.3)
    publish(broker.publisher(), station, devices, count, rate)
    sink.done.wait(60)
    client.close()
    return sink


def bridge(broker: Broker, station: str, devices: int, count: int, rate: float | None, recorded: bool = False) -> Sink:
    sink = Sink(count)
    clock = wall_clock()
    microwaves = {f"m{i}": "microwave" for i in range(devices)}
    actors = dict.fromkeys(microwaves, (Device, MICROWAVE))
    live = Bridge(station, microwaves, broker.bridge(station), clock, report_interval_s=3600, actors=actors)
    writer: HistoryWriter | None = None
    if recorded:
        engine = engine_for(f"sqlite:///{tempfile.mkdtemp()}/history.db")
        migrate(engine)
        writer = HistoryWriter(engine, station, clock, batch=200).start()
        book = Daybook(ZoneInfo("Asia/Shanghai"), {f"m{i}": 2 for i in range(devices)}, clock.datetime_at(0.0))
        live.twin.subscribe(writer)
        live.twin.subscribe(lambda change: book.observe(clock.datetime_at(change.t), change.entity_id, change.name, change.data))

    def changed(change: Change) -> None:
        if "uses" in change.data:
            sink.arrived(sent_at(change.data["uses"]))

    live.twin.subscribe(changed, names=[STATE])
    live.start()
    time.sleep(0.3)
    publish(broker.publisher(), station, devices, count, rate)
    sink.done.wait(60)
    live.stop()
    if writer is not None:
        writer.stop()
    return sink


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mqtt", default=None, help="A broker to use as it is (default: a secured Mosquitto of the bench's own).")
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--flood-rate", type=float, default=5000.0, help="Offered rate for the throughput run.")
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    stations = [f"bench{uuid.uuid4().hex[:8]}" for _ in range(6)]
    mosquitto: subprocess.Popen[bytes] | None = None
    if args.mqtt is None:
        broker, mosquitto = secured_mosquitto(stations, args.devices)
    else:
        broker = Broker(BrokerConfig.from_url(args.mqtt))
    config = broker.config
    paced = int(args.rate * args.seconds)

    def three_ways(count: int, rate: float) -> tuple[Sink, Sink, Sink]:
        """The ceiling, the bridge, and the bridge with history and day book, each on a station of its own."""
        return (
            ceiling(broker, stations.pop(), args.devices, count, rate),
            bridge(broker, stations.pop(), args.devices, count, rate),
            bridge(broker, stations.pop(), args.devices, count, rate, recorded=True),
        )

    try:
        flood = int(args.flood_rate * args.seconds)
        top, ours, full = three_ways(flood, args.flood_rate)
        secured = "accounts and ACLs on" if broker.secret is not None else "as given"
        print(f"{args.devices} microwaves (range-checked), {config.host}:{config.port} MQTT {config.protocol}, QoS 1, {secured}")
        print(f"offered {args.flood_rate:,.0f} msg/s for {args.seconds:g} s ({flood:,} messages); overflow is lost:")
        print(f"  ceiling (bare paho + the same parse): {top.rate():,.0f} msg/s sustained, {len(top.latencies):,} delivered")
        print(f"  bridge into the twin:                 {ours.rate():,.0f} msg/s sustained, {len(ours.latencies):,} delivered")
        print(f"  + history writer and day book:        {full.rate():,.0f} msg/s sustained, {len(full.latencies):,} delivered")
        print(
            f"  bridge / ceiling = {ours.rate() / top.rate():.2f} (target >= 0.7); with history / ceiling = {full.rate() / top.rate():.2f}"
        )
        top, ours, full = three_ways(paced, args.rate)
        print(f"paced {args.rate:,.0f} msg/s for {args.seconds:g} s:")
        print(f"  ceiling latency p50 {top.percentile(0.5):.2f} ms, p99 {top.percentile(0.99):.2f} ms")
        print(f"  bridge  latency p50 {ours.percentile(0.5):.2f} ms, p99 {ours.percentile(0.99):.2f} ms (target p99 < 50 ms)")
        print(f"  + history and day book p50 {full.percentile(0.5):.2f} ms, p99 {full.percentile(0.99):.2f} ms")
        print(f"  bridge received {len(ours.latencies):,} of {paced:,}; median of all {statistics.median(ours.latencies) * 1000:.2f} ms")
    finally:
        if mosquitto is not None:
            mosquitto.kill()
            mosquitto.wait(10)


if __name__ == "__main__":
    main()
