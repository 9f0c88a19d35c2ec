"""Interop harness: a real Home Assistant core (from PyPI) against Mosquitto and ``yxy live --discovery``.

    .venv/bin/python tests/interop/home_assistant.py install [--no-cache]   # once: HA in ~/.cache/yxy/home-assistant-venv
    .venv/bin/python tests/interop/home_assistant.py [run] [--source DIR]  # the checks; exit 1 if any fails

A run starts, on free localhost ports and in a folder made fresh each time
(``.cache/home-assistant-interop/last-run``, kept for inspection):

* a private Mosquitto;
* a small TCP relay in front of it that reads each connection's MQTT client id, so one
  device's connection, or the bridge's, can be cut like a lost network (no goodbye, so
  the broker sends its last will) and kept from coming back;
* ``yxy live <scenario> --discovery --emulate`` connected through the relay;
* Home Assistant, configured from files only: ``configuration.yaml`` and an ``mqtt``
  config entry pre-seeded in ``.storage/core.config_entries``, started with
  ``--skip-pip``.  A user is made through the onboarding API on localhost, and its
  access token reads HA's view: the REST API (states, services) and the websocket API
  (entity and device registries).

The checks rely only on what Home Assistant shows (states, attributes, registries, its
log) and on our history database, never on our topic layout, so they hold while the
topics and payloads change:

a. every entity reads the value its device last reported (not ``unknown``, not a value
   the device never reported); HA's log has no template warnings or MQTT errors;
b. entities go ``unavailable`` when one device drops off, when the bridge drops off,
   and when the whole station stops;
c. ``switch.turn_on``/``turn_off`` (directly and through a script) reaches the device,
   is acknowledged, is recorded with ``by=home_assistant``, and is published at QoS >= 1;
d. energy sensors carry ``state_class`` total/total_increasing, counters
   total_increasing, measurements ``measurement``.

Only the standard library is used here (the websocket calls run in HA's own venv, with
its aiohttp), so the script runs under any Python the project has.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache"
HA_VENV = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "yxy" / "home-assistant-venv"
"""Outside the checkout: 700 MB of someone else's code (web assets with CDN links among it) stays out of the project's
tree, and fresh clones on one machine share one install."""
RUNS = CACHE / "home-assistant-interop"
MARKER = ".yxy-interop.json"
HA_VERSION = "2025.4.4"
"""The newest Home Assistant for Python 3.13.0 (2025.5 needs 3.13.2); ``--ha-version`` for another."""
HA_EXTRAS = ("paho-mqtt", "home-assistant-frontend")
"""Requirements of the integrations HA sets up here (mqtt; frontend is loaded unconditionally and critical).
Their versions come from the HA wheel's own package_constraints.txt."""
MOSQUITTO_BIN = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
YXY = ROOT / ".venv" / "bin" / "yxy"
HISTORY_TABLE = "twin_history"
OUR_BY = "home_assistant"
COUNTERS = ("uses", "entries", "exits")
UNAVAILABLE = "unavailable"
UNKNOWN = "unknown"


# ---- small helpers ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for(condition: Callable[[], Any], timeout_s: float, every_s: float = 0.25) -> Any:
    """The first truthy value of ``condition`` within ``timeout_s``, else its last (falsy) value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(every_s)


class HarnessError(RuntimeError):
    """The harness could not get as far as checking (a process died, HA never came up)."""


class Process:
    """A child process of ours, its output in a log file; stopped by its own pid only."""

    def __init__(self, name: str, argv: list[str], log: Path, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> None:
        self.name, self.argv, self.log = name, argv, log
        self._out: IO[bytes] = log.open("wb")
        self.popen = subprocess.Popen(
            argv, stdout=self._out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=dict(env) if env else None,
            cwd=cwd, start_new_session=True,
        )  # fmt: skip

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 10.0) -> int | None:
        """Signal it, wait, kill it if it will not go; the exit code (None if it had to be killed)."""
        code: int | None = None
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(sig)
            try:
                code = self.popen.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        else:
            code = self.popen.returncode
        self._out.close()
        return code

    def tail(self, lines: int = 15) -> str:
        text = self.log.read_text("utf-8", "replace").splitlines()
        return "\n".join(f"      | {line}" for line in text[-lines:])


# ---- installing Home Assistant ------------------------------------------------------


def _python_version(python: str) -> tuple[int, ...] | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(*sys.version_info[:3])"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return tuple(int(p) for p in out.stdout.split()) if out.returncode == 0 else None


def newest_python(minimum: tuple[int, int] = (3, 13)) -> str:
    """YXY_HA_PYTHON, else the newest python >= ``minimum`` on PATH or in pyenv."""
    if os.environ.get("YXY_HA_PYTHON"):
        return os.environ["YXY_HA_PYTHON"]
    candidates = {shutil.which(f"python3.{n}") for n in range(minimum[1], 20)}
    candidates |= set(glob.glob(os.path.expanduser("~/.pyenv/versions/*/bin/python")))
    found = [(v, c) for c in candidates if c and (v := _python_version(c)) is not None and v[:2] >= minimum]
    if not found:
        raise HarnessError(f"no Python >= {'.'.join(map(str, minimum))} found (Home Assistant 2025 needs it); set YXY_HA_PYTHON")
    return max(found)[1]


def _run(argv: list[str], what: str) -> None:
    started = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise HarnessError(f"{what} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    print(f"  {what}: {time.monotonic() - started:.1f} s")


def install(venv: Path, version: str, python: str, installer: str, no_cache: bool) -> dict[str, Any]:
    """A fresh venv with Home Assistant ``version`` and what its set-up integrations need, from PyPI only."""
    if venv.exists():
        shutil.rmtree(venv)
    started = time.monotonic()
    venv.parent.mkdir(parents=True, exist_ok=True)
    print(f"installing Home Assistant {version} with {python} ({'.'.join(map(str, _python_version(python) or ()))}) into {venv}")
    _run([python, "-m", "venv", str(venv)], "venv")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    cache = ["--no-cache-dir"] if no_cache else []
    with tempfile.TemporaryDirectory() as tmp:
        # The wheel carries HA's own pins (package_constraints.txt): the install HA is tested with.
        _run([*pip, "download", "--quiet", *cache, "--no-deps", f"homeassistant=={version}", "-d", tmp], "download homeassistant")
        wheel = next(Path(tmp).glob("homeassistant-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            constraints_text = archive.read("homeassistant/package_constraints.txt").decode()
        constraints = Path(tmp) / "constraints.txt"
        constraints.write_text(constraints_text, encoding="utf-8")
        wanted = [str(wheel), *HA_EXTRAS]
        if installer == "uv":
            uv_pin = re.search(r"^uv==(\S+)", constraints_text, re.MULTILINE)
            _run([*pip, "install", "--quiet", *cache, f"uv=={uv_pin.group(1)}" if uv_pin else "uv"], "install uv")
            uv = [str(venv / "bin" / "uv"), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python")]
            _run([*uv, *(["--no-cache"] if no_cache else []), "-c", str(constraints), *wanted], "install Home Assistant (uv)")
        else:
            _run([*pip, "install", "--quiet", *cache, "-c", str(constraints), *wanted], "install Home Assistant (pip)")
    seconds = time.monotonic() - started
    info = {"ha_version": version, "python": python, "installer": installer, "no_cache": no_cache, "seconds": round(seconds, 1)}
    (venv / MARKER).write_text(json.dumps(info, indent=1), encoding="utf-8")
    size = subprocess.run(["du", "-sh", str(venv)], capture_output=True, text=True, check=False).stdout.split("\t")[0]
    print(f"installed in {seconds:.1f} s ({size} on disk)")
    return info


def installed(venv: Path) -> dict[str, Any] | None:
    marker = venv / MARKER
    return json.loads(marker.read_text(encoding="utf-8")) if marker.exists() and (venv / "bin" / "hass").exists() else None


# ---- the broker and the relay in front of it ------------------------------------------


class Mosquitto:
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.config = folder / "mosquitto.conf"
        # log to stdout (our file): mosquitto drops root for its own user, who could not open a log file here
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stdout\nlog_type all\n", encoding="utf-8"
        )
        self.process = Process("mosquitto", [MOSQUITTO_BIN, "-c", str(self.config)], folder / "mosquitto.log")
        if not wait_for(lambda: reachable(self.port), 10):
            self.process.stop()
            raise HarnessError(f"mosquitto did not listen on {self.port}:\n{self.process.tail()}")


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def read_connect(sock: socket.socket) -> tuple[bytes, str]:
    """The first MQTT packet (CONNECT), raw, and its client id (MQTT 3.1.1 or 5)."""
    head = _recv_exact(sock, 1)
    length_bytes = b""
    while True:
        byte = _recv_exact(sock, 1)
        length_bytes += byte
        if not byte[0] & 0x80 or len(length_bytes) == 4:
            break
    length, _ = _varint(length_bytes, 0)
    body = _recv_exact(sock, length)
    if head[0] >> 4 != 1:
        raise ConnectionError("first packet is not CONNECT")
    at = 2 + int.from_bytes(body[0:2], "big")  # protocol name
    level = body[at]
    at += 4  # level, flags, keep-alive
    if level == 5:
        props, at = _varint(body, at)
        at += props
    size = int.from_bytes(body[at : at + 2], "big")
    return head + length_bytes + body, body[at + 2 : at + 2 + size].decode("utf-8", "replace")


@dataclass
class _Link:
    client_id: str
    client: socket.socket
    upstream: socket.socket
    closed: bool = False

    def close(self) -> None:
        self.closed = True
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class MqttRelay:
    """TCP relay in front of the broker that can cut chosen clients' connections, and keep them cut.

    Cutting closes both sides without an MQTT DISCONNECT: for the broker, the client
    lost its network, so it publishes the client's last will.  A blocked client's
    reconnects are closed right after their CONNECT.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.2)
        self._links: list[_Link] = []
        self._blocked: list[Callable[[str], bool]] = []
        self.refused: Counter[str] = Counter()
        self.seen: list[str] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="mqtt-relay", daemon=True)
        self._thread.start()

    def clients(self) -> list[str]:
        with self._lock:
            return [link.client_id for link in self._links if not link.closed]

    def cut(self, match: Callable[[str], bool]) -> list[str]:
        """Cut every live connection whose client id matches, and refuse its reconnects; the ids cut."""
        with self._lock:
            self._blocked.append(match)
            links = [link for link in self._links if not link.closed and match(link.client_id)]
        for link in links:
            link.close()
        return [link.client_id for link in links]

    def unblock(self, match: Callable[[str], bool]) -> None:
        """Let the clients ``cut(match)`` cut connect again (their own reconnect back-off decides when)."""
        with self._lock:
            self._blocked = [m for m in self._blocked if m is not match]

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)
        self._server.close()
        with self._lock:
            links = list(self._links)
        for link in links:
            link.close()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            client.settimeout(10)
            packet, client_id = read_connect(client)
            client.settimeout(None)
        except (OSError, ConnectionError, IndexError):
            client.close()
            return
        with self._lock:
            self.seen.append(client_id)
            blocked = any(match(client_id) for match in self._blocked)
        if blocked:
            self.refused[client_id] += 1
            client.close()
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            upstream.settimeout(None)
            upstream.sendall(packet)
        except OSError:
            client.close()
            return
        link = _Link(client_id, client, upstream)
        with self._lock:
            self._links.append(link)
        threading.Thread(target=self._pump, args=(link, client, upstream), daemon=True).start()
        self._pump(link, upstream, client)

    @staticmethod
    def _pump(link: _Link, source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except OSError:
            pass
        if not link.closed:
            link.close()


# ---- Home Assistant ------------------------------------------------------------------

CONFIGURATION_YAML = """\
# Made by tests/interop/home_assistant.py for one run; no default_config (it would set up cloud, zeroconf, ...).
homeassistant:
  name: Yunxiaoyi interop
  latitude: 31.23
  longitude: 121.47
  elevation: 4
  unit_system: metric
  time_zone: Asia/Shanghai
  country: CN
  currency: CNY
  language: en

http:
  server_host: 127.0.0.1
  server_port: {http_port}

api:

logger:
  default: warning
  logs:
    homeassistant.components.mqtt: info
    # its DEBUG lines say what HA subscribes and publishes, with the QoS ("Transmitting message on ..., qos: 1")
    homeassistant.components.mqtt.client: debug
    homeassistant.helpers.template: info

script:
  yxy_switch:
    alias: Switch a device from Home Assistant (the harness runs it through the REST API)
    mode: queued
    fields:
      entity_id:
        description: the switch
      turn:
        description: on or off
    sequence:
      - action: "switch.turn_{{{{ turn }}}}"
        target:
          entity_id: "{{{{ entity_id }}}}"
"""

WS_HELPER = """
import asyncio, json, os, sys
import aiohttp

async def main():
    results = []
    async with aiohttp.ClientSession() as session, session.ws_connect(sys.argv[1], max_msg_size=0) as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": os.environ["HA_TOKEN"]})
        auth = await ws.receive_json()
        if auth.get("type") != "auth_ok":
            raise SystemExit(f"websocket auth failed: {auth}")
        for n, kind in enumerate(sys.argv[2:], 1):
            await ws.send_json({"id": n, "type": kind})
            while (message := await ws.receive_json()).get("id") != n:
                pass
            if not message.get("success"):
                raise SystemExit(f"{kind}: {message}")
            results.append(message["result"])
    print(json.dumps(results))

asyncio.run(main())
"""


WS_EVENTS = """
import asyncio, json, os, sys
import aiohttp

async def main():
    async with aiohttp.ClientSession() as session, session.ws_connect(sys.argv[1], max_msg_size=0) as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": os.environ["HA_TOKEN"]})
        if (await ws.receive_json()).get("type") != "auth_ok":
            raise SystemExit("websocket auth failed")
        await ws.send_json({"id": 1, "type": "subscribe_events", "event_type": "state_changed"})
        await ws.send_json({"id": 2, "type": "get_states"})  # what changed before we subscribed
        async for message in ws:
            body = json.loads(message.data)
            if body.get("id") == 2 and body.get("type") == "result":
                for state in body["result"]:
                    line = {"at": state["last_changed"], "entity_id": state["entity_id"], "state": state["state"]}
                    print(json.dumps(line), flush=True)
            elif event := body.get("event"):
                new = event["data"].get("new_state") or {}
                line = {"at": event["time_fired"], "entity_id": event["data"]["entity_id"], "state": new.get("state")}
                print(json.dumps(line), flush=True)

asyncio.run(main())
"""


def config_entries(mqtt_port: int, username: str | None = None, password: str | None = None) -> dict[str, Any]:
    """``.storage/core.config_entries`` with one ``mqtt`` entry.

    Written at storage minor version 1 with only the keys every version has: HA's own
    migration (config_entries.py ``_async_migrate_func``) fills in the rest (created_at,
    discovery_keys, subentries, ...), so this survives HA adding keys.  The entry is the
    mqtt config flow's (components/mqtt/config_flow.py): version 1.2, broker settings in
    ``data``, discovery in ``options``.
    """
    data: dict[str, Any] = {"broker": "127.0.0.1", "port": mqtt_port}
    if username is not None:
        data["username"] = username
    if password is not None:
        data["password"] = password
    entry = {
        "entry_id": "01jyxyinteropmqtt00000000",
        "domain": "mqtt",
        "title": "127.0.0.1",
        "version": 1,
        "minor_version": 2,
        "source": "user",
        "unique_id": None,
        "data": data,
        "options": {"discovery": True, "discovery_prefix": "homeassistant"},
    }
    return {"version": 1, "minor_version": 1, "key": "core.config_entries", "data": {"entries": [entry]}}


class HomeAssistant:
    def __init__(self, venv: Path, folder: Path, mqtt_port: int) -> None:
        self.venv = venv
        self.config = folder / "home-assistant"
        self.log = self.config / "home-assistant.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = ""
        (self.config / ".storage").mkdir(parents=True)
        (self.config / "configuration.yaml").write_text(CONFIGURATION_YAML.format(http_port=self.port), encoding="utf-8")
        (self.config / ".storage" / "core.config_entries").write_text(json.dumps(config_entries(mqtt_port), indent=1), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        argv = [str(venv / "bin" / "hass"), "-c", str(self.config), "--skip-pip", "--log-no-color", "--log-file", str(self.log)]
        self.process = Process("home-assistant", argv, folder / "home-assistant.out", env=env)

    # REST
    def request(self, method: str, path: str, body: Any = None, form: Mapping[str, str] | None = None, auth: bool = True) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if auth else {}
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        with urllib.request.urlopen(request, timeout=15) as response:
            text = response.read().decode()
        return json.loads(text) if text else None

    def up(self) -> bool:
        try:
            self.request("GET", "/api/onboarding", auth=False)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False
        return True

    def onboard(self) -> None:
        """The first user, through the onboarding API (as the UI would), then its access token."""
        client_id = f"{self.url}/"
        user = {"client_id": client_id, "name": "Interop", "username": "interop", "password": "interop-harness-pw", "language": "en"}
        code = self.request("POST", "/api/onboarding/users", body=user, auth=False)["auth_code"]
        grant = {"grant_type": "authorization_code", "code": code, "client_id": client_id}
        self.token = self.request("POST", "/auth/token", form=grant, auth=False)["access_token"]

    def running(self) -> bool:
        try:
            return bool(self.request("GET", "/api/config").get("state") == "RUNNING")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def states(self) -> dict[str, dict[str, Any]]:
        return {s["entity_id"]: s for s in self.request("GET", "/api/states")}

    def call(self, domain: str, service: str, data: Mapping[str, Any]) -> Any:
        return self.request("POST", f"/api/services/{domain}/{service}", body=dict(data))

    def websocket(self, *types: str) -> list[Any]:
        """Results of websocket commands without arguments (the registries), run with HA's own aiohttp."""
        ws_url = f"ws://127.0.0.1:{self.port}/api/websocket"
        env = {"HA_TOKEN": self.token, "PATH": os.environ.get("PATH", "")}
        out = subprocess.run(
            [str(self.venv / "bin" / "python"), "-c", WS_HELPER, ws_url, *types],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        if out.returncode != 0:
            raise HarnessError(f"websocket {types}: {out.stderr[-2000:]}")
        result: list[Any] = json.loads(out.stdout)
        return result

    def record_state_changes(self, log: Path) -> Process:
        """Every state_changed event HA fires, as JSON lines in ``log``, until stopped."""
        ws_url = f"ws://127.0.0.1:{self.port}/api/websocket"
        env = {"HA_TOKEN": self.token, "PATH": os.environ.get("PATH", "")}
        return Process("state_changed recorder", [str(self.venv / "bin" / "python"), "-c", WS_EVENTS, ws_url], log, env=env)

    def log_size(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def log_since(self, offset: int) -> list[str]:
        with self.log.open("rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace").splitlines()


# ---- our side: the history database ---------------------------------------------------


@dataclass(frozen=True)
class Row:
    id: int
    station: str
    at: float
    """Unix seconds, when the bridge took it."""
    entity_id: str
    name: str
    data: dict[str, Any]


def _epoch(text: str) -> float:
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


class History:
    def __init__(self, path: Path) -> None:
        self.path = path

    def rows(self, after_id: int = 0) -> list[Row]:
        if not self.path.exists():
            return []
        try:
            with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5)) as db:
                found = db.execute(
                    f"SELECT id, station, at, entity_id, name, data FROM {HISTORY_TABLE} WHERE id > ? ORDER BY id", (after_id,)
                ).fetchall()
        except sqlite3.OperationalError:  # not migrated yet, or locked
            return []
        return [Row(i, s, _epoch(a), e, n, json.loads(d) if isinstance(d, str) else d) for i, s, a, e, n, d in found]

    def last_id(self) -> int:
        rows = self.rows()
        return rows[-1].id if rows else 0

    def devices(self) -> set[str]:
        return {r.entity_id for r in self.rows() if r.name in ("availability", "state")}

    def reported(self) -> dict[str, dict[str, Any]]:
        """Each device's reported state: its state changes folded in order."""
        state: dict[str, dict[str, Any]] = {}
        for row in self.rows():
            if row.name == "state":
                state.setdefault(row.entity_id, {}).update(row.data)
        return state

    def timeline(self) -> dict[tuple[str, str], list[tuple[float, Any]]]:
        """(device, field) -> [(when, value)] of every reported change."""
        changes: dict[tuple[str, str], list[tuple[float, Any]]] = {}
        for row in self.rows():
            if row.name == "state":
                for key, value in row.data.items():
                    changes.setdefault((row.entity_id, key), []).append((row.at, value))
        return changes


# ---- what HA shows of the station ------------------------------------------------------


@dataclass
class OurEntity:
    entity_id: str
    device: str
    """Our device id."""
    field: str
    """The state field it shows (from its unique id, else its name); "on" for a switch."""
    domain: str
    unique_id: str


def our_entities(ha: HomeAssistant, devices: set[str]) -> list[OurEntity]:
    """HA's mqtt entities on devices whose identifier ends with one of our device ids (longest match)."""
    entity_registry, device_registry = ha.websocket("config/entity_registry/list", "config/device_registry/list")
    ours: dict[str, tuple[str, str]] = {}  # HA device id -> (our device id, its identifier)
    for device in device_registry:
        for domain, identifier in device.get("identifiers", []):
            matches = [d for d in devices if domain == "mqtt" and (identifier == d or identifier.endswith(f"_{d}"))]
            if matches:
                ours[device["id"]] = (max(matches, key=len), identifier)
    found = []
    for entry in entity_registry:
        if entry.get("platform") != "mqtt" or entry.get("device_id") not in ours:
            continue
        device, identifier = ours[entry["device_id"]]
        unique = entry.get("unique_id") or ""
        name = unique[len(identifier) + 1 :] if unique.startswith(f"{identifier}_") else entry.get("original_name") or unique
        domain = entry["entity_id"].split(".")[0]
        if domain == "switch" and name in ("switch", "power"):
            name = "on"
        found.append(OurEntity(entry["entity_id"], device, name, domain, unique))
    return sorted(found, key=lambda e: (e.device, e.field, e.entity_id))


def expected_state(domain: str, value: Any) -> str | None:
    """What HA should show for a reported ``value``; None: cannot say (a list, a dict)."""
    if value is None:
        return UNKNOWN
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int | float | str):
        return str(value)
    return None


def same(shown: str, expected: str) -> bool:
    if shown == expected:
        return True
    try:
        a, b = float(shown), float(expected)
    except ValueError:
        return False
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


# ---- checks and the report -------------------------------------------------------------


@dataclass
class Check:
    key: str
    title: str
    passed: bool
    evidence: list[str] = field(default_factory=list)


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    phases: list[tuple[str, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _started: float = field(default_factory=time.monotonic)
    _phase: float = field(default_factory=time.monotonic)

    def phase(self, name: str) -> None:
        now = time.monotonic()
        self.phases.append((name, now - self._phase))
        self._phase = now
        print(f"[{now - self._started:6.1f} s] {name} ({self.phases[-1][1]:.1f} s)", flush=True)

    def add(self, check: Check) -> Check:
        self.checks.append(check)
        print(f"  {'PASS' if check.passed else 'FAIL'}  {check.key}  {check.title}")
        for line in check.evidence:
            print(f"        {line}")
        sys.stdout.flush()
        return check

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def summary(self) -> str:
        lines = ["", "== summary =="]
        lines += [f"  {'PASS' if c.passed else 'FAIL'}  {c.key}  {c.title}" for c in self.checks]
        lines += [f"  note: {n}" for n in self.notes]
        total = time.monotonic() - self._started
        lines.append("  phases:")
        lines += [f"    {seconds:6.1f} s  {name}" for name, seconds in self.phases]
        lines.append(f"    {total:6.1f} s  total")
        lines.append(f"  {len(self.checks) - len(self.failed)} passed, {len(self.failed)} failed")
        return "\n".join(lines)


@dataclass
class Options:
    venv: Path = HA_VENV
    scenario: str = "automated_station"
    speed: float = 60.0
    report_interval_s: float = 5.0
    source: Path | None = None
    """Run ``yxy`` from this tree (PYTHONPATH) instead of the project's, e.g. a ``git worktree`` of HEAD."""
    install: bool = False
    """Install Home Assistant first if the venv is missing."""
    timeout_s: float = 10.0
    """How long an expected change (unavailable, an ack) may take to show in HA."""


@dataclass
class Run:
    options: Options
    folder: Path
    report: Report
    mosquitto: Mosquitto
    relay: MqttRelay
    station: Process
    ha: HomeAssistant
    history: History
    recorder: Process | None = None
    """HA's state_changed events, from just after onboarding."""
    steady_until: float | None = None
    """Unix seconds when the availability checks began cutting connections: the station's view is whole until then."""

    def alive(self) -> None:
        for process in (self.mosquitto.process, self.station, self.ha.process):
            if not process.alive():
                raise HarnessError(f"{process.name} exited ({process.popen.returncode}):\n{process.tail()}")

    def ours(self) -> list[OurEntity]:
        return our_entities(self.ha, self.history.devices())


def start(options: Options, folder: Path, report: Report, cleanup: contextlib.ExitStack) -> Run:
    """Everything up, each piece's stop put on ``cleanup`` as soon as it runs (last started, first stopped)."""
    cleanup.callback(report.phase, "stopped everything")
    mosquitto = Mosquitto(folder)
    cleanup.callback(mosquitto.process.stop, signal.SIGTERM, 5)
    relay = MqttRelay(mosquitto.port)
    cleanup.callback(relay.stop)
    db = folder / "yxy.db"
    argv = [
        str(YXY), "live", options.scenario, "--mqtt", f"mqtt://127.0.0.1:{relay.port}", "--discovery", "--emulate",
        "--speed", str(options.speed), "--report-interval", str(options.report_interval_s), "--database", f"sqlite:///{db}",
    ]  # fmt: skip
    env = dict(os.environ)
    # the tree on the path first: a package added since the editable install (pip install -e) is found too
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(options.source or ROOT), env.get("PYTHONPATH")) if p)
    ha = HomeAssistant(options.venv, folder, mosquitto.port)  # HA starts first: it is the slow one
    cleanup.callback(ha.process.stop, signal.SIGTERM, 10)
    station = Process("yxy live", argv, folder / "yxy-live.log", env=env, cwd=options.source or ROOT)
    cleanup.callback(station.stop, signal.SIGINT, 15)
    run = Run(options, folder, report, mosquitto, relay, station, ha, History(db))
    report.phase("started mosquitto, relay, Home Assistant and yxy live")
    wait_for(lambda: ha.up() or not ha.process.alive() or not station.alive(), 120, 0.5)
    run.alive()
    if not ha.up():
        raise HarnessError(f"Home Assistant's HTTP did not come up:\n{ha.process.tail()}")
    ha.onboard()
    run.recorder = ha.record_state_changes(folder / "home-assistant-state-changes.jsonl")
    cleanup.callback(run.recorder.stop, signal.SIGTERM, 5)
    if not wait_for(ha.running, 60, 0.5):
        raise HarnessError("Home Assistant did not reach RUNNING")
    components = sorted(c for c in ha.request("GET", "/api/config").get("components", []) if "." not in c)
    report.notes.append(f"HA set up {len(components)} integrations: {' '.join(components)}")
    report.phase(f"Home Assistant up and running on {ha.url}, token from onboarding")
    return run


def wait_for_discovery(run: Run) -> list[OurEntity]:
    """Until every device of our history has its HA device and the entity list stopped growing."""
    deadline = time.monotonic() + 60
    last: list[OurEntity] = []
    stable = 0
    while time.monotonic() < deadline:
        run.alive()
        devices = run.history.devices()
        entities = run.ours() if devices else []
        found = {e.device for e in entities}
        stable = stable + 1 if devices and found >= devices and len(entities) == len(last) else 0
        last = entities
        if stable >= 2:
            break
        time.sleep(1.0)
    else:
        missing = sorted(run.history.devices() - {e.device for e in last})
        raise HarnessError(f"discovery incomplete after 60 s: {len(last)} entities; devices missing in HA: {missing}")
    wait_for(lambda: set(run.ha.states()) >= {e.entity_id for e in last}, 10)
    run.report.phase(f"discovered: {len(last)} entities on {len({e.device for e in last})} devices")
    return last


def check_states(run: Run, entities: list[OurEntity], rounds: int = 3) -> None:
    """a1: HA shows what each device last reported; sampled a few times (our history lags by up to 2 s)."""
    verdicts: dict[str, tuple[str, str, str]] = {}
    for n in range(rounds):
        states, reported = run.ha.states(), run.history.reported()
        for e in entities:
            shown = states.get(e.entity_id, {}).get("state", "(missing)")
            device_state = reported.get(e.device, {})
            has = e.field in device_state
            value = device_state.get(e.field)
            expected = expected_state(e.domain, value) if has else None
            if shown == UNAVAILABLE:
                verdict = "FAIL unavailable"
            elif shown == "(missing)":
                verdict = "FAIL not in HA's states"
            elif not has:
                verdict = "ok (never reported)" if shown == UNKNOWN else "FAIL shows a value the device never reported"
            elif expected is None:
                verdict = "ok (not comparable)"
            elif shown == UNKNOWN:
                verdict = "FAIL unknown, but the device reported it"
            elif same(shown, expected):
                verdict = "ok"
            else:
                verdict = "FAIL differs from the device's last report"
            shown_value = f"{value!r}" if has else "(never reported)"
            if e.entity_id not in verdicts or verdict.startswith("ok"):
                verdicts[e.entity_id] = (shown, shown_value, verdict)
        if n < rounds - 1:
            time.sleep(1.5)
    bad = [e for e in entities if not verdicts[e.entity_id][2].startswith("ok")]
    width = max(len(e.entity_id) for e in entities)
    where = max(len(f"{e.device}.{e.field}") for e in entities)
    evidence = [f"{len(entities) - len(bad)}/{len(entities)} entities show the device's value (best of {rounds} samples over 3 s)"]
    for e in entities:
        shown, value, verdict = verdicts[e.entity_id]
        evidence.append(f"{e.entity_id:<{width}}  {f'{e.device}.{e.field}':<{where}}  HA={shown!r:<14} device={value:<18} {verdict}")
    run.report.add(Check("a1", "every entity reads the value its device reported", not bad, evidence))


def check_history(run: Run, entities: list[OurEntity], before_s: float = 2.0, after_s: float = 1.0, min_s: float = 0.3) -> None:
    """a3: every value HA showed, all along, was one the device reported about then (a flip to a default is a lie).

    A state HA showed at t is right if the field held it at some moment of
    [t - before_s, t + after_s] in our history (the bridge and HA hear the same
    message at about the same time); a field not yet reported must show unknown.
    States shown for less than ``min_s`` are left out, and so is the unknown HA gives a
    new entity until its retained state arrives.  Only up to the availability checks,
    which cut the bridge off.
    """
    if run.recorder is None:
        return
    timeline = run.history.timeline()
    until = run.steady_until or time.time()
    by_entity = {e.entity_id: e for e in entities}
    events: dict[str, list[tuple[float, str | None]]] = {}
    for line in run.recorder.log.read_text("utf-8", "replace").splitlines():
        with contextlib.suppress(json.JSONDecodeError, KeyError, ValueError):
            event = json.loads(line)
            if event["entity_id"] in by_entity:
                events.setdefault(event["entity_id"], []).append((_epoch(event["at"]), event["state"]))
    for entity_id, seen in events.items():
        events[entity_id] = sorted(set(seen), key=lambda change: change[0])  # the snapshot may repeat an event
    start = min((e[0][0] for e in events.values()), default=0.0)
    shown = wrong = 0
    examples: list[str] = []
    per_entity: Counter[str] = Counter()
    covered: set[str] = set()
    for entity_id, seen in events.items():
        e = by_entity[entity_id]
        changes = timeline.get((e.device, e.field), [])
        for n, (at, state) in enumerate(seen):
            lasted = (seen[n + 1][0] if n + 1 < len(seen) else until) - at
            if state in (None, UNAVAILABLE) or at > until or lasted < min_s or (n == 0 and state == UNKNOWN and lasted < 3.0):
                continue  # HA makes an entity unknown until the (retained) state arrives: milliseconds
            shown += 1
            covered.add(entity_id)
            then = [v for t, v in changes if t <= at - before_s][-1:]
            held = then + [v for t, v in changes if at - before_s < t <= at + after_s]
            allowed = [expected_state(e.domain, v) for v in held] + ([] if then else [UNKNOWN])  # not reported yet: unknown
            if None in allowed:
                continue  # not comparable (a list)
            if not any(a is not None and same(state, a) for a in allowed):
                wrong += 1
                per_entity[entity_id] += 1
                if len(examples) < 12:
                    reported = ", ".join(repr(v) for v in held) or "nothing yet"
                    examples.append(
                        f"+{at - start:5.1f} s {entity_id} showed {state!r} for {lasted:.1f} s; "
                        f"{e.device}.{e.field} reported around then: {reported}"
                    )
    evidence = [f"{shown} states shown by HA for our entities until the availability checks; {wrong} were not the device's value"]
    evidence += examples
    missing = sorted(set(by_entity) - covered)
    if missing:
        evidence.append(f"{len(missing)} entities never showed a state before the availability checks: {missing[:8]}")
    if not shown:
        evidence.append(f"no state_changed events recorded: is the recorder dead?\n{run.recorder.tail()}")
    if per_entity:
        evidence.append("by entity: " + ", ".join(f"{entity} x{n}" for entity, n in per_entity.most_common()))
    run.report.add(Check("a3", "all along, HA showed only values the devices reported", not missing and wrong == 0, evidence))


LOG_LINE = re.compile(r"^\S+ \S+ (?P<level>[A-Z]+) \((?P<thread>[^)]*)\) \[(?P<logger>[^\]]+)\] (?P<message>.*)$")
OUR_LOGGERS = ("homeassistant.components.mqtt", "homeassistant.helpers.template", "homeassistant.components.sensor")
TEMPLATE_MARKERS = ("Template variable warning", "Template variable error", "has no attribute", "UndefinedError")


def check_log(run: Run, entities: list[OurEntity]) -> None:
    """a2: no template warnings, no MQTT or sensor warnings/errors about our entities, in the whole run's log."""
    ours = [e.entity_id for e in entities]
    counted: Counter[str] = Counter()
    unrelated: Counter[str] = Counter()
    for line in run.ha.log_since(0):
        match = LOG_LINE.match(line)
        if match is None or match["level"] not in ("WARNING", "ERROR", "CRITICAL"):
            if match is None and any(marker in line for marker in TEMPLATE_MARKERS):
                counted[line.strip()[:300]] += 1
            continue
        message = f"{match['level']} [{match['logger']}] {match['message']}"[:300]
        if (
            match["logger"].startswith(OUR_LOGGERS)
            or any(marker in message for marker in TEMPLATE_MARKERS)
            or "yxy" in message
            or any(e in message for e in ours)
        ):
            counted[message] += 1
        else:
            unrelated[message] += 1
    evidence = [f"{sum(counted.values())} lines ({len(counted)} distinct) about our entities in {run.ha.log.name}"]
    evidence += [f"{n:>4} x {message}" for message, n in counted.most_common(25)]
    if len(counted) > 25:
        evidence.append(f"... and {len(counted) - 25} more distinct lines")
    evidence.append(f"(not ours, ignored: {', '.join(f'{n} x {m[:90]}' for m, n in unrelated.most_common(4)) or 'none'})")
    run.report.add(Check("a2", "HA's log has no template warnings or MQTT errors for our entities", not counted, evidence))


def check_state_classes(run: Run, entities: list[OurEntity]) -> None:
    """d: long-term statistics need state_class: total(_increasing) for energy and counters, measurement for the rest."""
    states, reported = run.ha.states(), run.history.reported()
    groups: dict[str, list[str]] = {"energy": [], "counter": [], "measurement": []}
    bad: dict[str, list[str]] = {"energy": [], "counter": [], "measurement": []}
    for e in entities:
        if e.domain != "sensor":
            continue
        attributes = states.get(e.entity_id, {}).get("attributes", {})
        state_class, device_class = attributes.get("state_class"), attributes.get("device_class")
        unit = attributes.get("unit_of_measurement")
        value = reported.get(e.device, {}).get(e.field)
        allowed: tuple[str, ...]
        if device_class == "energy" or e.field.endswith("_kwh") or unit in ("kWh", "Wh", "MWh"):
            group, allowed = "energy", ("total_increasing", "total")
        elif e.field in COUNTERS:
            group, allowed = "counter", ("total_increasing", "total")
        elif unit or (isinstance(value, int | float) and not isinstance(value, bool)):
            group, allowed = "measurement", ("measurement",)
        else:
            continue  # text, a date, an enum: no state class
        line = f"{e.entity_id}: state_class={state_class!r} unit={unit!r} device_class={device_class!r}"
        groups[group].append(line)
        if state_class not in allowed:
            bad[group].append(line)
    titles = {
        "energy": ("d1", "energy sensors (kWh) carry state_class total_increasing or total"),
        "counter": ("d2", "counters (uses, entries, exits) carry state_class total_increasing"),
        "measurement": ("d3", "measurements carry state_class measurement"),
    }
    for group, (key, title) in titles.items():
        evidence = [f"{len(groups[group]) - len(bad[group])}/{len(groups[group])} right", *(bad[group] or groups[group])[:20]]
        if len(bad[group]) > 20:
            evidence.append(f"... and {len(bad[group]) - 20} more")
        run.report.add(Check(key, title, bool(groups[group]) and not bad[group], evidence))


def _settled(run: Run, device: str, quiet_s: float = 2.0) -> None:
    """Wait until nothing has commanded ``device`` for ``quiet_s`` (an automation reacting to the station's start), so
    the state HA shows is the one to command away from."""

    def quiet() -> bool:
        recent = [r for r in run.history.rows(0) if r.entity_id == device and r.name == "desired"]
        return not recent or time.time() - recent[-1].at >= quiet_s

    wait_for(quiet, run.options.timeout_s, 0.3)


def _command_rows(run: Run, device: str, after_id: int, target: bool, timeout_s: float) -> tuple[Row | None, Row | None]:
    """Our history's record of HA's command to ``device`` with on=target issued after ``after_id``, and its outcome. An
    automation's command to the same device is not HA's (at night the lights-by-occupancy rule turns the lights on
    the moment the emulated crowd comes in, and was once taken for HA's)."""
    desired: Row | None = None
    outcome: Row | None = None

    def look() -> bool:
        nonlocal desired, outcome
        for row in run.history.rows(after_id):
            if row.entity_id != device:
                continue
            if (
                desired is None
                and row.name == "desired"
                and row.data.get("desired", {}).get("on") is target
                and "command" in row.data
                and row.data.get("by") == "home_assistant"
            ):
                desired = row
            elif desired is not None and row.data.get("command") == desired.data["command"] and row.name.startswith("command_"):
                outcome = row
                return True
        return False

    wait_for(look, timeout_s, 0.3)
    return desired, outcome


def _transmitted(lines: list[str]) -> list[tuple[str, str, int]]:
    """(topic, payload, qos) of what HA published, from its mqtt.client DEBUG lines; its birth message left out."""
    found = []
    for line in lines:
        match = re.search(r"Transmitting (?:retained )?message on (\S+): '(.*)', mid: \d+, qos: (\d)", line)
        if match and not match[1].endswith("/status"):
            found.append((match[1], match[2], int(match[3])))
    return found


@dataclass
class _Sent:
    ok: bool
    evidence: list[str]
    shown: str
    followed: bool
    transmitted: list[tuple[str, str, int]]


def _command(run: Run, switch: OurEntity, target: bool, label: str, send: Callable[[], object]) -> _Sent:
    """Send one command through HA; what our history recorded of it, and what HA showed and published."""
    word = "on" if target else "off"
    before = run.ha.states()[switch.entity_id]["state"]
    after_id, log_at = run.history.last_id(), run.ha.log_size()
    sent_at = time.monotonic()
    send()
    desired, outcome = _command_rows(run, switch.device, after_id, target, run.options.timeout_s)
    followed = bool(wait_for(lambda: run.ha.states()[switch.entity_id]["state"] == word, run.options.timeout_s))
    shown = run.ha.states()[switch.entity_id]["state"]
    evidence = [f"{label} on {switch.entity_id} (HA showed {before!r}; wants {switch.device}.on={target})"]
    ok = True
    if desired is None:
        ok = False
        evidence.append(f"no command to {switch.device} with on={target} in our history within {run.options.timeout_s:g} s")
    else:
        by = str(desired.data.get("by"))
        evidence.append(f"history #{desired.id} {desired.name} {json.dumps(desired.data, ensure_ascii=False)}")
        if not by.startswith(OUR_BY):
            ok = False
            evidence.append(f"by={by!r}, not {OUR_BY!r}")
        if outcome is None:
            ok = False
            evidence.append("no outcome (acked or failed) recorded")
        else:
            evidence.append(f"history #{outcome.id} {outcome.name} {json.dumps(outcome.data, ensure_ascii=False)}")
            ok = ok and outcome.name == "command_acked"
    evidence.append(f"HA's switch then shows {shown!r} ({time.monotonic() - sent_at:.1f} s after the call)")
    return _Sent(ok, evidence, shown, followed, _transmitted(run.ha.log_since(log_at)))


def _subscriptions(lines: list[str]) -> Counter[int]:
    """How many topics HA subscribed at each QoS, outside its discovery prefix (so: our state and availability topics)."""
    qos: Counter[int] = Counter()
    for line in lines:
        if "Subscribing with mid" in line:
            for topic, level in re.findall(r"\('([^']+)', (\d)\)", line):
                if not topic.startswith("homeassistant/"):
                    qos[int(level)] += 1
    return qos


def check_switch(run: Run, entities: list[OurEntity]) -> None:
    """c: switch.turn_on/off from HA reach the device, are acked, recorded as HA's, and sent at QoS >= 1."""
    switches = [e for e in entities if e.domain == "switch"]
    lights = [e for e in switches if "light" in e.device] or switches
    if not lights:
        run.report.add(Check("c1", "HA's switch command reaches the device and is acked", False, ["no switch entity discovered"]))
        return
    switch = lights[0]
    _settled(run, switch.device)
    target = run.ha.states()[switch.entity_id]["state"] != "on"
    word = "on" if target else "off"
    direct = _command(
        run, switch, target, f"REST switch.turn_{word}", lambda: run.ha.call("switch", f"turn_{word}", {"entity_id": switch.entity_id})
    )
    back = "off" if target else "on"
    scripted = _command(
        run, switch, not target, f"REST script.yxy_switch turn={back}",
        lambda: run.ha.call("script", "yxy_switch", {"entity_id": switch.entity_id, "turn": back}),
    )  # fmt: skip
    report = run.report
    report.add(
        Check("c1", "switch.turn_on/off through HA's REST API reaches the device, acked, by=home_assistant", direct.ok, direct.evidence)
    )
    report.add(Check("c2", "the same through an HA script", scripted.ok, scripted.evidence))
    followed = [f"after {s.evidence[0].split(' on ')[0]}: HA shows {s.shown!r}" for s in (direct, scripted)]
    report.add(Check("c3", "HA's switch state follows the command", direct.followed and scripted.followed, followed))
    transmitted = direct.transmitted + scripted.transmitted
    evidence = [f"HA published on {topic} at QoS {qos}: {payload}" for topic, payload, qos in transmitted]
    evidence = evidence or ["no 'Transmitting message' DEBUG line from homeassistant.components.mqtt.client: cannot tell"]
    subscribed = _subscriptions(run.ha.log_since(0))
    levels = ", ".join(f"{n} at QoS {q}" for q, n in sorted(subscribed.items())) or "none seen"
    evidence.append(f"(for information: HA subscribed to our topics: {levels})")
    report.add(Check("c4", "HA publishes the commands at QoS >= 1", bool(transmitted) and all(q >= 1 for *_, q in transmitted), evidence))


def _availability(run: Run, entities: list[OurEntity]) -> dict[str, str]:
    states = run.ha.states()
    return {e.entity_id: states.get(e.entity_id, {}).get("state", "(missing)") for e in entities}


def _wait_unavailable(run: Run, entities: list[OurEntity], timeout_s: float) -> tuple[float | None, dict[str, str]]:
    started = time.monotonic()
    shown: dict[str, str] = {}

    def all_gone() -> bool:
        nonlocal shown
        shown = _availability(run, entities)
        return all(s == UNAVAILABLE for s in shown.values())

    gone = wait_for(all_gone, timeout_s, 0.3)
    return (time.monotonic() - started if gone else None), shown


def _summarise(shown: Mapping[str, str], limit: int = 8) -> list[str]:
    still = [f"{entity}={state!r}" for entity, state in shown.items() if state != UNAVAILABLE]
    lines = [f"{len(shown) - len(still)}/{len(shown)} unavailable"]
    if still:
        lines.append("still available: " + ", ".join(still[:limit]) + (f" ... and {len(still) - limit} more" if len(still) > limit else ""))
    return lines


def _client_of(device: str) -> Callable[[str], bool]:
    return lambda client_id: not _is_bridge(client_id) and (client_id == device or client_id.endswith(f"-{device}"))


def _is_bridge(client_id: str) -> bool:
    return "bridge" in client_id


def check_availability(run: Run, entities: list[OurEntity]) -> None:
    """b: one device drops off; then the bridge; then the whole station stops."""
    timeout = run.options.timeout_s
    run.steady_until = time.time()
    devices = sorted({e.device for e in entities})
    clients = run.relay.clients()
    candidates = [d for d in devices if "light" not in d and any(_client_of(d)(c) for c in clients)]
    if not candidates:
        run.report.add(
            Check("b1", "a device's entities go unavailable when it drops off", False, [f"no device connection among {clients}"])
        )
    else:
        device = "microwave" if "microwave" in candidates else candidates[0]
        cut = run.relay.cut(_client_of(device))
        mine = [e for e in entities if e.device == device]
        took, shown = _wait_unavailable(run, mine, timeout)
        others = _availability(run, [e for e in entities if e.device != device])
        collateral = [entity for entity, state in others.items() if state == UNAVAILABLE]
        evidence = [f"cut {cut} at the relay (no DISCONNECT: the broker sends its last will), reconnects refused"]
        evidence += [f"{device}: " + line for line in _summarise(shown)]
        evidence.append(f"went unavailable in {took:.1f} s" if took is not None else f"not all unavailable after {timeout:g} s")
        evidence.append(f"other devices' entities unavailable too: {collateral[:8] or 'none'}")
        title = f"a device's entities go unavailable when it drops off ({device})"
        run.report.add(Check("b1", title, took is not None and not collateral, evidence))
        entities = [e for e in entities if e.device != device]
    cut = run.relay.cut(_is_bridge)
    took, shown = _wait_unavailable(run, entities, timeout)
    evidence = [f"cut the bridge's connection {cut} at the relay; the devices stay connected ({len(run.relay.clients())} connections)"]
    evidence += _summarise(shown)
    evidence.append(f"went unavailable in {took:.1f} s" if took is not None else f"not all unavailable after {timeout:g} s")
    run.report.add(Check("b2", "entities go unavailable when the bridge is down (devices still up)", took is not None, evidence))
    if took is not None:  # else they never left, and b3 below is the test of the station stopping
        run.relay.unblock(_is_bridge)
        started = time.monotonic()
        back = wait_for(lambda: all(s != UNAVAILABLE for s in _availability(run, entities).values()), 75, 0.5)
        evidence = _summarise(_availability(run, entities))
        evidence.append(f"all back {time.monotonic() - started:.1f} s after the bridge could reconnect" if back else "not all back in 75 s")
        run.report.add(Check("b2r", "they come back when the bridge reconnects", bool(back), evidence))
    started = time.monotonic()
    code = run.station.stop(signal.SIGINT, 15)
    took, shown = _wait_unavailable(run, entities, timeout)
    evidence = [f"stopped yxy live with SIGINT (exit {code}, {time.monotonic() - started:.1f} s)", *_summarise(shown)]
    evidence.append(f"all unavailable {took:.1f} s after it exited" if took is not None else f"not all unavailable after {timeout:g} s")
    run.report.add(Check("b3", "entities go unavailable when the station stops", took is not None, evidence))


def run_checks(options: Options) -> Report:
    report = Report()
    info = installed(options.venv)
    if info is None:
        if not options.install:
            raise HarnessError(f"no Home Assistant venv at {options.venv}: run `{Path(sys.argv[0]).name} install` first (or --install)")
        info = install(options.venv, HA_VERSION, newest_python(), "uv", no_cache=False)
        report.phase("installed Home Assistant")
    version = subprocess.run([str(options.venv / "bin" / "hass"), "--version"], capture_output=True, text=True, check=False).stdout.strip()
    python = subprocess.run([str(options.venv / "bin" / "python"), "--version"], capture_output=True, text=True, check=False).stdout.strip()
    report.notes.append(f"Home Assistant {version} on {python}; yxy from {options.source or ROOT}")
    print(f"Home Assistant {version} on {python}; yxy live from {options.source or ROOT}")
    folder = RUNS / "last-run"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    print(f"run folder: {folder}")
    with contextlib.ExitStack() as cleanup:
        run = start(options, folder, report, cleanup)
        entities = wait_for_discovery(run)
        check_states(run, entities)
        check_state_classes(run, entities)
        report.phase("checked states and state classes (a1, d)")
        check_switch(run, entities)
        report.phase("checked the switch command (c)")
        check_availability(run, entities)
        report.phase("checked availability (b)")
        check_history(run, entities)
        check_log(run, entities)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    inst = sub.add_parser("install", help=f"(re)create {HA_VENV.relative_to(ROOT)} with Home Assistant from PyPI")
    inst.add_argument("--ha-version", default=HA_VERSION)
    inst.add_argument("--venv", type=Path, default=HA_VENV)
    inst.add_argument("--python", default=None, help="interpreter for HA's venv (default: the newest >= 3.13)")
    inst.add_argument("--installer", choices=("uv", "pip"), default="uv", help="uv (from PyPI, into the venv) is ~3x faster")
    inst.add_argument("--no-cache", action="store_true", help="download everything (to time an install from empty)")
    run_parser = sub.add_parser("run", help="run the checks (the default)")
    for parser_, top in ((parser, True), (run_parser, False)):
        # the sub-command's own defaults must not undo options given before it: `--source X run`
        def default(value: Any, top: bool = top) -> Any:
            return value if top else argparse.SUPPRESS

        parser_.add_argument("--scenario", default=default("automated_station"))
        parser_.add_argument("--speed", type=float, default=default(60.0))
        parser_.add_argument("--source", type=Path, default=default(None), help="run yxy from this tree (e.g. a git worktree of HEAD)")
        parser_.add_argument("--install", action="store_true", default=default(False), help="install HA first if its venv is missing")
        parser_.add_argument("--timeout", type=float, default=default(10.0), help="seconds a change may take to show in HA")
        parser_.add_argument("--venv", type=Path, default=default(HA_VENV), help="Home Assistant's venv")
    args = parser.parse_args(argv)
    try:
        if args.command == "install":
            install(args.venv, args.ha_version, args.python or newest_python(), args.installer, args.no_cache)
            return 0
        options = Options(
            venv=args.venv, scenario=args.scenario, speed=args.speed, source=args.source, install=args.install, timeout_s=args.timeout
        )
        report = run_checks(options)
    except HarnessError as exc:
        print(f"\nharness error: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
