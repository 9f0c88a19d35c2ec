"""Live ingest: device state messages through a real broker into the twin.

N devices' state messages are published through Mosquitto (127.0.0.1:1883 unless
--mqtt) and measured two ways in the same run:
  - ceiling: a bare paho subscriber on the same topics (the broker's own pass-through);
  - bridge: the Bridge validating each payload and applying it to the twin;
  - station: the same with what the live station hangs on the feed: the history
    writer (SQLite, its own thread) and today's day book.
First flooded at --flood-rate (the sustained messages per second each side keeps
up with), then paced at --rate messages per second for latency from publish to
twin change (p50, p99).
Targets: bridge at least half the ceiling; p99 under 50 ms at 1,000 messages a second.

The send time travels in the lights' ``energy_kwh`` field (a number the schema takes
unbounded), so every message is a change and carries its own timestamp.

    .venv/bin/python bench/live_ingest.py [--devices 100] [--flood-rate 5000] [--rate 1000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from zoneinfo import ZoneInfo

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from hardware_bridge import payloads, topics
from hardware_bridge.bridge import Bridge
from hardware_bridge.clock import wall_clock
from hardware_bridge.mqtt import BrokerConfig, MqttClient
from hardware_bridge.topics import Channel
from store.db import engine_for, migrate
from store.history import HistoryWriter
from twin.daybook import Daybook
from twin.feed import STATE, Change


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
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(config.host, config.port)
    client.loop_start()
    state_topics = [topics.topic(station, "lights", f"l{i}", Channel.STATE) for i in range(devices)]
    started = time.perf_counter()
    sent = []
    for n in range(count):
        if rate:
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        body = payloads.state_payload(time.time(), {"on": n % 2 == 0, "energy_kwh": time.time()})
        sent.append(client.publish(state_topics[n % devices], body, qos=1))
    for info in sent:  # paho queues what it has not sent yet: wait for all of it before hanging up
        info.wait_for_publish(30)
    client.loop_stop()
    client.disconnect()


def ceiling(config: BrokerConfig, station: str, devices: int, count: int, rate: float | None) -> Sink:
    sink = Sink(count)

    def received(_topic: str, payload: bytes, _retained: bool) -> None:
        _, state = payloads.parse_state("lights", _topic, payload)  # the bridge parses too: same work on the payload
        sink.arrived(state["energy_kwh"])

    client = MqttClient(config, f"bench-sub-{uuid.uuid4().hex[:6]}", received)
    client.subscribe(topics.station_filter(station, Channel.STATE), qos=1)
    client.start()
    client.wait_connected(10)
    time.sleep(0.3)
    publish(config, station, devices, count, rate)
    sink.done.wait(60)
    client.close()
    return sink


def bridge(config: BrokerConfig, station: str, devices: int, count: int, rate: float | None, recorded: bool = False) -> Sink:
    sink = Sink(count)
    clock = wall_clock()
    live = Bridge(station, {f"l{i}": "lights" for i in range(devices)}, config, clock, report_interval_s=3600)
    writer: HistoryWriter | None = None
    if recorded:
        engine = engine_for(f"sqlite:///{tempfile.mkdtemp()}/history.db")
        migrate(engine)
        writer = HistoryWriter(engine, station, clock, batch=200).start()
        book = Daybook(ZoneInfo("Asia/Shanghai"), {f"l{i}": 1 for i in range(devices)}, clock.datetime_at(0.0))
        live.twin.subscribe(writer)
        live.twin.subscribe(lambda change: book.observe(clock.datetime_at(change.t), change.entity_id, change.name, change.data))

    def changed(change: Change) -> None:
        if "energy_kwh" in change.data:
            sink.arrived(change.data["energy_kwh"])

    live.twin.subscribe(changed, names=[STATE])
    live.start()
    time.sleep(0.3)
    publish(config, station, devices, count, rate)
    sink.done.wait(60)
    live.stop()
    if writer is not None:
        writer.stop()
    return sink


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mqtt", default="mqtt://127.0.0.1:1883")
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--flood-rate", type=float, default=5000.0, help="Offered rate for the throughput run.")
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    config = BrokerConfig.from_url(args.mqtt)
    paced = int(args.rate * args.seconds)

    def three_ways(count: int, rate: float) -> tuple[Sink, Sink, Sink]:
        """The ceiling, the bridge, and the bridge with history and day book, each on a station of its own."""
        return (
            ceiling(config, f"bench{uuid.uuid4().hex[:8]}", args.devices, count, rate),
            bridge(config, f"bench{uuid.uuid4().hex[:8]}", args.devices, count, rate),
            bridge(config, f"bench{uuid.uuid4().hex[:8]}", args.devices, count, rate, recorded=True),
        )

    flood = int(args.flood_rate * args.seconds)
    top, ours, full = three_ways(flood, args.flood_rate)
    print(f"{args.devices} devices, {config.host}:{config.port} MQTT {config.protocol}, QoS 1")
    print(f"offered {args.flood_rate:,.0f} msg/s for {args.seconds:g} s ({flood:,} messages); overflow is lost:")
    print(f"  ceiling (bare paho + the same parse): {top.rate():,.0f} msg/s sustained, {len(top.latencies):,} delivered")
    print(f"  bridge into the twin:                 {ours.rate():,.0f} msg/s sustained, {len(ours.latencies):,} delivered")
    print(f"  + history writer and day book:        {full.rate():,.0f} msg/s sustained, {len(full.latencies):,} delivered")
    print(f"  bridge / ceiling = {ours.rate() / top.rate():.2f} (target >= 0.5); with history / ceiling = {full.rate() / top.rate():.2f}")
    top, ours, full = three_ways(paced, args.rate)
    print(f"paced {args.rate:,.0f} msg/s for {args.seconds:g} s:")
    print(f"  ceiling latency p50 {top.percentile(0.5):.2f} ms, p99 {top.percentile(0.99):.2f} ms")
    print(f"  bridge  latency p50 {ours.percentile(0.5):.2f} ms, p99 {ours.percentile(0.99):.2f} ms (target p99 < 50 ms)")
    print(f"  + history and day book p50 {full.percentile(0.5):.2f} ms, p99 {full.percentile(0.99):.2f} ms")
    print(f"  bridge received {len(ours.latencies):,} of {paced:,}; median of all {statistics.median(ours.latencies) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
