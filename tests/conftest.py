"""Shared test helpers: the library's location and the databases every store test runs against.

PostgreSQL (127.0.0.1:5432, database ``test``) is required in CI (CI=true): a store
test there fails if it cannot connect. Elsewhere a missing server skips those cases,
saying why.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "scenarios" / "library"
POSTGRES_URL = os.environ.get("YXY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture
def library() -> Path:
    return LIBRARY


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database of each kind; PostgreSQL tests share an xdist group."""
    from store.db import engine_for, migrate

    url = f"sqlite:///{tmp_path / 'yxy.db'}" if request.param == "sqlite" else POSTGRES_URL
    engine = engine_for(url)
    if request.param == "postgresql":
        try:
            with engine.connect() as connection:
                connection.execute(text("select 1"))
        except Exception as exc:
            if IN_CI:
                raise AssertionError(f"PostgreSQL is required in CI and is not reachable at {POSTGRES_URL}: {exc}") from exc
            pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
        migrate(engine, "base")
    migrate(engine)
    yield engine
    if request.param == "postgresql":
        migrate(engine, "base")
    engine.dispose()
