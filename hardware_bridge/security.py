"""The broker as part of the security boundary: one station's accounts, what each may publish and read, and Mosquitto's files.

An open broker lets anyone who can reach it switch the station's devices, forge their
acknowledgements and spoof their state. So every client logs in with an account of its
own and may touch only its own topics (docs/mqtt.md has the topics):

    bridge-<station>         the bridge: reads the station, commands devices, publishes the twin, the bridge's
                             topics and Home Assistant's discovery
    dev-<station>-<device>   one per device: writes its own state, availability, ack and event; reads its own set
    ha-<station>             an integrator (Home Assistant): reads twin, state, availability and discovery;
                             writes only the bridge's command topic and ``homeassistant/status``

Nobody else may do anything, and anonymous clients are refused. Only the bridge may
command a device, so every command gets an id, a deadline and an audit entry.

No password is stored in clear. Each is derived from one station secret,
``base64url(HMAC-SHA256(secret, "<station>/<username>"))[:24]``: whoever holds the secret
(the bridge's host, the emulator that plays every device, the installer provisioning a
device) computes the same password, and one device's password says nothing of another's.
The brokers keep only hashes: Mosquitto's own PBKDF2 format in its password file, a
SHA-256 digest in the embedded broker.

The rules are data (`Acl`), made in one place (`account_acl`) and used by both brokers:
written out as Mosquitto's ACL file, checked by the embedded broker's plugin.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import hashlib
import hmac
import os
import pwd
import re
import secrets
import shlex
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from hardware_bridge import discovery, topics
from hardware_bridge.errors import BrokerConfigError
from hardware_bridge.mqtt import BrokerConfig
from hardware_bridge.topics import Channel

SECRET_BYTES = 32
PASSWORD_CHARS = 24
"""144 bits of base64url: far beyond guessing, short enough to type into a device's setup page."""
PBKDF2_ITERATIONS = 101
"""Mosquitto 2.0's own count (mosquitto_passwd writes ``$7$101$``). The passwords are derived, not chosen, so
they have no dictionary to slow down: the hash only has to keep the password file from giving them away."""
PBKDF2_SALT_BYTES = 12
PBKDF2_HASH_BYTES = 64
TLS_OPTIONS = ("certfile", "keyfile", "cafile")

DEVICE_WRITES = (Channel.STATE, Channel.AVAILABILITY, Channel.ACK, Channel.EVENT)
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+$")


class BrokerSetupError(BrokerConfigError):
    """A secret file or broker folder that cannot be used: a user's mistake, one line naming the file, exit 2."""


class Role(StrEnum):
    BRIDGE = "bridge"
    DEVICE = "device"
    INTEGRATOR = "integrator"


@dataclass(frozen=True)
class BrokerAccount:
    """One client's login at the station's broker; its rights follow from ``role`` (see `account_acl`)."""

    username: str
    password: str = field(repr=False)
    role: Role
    station: str
    device: str | None = None
    kind: str | None = None


@dataclass(frozen=True)
class Acl:
    """What one account may do: the topic filters it may read (subscribe to and receive) and write (publish)."""

    reads: tuple[str, ...]
    writes: tuple[str, ...]

    def may_publish(self, topic: str) -> bool:
        return is_topic(topic) and any(topic_matches(allowed, topic) for allowed in self.writes)

    def may_subscribe(self, topic_filter: str) -> bool:
        """Only a filter that can never match a topic outside the reads: ``yxy/s/#`` is refused to a device even though
        the broker would deliver it nothing else, so a refused subscription shows up at once, not as silence."""
        return any(filter_within(topic_filter, allowed) for allowed in self.reads)

    def may_receive(self, topic: str) -> bool:
        return any(topic_matches(allowed, topic) for allowed in self.reads)


# ---- topic filters (MQTT 3.1.1 section 4.7, the same in 5) ---------------------------


def is_topic(topic: str) -> bool:
    """A topic one may publish to: not empty, no wildcard."""
    return bool(topic) and "+" not in topic and "#" not in topic


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Whether a filter matches a topic: ``+`` one level, ``#`` the rest (and the parent); a wildcard first never matches ``$``."""
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    wanted, levels = topic_filter.split("/"), topic.split("/")
    for index, level in enumerate(wanted):
        if level == "#":
            return True
        if index >= len(levels) or level not in ("+", levels[index]):
            return False
    return len(wanted) == len(levels)


def filter_within(requested: str, allowed: str) -> bool:
    """Whether every topic the ``requested`` filter can match is matched by ``allowed``."""
    asked, granted = requested.split("/"), allowed.split("/")
    for index, level in enumerate(granted):
        if level == "#":
            return True
        if index >= len(asked) or asked[index] == "#":
            return False
        if level != "+" and asked[index] != level:
            return False
    return len(asked) == len(granted)


# ---- accounts -----------------------------------------------------------------------


def bridge_username(station: str) -> str:
    return f"bridge-{topics.check_id(station, 'station')}"


def device_username(station: str, device: str) -> str:
    return f"dev-{topics.check_id(station, 'station')}-{topics.check_id(device, 'device')}"


def integrator_username(station: str) -> str:
    return f"ha-{topics.check_id(station, 'station')}"


def derive_password(secret: bytes, station: str, username: str) -> str:
    """The account's password: the station's secret, the station and the username, nothing stored."""
    digest = hmac.new(secret, f"{station}/{username}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:PASSWORD_CHARS]


def device_password(secret: bytes, station: str, device: str) -> str:
    """What an installer types into a real device (``yxy broker password``)."""
    return derive_password(secret, station, device_username(station, device))


def station_accounts(station: str, devices: Mapping[str, str], secret: bytes) -> dict[str, BrokerAccount]:
    """Every account of a station, by username: the bridge's, one per device (``devices``: id -> kind), the integrator's."""
    if len(secret) < SECRET_BYTES:
        raise ValueError(f"the station secret must be at least {SECRET_BYTES} bytes, not {len(secret)}")

    def account(username: str, role: Role, device: str | None = None, kind: str | None = None) -> BrokerAccount:
        return BrokerAccount(username, derive_password(secret, station, username), role, station, device, kind)

    accounts = [account(bridge_username(station), Role.BRIDGE)]
    for device, kind in devices.items():
        if topics.check_id(kind, "kind") == "bridge":
            raise ValueError(f"device {device!r}: a kind may not be called 'bridge', the bridge's own topics are yxy/<station>/bridge/...")
        accounts.append(account(device_username(station, device), Role.DEVICE, device, kind))
    accounts.append(account(integrator_username(station), Role.INTEGRATOR))
    return {a.username: a for a in accounts}


def with_account(config: BrokerConfig, account: BrokerAccount) -> BrokerConfig:
    """The connection settings of one client logging in as ``account``."""
    return dataclasses.replace(config, username=account.username, password=account.password)


# ---- the rules ----------------------------------------------------------------------


def account_acl(account: BrokerAccount) -> Acl:
    """The one place that says who may read and write what."""
    station = topics.check_id(account.station, "station")
    root = f"{topics.PREFIX}/{station}"
    if account.role is Role.DEVICE:
        if account.device is None or account.kind is None:
            raise ValueError(f"device account {account.username!r} has no device or kind")
        own = f"{root}/{topics.check_id(account.kind, 'kind')}/{topics.check_id(account.device, 'device')}"
        return Acl(reads=(f"{own}/{Channel.SET}",), writes=tuple(f"{own}/{channel}" for channel in DEVICE_WRITES))
    if account.role is Role.BRIDGE:
        return Acl(
            reads=(f"{root}/#", discovery.STATUS_TOPIC),
            writes=(f"{root}/+/+/{Channel.SET}", f"{root}/+/+/{topics.TWIN}", f"{root}/bridge/#", f"{discovery.PREFIX}/device/#"),
        )
    return Acl(
        reads=(
            f"{root}/+/+/{topics.TWIN}",
            f"{root}/+/+/{Channel.STATE}",
            f"{root}/+/+/{Channel.AVAILABILITY}",
            topics.bridge_availability(station),
            topics.bridge_result(station),
            f"{discovery.PREFIX}/#",
        ),
        writes=(discovery.command_topic(station), discovery.STATUS_TOPIC),
    )


def station_acls(accounts: Iterable[BrokerAccount]) -> dict[str, Acl]:
    return {account.username: account_acl(account) for account in accounts}


# ---- the secret ---------------------------------------------------------------------


def new_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def write_secret(path: Path, secret: bytes | None = None) -> bytes:
    """Create the secret file (0600, one line of base64url); never overwrite one, since every password derives from it."""
    secret = new_secret() if secret is None else secret
    if len(secret) < SECRET_BYTES:
        raise ValueError(f"the station secret must be at least {SECRET_BYTES} bytes, not {len(secret)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BrokerSetupError(f"secret file {path}: it exists already; not overwritten") from None
    except OSError as exc:
        raise BrokerSetupError(f"secret file {path}: cannot create it ({exc.strerror or exc})") from None
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(base64.urlsafe_b64encode(secret).decode("ascii").rstrip("=") + "\n")
    return secret


def read_secret(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise BrokerSetupError(f"secret file {path}: not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not ASCII text"
        raise BrokerSetupError(f"secret file {path}: cannot read it ({why})") from None
    secret = b""
    if _BASE64URL.match(text):
        with contextlib.suppress(binascii.Error, ValueError):
            secret = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if len(secret) < SECRET_BYTES:
        raise BrokerSetupError(f"secret file {path}: expected one line of base64url holding at least {SECRET_BYTES} bytes")
    return secret


# ---- Mosquitto ----------------------------------------------------------------------


def mosquitto_hash(password: str, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS) -> str:
    """Mosquitto 2.0's password hash, ``$7$<iterations>$<base64 salt>$<base64 PBKDF2-HMAC-SHA512>``, as mosquitto_passwd writes it."""
    salt = secrets.token_bytes(PBKDF2_SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, PBKDF2_HASH_BYTES)
    return f"$7${iterations}${base64.b64encode(salt).decode('ascii')}${base64.b64encode(digest).decode('ascii')}"


@dataclass(frozen=True)
class MosquittoFiles:
    """The files of a Mosquitto for one station, and the accounts they admit."""

    folder: Path
    config: Path
    passwd: Path
    acl: Path
    accounts: dict[str, BrokerAccount] = field(repr=False)

    @property
    def command(self) -> str:
        return f"mosquitto -c {shlex.quote(str(self.config))}"


def mosquitto_files(
    folder: Path,
    station: str,
    devices: Mapping[str, str],
    secret: bytes,
    port: int,
    host: str = "127.0.0.1",
    tls: tuple[Path, Path, Path] | None = None,
    persistence: bool = True,
    user: str | None = None,
) -> MosquittoFiles:
    """Write ``mosquitto.conf``, ``passwd`` and ``acl`` for the station into ``folder`` (0700, files 0600).

    ``tls``: (certfile, keyfile, cafile) for a TLS listener. ``user``: the account Mosquitto runs as, written as its
    ``user`` option; by default whoever runs this. Started as root, Mosquitto otherwise drops to the ``mosquitto``
    account, which cannot read files only their owner may read; so they are handed to ``user`` if that is someone else
    (only root can).
    """
    accounts = station_accounts(station, devices, secret)
    if not 1 <= port <= 65535:
        raise BrokerSetupError(f"port {port}: not a port from 1 to 65535")
    if not host or any(c.isspace() or c == "#" for c in host):
        raise BrokerSetupError(f"host {host!r}: not an address Mosquitto can listen on")
    folder = folder.resolve()
    owner = _owner(user)
    tls_files = tuple(_existing(option, path) for option, path in zip(TLS_OPTIONS, tls, strict=True)) if tls else ()
    for name, path in (("folder", folder), *zip(TLS_OPTIONS, tls_files, strict=False)):
        if str(path) != str(path).strip() or any(c in str(path) for c in "\r\n"):  # each option is the rest of one line, trimmed
            raise BrokerSetupError(f"{name} {path!r}: Mosquitto's configuration cannot hold a path ending in a space or with a line break")
    files = MosquittoFiles(folder, folder / "mosquitto.conf", folder / "passwd", folder / "acl", accounts)
    try:
        _private_folder(folder)
        data = folder / "data"
        if persistence:
            _private_folder(data)
        write_private(files.passwd, "".join(f"{a.username}:{mosquitto_hash(a.password)}\n" for a in accounts.values()))
        write_private(files.acl, _acl_text(station, accounts.values()))
        write_private(files.config, _config_text(station, files, owner, port, host, tls_files, data if persistence else None))
        if owner is not None and owner.pw_uid != os.geteuid():
            for path in (folder, files.config, files.passwd, files.acl, *([data] if persistence else [])):
                os.chown(path, owner.pw_uid, owner.pw_gid)
    except OSError as exc:
        raise BrokerSetupError(f"{exc.filename or folder}: cannot write there ({exc.strerror or exc})") from None
    return files


def _owner(user: str | None) -> pwd.struct_passwd | None:
    """The account Mosquitto is to run as; None: this process's, which has no name (a container's bare uid)."""
    try:
        owner = pwd.getpwuid(os.geteuid()) if user is None else pwd.getpwnam(user)
    except KeyError:
        if user is None:
            return None
        raise BrokerSetupError(f"user {user!r}: no such account") from None
    if owner.pw_uid != os.geteuid() and os.geteuid() != 0:
        raise BrokerSetupError(f"user {user!r}: only root can hand the broker's files to another account")
    return owner


def _existing(option: str, path: Path) -> Path:
    if not path.is_file():
        raise BrokerSetupError(f"TLS {option} {path}: not found")
    return path.resolve()


def _config_text(
    station: str, files: MosquittoFiles, owner: pwd.struct_passwd | None, port: int, host: str, tls: tuple[Path, ...], data: Path | None
) -> str:
    lines = [
        f"# Mosquitto for station {station}, written by `yxy broker config`; run: {files.command}",
        f"# Accounts and rights: {files.passwd.name} and {files.acl.name} (hardware_bridge/security.py).",
        *([f"user {owner.pw_name}"] if owner else []),
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {files.passwd}",
        f"acl_file {files.acl}",
        f"persistence {'true' if data else 'false'}",
        *([f"persistence_location {data}/"] if data else []),
        f"listener {port} {host}",
    ]
    if tls:
        certfile, keyfile, cafile = tls
        lines += [f"certfile {certfile}", f"keyfile {keyfile}", f"cafile {cafile}", "tls_version tlsv1.2"]
    return "\n".join(lines) + "\n"


def _acl_text(station: str, accounts: Iterable[BrokerAccount]) -> str:
    lines = [f"# Who may read and write what at station {station}; written by `yxy broker config` from hardware_bridge/security.py."]
    for account in accounts:
        acl = account_acl(account)
        lines += ["", f"user {account.username}"]
        lines += [f"topic read {topic_filter}" for topic_filter in acl.reads]
        lines += [f"topic write {topic_filter}" for topic_filter in acl.writes]
    return "\n".join(lines) + "\n"


def _private_folder(folder: Path) -> None:
    existed = folder.is_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not existed:
        folder.chmod(0o700)  # mkdir's mode is cut by the umask


def write_private(path: Path, content: str | bytes) -> None:
    """Replace ``path`` at once with a file only its owner may read, through a temporary file of its own: a running
    Mosquitto reloading on SIGHUP, or a custodian's page reading a camera's evidence, never sees half a file, and two
    writers never share a temporary file."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mkstemp makes it 0600
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content.encode("utf-8") if isinstance(content, str) else content)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
