"""An embedded MQTT broker (amqtt, MQTT 3.1.1), so ``yxy live`` needs nothing installed.

It runs its own asyncio loop on a thread.  For production, point ``--mqtt`` at a real
broker (Mosquitto, EMQX): amqtt speaks MQTT 3.1.1 only.

Given a station's accounts (hardware_bridge/security.py) it is secured like the
Mosquitto ``yxy broker config`` writes: anonymous clients and wrong passwords are
refused, and every publish, subscription and delivery is checked against the
account's `Acl`, the same rules Mosquitto reads from its ACL file.  Without accounts
it is open, as the tests and a bare ``yxy live`` on a laptop want.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.errors import MQTTError
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session
from amqtt.utils import gen_client_id

from hardware_bridge.security import Acl, BrokerAccount, account_acl

logger = logging.getLogger(__name__)


def _digest(password: str) -> bytes:
    return hashlib.sha256(password.encode()).digest()


class StationAccessPlugin(BaseAuthPlugin, BaseTopicPlugin):  # type: ignore[misc]
    """amqtt's authentication and topic check in one, over the station's accounts and `Acl` rules.

    Not amqtt's own FileAuthPlugin and TopicAccessControlListPlugin: the first wants a
    password file of Argon2 hashes, the second lets every publish through unless a
    publish list is given and keeps its own copy of the rules.  Here the rules are the
    ones Mosquitto gets, checked by the same code.

    amqtt publishes a client's will without any topic check, so a device could leave a
    forged command to another device as its will and drop the line; a will outside the
    account's writes is refused at CONNECT instead.  (Mosquitto 2.0 accepts the CONNECT
    and drops the will when it would be sent.)
    """

    @dataclass
    class Config:
        passwords: dict[str, bytes] = field(default_factory=dict)
        """username -> SHA-256 of its password: the clear password never reaches amqtt's config."""
        acls: dict[str, Any] = field(default_factory=dict)
        """username -> `Acl` (Any: amqtt checks plugin configs with dacite, which would rebuild the dataclass)."""

    async def authenticate(self, *, session: Session) -> bool:
        """Warnings, since a device refused over and over is what an installer has to find."""
        username = session.username
        if username is None:  # also every CONNECT `_SecuredBroker` refused already (and logged)
            self.context.logger.info("refused %s: no username", session.client_id)
            return False
        expected = self.config.passwords.get(username)
        if expected is None:
            self.context.logger.warning("refused %s: no account %r", session.client_id, username)
            return False
        if not hmac.compare_digest(_digest(session.password or ""), expected):
            self.context.logger.warning("refused %s: wrong password for %s", session.client_id, username)
            return False
        acl: Acl = self.config.acls[username]
        if session.will_flag and not acl.may_publish(session.will_topic or ""):
            self.context.logger.warning("refused %s: %s may not leave a will on %s", session.client_id, username, session.will_topic)
            return False
        return True

    async def topic_filtering(self, *, session: Session | None = None, topic: str | None = None, action: Action | None = None) -> bool:
        acl: Acl | None = self.config.acls.get(session.username) if session is not None and session.username else None
        if acl is None or not topic:
            return False
        if action == Action.PUBLISH:
            allowed = acl.may_publish(topic)
        elif action == Action.SUBSCRIBE:
            allowed = acl.may_subscribe(topic)
        else:
            allowed = acl.may_receive(topic)
        if not allowed:
            self.context.logger.info("denied %s %s on %s", session.username if session else None, action, topic)
        return allowed


class _SecuredBroker(Broker):  # type: ignore[misc]
    """amqtt's broker, authenticating a CONNECT before it may touch the session of the client id it names.

    amqtt 0.12.1 first deletes the session of that client id (clean session) or copies
    the CONNECT's will and credentials into it (persistent session), takes it over from
    the connected client, and only then authenticates.  So a client with no password
    that knows a device's client id could wipe the device's subscriptions, or plant a
    will in its session that the broker then publishes, unchecked, as the device drops:
    a forged command from nobody.  Here a refused CONNECT gets a client id of its own
    and neither will nor credentials before anything looks up sessions, so it reaches
    nothing but itself, and amqtt's own authentication, later, refuses it as anonymous.
    The rest of `_initialize_client_session` is amqtt's own.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._refused: set[str] = set()

    async def _initialize_client_session(
        self, reader: Any, writer: Any, remote_address: str, remote_port: int
    ) -> tuple[BrokerProtocolHandler, Session]:
        try:
            handler, session = await BrokerProtocolHandler.init_from_connect(reader, writer, self.plugins_manager)
        except MQTTError:
            logger.info("invalid CONNECT from %s:%s", remote_address, remote_port)
            await writer.close()
            raise
        if not await self._authenticate(session, None):
            session.client_id = f"refused-{gen_client_id()}"
            self._refused.add(session.client_id)
            session.clean_session = True
            session.will_flag = False
            session.username = session.password = None  # so amqtt's own authentication refuses it too
        if session.clean_session:
            if session.client_id:
                await self._delete_session(session.client_id)
            else:
                session.client_id = gen_client_id()
            session.parent = 0
        elif session.client_id in self._sessions:
            existing: Session = self._sessions[session.client_id][0]
            for name in ("will_flag", "will_message", "will_topic", "will_qos", "keep_alive", "username", "password"):
                setattr(existing, name, getattr(session, name))
            session = existing
            session.parent = 1
        else:
            session.parent = 0
        delay = self.config.get("timeout-disconnect-delay", 0)
        if session.keep_alive > 0 and isinstance(delay, int):
            session.keep_alive += delay
        return handler, session

    async def _handle_client_session(self, reader: Any, writer: Any, client_session: Session, *args: Any) -> None:
        try:
            await super()._handle_client_session(reader, writer, client_session, *args)
        finally:
            if client_session.client_id in self._refused:
                self._refused.discard(client_session.client_id)
                self._sessions.pop(client_session.client_id, None)  # amqtt would keep every refused session forever


class EmbeddedBroker:
    """``accounts``: by username (`station_accounts`); their rights are ``acls`` or else `account_acl` of each. None: open."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 1883,
        accounts: Mapping[str, BrokerAccount] | None = None,
        acls: Mapping[str, Acl] | None = None,
    ) -> None:
        if acls is not None and accounts is None:
            raise ValueError("ACL rules without accounts: every client would be anonymous, and anonymous ones are refused")
        self.host = host
        self.port = port
        self.secured = accounts is not None
        self._accounts = dict(accounts or {})
        self._acls = dict(acls) if acls is not None else {name: account_acl(account) for name, account in self._accounts.items()}
        if missing := sorted(set(self._accounts) - set(self._acls)):
            raise ValueError(f"no ACL rules for {', '.join(missing)}")
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="embedded-mqtt-broker", daemon=True)

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}?protocol=3.1.1"

    def start(self, timeout_s: float = 10.0) -> EmbeddedBroker:
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise RuntimeError(f"the embedded MQTT broker did not start on {self.host}:{self.port} within {timeout_s:g} s")
        if self._error is not None:
            raise RuntimeError(f"the embedded MQTT broker could not start on {self.host}:{self.port}: {self._error}")
        return self

    def stop(self) -> None:
        if self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())
        self._close_what_is_left()
        self._loop.close()

    def _close_what_is_left(self) -> None:
        """Connections amqtt was still closing when it shut down: finish them on the loop, so no transport outlives it."""
        left = [task for task in asyncio.all_tasks(self._loop) if not task.done()]
        for task in left:
            task.cancel()
        if left:
            self._loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())

    def _plugins(self) -> dict[str, dict[str, Any]]:
        if not self.secured:
            return {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}}
        passwords = {name: _digest(account.password) for name, account in self._accounts.items()}
        return {f"{__name__}.{StationAccessPlugin.__name__}": {"passwords": passwords, "acls": self._acls}}

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        config = {"listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}}, "plugins": self._plugins()}
        broker = _SecuredBroker(config) if self.secured else Broker(config)
        try:
            await broker.start()
        except BaseException as exc:  # reported to the starting thread, which raises it
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        logger.info("embedded MQTT broker listening on %s:%s%s", self.host, self.port, " (accounts and ACLs)" if self.secured else "")
        await self._stop.wait()
        await broker.shutdown()
