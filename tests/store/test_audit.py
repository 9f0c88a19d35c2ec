"""The audit log's chain: whatever is done to the table behind the application's back, ``verify`` names it.

Each tamper is done as a database owner would, with the append-only triggers dropped
or disabled first; on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from cli.main import app
from store.audit import AuditLog
from store.db import engine_for, migrate, sessions


def _append(made: sessionmaker[Session], log: AuditLog, n: int, **content: Any) -> None:
    for i in range(n):
        with made.begin() as db:
            log.append(
                db, content.get("username", "admin"), "admin", "command_sent", f"lights {i}", {"on": False}, {"on": True}, "10.0.0.5"
            )


@pytest.fixture
def chained(engine: Engine, tmp_path: Path) -> tuple[Engine, sessionmaker[Session], AuditLog]:
    made: sessionmaker[Session] = sessions(engine)
    log = AuditLog(tmp_path / "audit.key")
    _append(made, log, 5)
    return engine, made, log


def _unguarded(engine: Engine) -> Iterator[Any]:
    """A connection on which the append-only triggers are off, as the database's owner could make them."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        else:
            connection.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            connection.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        yield connection


def _why(made: sessionmaker[Session], log: AuditLog) -> list[tuple[int | None, str]]:
    with made() as db:
        return [(broken.entry_id, broken.why) for broken in log.verify(db)]


def test_an_untouched_log_verifies(chained: tuple[Engine, sessionmaker[Session], AuditLog]) -> None:
    _, made, log = chained
    assert _why(made, log) == []


def test_an_edited_entry_is_named(chained: tuple[Engine, sessionmaker[Session], AuditLog]) -> None:
    engine, made, log = chained
    for connection in _unguarded(engine):
        connection.execute(text("UPDATE audit_log SET username = 'nobody' WHERE id = 3"))
    assert _why(made, log) == [(3, "its hash does not match its content (edited, or forged without the key)")]


def test_a_deleted_entry_is_named(chained: tuple[Engine, sessionmaker[Session], AuditLog]) -> None:
    engine, made, log = chained
    for connection in _unguarded(engine):
        connection.execute(text("DELETE FROM audit_log WHERE id = 3"))
    assert _why(made, log) == [(4, "entries 3 to 3 are missing (deleted)")]


def test_an_inserted_entry_is_named(chained: tuple[Engine, sessionmaker[Session], AuditLog]) -> None:
    engine, made, log = chained
    with engine.begin() as connection:  # inserts are allowed: a forger copies the last hash to look chained
        last = connection.execute(text("SELECT hash FROM audit_log WHERE id = 5")).scalar_one()
        connection.execute(
            text(
                "INSERT INTO audit_log (id, at, username, role, action, target, client, prev_hash, hash) "
                "VALUES (6, :at, 'admin', 'admin', 'user_created', 'mallory', '', :prev, :forged)"
            ),
            {"at": "2026-12-03 08:00:00+00:00", "prev": last, "forged": "f" * 64},
        )
    assert _why(made, log) == [(6, "its hash does not match its content (edited, or forged without the key)")]


def test_a_cut_tail_and_an_emptied_log_are_named(chained: tuple[Engine, sessionmaker[Session], AuditLog]) -> None:
    engine, made, log = chained
    for connection in _unguarded(engine):
        connection.execute(text("DELETE FROM audit_log WHERE id >= 4"))
    assert _why(made, log) == [(None, "the log ends at entry 3 but reached entry 5 (its tail or all was removed)")]
    for connection in _unguarded(engine):
        connection.execute(text("DELETE FROM audit_log"))
    assert _why(made, log) == [(None, "the log ends at entry 0 but reached entry 5 (its tail or all was removed)")]


def test_the_database_refuses_changes_and_truncation(chained: tuple[Engine, sessionmaker[Session], AuditLog]) -> None:
    engine, made, log = chained
    statements = ["UPDATE audit_log SET target = 'x'", "DELETE FROM audit_log"]
    if engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_log")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    assert _why(made, log) == []


def test_parallel_appends_never_fork_the_chain(chained: tuple[Engine, sessionmaker[Session], AuditLog]) -> None:
    _, made, log = chained
    threads = [threading.Thread(target=_append, args=(made, log, 5), kwargs={"username": f"staff{n}"}) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _why(made, log) == []
    with made() as db:
        assert db.execute(text("SELECT count(*), max(id) FROM audit_log")).one() == (45, 45)


def test_yxy_audit_verify_says_intact_or_lists_the_breaks(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'yxy.db'}"
    engine = engine_for(url)
    migrate(engine)
    made: sessionmaker[Session] = sessions(engine)
    _append(made, AuditLog(Path(str(tmp_path / "yxy.db") + ".audit-key")), 3)  # where yxy serve keeps it beside this database
    runner = CliRunner()
    intact = runner.invoke(app, ["audit", "verify", "--database", url])
    assert intact.exit_code == 0 and "intact: 3 entries" in intact.output, intact.output
    for connection in _unguarded(engine):
        connection.execute(text("UPDATE audit_log SET action = 'nothing' WHERE id = 2"))
    broken = runner.invoke(app, ["audit", "verify", "--database", url])
    assert broken.exit_code == 1 and "broken entry 2: its hash does not match" in broken.output, broken.output
    missing = runner.invoke(app, ["audit", "verify", "--database", url, "--key-file", str(tmp_path / "nowhere.key")])
    assert missing.exit_code == 2 and "not found" in missing.output
    engine.dispose()


CONTENT = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    entries=st.lists(st.tuples(st.text(min_size=1, max_size=64), st.text(max_size=128), CONTENT, CONTENT), min_size=1, max_size=6),
    victim=st.integers(0, 5),
    field=st.sampled_from(["username", "target", "action", "client"]),
)
def test_any_entry_verifies_and_any_change_to_one_is_caught(
    tmp_path_factory: pytest.TempPathFactory, entries: list[tuple[str, str, Any, Any]], victim: int, field: str
) -> None:
    folder = tmp_path_factory.mktemp("chain")
    engine = engine_for(f"sqlite:///{folder / 'yxy.db'}")
    migrate(engine)
    made: sessionmaker[Session] = sessions(engine)
    log = AuditLog(folder / "audit.key")
    for username, target, before, after in entries:
        with made.begin() as db:
            log.append(db, username, "operator", "command_sent", target, {"v": before}, {"v": after}, "10.0.0.5")
    assert _why(made, log) == []
    victim_id = victim % len(entries) + 1
    for connection in _unguarded(engine):
        connection.execute(text(f"UPDATE audit_log SET {field} = {field} || 'x' WHERE id = :id"), {"id": victim_id})
    assert (victim_id, "its hash does not match its content (edited, or forged without the key)") in _why(made, log)
    engine.dispose()
