"""The live station: the bridge with history and automations, and the device emulator."""

from __future__ import annotations

import secrets
import socket
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from actors.runtime import Placement
from cli.common import app, console, errors, fail, load, load_station_or_scenario
from hardware_bridge.errors import BrokerConfigError
from scenarios.errors import ScenarioError

if TYPE_CHECKING:  # the live station, the web app and their database are imported by the commands that run them
    from hardware_bridge.bridge import Bridge
    from hardware_bridge.emulator import Emulator
    from scenarios.schema import Scenario, Station
    from station.live import LiveStation
    from station.settings import Settings
    from twin.entity import Twin

FAULTS = {
    "drop": "drops off after a minute (its last will says offline)",
    "garbage": "every third state message is garbage",
    "stuck": "acknowledges commands but does not change",
    "slow": "acknowledges 10 s late",
    "noack": "never acknowledges",
}


def _fault(text: str) -> tuple[str, str]:
    device, sep, kind = text.partition("=")
    if not sep or kind not in FAULTS:
        errors.print(f"[red]error:[/red] --fault {escape(text)!r}: write DEVICE=" + "|".join(FAULTS), highlight=False)
        raise typer.Exit(code=2)
    return device, kind


@app.command()
def emulate(
    station: Annotated[str, typer.Argument(help="Scenario file or library name: its devices are emulated.")] = "typical_week",
    mqtt: Annotated[
        str, typer.Option("--mqtt", help="Broker URL, e.g. mqtt://127.0.0.1:1883 (mqtts:// for TLS).")
    ] = "mqtt://127.0.0.1:1883",
    speed: Annotated[float, typer.Option("--speed", min=0.01, help="Simulated seconds per real second for the population.")] = 1.0,
    fault: Annotated[list[str] | None, typer.Option("--fault", help=f"Make a device misbehave: DEVICE={'|'.join(FAULTS)}.")] = None,
    report_interval: Annotated[float, typer.Option("--report-interval", min=0.1, help="Seconds between state reports.")] = 30.0,
    duration: Annotated[float | None, typer.Option("--duration", min=0, help="Stop after this many seconds.")] = None,
    from_now: Annotated[
        bool, typer.Option("--from-now/--from-scenario-start", help="The crowd starts at the station's time of day.")
    ] = True,
) -> None:
    """Emulate every device of a station over MQTT, driven by its simulated population in real time or faster."""
    from hardware_bridge.clock import station_now
    from hardware_bridge.emulator import Emulator, Faults
    from hardware_bridge.mqtt import BrokerConfig

    try:
        scenario = load(station, [], None)
        config = BrokerConfig.from_url(mqtt)
    except (ScenarioError, BrokerConfigError) as exc:
        raise fail(exc) from None
    faults = dict(_fault(f) for f in fault or [])
    chosen = {
        device: Faults(
            garbage_every=3 if kind == "garbage" else 0, stuck=kind == "stuck", ack_delay_s=10.0 if kind == "slow" else 0.0,
            drop_acks=kind == "noack",
        )
        for device, kind in faults.items()
    }  # fmt: skip
    emulator = Emulator(scenario, config, report_interval_s=report_interval, faults=chosen).start()
    emulator.drive(speed=speed, start=station_now(scenario.station.timezone) if from_now else None)
    console.print(f"emulating {len(emulator.devices)} devices of {scenario.station.id} on {config.host}:{config.port} at {speed:g}x")
    for device, kind in faults.items():
        console.print(f"  {device}: {FAULTS[kind]}")
    try:
        _wait(duration, lambda: _drop_after(emulator, faults))
    finally:
        emulator.stop()


def _drop_after(emulator: Emulator, faults: dict[str, str]) -> None:
    for device, kind in faults.items():
        target = emulator.devices.get(device)
        if kind == "drop" and target is not None and target.mqtt.connected and target.sent > 0:
            target.drop_off()


def _wait(duration: float | None, tick: Callable[[], None], interval_s: float = 60.0) -> None:
    """Run until Ctrl-C or ``duration``, calling ``tick`` every ``interval_s``."""
    started = time.monotonic()
    try:
        while duration is None or time.monotonic() - started < duration:
            time.sleep(min(interval_s, duration - (time.monotonic() - started)) if duration else interval_s)
            tick()
    except KeyboardInterrupt:
        console.print("stopping")


MqttOption = Annotated[
    str | None,
    typer.Option("--mqtt", help="Broker URL (mqtt://host:1883, mqtts:// for TLS). Default: YXY_MQTT_URL, else an embedded broker."),
]
BrokerPortOption = Annotated[
    int | None, typer.Option("--broker-port", min=1, max=65535, help="Port of the embedded broker (default: YXY_BROKER_PORT, else 18830).")
]
SecretFileOption = Annotated[
    str | None,
    typer.Option("--secret-file", help="The station's broker secret (yxy broker config): bridge and emulated devices sign in with it."),
]
DatabaseOption = Annotated[str | None, typer.Option("--database", help="Database URL (default: YXY_DATABASE_URL, else sqlite:///yxy.db).")]
EmulateOption = Annotated[bool | None, typer.Option("--emulate/--no-emulate", help="Emulate the devices, driven by the simulated crowd.")]
SpeedOption = Annotated[float | None, typer.Option("--speed", min=0.01, help="With --emulate: simulated seconds per real second.")]
FromNowOption = Annotated[
    bool | None, typer.Option("--from-now/--from-scenario-start", help="With --emulate: the crowd starts at the station's time of day.")
]
ReportIntervalOption = Annotated[float | None, typer.Option("--report-interval", min=0.1, help="Devices' report interval, seconds.")]
DiscoveryOption = Annotated[bool | None, typer.Option("--discovery/--no-discovery", help="Announce the devices to Home Assistant.")]
PlacementOption = Annotated[
    Placement | None, typer.Option("--placement", help="Where the station's actors live: inline (this process) or ray.")
]
RayAddressOption = Annotated[str | None, typer.Option("--ray-address", help="With --placement ray: a Ray cluster to join.")]


def _settings(station: Station, **given: object) -> Settings:
    """The options given, over YXY_ variables, over the station file's own; a bad variable is one line and exit 2."""
    from pydantic import ValidationError

    from station.settings import Settings

    try:
        return Settings.from_options(dict(station.settings), **given)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            name = "YXY_" + "_".join(str(part) for part in error["loc"]).upper()
            errors.print(f"[red]error:[/red] {escape(name)}: {escape(error['msg'])}", highlight=False)
        raise typer.Exit(code=2) from None


def _start(station: Station, settings: Settings, demand: Scenario | None) -> LiveStation:
    from station.live import LiveStation

    station_live = LiveStation(station, settings, demand)
    try:
        return station_live.start()
    except (RuntimeError, BrokerConfigError) as exc:
        station_live.stop()
        errors.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(code=2) from None


StationToRun = Annotated[
    str,
    typer.Argument(help="Station file, or a scenario (its station; its workers drive --emulate); a path or a library name."),
]


@app.command()
def live(
    station: StationToRun = "automated_station",
    mqtt: MqttOption = None,
    broker_port: BrokerPortOption = None,
    secret_file: SecretFileOption = None,
    database: DatabaseOption = None,
    emulated: EmulateOption = None,
    speed: SpeedOption = None,
    from_now: FromNowOption = None,
    report_interval: ReportIntervalOption = None,
    discovery: DiscoveryOption = None,
    placement: PlacementOption = None,
    ray_address: RayAddressOption = None,
    duration: Annotated[float | None, typer.Option("--duration", min=0, help="Stop after this many seconds.")] = None,
) -> None:
    """Run the live twin: MQTT bridge, history, automations and alarms (and, with --emulate, the emulated station).

    Every option left out takes its YXY_ environment variable (YXY_MQTT_URL, YXY_PLACEMENT, ...), else the station
    file's broker and security tables, else its default.
    """
    described, demand = _station_and_demand(station)
    settings = _settings(
        described,
        mqtt_url=mqtt, broker_port=broker_port, broker_secret_file=secret_file, database_url=database, emulate=emulated, speed=speed,
        emulate_from_now=from_now, report_interval_s=report_interval, discovery=discovery, placement=placement, ray_address=ray_address,
    )  # fmt: skip
    _check(described, demand, settings)
    station_live = _start(described, settings, demand)
    bridge = station_live.bridge
    assert bridge is not None
    console.print(
        f"live station {described.id}: {len(station_live.devices)} devices ({settings.placement.value}), "
        f"broker {station_live.broker_address}, history in {settings.database_url}",
        soft_wrap=True,  # one line in a log, however long the database path
    )
    try:
        _wait(duration, lambda: console.print(_status(bridge)), interval_s=min(10.0, duration or 10.0))
    finally:
        station_live.stop()


def _station_and_demand(name: str) -> tuple[Station, Scenario | None]:
    """The station to run, and the scenario it came from if it did: a bad file is one line per mistake and exit 2."""
    try:
        return load_station_or_scenario(name)
    except ScenarioError as exc:
        raise fail(exc) from None


def _check(station: Station, demand: Scenario | None, settings: Settings) -> None:
    """The broker URL, and workers to drive emulated devices: either mistake is one line and exit 2."""
    from hardware_bridge.mqtt import BrokerConfig

    try:
        if settings.mqtt_url is not None:
            BrokerConfig.from_url(settings.mqtt_url)
    except BrokerConfigError as exc:
        raise fail(exc) from None
    if settings.emulate and demand is None:
        errors.print(
            f"[red]error:[/red] --emulate: {escape(station.source)} is a station file, with no workers to drive emulated devices; "
            "give a scenario of this station (one that extends it), e.g. automated_station", highlight=False, soft_wrap=True,
        )  # fmt: skip
        raise typer.Exit(code=2)


def _ports_free(*wanted: tuple[str, int, str]) -> None:
    """A port another program holds is one line naming the option and exit 2, before anything starts.

    Checked up front because the server and the embedded broker start inside the web app's startup, where a
    failure would otherwise surface as uvicorn's traceback."""
    for host, port, option in wanted:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                errors.print(f"[red]error:[/red] {option} {port}: {host}:{port} cannot be used ({escape(exc.strerror or str(exc))}); "
                             "another program holds it, choose another port", highlight=False)  # fmt: skip
                raise typer.Exit(code=2) from None


def _status(bridge: Bridge) -> str:
    def summary(twin: Twin) -> str:
        online = sum(1 for e in twin.entities.values() if e.available)
        states = Counter(c.state.value for c in twin.commands.values())
        return (
            f"{online}/{len(twin.entities)} online; messages {bridge.received} ({sum(bridge.rejected.values())} rejected); "
            f"commands {dict(states)}; active alarms {len(bridge.alarms.active())}"
        )

    return str(bridge.read(summary))


@app.command()
def serve(
    station: StationToRun = "automated_station",
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    mqtt: MqttOption = None,
    broker_port: BrokerPortOption = None,
    secret_file: SecretFileOption = None,
    database: DatabaseOption = None,
    emulated: EmulateOption = None,
    speed: SpeedOption = None,
    from_now: FromNowOption = None,
    discovery: DiscoveryOption = None,
    placement: PlacementOption = None,
    ray_address: RayAddressOption = None,
) -> None:
    """Serve the web API (and the live station behind it) on http://HOST:PORT; OpenAPI docs at /docs.

    Every option left out takes its YXY_ environment variable (YXY_MQTT_URL, YXY_DATABASE_URL, ...), else the station
    file's broker and security tables, else its default.
    """
    import uvicorn
    from sqlalchemy import func, select

    from store.db import engine_for, migrate, sessions
    from store.models import User
    from web.app import create_app, server_config
    from web.auth import Role, create_user

    described, demand = _station_and_demand(station)
    settings = _settings(
        described,
        mqtt_url=mqtt, broker_port=broker_port, broker_secret_file=secret_file, database_url=database, emulate=emulated, speed=speed,
        emulate_from_now=from_now, discovery=discovery, placement=placement, ray_address=ray_address,
    )  # fmt: skip
    _check(described, demand, settings)
    _ports_free(
        (host, port, "--port"),
        *([("127.0.0.1", settings.broker_port, "--broker-port (YXY_BROKER_PORT)")] if settings.mqtt_url is None else []),
    )
    if settings.database_url.startswith("sqlite:///"):
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = engine_for(settings.database_url)
    migrate(engine)
    with sessions(engine).begin() as db:
        if db.scalar(select(func.count()).select_from(User)) == 0:
            password = secrets.token_urlsafe(12)
            create_user(db, "admin", "管理员 Administrator", Role.ADMIN, password)
            console.print(f"first account: admin / {escape(password)}  (shown once; change it after signing in)")
        else:
            console.print(f"staff accounts are in {escape(settings.database_url)}; sign in with yours (the first run printed admin's)")
    engine.dispose()
    console.print(f"open http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    uvicorn.Server(server_config(create_app(settings, described, demand=demand), settings, host, port)).run()
