"""Shared test helpers: the library's location and the databases every store test runs against.

PostgreSQL (127.0.0.1:5432, database ``test``) is required in CI (CI=true): a store
test there fails if it cannot connect. Elsewhere a missing server skips those cases,
saying why.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from tests.brokers import IN_CI, MOSQUITTO_BIN, PrivateMosquitto

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "scenarios" / "library"
POSTGRES_URL = os.environ.get("YXY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def library() -> Path:
    return LIBRARY


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database of each kind.

    Each PostgreSQL test gets a schema of its own in the ``test`` database, so
    parallel test workers never see each other's tables; it is dropped afterwards.
    """
    from store.db import engine_for, migrate

    if request.param == "sqlite":
        engine = engine_for(f"sqlite:///{tmp_path / 'yxy.db'}")
        migrate(engine)
        yield engine
        engine.dispose()
        return
    schema = f"yxy_test_{uuid.uuid4().hex[:12]}"
    admin = engine_for(POSTGRES_URL)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        if IN_CI:
            raise AssertionError(f"PostgreSQL is required in CI and is not reachable at {POSTGRES_URL}: {exc}") from exc
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    engine = create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    migrate(engine)
    yield engine
    engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def private_mosquitto(tmp_path: Path) -> Iterator[PrivateMosquitto]:
    """A Mosquitto of the test's own (to restart, or to point a server at); required in CI."""
    try:
        subprocess.run([MOSQUITTO_BIN, "-h"], capture_output=True, check=False)
    except FileNotFoundError:
        if IN_CI:
            raise AssertionError("the mosquitto binary is required in CI") from None
        pytest.skip("no mosquitto binary")
    broker = PrivateMosquitto(tmp_path)
    broker.start()
    yield broker
    broker.stop()
