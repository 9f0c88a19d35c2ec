"""The README's main command end to end: `yxy serve --emulate` on a fresh SQLite file prints a first account once,
and a newcomer who signs in with it sees a living station."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx2 as httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from hardware_bridge.mqtt import BrokerConfig, MqttClient
from station.settings import Settings
from tests.hardware_bridge.conftest import PrivateMosquitto, free_port, reachable, wait_for


def serve(database: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str, str]:
    """The server, its first line and its base URL, once it answers.

    A free port can be taken by a parallel test between asking and binding; such a start is tried again on other
    ports. Any other exit fails at once with what the server printed, not after a silent timeout."""
    for _attempt in range(3):
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "typical_week", "--port", str(port), "--database", f"sqlite:///{database}", *extra],
            env={**os.environ, "YXY_BROKER_PORT": str(free_port()), **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        assert process.stdout is not None
        first = process.stdout.readline()
        base = f"http://127.0.0.1:{port}"

        def up(process: subprocess.Popen[str] = process, base: str = base) -> bool:
            if process.poll() is not None:
                return True
            try:
                return httpx.get(f"{base}/").status_code == 200
            except httpx.TransportError:
                return False

        wait_for(up, timeout_s=60, what="yxy serve to answer")
        if process.poll() is None:
            return process, first, base
        printed = first + process.communicate(timeout=20)[0]
        if "another program holds it" not in printed and "address already in use" not in printed.lower():
            raise AssertionError(f"yxy serve stopped with {process.returncode}:\n{printed}")
    raise AssertionError("yxy serve found its ports taken three times")


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.communicate(timeout=20)  # reads and closes its output


def test_the_main_command_shows_a_living_station_and_its_first_account_once(tmp_path: Path) -> None:
    database = tmp_path / "out" / "yxy.db"
    process, first, base = serve(database, "--emulate", "--speed", "60")
    try:
        assert first.startswith("first account: admin / "), first
        password = first.split("admin / ")[1].split()[0]
        signed_in = httpx.post(f"{base}/api/auth/token", json={"username": "admin", "password": password})
        assert signed_in.status_code == 200
        headers = {"Authorization": f"Bearer {signed_in.json()['token']}"}

        def online() -> int:
            return sum(1 for d in httpx.get(f"{base}/api/devices", headers=headers).json() if d["available"])

        wait_for(lambda: online() >= 10, timeout_s=30, what="the emulated devices online")
    finally:
        stop(process)
    again, first_again, _ = serve(database)
    try:
        assert "first account" not in first_again and "staff accounts are in" in first_again, first_again
    finally:
        stop(again)


def test_a_port_another_program_holds_is_one_line_naming_the_option(tmp_path: Path) -> None:
    """The web port or the embedded broker's port taken: exit 2 with the option named, no traceback, nothing created."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        for option, env in ((["--port", str(taken)], {}), (["--port", str(free_port())], {"YXY_BROKER_PORT": str(taken)})):
            database = tmp_path / f"{len(env)}.db"
            command = [sys.executable, "-m", "cli", "serve", "typical_week", "--database", f"sqlite:///{database}", *option]
            done = subprocess.run(command, check=False, env={**os.environ, "YXY_BROKER_PORT": str(free_port()), **env}, capture_output=True,
                                  text=True, timeout=60)  # fmt: skip
            assert done.returncode == 2, done.stdout + done.stderr
            assert "Traceback" not in done.stderr and "another program holds it" in done.stderr, done.stderr
            assert ("--broker-port" if env else "--port ") in done.stderr, done.stderr
            assert not database.exists(), "nothing is created before the ports are known to be free"


def test_the_environment_chooses_the_broker_when_no_option_does(tmp_path: Path, private_mosquitto: PrivateMosquitto) -> None:
    """YXY_MQTT_URL set and no --mqtt: the bridge goes to that broker, and no embedded one starts."""
    embedded_port = free_port()
    seen: list[tuple[str, bytes]] = []
    watcher = MqttClient(BrokerConfig("127.0.0.1", private_mosquitto.port), "watcher", lambda t, p, _r: seen.append((t, p)))
    watcher.subscribe("yxy/+/bridge/availability", qos=1)
    watcher.start()
    env = {"YXY_MQTT_URL": f"mqtt://127.0.0.1:{private_mosquitto.port}", "YXY_BROKER_PORT": str(embedded_port)}
    process, _, _ = serve(tmp_path / "yxy.db", env=env)
    try:
        wait_for(lambda: ("yxy/yunting/bridge/availability", b"online") in seen, what="the bridge online on the environment's broker")
        assert not reachable("127.0.0.1", embedded_port), "no embedded broker when YXY_MQTT_URL names one"
    finally:
        stop(process)
        watcher.close()


@settings(max_examples=40, deadline=None)
@given(
    env_speed=st.floats(0.5, 500), given_speed=st.none() | st.floats(0.5, 500),
    env_emulate=st.booleans(), given_emulate=st.none() | st.booleans(),
)  # fmt: skip
def test_an_option_overrides_the_environment_only_when_given(
    env_speed: float, given_speed: float | None, env_emulate: bool, given_emulate: bool | None
) -> None:
    environment = {"YXY_SPEED": repr(env_speed), "YXY_EMULATE": str(env_emulate).lower(), "YXY_MQTT_URL": "mqtt://broker.local:1883"}
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    try:
        chosen = Settings.from_options(speed=given_speed, emulate=given_emulate, mqtt_url=None)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    assert chosen.speed == (env_speed if given_speed is None else given_speed)
    assert chosen.emulate is (env_emulate if given_emulate is None else given_emulate)
    assert chosen.mqtt_url == "mqtt://broker.local:1883", "an option left out is not an explicit None"


@settings(max_examples=60, deadline=None)
@given(
    option=st.none() | st.integers(2000, 2999), environment=st.none() | st.integers(3000, 3999), file=st.none() | st.integers(4000, 4999)
)
def test_each_setting_comes_from_the_option_else_the_environment_else_the_station_file(
    option: int | None, environment: int | None, file: int | None
) -> None:
    """One file for every machine, each machine's own values in its environment, a one-off on the command line."""
    saved = os.environ.pop("YXY_BROKER_PORT", None)
    if environment is not None:
        os.environ["YXY_BROKER_PORT"] = str(environment)
    try:
        chosen = Settings.from_options({} if file is None else {"broker_port": file}, broker_port=option)
    finally:
        os.environ.pop("YXY_BROKER_PORT", None)
        if saved is not None:
            os.environ["YXY_BROKER_PORT"] = saved
    expected = next((v for v in (option, environment, file) if v is not None), Settings.model_fields["broker_port"].default)
    assert chosen.broker_port == expected


def test_a_station_file_runs_live_and_its_broker_table_is_the_default(tmp_path: Path) -> None:
    """`yxy live` takes a station file alone (no demand, no weather); its [broker] port is used when nothing else says."""
    port = free_port()
    station = tmp_path / "station.toml"
    station.write_text(
        f'extends = "{(Path("scenarios/library/stations/yunting.toml")).resolve()}"\n[broker]\nport = {port}\n', encoding="utf-8"
    )
    env = {key: value for key, value in os.environ.items() if key != "YXY_BROKER_PORT"}
    done = subprocess.run(
        [sys.executable, "-m", "cli", "live", str(station), "--duration", "2", "--database", f"sqlite:///{tmp_path / 'live.db'}"],
        check=False, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"live station yunting: 15 devices (inline), broker 127.0.0.1:{port} (embedded)" in done.stdout, done.stdout


def test_emulating_a_station_file_asks_for_a_scenario_of_it(tmp_path: Path) -> None:
    database = tmp_path / "never.db"
    done = subprocess.run(
        [sys.executable, "-m", "cli", "serve", "yunting", "--emulate", "--database", f"sqlite:///{database}"],
        check=False, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--emulate" in lines[0] and "station file" in lines[0] and "automated_station" in lines[0], lines
    assert not database.exists()
