"""A paho-mqtt client set up the way the station needs it.

MQTT 5 or 3.1.1, TLS, username and password, a persistent session (clean start
off, a session expiry on MQTT 5), reconnect with exponential backoff (paho's own
loop, 1 s doubling to 60 s), subscriptions renewed on every connect, and a last
will.  paho calls back on its network thread; the handler it is given must only
hand the message on (the bridge puts it on a queue).
"""

from __future__ import annotations

import logging
import math
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hardware_bridge.errors import BrokerConfigError

logger = logging.getLogger(__name__)

Handler = Callable[[str, bytes, bool], None]
"""(topic, payload, retained)"""


def no_delay(_client: paho.Client, _userdata: object, sock: object) -> None:
    """Small packets go out at once: with Nagle's algorithm a command published right after an acknowledgement waited
    for the broker's delayed ACK, 40 ms on Linux (bench/door.py: a door's scan-to-open p50 was 41 ms, all of it that)."""
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


@dataclass(frozen=True)
class BrokerConfig:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_certs: str | None = None
    protocol: str = "5"
    """"5" or "3.1.1"."""
    keepalive_s: int = 30
    session_expiry_s: int = 3600

    @classmethod
    def from_url(cls, url: str) -> BrokerConfig:
        """``mqtt://user:pass@host:1883?protocol=3.1.1``; ``mqtts://`` for TLS (``ca=`` a CA file)."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts"):
            raise BrokerConfigError(f"--mqtt {url!r}: write mqtt://host:port or mqtts://host:port")
        if not parts.hostname:
            raise BrokerConfigError(f"--mqtt {url!r}: no host")
        try:
            port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        except ValueError:
            raise BrokerConfigError(f"--mqtt {url!r}: the port is not a number from 1 to 65535") from None
        query = parse_qs(parts.query)
        protocol = query.get("protocol", ["5"])[0]
        if protocol not in ("5", "3.1.1"):
            raise BrokerConfigError(f"--mqtt {url!r}: protocol must be 5 or 3.1.1")
        return cls(
            host=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=parts.scheme == "mqtts",
            ca_certs=query.get("ca", [None])[0],
            protocol=protocol,
        )


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


class MqttClient:
    def __init__(
        self,
        config: BrokerConfig,
        client_id: str,
        handler: Handler,
        will: Will | None = None,
        on_connected: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self._handler = handler
        self._on_connected = on_connected
        self._subscriptions: dict[str, int] = {}
        self._connected = threading.Event()
        self.connects = 0
        v5 = config.protocol == "5"
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
            clean_session=None if v5 else False,
        )
        if config.username is not None:
            self._client.username_pw_set(config.username, config.password)
        if config.tls:
            self._client.tls_set(ca_certs=config.ca_certs, cert_reqs=ssl.CERT_REQUIRED)
        if will is not None:
            self._client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
        self._client.reconnect_delay_set(min_delay=1, max_delay=60)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_socket_open = no_delay

    def start(self) -> None:
        """Connect in the background; paho keeps reconnecting until ``close``."""
        properties = None
        if self.config.protocol == "5":
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = self.config.session_expiry_s
        self._client.connect_async(
            self.config.host,
            self.config.port,
            keepalive=self.config.keepalive_s,
            clean_start=False if self.config.protocol == "5" else paho.MQTT_CLEAN_START_FIRST_ONLY,
            properties=properties,
        )
        self._client.loop_start()

    def wait_connected(self, timeout_s: float) -> bool:
        return self._connected.wait(timeout_s)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        self._subscriptions[topic_filter] = qos
        if self.connected:
            self._client.subscribe(topic_filter, qos)

    def publish(
        self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False, expiry_s: float | None = None
    ) -> paho.MQTTMessageInfo:
        """``expiry_s``: on MQTT 5 the broker drops the message after that long (a device away gets no stale command)."""
        properties = None
        if expiry_s is not None and self.config.protocol == "5":
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.MessageExpiryInterval = max(1, math.ceil(expiry_s))
        return self._client.publish(topic, payload, qos=qos, retain=retain, properties=properties)

    def close(self, last_words: tuple[str, bytes] | None = None) -> None:
        """Disconnect cleanly; ``last_words`` is published first (a clean exit sends no will)."""
        if last_words is not None and self.connected:
            self._client.publish(last_words[0], last_words[1], qos=1, retain=True).wait_for_publish(2)
        self._client.disconnect()
        self._client.loop_stop()
        self._close_socket()
        self._connected.clear()

    def _close_socket(self) -> None:
        """Close what paho can leave open once its loop has stopped: an abandoned reconnect's socket
        and the socket pair that wakes its loop (paho 2.2 closes neither on ``loop_stop``)."""
        sock = self._client.socket()
        if sock is not None:
            sock.close()
        for name in ("_sockpairR", "_sockpairW"):
            pair = getattr(self._client, name, None)
            if pair is not None:
                pair.close()
                setattr(self._client, name, None)

    def abort(self) -> None:
        """Drop the connection without a DISCONNECT, as a crash or a power cut would: the broker sends the will."""
        self._client.loop_stop()
        self._close_socket()
        self._connected.clear()

    def _on_connect(self, client: paho.Client, _userdata: object, _flags: object, reason: object, _properties: object) -> None:
        if getattr(reason, "is_failure", False):
            logger.warning("MQTT connection to %s:%s refused: %s", self.config.host, self.config.port, reason)
            return
        self.connects += 1
        for topic_filter, qos in self._subscriptions.items():
            client.subscribe(topic_filter, qos)
        self._connected.set()
        if self._on_connected is not None:
            self._on_connected()
        logger.info("MQTT connected to %s:%s (connection %d)", self.config.host, self.config.port, self.connects)

    def _on_disconnect(self, _client: paho.Client, _userdata: object, _flags: object, reason: object, _properties: object) -> None:
        self._connected.clear()
        normal = not getattr(reason, "is_failure", True)
        logger.log(
            logging.INFO if normal else logging.WARNING, "MQTT disconnected from %s:%s: %s", self.config.host, self.config.port, reason
        )

    def _on_message(self, _client: paho.Client, _userdata: object, message: paho.MQTTMessage) -> None:
        try:
            self._handler(message.topic, bytes(message.payload), bool(message.retain))
        except Exception:  # an exception here would kill paho's network thread, and the connection with it
            logger.exception("MQTT handler failed on %s; carrying on", message.topic)
