"""The member's door pass: a signed, short-lived, one-time code shown as a QR on the member's phone.

The member's phone page asks the station for a fresh pass every few seconds, like a
payment code; the door terminal scans the QR and sends its text; the door checks it
here.  The pass names the station and the member (by the registry's number, never a
name or phone), when it was issued and a nonce; an HMAC-SHA256 under the station's
door key signs all of it, so a pass for another station, an edited member number or
a made-up code is refused, and a copy of a used pass (a screenshot passed on) is
refused because the door remembers the nonces it has accepted until they expire.

Issuing and checking are both here, so the format has one home: the web layer calls
``issue`` with the wall clock and a random nonce, the door calls ``check`` with its
clock.  Pure: the key, the time and the nonce are given, nothing is read.

    YXY1.<station>.<member>.<issued_at_s>.<nonce>.<signature>
    YXV1.<station>.<ask>.<issued_at_s>.<nonce>.<signature>     (a visitor's, for their ask)

Decisions: the signature is the first 16 bytes of the HMAC (128 bits: a forgery
needs 2^128 tries, and the QR stays small enough to scan from a cracked phone
screen); a pass lives ``life_s`` (30 s) and a door whose clock runs up to ``skew_s``
(5 s) behind or ahead of the server's still takes it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

PREFIX = "YXY1"
VISITOR_PREFIX = "YXV1"
"""A visitor's pass names their ask (``store.visitors``) where a member's names the member; the prefix is signed too,
so one cannot be turned into the other."""
SIGNATURE_BYTES = 16
MOST_PASS_CHARS = 200
"""A scanned text longer than this is not a pass (a terminal sending a whole page is refused unread)."""
STATION = re.compile(r"^[a-z0-9_-]{1,64}$")
NONCE = re.compile(r"^[A-Za-z0-9_-]{8,32}$")
NUMBER = re.compile(r"^[0-9]{1,12}$")
SIGNATURE = re.compile(r"^[A-Za-z0-9_-]{22}$")
"""16 bytes in URL-safe base64 without padding."""
"""ASCII digits only: str.isdigit() also takes "²", which int() then refuses."""
MOST_REMEMBERED = 100_000
"""Nonces a door keeps at once: a busy door accepts a pass every few seconds, and each is forgotten after 35 s."""


class Refusal(StrEnum):
    """Why a scanned text does not open the door (the catalog says each as ``door.<value>``)."""

    MALFORMED = "malformed"
    FORGED = "forged"
    OTHER_STATION = "other_station"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    REPLAYED = "replayed"
    BUSY = "busy"
    """The door remembers as many accepted passes as it can hold: refuse rather than forget one (never expected)."""
    NO_SUCH_ASK = "no_such_ask"
    """A visitor's pass for an ask the door was not told of, or no longer holds (expired, answered)."""


@dataclass(frozen=True, slots=True)
class PassRules:
    life_s: float = 30.0
    skew_s: float = 5.0


def spent_key(nonce: str) -> str:
    """What a door remembers of a pass it took: a digest of its nonce, which a station's doors share and its history
    keeps (``door_decided``'s ``spent``), so no part of a pass outlives its use."""
    return hashlib.sha256(nonce.encode("ascii")).hexdigest()[:32]


@dataclass
class AcceptedPasses:
    """The passes a door has let in (by ``spent_key``), each until it would have expired anyway: what makes a pass
    one-time. The live station tells every door of the passes any of them took (``PassesSpent``), and again after a
    restart from the history, so a pass is one-time station-wide."""

    until: dict[str, float] = field(default_factory=dict)

    def spent(self, spent: Mapping[str, float], now_s: float) -> None:
        """Passes another door took (or this one before a restart): refused here too until they expire."""
        self.forget_expired(now_s)
        for key, end in spent.items():
            if end >= now_s and len(self.until) < MOST_REMEMBERED:
                self.until[key] = end

    def forget_expired(self, now_s: float) -> None:
        if self.until and min(self.until.values()) < now_s:
            self.until = {nonce: end for nonce, end in self.until.items() if end >= now_s}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _signature(key: bytes, body: str) -> str:
    return _b64(hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()[:SIGNATURE_BYTES])


def issue(key: bytes, station: str, member: int, issued_at_s: float, nonce: str, visitor: bool = False) -> str:
    """A pass for ``member`` at ``station`` (for a visitor: their ask's number); ``nonce`` is random (the caller's:
    secrets.token_urlsafe(12))."""
    if not STATION.match(station) or not NONCE.match(nonce) or member < 1:
        raise ValueError("a pass names a station id, a member number above 0 and a nonce of 8-32 URL-safe characters")
    body = f"{VISITOR_PREFIX if visitor else PREFIX}.{station}.{member}.{int(issued_at_s)}.{nonce}"
    return f"{body}.{_signature(key, body)}"


@dataclass(frozen=True, slots=True)
class Checked:
    """A pass that is genuine, for this station, and fresh: the member it names (whose standing the door checks next)."""

    member: int
    """The member it names, or for a visitor's pass their ask."""
    spent: str
    """``spent_key`` of its nonce: what the door remembers once it opens on it."""
    expires_s: float
    visitor: bool = False


def check(key: bytes, station: str, text: str, now_s: float, accepted: AcceptedPasses, rules: PassRules = PassRules()) -> Checked | Refusal:
    """Whether ``text`` is a pass this door may take now; it is not yet marked used (``admit`` does, once the door opens)."""
    if len(text) > MOST_PASS_CHARS or not text.isascii():
        return Refusal.MALFORMED  # a QR of any other text: refused before anything of it is hashed or compared
    parts = text.strip().split(".")
    if len(parts) != 6 or parts[0] not in (PREFIX, VISITOR_PREFIX) or not STATION.match(parts[1]) or not SIGNATURE.match(parts[5]):
        return Refusal.MALFORMED
    if not NUMBER.match(parts[2]) or not NUMBER.match(parts[3]) or not NONCE.match(parts[4]):
        return Refusal.MALFORMED
    body = ".".join(parts[:5])
    if not hmac.compare_digest(_signature(key, body), parts[5]):
        return Refusal.FORGED  # checked before anything else it says is believed
    if parts[1] != station:
        return Refusal.OTHER_STATION
    issued_at = float(parts[3])
    if issued_at > now_s + rules.skew_s:
        return Refusal.NOT_YET_VALID
    expires = issued_at + rules.life_s + rules.skew_s
    if now_s > expires:
        return Refusal.EXPIRED
    accepted.forget_expired(now_s)
    spent = spent_key(parts[4])
    if spent in accepted.until:
        return Refusal.REPLAYED
    if len(accepted.until) >= MOST_REMEMBERED:
        return Refusal.BUSY
    return Checked(int(parts[2]), spent, expires, visitor=parts[0] == VISITOR_PREFIX)


def admit(checked: Checked, accepted: AcceptedPasses) -> None:
    """The door opened on this pass: it is spent."""
    accepted.until[checked.spent] = checked.expires_s
