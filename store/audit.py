"""The audit log as a chain that shows any tampering: each entry carries a keyed hash of itself and of the one before.

The database already refuses UPDATE, DELETE and (PostgreSQL) TRUNCATE by triggers, but
whoever owns the database can drop a trigger.  So each entry also carries
``HMAC(key, previous hash + the entry)``.  The key lives in a file beside the database
(0600), not in it, so an entry edited, forged or slipped in without the key breaks
the chain at that entry, and one deleted breaks it at the next.  Cutting the tail
off, or the whole table, leaves a valid shorter chain, so the newest entry's id and
hash are also written to a head file after every commit; ``verify`` wants that head
in the chain.

Appends are serialised (a PostgreSQL advisory lock; on SQLite a write taken before
the last entry is read), so that parallel requests never fork the chain.  Entries
from before the chain existed (migration 0006) carry no hash and are reported apart.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from store.db import as_utc, hold_write_lock
from store.models import AuditEntry

logger = logging.getLogger(__name__)
GENESIS = "0" * 64
_LOCK_KEY = 0x79787961  # "yxya": the advisory lock appends take on PostgreSQL


class AuditKeyError(Exception):
    """The key file is missing, unreadable or malformed: say which file and why."""


@dataclass(frozen=True)
class Counted:
    chained: int
    unchained: int


@dataclass(frozen=True)
class Broken:
    entry_id: int | None
    why: str


def key_file_for(database_url: str, configured: str | None) -> Path:
    """The configured key file, else beside a SQLite database, else ``yxy-audit.key`` in the working directory."""
    if configured:
        return Path(configured)
    if database_url.startswith("sqlite:///") and not database_url.endswith(":memory:"):
        return Path(database_url.removeprefix("sqlite:///") + ".audit-key")
    return Path("yxy-audit.key")


def load_or_create_key(path: Path) -> bytes:
    """Read the key, or create it (0600) the first time; it is never overwritten, as every hash depends on it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_key(path)
    except OSError as exc:
        raise AuditKeyError(f"audit key {path}: cannot create it ({exc.strerror or exc})") from None
    key = secrets.token_bytes(32)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(key.hex() + "\n")
    return key


def read_key(path: Path) -> bytes:
    try:
        found = path.read_text(encoding="ascii").strip()
        key = bytes.fromhex(found)
    except FileNotFoundError:
        raise AuditKeyError(f"audit key {path}: not found") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise AuditKeyError(f"audit key {path}: not one line of hex ({exc.__class__.__name__})") from None
    if len(key) < 32:
        raise AuditKeyError(f"audit key {path}: {len(key)} bytes, at least 32 expected")
    return key


class AuditLog:
    def __init__(self, key_file: Path) -> None:
        self._key = load_or_create_key(key_file)
        self._head = ChainHead(key_file.with_name(key_file.name + ".head"))
        self._verified: tuple[float, list[Broken]] | None = None
        self._verified_lock = threading.Lock()

    def append(self, db: Session, username: str, role: str, action: str, target: str, before: Any, after: Any, client: str) -> None:
        """Add one entry at the end of the chain, in ``db``'s transaction; the head file follows once it commits."""
        hold_write_lock(db, _LOCK_KEY)
        last = db.execute(select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
        entry = AuditEntry(
            id=(last.id + 1) if last else 1, at=datetime.now(UTC), username=username[:64], role=role, action=action,
            target=target[:128], before=before, after=after, client=client[:64],
            prev_hash=(last.hash or GENESIS) if last else GENESIS,
        )  # fmt: skip
        entry.hash = self._seal(entry)
        db.add(entry)
        db.flush()
        event.listen(db, "after_commit", lambda _: self._head.advance(entry.id, entry.hash or ""), once=True)

    def verify(self, db: Session) -> list[Broken]:
        """Every break in the chain, oldest first; an empty list means intact and as long as the head says."""
        broken: list[Broken] = []
        previous: tuple[int, str] | None = None
        for entry in _entries(db):
            if entry.hash is None:
                if previous is not None:
                    broken.append(Broken(entry.id, "an entry without a hash after the chain began (forged or edited)"))
                continue
            if previous is None and entry.prev_hash != GENESIS:
                broken.append(Broken(entry.id, "the chain does not start here: the entries before it were deleted"))
            elif previous is not None and entry.id != previous[0] + 1:
                broken.append(Broken(entry.id, f"entries {previous[0] + 1} to {entry.id - 1} are missing (deleted)"))
            elif previous is not None and entry.prev_hash != previous[1]:
                broken.append(Broken(entry.id, "does not follow the entry before it (one was deleted or slipped in)"))
            if not hmac.compare_digest(entry.hash, self._seal(entry)):
                broken.append(Broken(entry.id, "its hash does not match its content (edited, or forged without the key)"))
            previous = (entry.id, entry.hash)
        head = self._head.read()
        if head is not None and (previous is None or previous[0] < head[0]):
            last = previous[0] if previous else 0
            broken.append(Broken(None, f"the log ends at entry {last} but reached entry {head[0]} (its tail or all was removed)"))
        elif head is not None:
            found = db.scalar(select(AuditEntry.hash).where(AuditEntry.id == head[0]))
            if found != head[1]:
                broken.append(Broken(head[0], "the newest entry the head file knows is not the one in the log"))
        return broken

    def recently_verified(self, db: Session, max_age_s: float = 60.0) -> list[Broken]:
        """``verify``, walked again at most every ``max_age_s``: cheap enough for a readiness probe every few seconds."""
        with self._verified_lock:
            if self._verified is None or time.monotonic() - self._verified[0] > max_age_s:
                self._verified = (time.monotonic(), self.verify(db))
            return self._verified[1]

    def count(self, db: Session) -> Counted:
        chained = db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.hash.is_not(None))) or 0
        unchained = db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.hash.is_(None))) or 0
        return Counted(chained, unchained)

    def _seal(self, entry: Any) -> str:
        """The keyed hash of an entry (a new AuditEntry, or a row read back) and of the one before it."""
        content = [
            entry.id, as_utc(entry.at).astimezone(UTC).isoformat(), entry.username, entry.role, entry.action, entry.target,
            entry.before, entry.after, entry.client, entry.prev_hash,
        ]  # fmt: skip
        canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
        return hmac.new(self._key, canonical.encode(), hashlib.sha256).hexdigest()


class ChainHead:
    """A chain's newest entry (id and hash) in a file outside the database, advanced after each commit: cutting the
    chain's tail, or the whole table, leaves a valid shorter chain, which this head then says is short. The audit log
    and the union's books each keep one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def advance(self, entry_id: int, entry_hash: str) -> None:
        """Move the head to ``entry_id`` unless it is already past it. Called after a commit, so it never raises: the
        entry stands whatever happens to the file (a failure is logged, and ``verify`` then says the head is behind
        nothing). Threads take a lock, processes (web workers, the CLI) an exclusive ``flock``; each write goes to a
        temporary file of its own and is renamed over the head."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._lock, open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                head = self.read()
                if head is not None and head[0] >= entry_id:
                    return
                descriptor, partial = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name + ".")
                with os.fdopen(descriptor, "w", encoding="ascii") as file:
                    file.write(f"{entry_id} {entry_hash}\n")
                os.replace(partial, self.path)
        except OSError:
            logger.exception("chain head %s: could not move it to entry %d", self.path, entry_id)

    def read(self) -> tuple[int, str] | None:
        try:
            number, digest = self.path.read_text(encoding="ascii").split()
            return int(number), digest
        except (FileNotFoundError, ValueError):
            return None


def _entries(db: Session) -> Iterator[Any]:
    """Oldest first, as plain rows a page at a time: a long log is neither held in memory nor in the session."""
    after = 0
    while True:
        page = db.execute(select(*AuditEntry.__table__.c).where(AuditEntry.id > after).order_by(AuditEntry.id).limit(1000)).all()
        if not page:
            return
        yield from page
        after = page[-1].id
