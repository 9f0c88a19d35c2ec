"""The door's decisions: from a terminal's scan to the door's ``open`` command, with 10,000 members in PostgreSQL.

A live station (its bridge on the broker, its register in a PostgreSQL database of the
bench's own with --members members) is briefed as at start; a scripted terminal then
publishes ``pass_scanned`` with a fresh pass of a random member and times the door's
``set {"open": true}`` coming back, measured beside a baseline in the same run:
  - broker: a bare echo through the same broker (publish, a client answers on another
    topic): what any decision over MQTT costs before the station does anything;
  - door: the whole path (bridge, pass check, the register's standings, the decision,
    the command, its audit-free send).
First paced at --rate scans a second for latency (p50, p99; target p99 under 100 ms),
then flooded for the decisions a second the door keeps up with.  The register's
briefing (10,000 standings read from PostgreSQL and handed to the door) is timed too.

    .venv/bin/python bench/door.py [--members 10000] [--rate 50] [--scans 1000] [--mqtt mqtt://127.0.0.1:1883]
        [--postgres postgresql+psycopg://127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import secrets
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as paho
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from actors.door_pass import issue
from hardware_bridge import payloads, topics
from hardware_bridge.mqtt import no_delay
from hardware_bridge.topics import Channel
from scenarios.schema import load_scenario
from station.live import LiveStation
from station.settings import Settings
from store.audit import AuditLog, load_or_create_key
from store.db import sessions
from store.members import Actor, MemberIn, Members, door_key

LIBRARY = Path(__file__).resolve().parent.parent / "scenarios" / "library"


def client(host: str, port: int, on_message: Callable[[str, bytes], None]) -> paho.Client:
    mqtt = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{uuid.uuid4().hex[:8]}")
    mqtt.on_message = lambda _c, _u, message: on_message(message.topic, message.payload)
    mqtt.on_socket_open = no_delay  # as the station's own client does
    mqtt.connect(host, port)
    mqtt.loop_start()
    return mqtt


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def paced(send: Callable[[int], None], arrived: dict[int, float], scans: int, rate: float) -> list[float]:
    """Send ``scans`` at ``rate`` a second; the latency of each that came back, in ms."""
    sent: dict[int, float] = {}
    start = time.perf_counter()
    for n in range(scans):
        due = start + n / rate
        while (lag := due - time.perf_counter()) > 0:
            time.sleep(lag)
        sent[n] = time.perf_counter()
        send(n)
    deadline = time.perf_counter() + 5
    while len(arrived) < scans and time.perf_counter() < deadline:
        time.sleep(0.01)
    return [1000 * (arrived[n] - sent[n]) for n in sent if n in arrived]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--scans", type=int, default=1_000)
    parser.add_argument("--mqtt", default="mqtt://127.0.0.1:1883")
    parser.add_argument("--postgres", default="postgresql+psycopg://127.0.0.1:5432/test")
    args = parser.parse_args()
    host, port = args.mqtt.removeprefix("mqtt://").split(":")
    database = f"yxy_bench_door_{uuid.uuid4().hex[:8]}"
    admin = args.postgres.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{database}"')
    try:
        run(args, host, int(port), args.postgres.rsplit("/", 1)[0] + f"/{database}")
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE "{database}" WITH (FORCE)')


def run(args: argparse.Namespace, host: str, port: int, database_url: str) -> None:
    station_id = f"bench{uuid.uuid4().hex[:8]}"
    folder = Path(tempfile.mkdtemp(prefix="yxy-door-"))
    key_file = folder / "audit.key"
    scenario = load_scenario(LIBRARY / "typical_week_door.toml", [f"station.id={station_id}"])
    settings = Settings(database_url=database_url, mqtt_url=f"mqtt://{host}:{port}", audit_key_file=str(key_file))
    station = LiveStation(scenario.station, settings).start()
    try:
        started = time.perf_counter()
        register = Members(AuditLog(key_file), load_or_create_key(key_file))
        batch = [MemberIn(name=f"会员{n}", phone=f"13{n:09d}") for n in range(args.members)]
        with sessions(station.db).begin() as db:
            enrolled = [m.id for m in register.enrol_many(db, Actor("bench", "admin", "127.0.0.1"), batch)]
        print(f"{len(enrolled):,} members enrolled in PostgreSQL in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        station.brief_doors()
        assert station.bridge is not None
        station.bridge.call(lambda _twin: None)  # the briefing was posted to the loop: wait until it has run
        print(f"the door told every standing (read and handed over) in {1000 * (time.perf_counter() - started):.0f} ms")
        key = door_key(load_or_create_key(key_file))
        reasons: collections.Counter[str] = collections.Counter()
        station.bridge.twin.subscribe(lambda change: reasons.update([change.data["reason"]]), names=["door_decided"])
        measure(args, host, port, station_id, key, enrolled)
        print(f"the door's decisions, by reason: {dict(reasons)}; messages the bridge refused: {dict(station.bridge.rejected)}")
    finally:
        station.stop()


def measure(args: argparse.Namespace, host: str, port: int, station_id: str, key: bytes, enrolled: list[int]) -> None:
    event_topic = topics.topic(station_id, "door", "door", Channel.EVENT)
    set_topic = topics.topic(station_id, "door", "door", Channel.SET)
    ack_topic = topics.topic(station_id, "door", "door", Channel.ACK)
    ping, pong = f"bench/{station_id}/ping", f"bench/{station_id}/pong"
    arrived: dict[int, float] = {}
    order: list[int] = []
    """Scans sent and not yet answered: the door decides in order, and every scan here is a good member's pass."""
    lock = threading.Lock()

    def heard(topic: str, payload: bytes) -> None:
        at = time.perf_counter()
        if topic == pong:
            arrived[int(payload)] = at
        elif topic == set_topic and payload:
            body = json.loads(payload)
            with lock:
                n = order.pop(0) if order else None
            if n is not None:
                arrived[n] = at
            terminal.publish(ack_topic, payloads.ack_payload(body["id"], True), qos=1)

    echo = client(host, port, lambda _t, payload: echo.publish(pong, payload))
    echo.subscribe(ping, qos=1)
    terminal = client(host, port, heard)
    terminal.subscribe([(pong, 1), (set_topic, 1)])
    time.sleep(0.5)
    baseline = paced(lambda n: terminal.publish(ping, str(n).encode(), qos=1), arrived, args.scans, args.rate)
    arrived.clear()

    def scan(n: int) -> None:
        text = issue(key, station_id, random.choice(enrolled), time.time(), secrets.token_urlsafe(12))
        with lock:
            order.append(n)
        terminal.publish(event_topic, payloads.event_payload(time.time(), "pass_scanned", {"text": text}), qos=1)

    door = paced(scan, arrived, args.scans, args.rate)
    for name, values in (("broker echo (baseline)", baseline), ("scan to open command", door)):
        p50, p99 = statistics.median(values), percentile(values, 0.99)
        print(f"  {name:24s} {len(values):5d} of {args.scans}: p50 {p50:6.1f} ms, p99 {p99:6.1f} ms")
    p99, base = percentile(door, 0.99), percentile(baseline, 0.99)
    print(f"p99 scan to open: {p99:.1f} ms (target < 100 ms); {p99 / base:.1f}x the broker's own p99")
    arrived.clear()
    order.clear()
    flood = min(4 * args.scans, 4_000)
    started = time.perf_counter()
    for n in range(flood):
        scan(n)
    deadline = time.perf_counter() + 30
    while len(arrived) < flood and time.perf_counter() < deadline:
        time.sleep(0.01)
    seconds = (max(arrived.values()) - started) if arrived else float("nan")
    print(f"flood: {len(arrived):,} of {flood:,} scans decided and opened in {seconds:.2f} s: {len(arrived) / seconds:,.0f} decisions/s")
    echo.loop_stop()
    terminal.loop_stop()


if __name__ == "__main__":
    main()
