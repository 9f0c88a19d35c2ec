"""The live door end to end: a door terminal scans a member's pass over MQTT, the door decides and opens.

The station runs as live (its embedded broker with an account per device, or
Mosquitto), with members in its database; a scripted terminal speaks for the door
with the door's own account.  What a member's phone shows is a pass issued with the
station's door key (actors/door_pass.py); the door lets them through with an ``open``
command within a second, once, and records every decision (``door_decided``) with its
reason and no name or phone.
"""

from __future__ import annotations

import functools
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from actors.door_access import Standing
from actors.door_pass import issue, spent_key
from hardware_bridge import payloads, topics
from hardware_bridge.emulator import EmulatedDevice
from hardware_bridge.loop import Incoming
from hardware_bridge.mqtt import BrokerConfig
from hardware_bridge.topics import Channel
from scenarios.schema import load_scenario
from station.live import LiveStation
from station.settings import Settings
from store.audit import AuditLog, load_or_create_key
from store.db import sessions
from store.members import Actor, Members, door_key
from store.models import AuditEntry, Member
from tests.conftest import IN_CI, LIBRARY
from tests.hardware_bridge.conftest import MOSQUITTO, free_port, reachable, wait_for
from twin.entity import Twin
from twin.feed import Change

OFFICER = Actor("officer", "admin", "127.0.0.1")


class Door:
    """The station, its members, a terminal speaking for the door, and every decision the door recorded."""

    def __init__(self, station: LiveStation, terminal: EmulatedDevice, key: bytes, members: dict[str, int]) -> None:
        self.station, self.terminal, self.key, self.members = station, terminal, key, members
        self.decisions: list[dict[str, Any]] = []
        self.visit_keys: dict[str, str | None] = {}
        assert station.bridge is not None
        self.bridge = station.bridge
        self.bridge.twin.subscribe(self._heard, names=["door_decided"])

    def _heard(self, change: Change) -> None:
        self.decisions.append(dict(change.data))

    def pass_for(self, member: int, issued_s: float | None = None, station: str | None = None) -> str:
        issued = time.time() if issued_s is None else issued_s
        return issue(self.key, station or self.station.station.id, member, issued, secrets.token_urlsafe(12))

    def ask(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        """Tell the door what the terminal saw; the decision it recorded."""
        heard = len(self.decisions)
        self.terminal.event(event, data)
        wait_for(lambda: len(self.decisions) > heard, timeout_s=10, what=f"the door's decision on {event}")
        return self.decisions[heard]

    def opened(self) -> int:
        return sum(1 for c in self.bridge.read(lambda t: list(t.commands.values())) if c.entity_id == "door" and c.fields.get("open"))


@pytest.fixture(params=["embedded", "mosquitto"])
def door(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Door]:
    station_id = f"t{uuid.uuid4().hex[:10]}"
    scenario = load_scenario(LIBRARY / "typical_week_door.toml", [f"station.id={station_id}"])
    key_file = tmp_path / "audit.key"
    options = Settings(broker_port=free_port(), database_url=f"sqlite:///{tmp_path / 'live.db'}", audit_key_file=str(key_file))
    if request.param == "mosquitto":
        if not reachable(*MOSQUITTO):
            if IN_CI:
                raise AssertionError("Mosquitto is required in CI and is not listening on 127.0.0.1:1883")
            pytest.skip("Mosquitto is not listening on 127.0.0.1:1883")
        options = options.model_copy(update={"mqtt_url": f"mqtt://{MOSQUITTO[0]}:{MOSQUITTO[1]}"})
    station = LiveStation(scenario.station, options).start()
    register = Members(AuditLog(key_file), load_or_create_key(key_file))
    with sessions(station.db).begin() as db:
        kept = register.enrol(db, OFFICER, {"name": "王小明", "phone": "13800138000", "face_consent": "是",
                                            "face_consent_on": "2026-01-05", "face_consent_scope": "门禁"})  # fmt: skip
        banned = register.enrol(db, OFFICER, {"name": "李四", "phone": "13900139000"})
        register.set_status(db, OFFICER, banned.id, Standing.BANNED, "fought at the door")
    station.brief_doors()
    broker = BrokerConfig.from_url(station.broker.url) if station.broker is not None else BrokerConfig(*MOSQUITTO)
    terminal = EmulatedDevice(station_id, "door", "door", station.device_broker("door") if station.broker else broker).start()
    try:
        # The terminal heard by the station before it is asked anything: on a loaded machine its first event could
        # otherwise race its connection (CI once waited 10 s for the first decision).
        bridge = station.bridge
        assert bridge is not None
        wait_for(lambda: bridge.read(lambda t: t.entity("door").available) is True, timeout_s=30, what="the door terminal online")
        door = Door(station, terminal, door_key(load_or_create_key(key_file)), {"kept": kept.id, "banned": banned.id})
        door.visit_keys = {"kept": kept.visit_key, "banned": banned.visit_key}
        yield door
    finally:
        terminal.stop()
        station.stop()


def test_a_members_pass_opens_the_door_within_a_second_and_only_once(door: Door) -> None:
    text = door.pass_for(door.members["kept"])
    started = time.monotonic()
    decision = door.ask("pass_scanned", {"text": text})
    # The log links the member by visit key (the register's), never by number, name or phone.
    spent = decision.pop("spent")  # the pass it took, by a digest of its nonce: no part of the pass is kept
    assert decision == {"reason": "member", "admitted": True, "visit": door.visit_keys["kept"], "via": "pass", "waited_s": 0.0}
    assert list(spent) == [spent_key(text.split(".")[4])] and text.split(".")[4] not in str(spent)
    wait_for(lambda: door.terminal.state.get("open") is True, timeout_s=5, what="the door to be told to open")
    # The issue's second is measured by bench/door.py (p99 61 ms); here only that it is not lost on a loaded machine.
    assert time.monotonic() - started < 3.0, "the lock obeys at once"
    assert door.ask("pass_scanned", {"text": text})["reason"] == "replayed"  # the same QR shown again
    assert door.opened() == 1


def test_forged_expired_foreign_and_banned_passes_never_open_it(door: Door) -> None:
    kept = door.members["kept"]
    text = door.pass_for(kept)
    forged = text[:-2] + ("AA" if not text.endswith("AA") else "BB")
    cases = {
        "forged": forged,
        "expired": door.pass_for(kept, issued_s=time.time() - 120),
        "not_yet_valid": door.pass_for(kept, issued_s=time.time() + 120),
        "other_station": door.pass_for(kept, station="elsewhere"),
        "banned": door.pass_for(door.members["banned"]),
        "unknown_member": door.pass_for(99_999),
        "malformed": "https://example.com/not-a-pass",
    }
    for reason, scanned in cases.items():
        decision = door.ask("pass_scanned", {"text": scanned})
        assert (decision["reason"], decision["admitted"]) == (reason, False), reason
    assert door.opened() == 0
    # No name or phone in the door log: the members' whole phones and any 7 digits of them (a bare "138" also turns up
    # in the random visit keys and digests the log does hold, one run in a few hundred).
    phones = ("13800138000", "13900139000")
    pieces = {phone[i : i + 7] for phone in phones for i in range(len(phone) - 6)}
    assert not any("王" in str(d) or "李" in str(d) or any(piece in str(d) for piece in pieces) for d in door.decisions)


def test_a_face_match_opens_only_with_consent_and_a_sure_score(door: Door) -> None:
    kept, banned = door.members["kept"], door.members["banned"]
    assert door.ask("face_matched", {"member": kept, "score": 0.5})["reason"] == "face_not_sure"
    assert door.ask("face_matched", {"member": banned, "score": 0.99})["reason"] == "banned"
    assert door.ask("face_matched", {"member": kept, "score": 0.97})["reason"] == "member"
    wait_for(lambda: door.opened() == 1, timeout_s=5, what="the door to open for the face")


def test_a_ban_reaches_the_door_when_the_register_is_told_again(door: Door, tmp_path: Path) -> None:
    assert door.ask("pass_scanned", {"text": door.pass_for(door.members["kept"])})["admitted"]
    register = Members(AuditLog(tmp_path / "audit.key"), load_or_create_key(tmp_path / "audit.key"))
    with sessions(door.station.db).begin() as db:
        register.set_status(db, OFFICER, door.members["kept"], Standing.BANNED, "a second fight")
    door.station.brief_doors()
    assert door.ask("pass_scanned", {"text": door.pass_for(door.members["kept"])})["reason"] == "banned"


def test_what_a_terminal_may_not_say_is_refused_and_counted(door: Door) -> None:
    bridge = door.bridge
    before = sum(bridge.rejected.values())
    door.terminal.event("pass_scanned", {"text": "Y" * 5_000})
    door.terminal.event("face_matched", {"member": "王小明", "score": 0.99})
    door.terminal.event("face_matched", {"member": 1, "score": 7})
    wait_for(lambda: sum(bridge.rejected.values()) >= before + 3, timeout_s=10, what="three refusals")
    # Found in review: a face match queued while the bridge was away must not open the door, nor one the broker keeps
    # retained and hands over again at a reconnect (flagged retained then: handed to the loop as paho would).
    topic = topics.topic(door.station.station.id, "door", "door", Channel.EVENT)
    asked = {"member": door.members["kept"], "score": 0.99}
    door.terminal.mqtt.publish(topic, payloads.event_payload(time.time() - 60, "face_matched", asked), qos=1)
    bridge.loop.submit(Incoming(topic, payloads.event_payload(time.time(), "face_matched", asked), True, bridge.clock.now()))
    wait_for(lambda: sum(bridge.rejected.values()) >= before + 5, timeout_s=10, what="the late and the retained ask refused")
    assert door.decisions == [] and door.opened() == 0


def test_withdrawing_consent_stops_face_entry_at_once_and_the_terminal_forgets_the_face(door: Door, tmp_path: Path) -> None:
    kept = door.members["kept"]
    assert door.ask("face_matched", {"member": kept, "score": 0.97})["admitted"]
    register = Members(AuditLog(tmp_path / "audit.key"), load_or_create_key(tmp_path / "audit.key"))
    with sessions(door.station.db).begin() as db:
        register.change(db, OFFICER, kept, {"face_consent": "否", "face_consent_on": None, "face_consent_scope": None})
    (command,) = door.station.forget_face(kept, f"member:{kept}")
    assert door.ask("face_matched", {"member": kept, "score": 0.99})["reason"] == "no_face_consent"
    wait_for(lambda: {"forget_face": kept} in door.terminal.done, timeout_s=5, what="the terminal to be told to forget the face")

    def settled(twin: Twin) -> bool:
        return twin.commands[command].state.value == "acked" and "forget_face" not in twin.entity("door").desired

    wait_for(lambda: door.bridge.read(settled), timeout_s=5, what="the acknowledgement to settle the command")
    assert door.ask("pass_scanned", {"text": door.pass_for(kept)})["admitted"]  # the pass still works: only the face went


def fate(command: str, twin: Twin) -> str | None:
    """The command's state once the loop has taken it (it is queued first)."""
    return twin.commands[command].state.value if command in twin.commands else None


def test_a_terminal_away_when_asked_to_forget_a_face_is_asked_again_until_it_has(door: Door, tmp_path: Path) -> None:
    """Found in review: a forget_face sent once to a terminal that was off left the template on it."""
    from store.members import faces_to_forget

    kept, station = door.members["kept"], door.station
    door.terminal.stop()  # the terminal is away
    register = Members(AuditLog(tmp_path / "audit.key"), load_or_create_key(tmp_path / "audit.key"))
    with sessions(station.db).begin() as db:
        register.change(db, OFFICER, kept, {"face_consent": "否", "face_consent_on": None, "face_consent_scope": None})
    (first,) = station.forget_face(kept, "officer")
    wait_for(lambda: door.bridge.read(functools.partial(fate, first)) == "failed", timeout_s=15, what="no answer")
    back = EmulatedDevice(station.station.id, "door", "door", door.terminal.mqtt.config).start()  # it comes back

    def forgotten() -> bool:
        """A round of the station's asking (as its 30 s thread does): again while the last ask failed, then done."""
        station.forget_faces()
        with sessions(station.db)() as db:
            return faces_to_forget(db) == []

    try:
        wait_for(forgotten, timeout_s=30, what="the terminal back to be asked again and to acknowledge")
        assert {"forget_face": kept} in back.done
        assert station.forget_faces() == {}  # nothing more to send
    finally:
        back.stop()


def test_a_template_is_kept_by_id_with_consent_and_forgotten_at_once_without(door: Door, tmp_path: Path) -> None:
    kept, banned = door.members["kept"], door.members["banned"]  # the banned member never consented to face entry
    enrolled: list[tuple[str, dict[str, Any]]] = []
    door.bridge.twin.subscribe(
        lambda change: enrolled.append((change.name, dict(change.data))), names=["face_enrolled", "face_template_refused"]
    )
    door.terminal.event("face_enrolled", {"member": kept, "template": "T-0042"})
    door.terminal.event("face_enrolled", {"member": banned, "template": "T-0043"})
    wait_for(lambda: len(enrolled) == 2, timeout_s=10, what="the door to take both enrolments")
    assert enrolled == [
        ("face_enrolled", {"visit": door.visit_keys["kept"], "template": "T-0042"}),
        ("face_template_refused", {"reason": "no_face_consent"}),
    ], "an unconsented template's id is kept nowhere"
    wait_for(lambda: {"forget_face": banned} in door.terminal.done, timeout_s=5, what="the unconsented template deleted")
    assert {"forget_face": kept} not in door.terminal.done
    assert door.station.store_face_templates() == 1
    with sessions(door.station.db)() as db:
        templates = {m.id: m.face_template for m in db.scalars(select(Member))}
        audited = [e.action for e in db.scalars(select(AuditEntry).where(AuditEntry.target == f"member:{kept}"))]
    assert templates == {kept: "T-0042", banned: None} and "member_face_enrolled" in audited

    before = sum(door.bridge.rejected.values())
    for bad in ("", "x" * 65, "T 1", "模板", 7):  # not an id the contract allows: refused, the door never sees it
        door.terminal.event("face_enrolled", {"member": kept, "template": bad})
    wait_for(lambda: sum(door.bridge.rejected.values()) >= before + 5, timeout_s=10, what="five refusals")

    register = Members(AuditLog(tmp_path / "audit.key"), load_or_create_key(tmp_path / "audit.key"))
    with sessions(door.station.db).begin() as db:  # the consent goes: so does the template's id
        register.change(db, OFFICER, kept, {"face_consent": False, "face_consent_on": None, "face_consent_scope": None})
    with sessions(door.station.db)() as db:
        assert db.get(Member, kept).face_template is None  # type: ignore[union-attr]


def test_a_pass_is_one_time_at_every_door_of_the_station_and_across_a_restart(tmp_path: Path) -> None:
    """Two doors on the machine's Mosquitto (it outlives the station): a pass taken at one is refused at the other, and
    after the station restarts, at both."""
    if not reachable(*MOSQUITTO):
        if IN_CI:
            raise AssertionError("Mosquitto is required in CI and is not listening on 127.0.0.1:1883")
        pytest.skip("Mosquitto is not listening on 127.0.0.1:1883")
    station_id = f"t{uuid.uuid4().hex[:10]}"
    scenario = load_scenario(LIBRARY / "typical_week_door.toml", [f"station.id={station_id}", "devices.side.kind=door"])
    key_file = tmp_path / "audit.key"
    options = Settings(
        database_url=f"sqlite:///{tmp_path / 'live.db'}", audit_key_file=str(key_file), mqtt_url=f"mqtt://{MOSQUITTO[0]}:{MOSQUITTO[1]}"
    )
    broker = BrokerConfig(*MOSQUITTO)
    terminals = {d: EmulatedDevice(station_id, d, "door", broker).start() for d in ("door", "side")}
    key = door_key(load_or_create_key(key_file))
    try:
        station = LiveStation(scenario.station, options).start()
        with sessions(station.db).begin() as db:
            member = Members(AuditLog(key_file), load_or_create_key(key_file)).enrol(
                db, OFFICER, {"name": "王小明", "phone": "13800138000"}
            )
        station.brief_doors()
        doors = {d: Door(station, terminals[d], key, {"kept": member.id}) for d in terminals}
        first, second = (issue(key, station_id, member.id, time.time(), secrets.token_urlsafe(12)) for _ in range(2))
        assert doors["door"].ask("pass_scanned", {"text": first})["admitted"]
        wait_for(lambda: {"open": True} in terminals["door"].done, timeout_s=5, what="the front door to open")
        assert doors["side"].ask("pass_scanned", {"text": first})["reason"] == "replayed"  # a screenshot passed on
        assert doors["side"].ask("pass_scanned", {"text": second})["admitted"]
        station.stop()

        station = LiveStation(scenario.station, options).start()
        doors = {d: Door(station, terminals[d], key, {"kept": member.id}) for d in terminals}
        for name, text in (("door", first), ("side", first), ("door", second)):
            assert doors[name].ask("pass_scanned", {"text": text})["reason"] == "replayed", (name, text == first)
        station.stop()
    finally:
        for terminal in terminals.values():
            terminal.stop()
