"""Who may try a password, and how often: the sign-in's defence against guessing and against being used to lock staff out.

Three bounds, checked cheapest first:

- **Per place** (an IP address, as the server sees it): at most ``per_minute`` attempts a
  minute under any names, counted in memory before anything else is done (``pace``;
  the route answers a refusal after a second's pause, so a flood slows itself down).
- **Per account and place**: the ``most_failures``-th failure in a row makes that place
  wait ``first_wait_s`` before it may try that name again, and each failure after a wait
  doubles the next wait, up to ``longest_wait_s``.  The attempt is counted, by one
  atomic upsert, *before* the password is checked, so parallel guesses cannot all be
  checked against one count: 40 at once get ``most_failures`` checks, not 40.  A wait
  is the place's, never the account's, so a stranger cannot lock the officer out.
- **Per account**: while ``crowd`` or more places are waiting on one name (guessing
  from many addresses), only places that have signed in as it before are let try.

An unknown name is counted and answered exactly as a wrong password, after the same
argon2 work.  Password checks run one at a time (they are the server's costliest
work), so a crowd of sign-ins queues behind them instead of starving the live view.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import case, delete, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from station.settings import Settings
from store.db import as_utc
from store.models import SignInAttempt, User
from web.auth import LoginError, hash_password

_hasher = PasswordHasher()
_UNKNOWN = _hasher.hash("no account has this password")
"""Checked against for an unknown name: the same argon2 work as for a real account's hash."""
_PLACES_REMEMBERED = 10_000
"""Places whose attempts in the last minute are kept in memory; the oldest are forgotten first."""
_KNOWN_PLACE_DAYS = 30
_BUSY_WAIT_S = 10.0


class TooManyAttempts(Exception):
    """Answered 429; ``retry_after_s`` is when this place may try again."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Busy(Exception):
    """Answered 503: the password checks are queued longer than anyone should wait."""


@dataclass(frozen=True)
class Rules:
    most_failures: int
    first_wait_s: float
    longest_wait_s: float
    per_minute: int
    crowd: int

    @classmethod
    def of(cls, settings: Settings) -> Rules:
        return cls(
            settings.login_max_failures, settings.login_first_wait_s, settings.login_longest_wait_s,
            settings.login_per_minute, settings.login_crowd,
        )  # fmt: skip


Record = Callable[[Session, str, str, dict[str, Any]], None]
"""(db, action, username, details): how the gate writes to the audit log, in the transaction that counts."""


class SignInGate:
    def __init__(self, sessions: sessionmaker[Session], rules: Rules, record: Record) -> None:
        self._sessions = sessions
        self.rules = rules
        self._record = record
        self._recent: OrderedDict[str, deque[float]] = OrderedDict()
        self._recent_lock = threading.Lock()
        self._checking = threading.BoundedSemaphore(1)
        self._pruned_at = 0.0

    def check(self, username: str, password: str, source: str) -> int:
        """The id of the account ``password`` opens, or raise LoginError, TooManyAttempts or Busy (``pace`` comes first)."""
        now = datetime.now(UTC)
        with self._sessions.begin() as db:
            self._prune(db, now)
            refused = self._claim(db, username, source, now)
            account = db.execute(select(User.id, User.password_hash).where(User.username == username, User.active.is_(True))).first()
        if refused:
            raise refused
        if not self._checking.acquire(timeout=_BUSY_WAIT_S):
            raise Busy("the server is checking many sign-ins at once; try again in a minute")
        try:
            opened = _verifies(account.password_hash if account else _UNKNOWN, password) and account is not None
        finally:
            self._checking.release()
        with self._sessions.begin() as db:
            if not opened or account is None:  # an unknown name is recorded too: the same work, and the officer sees who tried "root"
                self._record(db, "sign_in_failed", username, {"source": source})
            else:
                db.execute(
                    update(SignInAttempt)
                    .where(SignInAttempt.username == username, SignInAttempt.source == source)
                    .values(failures=0, waits=0, wait_until=None, signed_in_at=now, updated_at=now)
                )
                if _hasher.check_needs_rehash(account.password_hash):
                    db.execute(update(User).where(User.id == account.id).values(password_hash=hash_password(password)))
        if not opened or account is None:  # (opened implies an account; said again for the type checker)
            raise LoginError("wrong user name or password")
        return int(account.id)

    def pace(self, source: str) -> None:
        """At most ``per_minute`` attempts a minute from one place, whatever the names; TooManyAttempts past it.

        Cheap (memory only) and called in the event loop, before a worker thread is taken: a
        flood of refused sign-ins must cost the server less than its readers' requests.
        """
        now = time.monotonic()
        with self._recent_lock:
            recent = self._recent.pop(source, None) or deque()
            while recent and recent[0] <= now - 60:
                recent.popleft()
            self._recent[source] = recent
            while len(self._recent) > _PLACES_REMEMBERED:
                self._recent.popitem(last=False)
            if len(recent) >= self.rules.per_minute:
                raise TooManyAttempts(
                    f"too many sign-in attempts from {source} ({self.rules.per_minute} a minute at most); try again later",
                    recent[0] + 60 - now,
                )
            recent.append(now)

    def _claim(self, db: Session, username: str, source: str, now: datetime) -> TooManyAttempts | None:
        """Count this attempt before the password is checked; the refusal if this place must wait (committed all the same)."""
        rules = self.rules
        waiting = SignInAttempt.wait_until.is_not(None) & (SignInAttempt.wait_until > now)
        over = SignInAttempt.wait_until.is_not(None) & (SignInAttempt.wait_until <= now)
        table = SignInAttempt.__table__
        dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
        upsert = dialect.insert(table).values(username=username, source=source, failures=1, waits=0, wait_until=None, updated_at=now)
        claim = upsert.on_conflict_do_update(
            index_elements=["username", "source"],
            set_={
                # After a wait this place gets one more try: failing it earns a wait twice as long.
                "failures": case((waiting, table.c.failures), (over, literal(rules.most_failures)), else_=table.c.failures + 1),
                "wait_until": case((over, None), else_=table.c.wait_until),
                "updated_at": now,
            },
        ).returning(table.c.failures, table.c.waits, table.c.wait_until, table.c.signed_in_at)
        failures, waits, wait_until, signed_in_at = db.execute(claim).one()
        if wait_until is not None and as_utc(wait_until) > now:
            return self._wait(as_utc(wait_until), now)
        if failures > rules.most_failures:
            wait = min(rules.first_wait_s * 2**waits, rules.longest_wait_s) if waits < 64 else rules.longest_wait_s
            until = now + timedelta(seconds=wait)
            started = db.execute(
                update(SignInAttempt)
                .where(SignInAttempt.username == username, SignInAttempt.source == source, SignInAttempt.wait_until.is_(None))
                .values(wait_until=until, waits=waits + 1)
                .returning(SignInAttempt.waits)
            ).first()
            if started:  # the first attempt over the limit starts the wait; those racing it only meet it
                self._record(db, "sign_in_wait", username, {"source": source, "failures": failures - 1, "wait_s": wait})
            return self._wait(until, now)
        crowd = db.scalar(select(func.count()).select_from(SignInAttempt).where(SignInAttempt.username == username, waiting))
        known = signed_in_at is not None and as_utc(signed_in_at) > now - timedelta(days=_KNOWN_PLACE_DAYS)
        if (crowd or 0) >= rules.crowd and not known:
            return TooManyAttempts(
                "this account is being tried from many places; only places it signed in from before may try it now",
                rules.first_wait_s,
            )
        return None

    def _wait(self, until: datetime, now: datetime) -> TooManyAttempts:
        seconds = (until - now).total_seconds()
        return TooManyAttempts(f"too many failed sign-ins from here for this name; try again in {math.ceil(seconds)} s", seconds)

    def _prune(self, db: Session, now: datetime) -> None:
        """Forget places that are neither waiting nor known; a place is personal data, kept only while it matters."""
        if time.monotonic() - self._pruned_at < 600:
            return
        self._pruned_at = time.monotonic()
        stale = now - timedelta(days=1)
        db.execute(
            delete(SignInAttempt).where(
                SignInAttempt.updated_at < stale,
                or_(SignInAttempt.wait_until.is_(None), SignInAttempt.wait_until < now),
                or_(SignInAttempt.signed_in_at.is_(None), SignInAttempt.signed_in_at < now - timedelta(days=_KNOWN_PLACE_DAYS)),
            )
        )


def _verifies(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
