"""The smart door: who came in, who left, how many are inside now, and, where it checks, who may come in.

``DoorPolicy`` is the door as the station runs it live: each worker the real door
lets in becomes a ``Visitor`` actor, spawned through the port, until the door lets
them out.  ``Door`` is the simulated door, which the simulated workers pass through
and which counts them; it keeps the policy, so both worlds share one door.

A door with a ``capacity`` checks who comes in (``actors.door_access``): a member's
pass (``actors.door_pass``), a visitor's needs, how many are inside.  In a
simulation every worker asks it (``AtDoor``) and waits for the answer; one who finds
the station full waits at the door up to ``waits_when_full_s`` for someone to leave.
Each decision is recorded (``door_decided``) with its reason and the wait, which is
what the planner's door KPIs are made of.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import NamedTuple

from actors.actor import Device
from actors.bounds import CLOCK_HOUR, MOST_INSIDE, POSITIVE
from actors.door_access import AsVisitor, ByFace, ByPass, Decision, EntryRules, MemberStanding, Verdict, decide
from actors.door_pass import AcceptedPasses, Checked, Refusal, admit, check
from actors.message import (
    Actuate,
    Admitted,
    AtDoor,
    Denied,
    DeviceCommand,
    DeviceEvent,
    DoorLocked,
    Entered,
    Left,
    OccupancyChanged,
    PassesSpent,
    Register,
    Reported,
    VisitorAtDoor,
)
from actors.port import Port, Timer
from actors.visitor import Visitor
from twin.clock import Clock

WORKER_ENTERED = "worker_entered"
WORKER_LEFT = "worker_left"
DOOR_EVENTS = (WORKER_ENTERED, WORKER_LEFT)
"""What a door (and only a door) tells of the people passing it."""
DOOR_DECIDED = "door_decided"
"""The door's record of each decision (reason, admitted, how they asked, a visit key, the wait): the door log, the KPIs."""
PASS_SCANNED = "pass_scanned"
FACE_MATCHED = "face_matched"
FACE_ENROLLED = "face_enrolled"
"""The terminal made a template of a member's face (its own id for it): kept on record only while the consent holds."""
TERMINAL_EVENTS = (PASS_SCANNED, FACE_MATCHED, FACE_ENROLLED)
FACE_REFUSED = "face_template_refused"
"""The door told the terminal to delete a template made without consent on file (nothing of it is recorded)."""
"""What the door's terminal tells of someone asking to come in: the QR text it read, or the member its face match
found with the score (commercial terminals match faces themselves; the station never sees a face)."""


@dataclass(frozen=True, slots=True)
class DoorConfig:
    observers: tuple[str, ...] = ()
    """Actors told of every change in occupancy (air conditioning, lights)."""
    crowd: str | None = None
    """The actor whose workers come through this door (the population), told when it locks or unlocks."""
    most_inside: int = field(default=MOST_INSIDE, metadata=POSITIVE)
    """More people inside than this is a miscount (a door reporting 99999): refused, not shown."""
    unit_cost_cny: float = 0.0
    monthly_cost_cny: float = 0.0
    capacity: int | None = field(default=None, metadata={"ge": 1})
    """Set: the door checks who comes in, and holds it at this many inside (ASSUMPTION for Yunting: 40, its 40 m²)."""
    reserve: int = 2
    """Of the capacity, places only an emergency may take."""
    night_from_h: float = field(default=22.0, metadata=CLOCK_HOUR)
    night_to_h: float = field(default=6.0, metadata=CLOCK_HOUR)
    night_needs: tuple[str, ...] = ("toilet", "drink_water")
    """At night a visitor comes in for these without the custodian's approval."""
    face_min_score: float = 0.85
    waits_when_full_s: float = 600.0
    """How long a worker waits at a full door for someone to leave before going away."""

    def __post_init__(self) -> None:
        if self.capacity is not None:
            self.entry_rules()  # a reserve that leaves no room is the station file's mistake, said when it is read

    def entry_rules(self) -> EntryRules:
        """The door's rules; without a capacity it holds none but the miscount bound (live, passes are still checked)."""
        capacity, reserve = (self.capacity, self.reserve) if self.capacity is not None else (self.most_inside, 0)
        return EntryRules(capacity, reserve, self.night_from_h, self.night_to_h, frozenset(self.night_needs), self.face_min_score)

    def report_limits(self) -> dict[str, int]:
        return {"occupancy": self.most_inside}


CLOSED_KEPT_S = 3600.0
"""How long past its lapse a used or withdrawn ask stays closed at the door (the station re-tells only live asks)."""
MOST_ASKS = 200
"""Visitors' asks a door holds at once (the station keeps at most 20 waiting; ready ones lapse in minutes)."""
COUNT_SETTLES_S = 120.0
"""Someone who came in this recently is never taken to have left on the door's count (its report may predate them)."""
LET_THROUGH = DeviceCommand({"open": True}, "door", reason={"why": "admitted"}, audited=False)
"""The door's own reflex on a decision to admit: its record is ``door_decided``, not the audit log (which records who
may come in: the register's changes), so a member is not kept waiting for a database write."""
SIMULATED_STATION = "simulation"
SIMULATED_KEY = b"the simulated population's door passes"
"""Simulated passes are real ones under this key: the door checks them with the same code as the station's."""
GAVE_UP = "gave_up"
"""Why a worker who waited at a full door went away: a door_decided reason beside the Verdicts and Refusals."""


def simulated_epoch_s(clock: Clock, now: float) -> float:
    """A simulated moment as the Unix time a pass carries: the scenario's naive local time read as UTC, so the host's own
    zone (and its daylight saving) never shifts a pass's age."""
    return clock.datetime_at(now).replace(tzinfo=UTC).timestamp()


class _EveryoneActive(Mapping[int, MemberStanding]):
    """A simulation's registry: every member in good standing (a planner measures the door, not the bans)."""

    def __getitem__(self, member: int) -> MemberStanding:
        return MemberStanding(member)

    def __iter__(self) -> Iterator[int]:
        return iter(())

    def __len__(self) -> int:
        return 0


EVERYONE_ACTIVE = _EveryoneActive()


class _Waiting(NamedTuple):
    group: str
    shows: ByPass | AsVisitor
    checked: Checked | None
    since: float
    timer: Timer


class _GaveUp(NamedTuple):
    worker: str


def visitor_id(worker: str) -> str:
    return f"visitor:{worker}"


class DoorPolicy(Device):
    kind = "door"

    def __init__(self, actor_id: str, port: Port, config: DoorConfig) -> None:
        super().__init__(actor_id, port)
        self.config = config
        self.inside: dict[str, str] = {}
        """Workers the real door let in and has not let out: worker -> group."""
        self.rules = config.entry_rules()
        self.locked = False
        self.accepted = AcceptedPasses()
        self.register: Register | None = None
        """The pass key and the members' standings, from the live station; until they come, nobody is let in by pass."""
        self.reported_inside = 0
        """The door's own count of people inside, as it last reported it (live)."""
        self.asks: dict[int, VisitorAtDoor] = {}
        """Visitors' asks the station told of, by number, until their pass is scanned here or they lapse."""
        self.closed: dict[int, float] = {}
        """Asks used or withdrawn, until well past when they would have lapsed: never opened again."""
        self.entered_at: dict[str, float] = {}

    def receive(self, message: object) -> None:
        if isinstance(message, DeviceEvent) and message.event in DOOR_EVENTS:
            self._passed(message.event, str(message.data["worker"]), str(message.data["group"]))
        elif isinstance(message, DeviceEvent) and message.event == FACE_ENROLLED:
            self._face_enrolled(int(message.data["member"]), str(message.data["template"]))
        elif isinstance(message, DeviceEvent) and message.event in TERMINAL_EVENTS:
            self._asked(message.event, message.data)
        elif isinstance(message, VisitorAtDoor):
            self._visitor(message)
        elif isinstance(message, PassesSpent):
            epoch_s = (self.register.epoch_at_zero_s if self.register is not None else 0.0) + self.port.now()
            self.accepted.spent(message.spent, epoch_s)
        elif isinstance(message, Register):
            self.register = message
        elif isinstance(message, Actuate) and "forget_face" in message.fields:
            # A simulated terminal holds no faces; what is left of the command is the door's state as usual.
            rest = {k: v for k, v in message.fields.items() if k != "forget_face"}
            if rest:
                self.receive(Actuate(rest))
        else:
            if isinstance(message, Reported | Actuate) and "locked" in message.fields:
                self.locked = bool(message.fields["locked"])
            if isinstance(message, Reported) and isinstance(message.fields.get("occupancy"), int):
                self._counted_inside(int(message.fields["occupancy"]))
            super().receive(message)

    @property
    def occupied(self) -> int:
        """How many are inside for the capacity rule: those seen coming in and not going out, or the door's own count
        if it says more (someone slipped in behind another)."""
        return max(len(self.inside), self.reported_inside)

    def _counted_inside(self, occupancy: int) -> None:
        """The door's own count: a leaving it never told (a lost message, a restart) would otherwise keep a place taken
        for ever and turn people away from a half-empty room; the longest inside are taken to have left."""
        self.reported_inside = max(occupancy, 0)
        settled = self.port.now() - COUNT_SETTLES_S  # a report may be older than the last entries it does not count yet
        while len(self.inside) > self.reported_inside:
            worker = next(iter(self.inside))
            if self.entered_at.get(worker, settled) > settled:
                return
            self._gone(worker)

    def _asked(self, event: str, data: object) -> None:
        """Someone at the real door: decide, let them through (``open``), and record why either way."""
        assert isinstance(data, Mapping)
        via = "pass" if event == PASS_SCANNED else "face"
        if self.register is None:
            self._decided(Refusal.BUSY.value, False, None, via)
            return
        now = self.port.now()
        epoch_s = self.register.epoch_at_zero_s + now
        checked: Checked | None = None
        entrant: ByPass | ByFace | AsVisitor
        asked: VisitorAtDoor | None = None
        if event == PASS_SCANNED:
            result = check(self.register.key, self.register.station, str(data["text"]), epoch_s, self.accepted)
            if isinstance(result, Checked) and result.visitor:
                via, asked = "visitor", self.asks.get(result.member)
                if asked is None or asked.until_s <= epoch_s:
                    result = Refusal.NO_SUCH_ASK
            if not isinstance(result, Checked):
                self._decided(result.value, False, None, via)
                return
            checked = result
            entrant = ByPass(result.member) if asked is None else AsVisitor(asked.needs, asked.approved)
        else:
            entrant = ByFace(int(data["member"]), float(data["score"]))
        hour = self.port.clock.hour_of_day(now)
        decision = decide(self.rules, entrant, self.register.members, self.occupied, self.locked, epoch_s, hour)
        spent = None
        if decision.admitted:
            if checked is not None:
                admit(checked, self.accepted)
                spent = {checked.spent: checked.expires_s}
            if asked is not None:
                self._close(asked.ask, asked.until_s + CLOSED_KEPT_S)  # one entry an ask
            self.port.actuate(LET_THROUGH.fields, LET_THROUGH)
        visit, ask = (asked.visit, asked.ask) if asked is not None else (None, None)
        self._decided(decision.verdict.value, decision.admitted, decision.member, via, visit=visit, ask=ask, spent=spent)

    def _face_enrolled(self, member: int, template: str) -> None:
        """A template made without a consent on file (or before the door knows the register) is deleted at once: the
        terminal is told to forget it. With consent, the station keeps the template's id (``face_enrolled``)."""
        register = self.register
        standing = register.members.get(member) if register is not None else None
        kept = standing is not None and bool(standing.face_consent)
        if not kept:
            forget = DeviceCommand({"forget_face": member}, "door", reason={"why": "no_face_consent"}, audited=False)
            self.port.actuate(forget.fields, forget)
        if kept:  # an unconsented template's id is not kept anywhere, not even in the history
            self.port.record(FACE_ENROLLED, {"visit": standing.visit if standing is not None else None, "template": template})
        else:
            self.port.record(FACE_REFUSED, {"reason": Verdict.NO_FACE_CONSENT.value})

    def _visitor(self, message: VisitorAtDoor) -> None:
        """A visitor's ask to hold until their pass is scanned here (or withdrawn); the oldest go first past ``MOST_ASKS``.
        An ask that has let someone in, or was withdrawn, is closed here for good: told again (the station's round re-tells
        ready asks it has not yet heard were used), it stays closed, so its other passes open nothing."""
        self.asks.pop(message.ask, None)
        epoch_s = (self.register.epoch_at_zero_s if self.register is not None else 0.0) + self.port.now()
        self.closed = {ask: until for ask, until in self.closed.items() if until > epoch_s}
        if message.until_s <= epoch_s:
            self._close(message.ask, epoch_s + CLOSED_KEPT_S)
        elif message.ask not in self.closed:
            self.asks[message.ask] = message
            while len(self.asks) > MOST_ASKS:
                self.asks.pop(next(iter(self.asks)))

    def _close(self, ask: int, until_s: float) -> None:
        self.asks.pop(ask, None)
        self.closed[ask] = until_s
        while len(self.closed) > MOST_ASKS * 10:
            self.closed.pop(next(iter(self.closed)))

    def _decided(
        self, reason: str, admitted: bool, member: int | None, via: str,
        visit: str | None = None, ask: int | None = None, spent: dict[str, float] | None = None,
    ) -> None:  # fmt: skip
        """The door log's line: a person by visit key only (the web shows officers a member's name while they exist);
        the visitor's ask it answers; the pass it took (``spent``: for the station's other doors, and a restart)."""
        if member is not None and self.register is not None:
            standing = self.register.members.get(member)
            visit = standing.visit if standing is not None else None
        record: dict[str, object] = {"reason": reason, "admitted": admitted, "visit": visit, "via": via, "waited_s": 0.0}
        if ask is not None:
            record["ask"] = ask
        if spent is not None:
            record["spent"] = spent
        self.port.record(DOOR_DECIDED, record)

    def _passed(self, event: str, worker: str, group: str) -> None:
        """A second scan of someone inside, or a leaving never seen coming in (the station restarted), changes nothing."""
        if event == WORKER_ENTERED and worker not in self.inside:
            self.inside[worker] = group
            self.entered_at[worker] = self.port.now()
            self.port.spawn(Visitor, visitor_id(worker), group)
        elif event == WORKER_LEFT and worker in self.inside:
            self._gone(worker)

    def _gone(self, worker: str) -> None:
        self.entered_at.pop(worker, None)
        self.port.send(visitor_id(worker), Left(worker, self.inside.pop(worker)))


class Door(DoorPolicy):
    """The simulated door: counts the simulated workers who pass it and tells its observers; with a capacity, decides."""

    def __init__(self, actor_id: str, port: Port, config: DoorConfig) -> None:
        super().__init__(actor_id, port, config)
        self.entries = 0
        self.exits = 0
        self.waiting: dict[str, _Waiting] = {}
        """Workers at the full door, first come first in."""

    @property
    def occupancy(self) -> int:
        return self.entries - self.exits

    def start(self) -> None:
        self._publish()

    def receive(self, message: object) -> None:
        if isinstance(message, Actuate) and "locked" in message.fields:
            # A locked door lets nobody in: the crowd turns its arrivals away until it is unlocked (leaving stays free).
            super().receive(message)
            if self.waiting and not self.locked:
                self._let_in_waiting()  # unlocked with people at the door
            if self.config.crowd is not None:
                self.port.send(self.config.crowd, DoorLocked(bool(message.fields["locked"])))
            return
        if isinstance(message, AtDoor):
            self._at_door(message)
            return
        if isinstance(message, _GaveUp):
            self._gave_up(message.worker)
            return
        if isinstance(message, Entered):
            self.entries += 1
        elif isinstance(message, Left):
            self.exits += 1
        else:
            super().receive(message)
            return
        self._counted()
        if isinstance(message, Left) and self.waiting:
            self._let_in_waiting()

    def _counted(self) -> None:
        self._publish()
        for observer in self.config.observers:
            self.port.send(observer, OccupancyChanged(self.occupancy))

    def _decide(self, shows: ByPass | AsVisitor) -> Decision:
        now = self.port.now()
        return decide(self.rules, shows, EVERYONE_ACTIVE, self.occupancy, self.locked, now, self.port.clock.hour_of_day(now))

    def _at_door(self, message: AtDoor) -> None:
        checked = None
        shows = message.shows
        if isinstance(shows, str):
            epoch_s = simulated_epoch_s(self.port.clock, self.port.now())
            result = check(SIMULATED_KEY, SIMULATED_STATION, shows, epoch_s, self.accepted)
            if not isinstance(result, Checked):
                self._deny(message.worker, message.group, result.value, 0.0)
                return
            checked, shows = result, ByPass(result.member)
        assert isinstance(shows, ByPass | AsVisitor), "a simulated worker shows a pass or asks as a visitor"
        decision = self._decide(shows)
        if decision.admitted:
            self._admit(message.worker, message.group, decision.verdict, checked, 0.0)
        elif decision.verdict is Verdict.FULL and not self.locked:
            timer = self.port.timer(self.config.waits_when_full_s, _GaveUp(message.worker))
            self.waiting[message.worker] = _Waiting(message.group, shows, checked, self.port.now(), timer)
        else:
            self._deny(message.worker, message.group, decision.verdict.value, 0.0)

    def _let_in_waiting(self) -> None:
        for worker, waiting in list(self.waiting.items()):
            decision = self._decide(waiting.shows)
            if decision.verdict is Verdict.FULL:
                return  # still full: the first in line goes first, nobody passes them
            del self.waiting[worker]
            waiting.timer.cancel()
            waited_s = self.port.now() - waiting.since
            if decision.admitted:
                self._admit(worker, waiting.group, decision.verdict, waiting.checked, waited_s)
            else:  # the rules changed while they waited (the night ended, the door was locked): told, and the line moves
                self._deny(worker, waiting.group, decision.verdict.value, waited_s)

    def _gave_up(self, worker: str) -> None:
        waiting = self.waiting.pop(worker, None)
        if waiting is not None:
            self._deny(worker, waiting.group, GAVE_UP, self.port.now() - waiting.since)

    def _admit(self, worker: str, group: str, verdict: Verdict, checked: Checked | None, waited_s: float) -> None:
        if checked is not None:
            admit(checked, self.accepted)
        self.port.record(DOOR_DECIDED, {"group": group, "reason": verdict.value, "admitted": True, "waited_s": waited_s})
        self.entries += 1
        self._counted()
        self.port.send(worker, Admitted())

    def _deny(self, worker: str, group: str, reason: str, waited_s: float) -> None:
        self.port.record(DOOR_DECIDED, {"group": group, "reason": reason, "admitted": False, "waited_s": waited_s})
        self.port.send(worker, Denied(reason))

    def _publish(self) -> None:
        self.port.publish({"occupancy": self.occupancy, "entries": self.entries, "exits": self.exits})
