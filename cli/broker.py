"""``yxy broker``: the station's broker accounts, as Mosquitto's files and as one device's password.

The accounts and their rights are hardware_bridge/security.py's; this only writes them
out.  Every password derives from the station's secret file, so the file is the one
thing to keep (and to copy to the bridge's host); Mosquitto itself needs only the
password hashes and the ACL.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli.common import app, console, errors, fail, load_station_or_scenario
from hardware_bridge.errors import BrokerConfigError
from scenarios.errors import ScenarioError

if TYPE_CHECKING:  # paho and ssl, by way of the security module, only for the commands that use them
    from hardware_bridge.security import BrokerAccount
    from scenarios.schema import Station

broker_app = typer.Typer(
    name="broker",
    help="Secure the station's MQTT broker: an account per client, each allowed only its own topics.",
    no_args_is_help=True,
)
app.add_typer(broker_app, name="broker")

StationArgument = Annotated[
    str, typer.Argument(help="Station file, scenario or library name (yunting): its station id and devices get accounts.")
]


def _error(message: str) -> typer.Exit:
    errors.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def _station(name: str) -> Station:
    try:
        return load_station_or_scenario(name)[0]
    except ScenarioError as exc:
        raise fail(exc) from None


def _secret(path: Path) -> tuple[bytes, bool]:
    """The station's secret and whether it was made just now: one is made only where none exists, never over one."""
    from hardware_bridge.security import read_secret, write_secret

    if path.exists() or path.is_symlink():
        return read_secret(path), False
    return write_secret(path), True


@broker_app.command("config")
def config(
    station: StationArgument,
    out: Annotated[Path, typer.Option("--out", help="Folder for mosquitto.conf, passwd and acl (created 0700).")],
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port Mosquitto listens on.")] = 1883,
    host: Annotated[str, typer.Option("--host", help="Address Mosquitto listens on.")] = "127.0.0.1",
    secret_file: Annotated[
        Path | None,
        typer.Option("--secret-file", help="The station's secret; made (0600) if absent, never overwritten. Default: OUT/secret."),
    ] = None,
    tls_cert: Annotated[Path | None, typer.Option("--tls-cert", help="TLS certificate: a TLS listener (with --tls-key, --tls-ca).")] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="TLS private key.")] = None,
    tls_ca: Annotated[Path | None, typer.Option("--tls-ca", help="CA certificate file.")] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="Account Mosquitto runs as (default: yours; only root may name another).")
    ] = None,
    no_persistence: Annotated[
        bool, typer.Option("--no-persistence", help="Keep no sessions or retained messages across restarts.")
    ] = False,
    show_passwords: Annotated[bool, typer.Option("--show-passwords", help="Print each account's password too.")] = False,
) -> None:
    """Write a Mosquitto configuration for the station: no anonymous clients, an account and an ACL per client."""
    from hardware_bridge.security import bridge_username, mosquitto_files

    described = _station(station)
    if any((tls_cert, tls_key, tls_ca)) and not all((tls_cert, tls_key, tls_ca)):
        raise _error("--tls-cert, --tls-key and --tls-ca go together: give all three or none")
    if out.exists() and not out.is_dir():
        raise _error(f"--out {out}: not a folder")
    try:
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise _error(f"--out {out}: cannot create it ({exc.strerror or exc})") from None
    secret_path = secret_file or out / "secret"
    try:
        secret, made = _secret(secret_path)
        files = mosquitto_files(
            out,
            described.id,
            {d.id: d.kind for d in described.devices},
            secret,
            port,
            host,
            (tls_cert, tls_key, tls_ca) if tls_cert and tls_key and tls_ca else None,  # all three or none, checked above
            persistence=not no_persistence,
            user=user,
        )
    except BrokerConfigError as exc:
        raise fail(exc) from None
    say = [
        f"wrote {files.config}, {files.passwd.name} and {files.acl.name} for station {described.id}",
        f"secret: {secret_path.resolve()} ({'new' if made else 'kept'}: every password derives from it; keep it, back it up)",
        f"start the broker: {files.command}",
    ]
    for line in say:
        console.print(escape(line), highlight=False, soft_wrap=True)
    console.print(_accounts_table(list(files.accounts.values()), show_passwords))
    scheme = "mqtts" if tls_cert else "mqtt"
    bridge = files.accounts[bridge_username(described.id)]
    say = [
        f"the bridge connects with --mqtt {scheme}://{bridge.username}:{bridge.password if show_passwords else '<password>'}@{host}:{port}"
    ]
    if not show_passwords:
        say.append(f"a device's password: yxy broker password {station} DEVICE --secret-file {secret_path}")
    for line in say:
        console.print(escape(line), highlight=False, soft_wrap=True)


def _accounts_table(accounts: Sequence[BrokerAccount], show_passwords: bool) -> Table:
    from hardware_bridge.security import Role

    table = Table(title="accounts")
    for column in ("username", "role", "device"):
        table.add_column(column, no_wrap=column != "device")
    if show_passwords:
        table.add_column("password", no_wrap=True, min_width=len(next(iter(accounts)).password) if accounts else None)
    for account in accounts:
        device = f"{account.device} ({account.kind})" if account.role is Role.DEVICE else ""
        table.add_row(account.username, account.role.value, device, *([account.password] if show_passwords else []))
    return table


@broker_app.command("password")
def password(
    station: StationArgument,
    client: Annotated[str, typer.Argument(help="A device's id in the station, or `bridge`, or `integrator` (Home Assistant).")],
    secret_file: Annotated[Path, typer.Option("--secret-file", help="The station's secret, as `yxy broker config` made it.")],
) -> None:
    """Print one client's broker password, to provision a real device or Home Assistant.

    Usernames: dev-<station>-<device>, bridge-<station>, ha-<station> (the integrator)."""
    from hardware_bridge.security import bridge_username, derive_password, device_username, integrator_username, read_secret

    described = _station(station)
    usernames = {d.id: device_username(described.id, d.id) for d in described.devices}
    usernames.setdefault("bridge", bridge_username(described.id))
    usernames.setdefault("integrator", integrator_username(described.id))
    username = usernames.get(client)
    if username is None:
        raise _error(f"device {client!r}: not in {described.id}; the clients are {', '.join(usernames)}")
    try:
        secret = read_secret(secret_file)
    except BrokerConfigError as exc:
        raise fail(exc) from None
    errors.print(f"password of {username}:", highlight=False)
    console.print(derive_password(secret, described.id, username), highlight=False, soft_wrap=True)
