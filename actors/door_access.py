"""Who the door lets in: one decision for the simulated door and the real one.

The door terminal says who is at the door (a member's pass or face, a visitor who
registered, a custodian opening it in an emergency); this module decides, with a
reason the door log and the KPIs keep.  The same function runs in a planner's
simulation (members and non-members by share, passes that fail, the capacity's
effect on waits) and live, so what the planner measured is what the station does.

Rules, in the order they are applied:
- a locked door lets nobody in (leaving is always free);
- a member must be in the registry and active (a ban holds until its expiry);
- by face only with consent on file and a terminal score at least ``face_min_score``;
- a visitor (not a member: a lost courier at 3 a.m.) needs the custodian's approval,
  except at night (``night_from_h`` to ``night_to_h``), when the toilet and water are
  theirs without asking;
- nobody but an emergency comes in once ``capacity - reserve`` are inside; an
  emergency may use the reserve, never more than ``capacity``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Standing(StrEnum):
    ACTIVE = "active"
    DEACTIVATED = "deactivated"
    BANNED = "banned"


class Verdict(StrEnum):
    """Why the door opened or stayed shut (the catalog says each as ``door.<value>``)."""

    MEMBER = "member"
    VISITOR_APPROVED = "visitor_approved"
    VISITOR_AT_NIGHT = "visitor_at_night"
    EMERGENCY = "emergency"
    LOCKED = "locked"
    FULL = "full"
    UNKNOWN_MEMBER = "unknown_member"
    DEACTIVATED = "deactivated"
    BANNED = "banned"
    NO_FACE_CONSENT = "no_face_consent"
    FACE_NOT_SURE = "face_not_sure"
    NEEDS_APPROVAL = "needs_approval"


ADMITTED = frozenset({Verdict.MEMBER, Verdict.VISITOR_APPROVED, Verdict.VISITOR_AT_NIGHT, Verdict.EMERGENCY})


@dataclass(frozen=True, slots=True)
class EntryRules:
    capacity: int = 40
    """The most people inside at once (the Yunting station's 40 m²; a station file sets its own)."""
    reserve: int = 2
    """Places only an emergency may take: a worker hurt outside gets in when the station is full."""
    night_from_h: float = 22.0
    night_to_h: float = 6.0
    night_needs: frozenset[str] = frozenset({"toilet", "drink_water"})
    """What a visitor may come in for at night without approval (the station's need names)."""
    face_min_score: float = 0.85

    def __post_init__(self) -> None:
        if not 0 <= self.reserve < self.capacity:
            raise ValueError(f"reserve {self.reserve} must be at least 0 and below the capacity {self.capacity}")

    def at_night(self, hour: float) -> bool:
        if self.night_from_h > self.night_to_h:  # over midnight: 22-6
            return hour >= self.night_from_h or hour < self.night_to_h
        return self.night_from_h <= hour < self.night_to_h


@dataclass(frozen=True, slots=True)
class MemberStanding:
    """What the door knows of a member: enough to decide, nothing to identify them (no name, no phone)."""

    member: int
    standing: Standing = Standing.ACTIVE
    until_s: float | None = None
    """When a ban or deactivation ends, on the door's clock; None: until lifted."""
    face_consent: bool = False
    visit: str | None = None
    """The member's visit key (random, drawn at enrolment): what the door log links their visits by."""


@dataclass(frozen=True, slots=True)
class ByPass:
    member: int


@dataclass(frozen=True, slots=True)
class ByFace:
    member: int
    score: float


@dataclass(frozen=True, slots=True)
class AsVisitor:
    needs: tuple[str, ...]
    """What they came for, as they told the terminal."""
    approved: bool = False


@dataclass(frozen=True, slots=True)
class InEmergency:
    pass


Entrant = ByPass | ByFace | AsVisitor | InEmergency


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    member: int | None = None

    @property
    def admitted(self) -> bool:
        return self.verdict in ADMITTED


def decide(
    rules: EntryRules,
    entrant: Entrant,
    members: Mapping[int, MemberStanding],
    inside: int,
    locked: bool,
    now_s: float,
    hour: float,
) -> Decision:
    """Whether ``entrant`` comes in with ``inside`` people already in; ``hour`` is the station's clock hour (0-24)."""
    member = entrant.member if isinstance(entrant, ByPass | ByFace) else None
    if locked:
        return Decision(Verdict.LOCKED, member)
    if isinstance(entrant, InEmergency):
        return Decision(Verdict.EMERGENCY if inside < rules.capacity else Verdict.FULL)
    if isinstance(entrant, ByPass | ByFace):
        refused = _member_refusal(rules, entrant, members.get(entrant.member), now_s)
        admitted = Verdict.MEMBER
    else:
        at_night = bool(entrant.needs) and set(entrant.needs) <= rules.night_needs and rules.at_night(hour)
        refused = None if entrant.approved or at_night else Verdict.NEEDS_APPROVAL
        admitted = Verdict.VISITOR_APPROVED if entrant.approved else Verdict.VISITOR_AT_NIGHT
    if refused is not None:
        return Decision(refused, member)
    if inside >= rules.capacity - rules.reserve:
        return Decision(Verdict.FULL, member)
    return Decision(admitted, member)


def _member_refusal(rules: EntryRules, entrant: ByPass | ByFace, standing: MemberStanding | None, now_s: float) -> Verdict | None:
    if standing is None:
        return Verdict.UNKNOWN_MEMBER
    lapsed = standing.until_s is not None and now_s >= standing.until_s
    if standing.standing is Standing.BANNED and not lapsed:
        return Verdict.BANNED
    if standing.standing is Standing.DEACTIVATED and not lapsed:
        return Verdict.DEACTIVATED
    if isinstance(entrant, ByFace):
        if not standing.face_consent:
            return Verdict.NO_FACE_CONSENT
        if entrant.score < rules.face_min_score:
            return Verdict.FACE_NOT_SURE
    return None


def visit_key(secret: bytes, who: str) -> str:
    """The pseudonym that links a visitor's repeat visits (``visitor:<phone>``) and nothing else.

    An HMAC under the station's visit secret: the visitor records and the door log keep only this, so visits are
    counted per person without the phone being stored; another station's keys link nothing. (A member's visit key is
    random, drawn at enrolment: ``MemberStanding.visit``.)"""
    return hmac.new(secret, who.encode(), hashlib.sha256).hexdigest()
