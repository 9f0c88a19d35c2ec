"""Engines and migrations: one URL, SQLite or PostgreSQL, schema always at Alembic's head."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_URL = "sqlite:///yxy.db"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def database_url() -> str:
    return os.environ.get("YXY_DATABASE_URL", DEFAULT_URL)


def engine_for(url: str) -> Engine:
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _wal(dbapi_connection: object, _record: object) -> None:
            # WAL lets the web view read while the bridge writes.
            cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (``base`` removes it)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        if revision == "base":
            command.downgrade(config, "base")
        else:
            command.upgrade(config, revision)


def sessions(engine: Engine) -> sessionmaker:  # type: ignore[type-arg]
    return sessionmaker(engine, expire_on_commit=False)


def hold_write_lock(db: Session, key: int) -> None:
    """Hold a write lock named ``key`` for the rest of ``db``'s transaction, before reading what a write depends on:
    PostgreSQL's advisory lock of that number, SQLite's one write lock."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    else:
        take_sqlite_write_lock(db)


def take_sqlite_write_lock(db: Session) -> None:
    """On SQLite, start ``db``'s transaction with a write, so that it holds the write lock before it reads.

    pysqlite begins a transaction only at the first write, so a read-then-write ("is
    there another admin?", "which entry is last?") reads outside any lock and two
    requests can both act on what they read.  After this, a second such transaction
    waits for the first to commit and then reads what it wrote.  PostgreSQL callers
    lock rows (FOR UPDATE) or take an advisory lock instead.
    """
    if db.get_bind().dialect.name == "sqlite":
        db.execute(text("UPDATE staff_user SET id = id WHERE 1 = 0"))


def as_utc(moment: datetime) -> datetime:
    """``moment`` aware, in UTC: a naive one is taken as UTC, the store's convention (SQLite keeps no offset). The one
    conversion the store's time type, the history and the web's answers all make."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
