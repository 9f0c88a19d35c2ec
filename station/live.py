"""The live station: broker, bridge, history, automations and (for demos and CI) emulated devices.

``yxy live`` and ``yxy serve`` compose this from one ``Settings``.  Without a broker URL
an embedded broker starts, so the whole thing runs on a bare machine; it is secured
like a real one (an account and an ACL per client, from the station's secret: the
file given, else one made for this run).  With ``emulate`` the station's devices are
emulated and driven by its simulated population in real time (or faster), each
signing in with its own account.  With ``placement = ray`` every actor lives in Ray
(started here, or the cluster at ``ray_address``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime, time, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from actors.automation import MANUAL_HOLD, ManualHolds
from actors.camera import CameraConfig
from actors.door import DOOR_DECIDED, FACE_ENROLLED
from actors.message import PassesSpent, Register
from actors.registry import DEVICE_KINDS
from actors.runtime import Placement
from actors.service_point import ServicePointConfig
from hardware_bridge.bridge import Bridge
from hardware_bridge.broker import EmbeddedBroker
from hardware_bridge.clock import emulated_clock, epoch_s, station_now, wall_clock
from hardware_bridge.emulator import Emulator
from hardware_bridge.mqtt import BrokerConfig
from hardware_bridge.security import (
    bridge_username,
    device_password,
    device_username,
    new_secret,
    read_secret,
    station_accounts,
    with_account,
)
from scenarios.schema import Scenario, Station
from station.cameras import CameraHosts
from station.ray import ray_session
from station.settings import Settings
from station.supplies import SupplyKeeper
from store import supplies as supply_stock
from store import visitors
from store.audit import AuditLog, key_file_for, load_or_create_key
from store.db import engine_for, migrate, sessions
from store.history import History, HistoryWriter
from store.ledger import Ledger, ensure_accounts, head_file_for
from store.members import door_key, face_enrolled, face_forgotten, faces_to_forget, standings
from store.models import VisitorAsk
from store.privacy import Periods, purge
from twin.clock import Clock
from twin.daybook import COUNTED_EVENTS, STATION_STOPPED, Daybook
from twin.entity import AVAILABILITY, Twin
from twin.feed import STATE
from vision.evidence import Evidence, evidence_folder_for

logger = logging.getLogger(__name__)
__version__ = version("yunxiaoyi")
LIVE_SEED = 0
"""The live actors' random streams: the station's policies draw nothing that matters, and a restart draws the same."""
DOOR_ANSWERS_KEPT = 1000
"""Door decisions on visitors' passes kept until the briefing round stores them on their asks."""
TEMPLATES_WAITING = 1000
"""Template ids reported and not yet stored, at most (a terminal enrolling faces in a loop is bounded too)."""
PASSES_LIVE = timedelta(seconds=60)
"""Longer than a pass lives at a door (30 s and 5 s of skew): what a restart reads back of the passes taken."""
PURGE_EVERY_S = 3600.0
"""How often personal data past its ``[privacy]`` period is forgotten (``store.privacy``)."""
BRIEF_DOORS_EVERY_S = 30.0
"""How often the doors are told the register again: a change made elsewhere (yxy members in another process) reaches
them within this; a change made through this station's web view is told at once (``brief_doors``)."""


class LiveStation:
    def __init__(self, station: Station, settings: Settings, demand: Scenario | None = None) -> None:
        """``demand`` (a scenario of this station) drives the emulated devices; emulating needs one."""
        if settings.emulate and demand is None:
            raise ValueError(f"{station.source}: emulating the devices needs a scenario (its workers drive them), not only a station")
        self.station = station
        self.demand = demand
        self.settings = settings
        self.broker: EmbeddedBroker | None = None
        self.emulator: Emulator | None = None
        self.devices = {d.id: d.kind for d in station.devices}
        self.doors = [device for device, kind in self.devices.items() if kind == "door"]
        """The station's doors that check who comes in: told the register, the spent passes, the visitors' asks."""
        self.zone = ZoneInfo(station.timezone)
        self.db = engine_for(settings.database_url)
        self.history = History(self.db, station.id)
        self.bridge: Bridge | None = None
        self.cameras: CameraHosts | None = None
        self.evidence = Evidence(evidence_folder_for(settings.database_url, settings.evidence_dir), settings.camera_evidence_days * 86400)
        """Cameras' incidents: blurred snapshots, keypoints, scores, the custodian's verdicts (``vision.evidence``)."""
        self._ray: AbstractContextManager[float] | None = None
        self._writer: HistoryWriter | None = None
        self._broker_config: BrokerConfig = BrokerConfig()
        self._secret: bytes | None = None
        self.daybook: Daybook | None = None
        self.holds = ManualHolds()
        """Devices a person's command holds against the automations; read under ``bridge.read``."""
        self.audit_log: AuditLog | None = None
        self.ledger: Ledger | None = None
        self.supplies: SupplyKeeper | None = None
        """The station's stock: devices' uses booked as consumption, and stock alarms kept in the alarm book."""
        """The union's books, with their head file beside the audit key."""
        self._door_key = b""
        self._station_key = b""
        self._briefing = threading.Event()
        self._briefing_lock = threading.Lock()
        self._door_answers: dict[int, dict[str, Any]] = {}
        """Visitor ask -> the door's decision on its pass (``door_decided``), heard on the feed, until stored."""
        self._door_answered = threading.Lock()
        self._visitors_told = threading.Lock()
        """Held while a visitor's ask is read and told to its door: the doors hear asks in the order they were committed."""
        self._templates: list[tuple[str, str]] = []
        """(visit key, template id) the terminals reported with consent on file, until stored (the briefing's round)."""
        self._templates_lock = threading.Lock()
        self._forgetting: dict[int, list[str]] = {}
        """Member -> the forget_face commands last sent for them, one per door (a restart sends them again)."""
        """Set when the station stops: the doors' briefing thread ends."""
        self.bridge_clock: Clock = wall_clock()
        self.station_time: Clock = self.bridge_clock
        """The station's date and hour (run seconds are the bridge's): the wall's, or an emulated crowd's."""

    def start(self) -> LiveStation:
        migrate(self.db)
        settings = self.settings
        key_file = key_file_for(settings.database_url, settings.audit_key_file)
        self.audit_log = AuditLog(key_file)
        self.ledger = Ledger(head_file_for(key_file))
        with sessions(self.db).begin() as db:
            ensure_accounts(db)  # the usual chart of accounts, once; an account already there is left as it is
        station_key = self._station_key = load_or_create_key(key_file)
        self._door_key = door_key(station_key)
        file = settings.broker_secret_file
        secret = read_secret(Path(file)) if file else (new_secret() if settings.mqtt_url is None else None)
        accounts = station_accounts(self.station.id, self.devices, secret) if secret is not None else None
        if settings.mqtt_url is None:
            self.broker = EmbeddedBroker(port=settings.broker_port, accounts=accounts).start()
            config = BrokerConfig.from_url(self.broker.url)
        else:
            config = BrokerConfig.from_url(settings.mqtt_url)
        self._broker_config, self._secret = config, secret
        bridge_config = with_account(config, accounts[bridge_username(self.station.id)]) if accounts else config
        clock = self.bridge_clock = wall_clock()
        self.station_time = self._station_time(clock)
        if settings.placement is Placement.RAY:
            self._ray = ray_session(settings.ray_address)
            self._ray.__enter__()
        actors = {d.id: (DEVICE_KINDS[d.kind].policy, d.config) for d in self.station.devices if d.kind in DEVICE_KINDS}
        bridge = Bridge(
            self.station.id, self.devices, bridge_config, clock,
            ack_timeout_s=settings.ack_timeout_s, report_interval_s=settings.report_interval_s,
            discovery=settings.discovery, names={d.id: d.label for d in self.station.devices}, version=__version__,
            actors=actors, placement=settings.placement, seed=LIVE_SEED,
            automations=self.station.automations, timezone=self.station.timezone, calendar=self.station_time,
            audit=self._audit_command,
        )  # fmt: skip
        bridge.twin.subscribe(lambda change: self.holds.observe(change.data), names=(MANUAL_HOLD,))
        bridge.twin.subscribe(lambda change: self._door_decided(change.entity_id, change.data), names=(DOOR_DECIDED,))
        bridge.twin.subscribe(lambda change: self._template_made(change.data), names=(FACE_ENROLLED,))
        retention_s = settings.retention_days * 86400
        writer = self._writer = HistoryWriter(self.db, self.station.id, clock, batch=200, retention_s=retention_s).start()
        bridge.twin.subscribe(writer)
        self.daybook = self._open_daybook(bridge, self.station_time)
        self.bridge = bridge.start()
        if settings.emulate:
            self._stock_the_demo()
        self.supplies = SupplyKeeper(self.station.supplies, sessions(self.db), bridge, self.station_time).start()
        self._passes_spent_before()  # before the register: until the doors know it, they let nobody in by pass
        try:
            self.purge_personal_data()  # before the doors hear the register: a lapsed consent opens nothing
        except Exception:  # the station starts all the same; the purge is tried again within the hour
            logger.exception("the purge of personal data past its period failed at start")
        self.brief_doors()
        self._visitor_outcomes_before()
        self._tell_ready_visitors()
        threading.Thread(target=self._keep_doors_briefed, name="doors-briefing", daemon=True).start()
        self._start_cameras()
        if settings.emulate and self.demand is not None:
            self.emulator = Emulator(self.demand, config, report_interval_s=settings.report_interval_s, secret=secret).start()
            now = self.station_time.datetime_at(clock.now()).astimezone(self.zone).replace(tzinfo=None)
            self.emulator.drive(speed=settings.speed, start=now)  # the crowd's clock is the station's, to the second
        return self

    def _stock_the_demo(self) -> None:
        """An emulated demo's shelves are full at its start (a real station's are what its first stocktake says)."""
        moment = datetime.now(UTC)
        with sessions(self.db).begin() as db:
            for supply in self.station.supplies:
                if not supply_stock.level(db, supply).counted:
                    supply_stock.move(db, self.station.supplies, supply.id, supply_stock.MoveKind.COUNTED, supply.restock_to, "emulator",
                                      moment, note="the demo's opening stock")  # fmt: skip

    def _start_cameras(self) -> None:
        """An agent per camera the station reads (one with a ``url``), each signing in with the camera's own account."""
        watched = {
            d.id: d.config for d in self.station.devices if d.kind == "camera" and isinstance(d.config, CameraConfig) and d.config.url
        }
        self.purge_camera_evidence()
        if watched:
            self.cameras = CameraHosts(self.station.id, watched, self.device_broker, self.evidence, self.settings.placement).start()

    def purge_camera_evidence(self) -> int:
        """Delete the cameras' incidents past the station's ``[privacy] camera_evidence`` period; how many went (one
        audit entry says how many, as the other purges' do)."""
        try:
            gone = self.evidence.purge(epoch_s())
        except OSError:
            logger.exception("the cameras' evidence past its period could not be purged; tried again within the hour")
            return 0
        if gone and self.audit_log is not None:
            with sessions(self.db).begin() as db:
                self.audit_log.append(
                    db, "station", "station", "camera_evidence_purged", self.station.id, None, {"incidents": gone}, "station"
                )
        return gone

    def brief_doors(self) -> None:
        """Tell every door the pass key, the station's id and each member's standing (no name, no phone)."""
        doors = self.doors
        if not doors or self.bridge is None:
            return
        # Read and handed over under one lock: the 30 s briefing and a web request's must not cross, or the doors could
        # keep the older register (a ban committed in between) until the next.
        with self._briefing_lock, sessions(self.db)() as db:
            members = standings(db)
            # The wall now, less the bridge's run seconds: a clock stepped since the start (NTP after boot) is followed.
            epoch_at_zero_s = epoch_s() - self.bridge_clock.now()
            self.bridge.tell(doors, Register(self._door_key, self.station.id, members, epoch_at_zero_s))

    def _passes_spent_before(self) -> None:
        """After a restart, the doors refuse the passes taken just before it (a pass lives 35 s at most): read from the
        history, where each admission recorded the pass it took by digest."""
        doors = self.doors
        if not doors or self.bridge is None:
            return
        now = datetime.now(UTC)
        spent: dict[str, float] = {}
        for row in self.history.events(now - PASSES_LIVE, now, names=[DOOR_DECIDED], limit=10_000):
            if isinstance(row.data.get("spent"), Mapping):
                spent.update(row.data["spent"])
        if spent:
            self.bridge.tell(doors, PassesSpent(spent))

    def tell_visitor(self, ask: int) -> None:
        """A visitor's ask was made ready or withdrawn (committed): its door hears the ask as the database now holds it.
        Read and sent under one lock, as the round's re-telling is, so an older "ready" never reaches the door after a
        newer withdrawal. Not waited for: the door decides when the visitor is at it."""
        with self._visitors_told, sessions(self.db)() as db:
            row = visitors.get(db, ask)
            if row is not None:
                self._tell_door(row)

    def _tell_door(self, row: VisitorAsk) -> None:
        doors = self.doors
        if doors and self.bridge is not None:
            self.bridge.tell([row.door if row.door in doors else doors[0]], visitors.at_door(row))

    def visitor_outcome(self, ask: int) -> dict[str, Any] | None:
        """What a door last decided on a visitor's pass for ``ask`` (``door_decided``), until the round stores it."""
        with self._door_answered:
            found = self._door_answers.get(ask)
            return None if found is None else dict(found)

    def store_visitor_outcomes(self) -> int:
        """Write what the doors decided on visitors' passes to their asks (the custodian's list says who came in)."""
        with self._door_answered:
            decided, self._door_answers = self._door_answers, {}
        if not decided:
            return 0
        try:
            with sessions(self.db).begin() as db:
                for ask, answer in decided.items():
                    row = visitors.get(db, ask)
                    if row is not None:
                        visitors.settle_by_door(row, answer, datetime.now(UTC))
        except Exception:
            with self._door_answered:  # the database away: kept for the next round
                self._door_answers = {**decided, **self._door_answers}
            raise
        return len(decided)

    def _tell_ready_visitors(self) -> None:
        """After a restart the doors hold no asks: the ready ones are told again each round (a door keeps an ask it has
        let someone in on closed, so telling it again opens nothing)."""
        with self._visitors_told, sessions(self.db)() as db:
            for row in visitors.ready(db, datetime.now(UTC)):
                self._tell_door(row)

    def _visitor_outcomes_before(self) -> None:
        """After a restart, what the doors decided on visitors' passes shortly before (the history's door log) is stored
        on the asks before they are told to the doors again."""
        now = datetime.now(UTC)
        for row in self.history.events(now - visitors.ASK_LIFE, now, names=[DOOR_DECIDED], limit=10_000):
            if isinstance(row.data.get("ask"), int):
                self._door_decided(row.entity_id, {**row.data, "spent": None})
        self.store_visitor_outcomes()

    def _door_decided(self, door: str, decided: Mapping[str, Any]) -> None:
        """In the loop: a door decided. The pass it took is told to the station's other doors (one-time station-wide);
        what it decided on a visitor's pass is kept (a bounded few) for their page and the next round."""
        spent = decided.get("spent")
        others = [device for device in self.doors if device != door]
        if isinstance(spent, Mapping) and others and self.bridge is not None:
            self.bridge.tell(others, PassesSpent(dict(spent)))
        ask = decided.get("ask")
        if not isinstance(ask, int):
            return
        with self._door_answered:
            while len(self._door_answers) >= DOOR_ANSWERS_KEPT:
                self._door_answers.pop(next(iter(self._door_answers)))
            self._door_answers[ask] = dict(decided)

    def _template_made(self, enrolled: Mapping[str, Any]) -> None:
        """In the loop: a terminal made a template the door kept (consent on file); stored at the next round."""
        if isinstance(enrolled.get("visit"), str) and isinstance(enrolled.get("template"), str):
            with self._templates_lock:
                if len(self._templates) < TEMPLATES_WAITING:
                    self._templates.append((str(enrolled["visit"]), str(enrolled["template"])))

    def store_face_templates(self) -> int:
        """Put the template ids the terminals reported on their members' rows (consent rechecked); returns how many."""
        with self._templates_lock:
            reported, self._templates = self._templates, []
        if not reported:
            return 0
        assert self.audit_log is not None
        try:
            with sessions(self.db).begin() as db:
                return sum(face_enrolled(db, self.audit_log, visit, template) is not None for visit, template in reported)
        except Exception:
            with self._templates_lock:  # the database away: kept for the next round, ahead of what came since
                self._templates = (reported + self._templates)[:TEMPLATES_WAITING]
            raise

    def forget_face(self, member: int, by: str) -> list[str]:
        """A member's face consent went (the register has asked, in the committed change): every door hears at once
        that they have none, and each door's terminal is told to delete the template now; returns the commands' ids."""
        self.brief_doors()
        return self.forget_faces(by).get(member, [])

    def forget_faces(self, by: str = "station") -> dict[int, list[str]]:
        """Tell every terminal to delete the templates the register asks to forget, until each has acknowledged: one
        away when asked (its command failed) is asked again at the next round. Returns the commands sent, by member."""
        doors = self.doors
        if not doors or self.bridge is None:
            return {}
        bridge = self.bridge
        sent: dict[int, list[str]] = {}
        with self._briefing_lock, sessions(self.db).begin() as db:
            for member in faces_to_forget(db):
                asked = self._forgetting.get(member, [])
                fates = bridge.read(functools.partial(_fates, asked))
                if asked and all(fate == "acked" for fate in fates):
                    face_forgotten(db, member)
                    self._forgetting.pop(member, None)
                elif not asked or any(fate in ("failed", None) for fate in fates):
                    sent[member] = self._forgetting[member] = [bridge.command(door, {"forget_face": member}, by) for door in doors]
        return sent

    def purge_personal_data(self) -> None:
        """Forget what is past the station's ``[privacy]`` periods: the door log, visitors' asks, lapsed face consents
        (whose faces the terminals are then told to forget at the next round)."""
        settings = self.settings
        periods = Periods(settings.door_log_days, settings.visitor_records_days, settings.face_consent_days)
        assert self.audit_log is not None
        done = purge(sessions(self.db), self.station.id, periods, self.audit_log, self._station_key, datetime.now(UTC))
        if done.consents_lapsed:  # the doors stop face entry for them at once, and the terminals forget the faces
            self.brief_doors()
            self.forget_faces()

    def _keep_doors_briefed(self) -> None:
        """Every 30 s the doors hear the register again (and faces to forget are asked for); every hour the purge runs."""
        rounds_per_purge = round(PURGE_EVERY_S / BRIEF_DOORS_EVERY_S)
        rounds = 0
        while not self._briefing.wait(BRIEF_DOORS_EVERY_S):
            rounds += 1
            tasks: list[Callable[[], object]] = [
                self.brief_doors, self.store_visitor_outcomes, self._tell_ready_visitors, self.forget_faces, self.store_face_templates,
            ]  # fmt: skip
            if rounds % rounds_per_purge == 0:
                tasks += [self.purge_personal_data, self.purge_camera_evidence]
            for task in tasks:  # each on its own: one failing (the database away) does not keep the others from the doors
                try:
                    task()
                except Exception:
                    logger.exception("%s failed; it is tried again at the next round", task.__name__)

    def _audit_command(self, by: str, device: str, fields: Mapping[str, Any], reason: Mapping[str, Any] | None, command: str) -> None:
        """The audit entry of a command the station sends itself (an automation's), committed before it goes out."""
        assert self.audit_log is not None
        after = {**fields, "command": command, **({"reason": dict(reason)} if reason else {})}
        with sessions(self.db).begin() as db:
            self.audit_log.append(db, by, "automation", "command", device, None, after, "station")

    def _station_time(self, clock: Clock) -> Clock:
        """What time it is at the station: the wall's, or in an emulated demo the crowd's (its start, at its speed)."""
        settings = self.settings
        if not settings.emulate or self.demand is None:
            return clock
        start = station_now(self.station.timezone) if settings.emulate_from_now else self.demand.start
        return emulated_clock(clock, start, self.station.timezone, settings.speed)

    @property
    def emulated(self) -> bool:
        """The station's time is an emulated crowd's, not the wall's (the page shows its clock)."""
        return self.station_time is not self.bridge_clock

    def device_broker(self, device: str) -> BrokerConfig:
        """How the real (or an emulated) ``device`` signs in to the station's broker: its own account, if secured."""
        config = self._broker_config
        if self._secret is None:
            return config
        return dataclasses.replace(
            config, username=device_username(self.station.id, device),
            password=device_password(self._secret, self.station.id, device),
        )  # fmt: skip

    @property
    def broker_address(self) -> str:
        """Where the bridge meets the devices, as an operator checks it: ``host:port``, and whether it is embedded."""
        config = self._broker_config
        return f"{config.host}:{config.port}" + (" (embedded)" if self.broker is not None else "")

    @property
    def history_backlog(self) -> int:
        return self._writer.backlog if self._writer is not None else 0

    def stop(self) -> None:
        self._briefing.set()
        if self.supplies is not None:
            self.supplies.stop()  # its last uses booked, and its alarms told, while the bridge still runs
        if self.cameras is not None:
            self.cameras.stop()
        if self.emulator is not None:
            self.emulator.stop()
        if self.bridge is not None:
            bridge = self.bridge
            with contextlib.suppress(TimeoutError):  # so the next start's day book knows until when the levels held
                bridge.call(lambda twin: twin.record(self.station.id, bridge.clock.now(), STATION_STOPPED, {}))
            bridge.stop()
        if self._writer is not None:
            self._writer.stop()  # the loop has stopped: what it buffered since the last flush is written now
        if self.broker is not None:
            self.broker.stop()
        if self._ray is not None:
            self._ray.__exit__(None, None, None)
        self.db.dispose()

    def _open_daybook(self, bridge: Bridge, clock: Clock) -> Daybook:
        """Today's book, with what the history holds of today replayed into it, then kept by the live feed.

        Dated by the station's ``clock``: an emulated crowd's day is its own, so its hours are
        not piled into the wall's few minutes, and the history (wall moments) is not replayed."""
        units = {d.id: d.config.units for d in self.station.devices if isinstance(d.config, ServicePointConfig)}
        now = clock.datetime_at(clock.now())
        book = Daybook(self.zone, units, now)
        last = midnight = datetime.combine(book.day, time(), self.zone)
        if not self.emulated:
            for at, entity_id, name, data in self.history.replay(midnight, now, (STATE, AVAILABILITY, *COUNTED_EVENTS)):
                book.observe(at, entity_id, name, data)
                last = at
        book.pause(last)  # the station stopped (or at least was last heard of) then: the time since was not observed
        bridge.twin.subscribe(lambda change: book.observe(clock.datetime_at(change.t), change.entity_id, change.name, change.data))
        return book


def _fates(commands: list[str], twin: Twin) -> list[str | None]:
    """Each command's state, or None for one the twin no longer holds (a restart, or forgotten)."""
    return [twin.commands[c].state.value if c in twin.commands else None for c in commands]
