"""Web load over loopback: the read API under concurrent clients, and the change feed fanned out to 100 viewers.

A live station (embedded broker) with its web app under uvicorn.  Prints requests
per second and p50/p99 latency of GET /api/devices and GET /api/station/today with
--clients concurrent clients, against a baseline measured in the same run: a bare
FastAPI app under the same uvicorn, one sync route returning the same devices JSON
with no sign-in and no database (the framework's floor on this machine).  Then it
connects --viewers WebSocket viewers and checks that each receives every change of
an emulated lights device, in order.  Between the two it measures GET /api/devices
quiet and again while --logins strangers sign in as nobody and --resumes viewers keep
resuming the feed from its start (target: p99 under 250 ms).

    .venv/bin/python bench/web_load.py [--clients 20] [--seconds 10] [--viewers 100] [--changes 200] [--logins 20] [--resumes 40]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2 as httpx  # the maintained fork the web stack uses
import websockets

from hardware_bridge.emulator import EmulatedDevice
from hardware_bridge.mqtt import BrokerConfig
from hardware_bridge.security import device_password, device_username, write_secret


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


BARE_APP = """
import json, sys
from fastapi import FastAPI
from fastapi.responses import Response
import uvicorn
body = sys.stdin.read().encode()
app = FastAPI()
@app.get("/api/devices")
def devices() -> Response:
    return Response(body, media_type="application/json")
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


async def read_load(base: str, token: str, clients: int, seconds: float, path: str = "/api/devices") -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as http:

        async def one_client() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await http.get(path)
                response.raise_for_status()
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(one_client() for _ in range(clients)))
    return latencies


async def fan_out(base: str, token: str, viewers: int, changes: int, lights: EmulatedDevice) -> tuple[int, int, float]:
    """(viewers that got every change in order, changes sent, seconds to deliver)."""
    signed = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=signed) as http:
        now = (await http.get("/api/devices")).headers["X-Feed-Seq"]  # where the page resumes: the live changes only
    ws_base = base.replace("http://", "ws://")
    connections = [await websockets.connect(f"{ws_base}/api/feed?after={now}", additional_headers=signed) for _ in range(viewers)]
    await asyncio.sleep(0.5)
    received: list[list[int]] = [[] for _ in connections]

    async def watch(index: int, connection: websockets.ClientConnection) -> None:
        while len(received[index]) < changes:
            change = json.loads(await connection.recv())
            if change.get("entity") == "lights" and change.get("name") == "state" and "power_w" in change["data"]:
                received[index].append(int(change["data"]["power_w"]))

    watchers = [asyncio.create_task(watch(i, c)) for i, c in enumerate(connections)]
    started = time.perf_counter()
    for n in range(1, changes + 1):
        lights.update({"power_w": float(n)})
        await asyncio.sleep(0.005)
    await asyncio.wait_for(asyncio.gather(*watchers), timeout=60)
    elapsed = time.perf_counter() - started
    for connection in connections:
        await connection.close()
    in_order = sum(1 for r in received if r == list(range(1, changes + 1)))
    return in_order, changes, elapsed


async def under_attack(base: str, token: str, seconds: float, logins: int, resumes: int) -> tuple[list[float], dict[str, int]]:
    """GET /api/devices by 5 clients while ``logins`` strangers keep signing in as nobody and ``resumes`` viewers keep
    resuming the feed from its start; (the 5 clients' latencies, the strangers' answers by status)."""
    answers: dict[str, int] = {}
    deadline = time.perf_counter() + seconds
    signed = {"Authorization": f"Bearer {token}"}
    ws_base = base.replace("http://", "ws://")

    async def stranger(n: int, http: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            answer = await http.post("/api/auth/login", json={"username": f"nobody{n}", "password": "guess"})
            answers[str(answer.status_code)] = answers.get(str(answer.status_code), 0) + 1

    async def resumer() -> None:
        while time.perf_counter() < deadline:
            async with websockets.connect(f"{ws_base}/api/feed?after=0", additional_headers=signed, max_size=None) as socket:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.5):
                        while True:
                            await socket.recv()

    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        attackers = [asyncio.create_task(stranger(n, http)) for n in range(logins)]
        attackers += [asyncio.create_task(resumer()) for _ in range(resumes)]
        latencies = await read_load(base, token, 5, seconds)
        await asyncio.gather(*attackers, return_exceptions=True)
    return latencies, answers


def report(what: str, latencies: list[float], seconds: float) -> float:
    """Print the figures of one load run; returns its requests per second."""
    latencies.sort()
    p50, p99 = latencies[len(latencies) // 2] * 1000, latencies[int(len(latencies) * 0.99)] * 1000
    rate = len(latencies) / seconds
    print(f"  {what}: {rate:,.0f} requests/s; latency p50 {p50:.1f} ms, p99 {p99:.1f} ms, mean {statistics.mean(latencies) * 1000:.1f} ms")
    return rate


def wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up in 30 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--viewers", type=int, default=100)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--logins", type=int, default=20, help="strangers signing in at once during the attack phase")
    parser.add_argument("--resumes", type=int, default=40, help="viewers resuming the feed from its start meanwhile")
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    port, broker_port = free_port(), free_port()
    # The server in its own process, as in production: the load generator does not share its interpreter.
    secret_file = Path(folder) / "broker.secret"
    secret = write_secret(secret_file)  # the embedded broker admits only its accounts: the bench's lights sign in as theirs
    server = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "typical_week", "--port", str(port), "--database", f"sqlite:///{folder}/web.db",
         "--secret-file", str(secret_file)],
        env={**os.environ, "YXY_BROKER_PORT": str(broker_port)}, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert server.stdout is not None
    first = server.stdout.readline()
    password = first.split("admin / ")[1].split()[0]
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            token = httpx.post(f"{base}/api/auth/token", json={"username": "admin", "password": password}).json()["token"]
            break
        except httpx.TransportError:
            time.sleep(0.2)
    account = BrokerConfig(
        "127.0.0.1", broker_port, protocol="3.1.1",
        username=device_username("yunting", "lights"), password=device_password(secret, "yunting", "lights"),
    )  # fmt: skip
    lights = EmulatedDevice("yunting", "lights", "lights", account, state={"on": True})
    lights.start()
    try:
        devices_json = httpx.get(f"{base}/api/devices", headers={"Authorization": f"Bearer {token}"}).text
        wait_until_up(f"{base}/healthz")
        bare_port = free_port()
        bare = subprocess.Popen([sys.executable, "-c", BARE_APP, str(bare_port)], stdin=subprocess.PIPE, text=True)
        assert bare.stdin is not None
        bare.stdin.write(devices_json)
        bare.stdin.close()
        wait_until_up(f"http://127.0.0.1:{bare_port}/api/devices")
        print(f"{args.clients} concurrent clients for {args.seconds:g} s each over loopback (servers in their own processes):")
        try:
            floor = report(
                "bare FastAPI, same JSON (baseline)",
                asyncio.run(read_load(f"http://127.0.0.1:{bare_port}", "", args.clients, args.seconds)),
                args.seconds,
            )
        finally:
            bare.terminate()
            bare.wait(10)
        for path in ("/api/devices", "/api/station/today"):
            rate = report(f"GET {path}", asyncio.run(read_load(base, token, args.clients, args.seconds, path)), args.seconds)
            print(f"    {rate / floor:.2f} of the baseline's requests per second")
        quiet = asyncio.run(read_load(base, token, 5, args.seconds))
        print("REST while strangers sign in and viewers resume the feed from its start (5 clients reading):")
        report("quiet", quiet, args.seconds)
        loud, answers = asyncio.run(under_attack(base, token, args.seconds, args.logins, args.resumes))
        report(f"with {args.logins} anonymous sign-ins and {args.resumes} far-back feed resumes", loud, args.seconds)
        loud.sort()
        print(f"    p99 {loud[int(len(loud) * 0.99)] * 1000:.0f} ms (target < 250 ms); the strangers were answered {answers}")
        in_order, changes, elapsed = asyncio.run(fan_out(base, token, args.viewers, args.changes, lights))
        rate = changes * args.viewers / elapsed
        print(f"feed fan-out: {args.viewers} WebSocket viewers, {changes} device changes:")
        print(f"  {in_order} of {args.viewers} viewers received every change, in order; {rate:,.0f} deliveries/s")
    finally:
        lights.stop()
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
