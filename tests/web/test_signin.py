"""The sign-in under attack: parallel guesses, guessing from many places, unknown names, forged forwarding headers.

The race runs against the real server (uvicorn, threads, SQLite); the rules are then
walked one place at a time on the gate itself, where the place can be chosen.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from station.live import LiveStation
from store.audit import AuditLog
from store.db import sessions
from store.models import AuditEntry, SignInAttempt, User
from tests.web.conftest import PASSWORD, serve
from web.auth import LoginError, Role, create_user
from web.deps import sign_in_recorder
from web.signin import Rules, SignInGate, TooManyAttempts

RULES = Rules(most_failures=5, first_wait_s=30.0, longest_wait_s=900.0, per_minute=1000, crowd=10)


@pytest.fixture
def roomy(station: LiveStation) -> Iterator[str]:
    """A server whose per-minute bound is out of the way, so that the database's count alone stands against the race; its
    first wait outlasts the batch (41 argon2 checks on a loaded machine once took longer than 30 s, and a place whose
    wait is over rightly gets one more try)."""
    yield from serve(station, login_per_minute=1000, login_first_wait_s=600.0)


@pytest.fixture
def behind_proxy(station: LiveStation) -> Iterator[str]:
    yield from serve(station, trusted_proxies="127.0.0.1")


def _entries(station: LiveStation, action: str) -> list[AuditEntry]:
    with sessions(station.db)() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_forty_parallel_guesses_get_five_checks_and_the_right_password_among_them_does_not_sign_in(
    roomy: str, station: LiveStation
) -> None:
    guesses = [f"guess {n}" for n in range(40)]
    guesses.insert(20, PASSWORD)  # the right one, late in the batch

    def attempt(password: str) -> int:
        with httpx.Client(base_url=roomy, timeout=60) as web:
            return web.post("/api/auth/login", json={"username": "admin", "password": password}).status_code

    with ThreadPoolExecutor(41) as pool:
        answers = list(pool.map(attempt, guesses))
    checked = len(_entries(station, "sign_in_failed")) + answers.count(200)
    assert checked <= RULES.most_failures, f"{checked} passwords were checked: {answers}"
    assert answers.count(401) + answers.count(200) == checked and answers.count(429) == 41 - checked, answers
    assert len(_entries(station, "sign_in_wait")) == 1, "the wait was started once, by the first attempt over the limit"


def test_a_burst_from_one_place_is_cut_at_its_per_minute_bound(client: TestClient) -> None:
    answers = [client.post("/api/auth/login", json={"username": f"nobody{n}", "password": "x"}) for n in range(25)]
    codes = [a.status_code for a in answers]
    assert codes[:20] == [401] * 20 and codes[20:] == [429] * 5, codes
    assert "20 a minute" in answers[-1].json()["detail"] and int(answers[-1].headers["retry-after"]) > 0


def test_forwarded_for_is_believed_only_from_a_configured_proxy(server: str, behind_proxy: str, station: LiveStation) -> None:
    forged = {"X-Forwarded-For": "203.0.113.9"}
    for url in (server, behind_proxy):
        with httpx.Client(base_url=url) as web:
            web.post("/api/auth/login", json={"username": "admin", "password": "wrong"}, headers=forged)
    places = [entry.client for entry in _entries(station, "sign_in_failed")]
    assert places == ["127.0.0.1", "203.0.113.9"], "a stranger on the machine cannot choose the address the log keeps"


@pytest.fixture
def gate(engine: Engine, tmp_path: Path) -> SignInGate:
    return _gate(engine, RULES, tmp_path)


def _gate(engine: Engine, rules: Rules, folder: Path) -> SignInGate:
    """A gate on a migrated database of each kind (SQLite and PostgreSQL: the upsert is written per dialect)."""
    made: sessionmaker[Session] = sessions(engine)
    with made.begin() as db:
        db.execute(delete(SignInAttempt))
        if db.scalar(select(User).where(User.username == "admin")) is None:
            create_user(db, "admin", "站长", Role.ADMIN, PASSWORD)
    return SignInGate(made, rules, sign_in_recorder(AuditLog(folder / "audit.key")))


def test_a_strangers_guesses_never_keep_the_officer_out(gate: SignInGate) -> None:
    for _ in range(RULES.most_failures):
        with pytest.raises(LoginError):
            gate.check("admin", "guess", "198.51.100.7")
    with pytest.raises(TooManyAttempts):
        gate.check("admin", PASSWORD, "198.51.100.7")  # the stranger's place waits, even with the right password
    assert gate.check("admin", PASSWORD, "10.0.0.5") > 0, "from the station's desk the officer signs in"


def test_each_failure_after_a_wait_doubles_the_next(engine: Engine, tmp_path: Path) -> None:
    gate = _gate(engine, Rules(most_failures=2, first_wait_s=0.3, longest_wait_s=1.0, per_minute=1000, crowd=10), tmp_path)
    waits = []
    for _ in range(3):
        while True:
            try:
                gate.check("admin", "guess", "198.51.100.7")
            except LoginError:
                continue
            except TooManyAttempts as refused:
                waits.append(refused.retry_after_s)
                time.sleep(refused.retry_after_s + 0.05)
                break
    assert [round(w, 1) for w in waits] == [0.3, 0.6, 1.0], waits  # doubled, then capped at the longest wait
    assert gate.check("admin", PASSWORD, "198.51.100.7") > 0, "after the wait the right password opens it and clears the count"
    with pytest.raises(LoginError):
        gate.check("admin", "guess", "198.51.100.7")  # a fresh allowance, not the last wait's single try


def test_guessing_from_many_places_shuts_out_strangers_but_not_a_known_place(engine: Engine, tmp_path: Path) -> None:
    gate = _gate(engine, Rules(most_failures=1, first_wait_s=60.0, longest_wait_s=60.0, per_minute=1000, crowd=3), tmp_path)
    assert gate.check("admin", PASSWORD, "10.0.0.5")  # the officer's usual desk
    for n in range(3):
        for _ in range(2):
            with pytest.raises((LoginError, TooManyAttempts)):
                gate.check("admin", "guess", f"198.51.100.{n}")
    with pytest.raises(TooManyAttempts, match="many places"):
        gate.check("admin", PASSWORD, "203.0.113.50")
    assert gate.check("admin", PASSWORD, "10.0.0.5") > 0


def test_an_unknown_name_is_answered_as_a_wrong_password_after_the_same_work(gate: SignInGate) -> None:
    def timed(name: str) -> tuple[str, float]:
        started = time.perf_counter()
        with pytest.raises(LoginError) as refused:
            gate.check(name, "guess", f"192.0.2.{len(name)}")
        return str(refused.value), time.perf_counter() - started

    samples: dict[str, list[float]] = {"admin": [], "nobody-at-all": []}
    texts = set()
    for _ in range(4):  # interleaved, under the failure limit of each place
        for name, times in samples.items():
            text, took = timed(name)
            texts.add(text)
            times.append(took)
    assert texts == {"wrong user name or password"}
    ratio = statistics.median(samples["nobody-at-all"]) / statistics.median(samples["admin"])
    assert 0.5 < ratio < 2.0, f"unknown/known median time {ratio:.2f}: the answer's time tells the names apart"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(attempts=st.integers(1, 12), most=st.integers(1, 6))
def test_no_more_passwords_are_checked_than_the_limit(engine: Engine, tmp_path: Path, attempts: int, most: int) -> None:
    gate = _gate(engine, Rules(most, 60.0, 60.0, 1000, 10), tmp_path)
    answered = {"wrong": 0, "wait": 0}
    for _ in range(attempts):
        try:
            gate.check("admin", "guess", "198.51.100.7")
        except LoginError:
            answered["wrong"] += 1
        except TooManyAttempts:
            answered["wait"] += 1
    assert answered == {"wrong": min(attempts, most), "wait": max(0, attempts - most)}
