"""``yxy privacy purge``: the station file's periods applied to a database by hand; a mistake is one line and exit 2."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from cli.main import app
from store import visitors
from store.audit import load_or_create_key
from store.db import engine_for, migrate, sessions
from store.members import visit_secret
from store.models import VisitorAsk


def test_purge_forgets_old_visitors_and_says_how_many(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'yxy.db'}"
    engine = engine_for(database)
    migrate(engine)
    secret = visit_secret(load_or_create_key(tmp_path / "yxy-audit.key"))
    now = datetime.now(UTC)
    with sessions(engine).begin() as db:
        visitors.ask(db, secret, "13800138000", ["toilet"], "door", "10.0.0.1", False, now - timedelta(days=31))
        kept = visitors.ask(db, secret, "13900139000", ["toilet"], "door", "10.0.0.1", False, now - timedelta(days=2)).ask.id
    result = CliRunner().invoke(app, ["privacy", "purge", "--database", database, "--key-file", str(tmp_path / "yxy-audit.key")])
    assert result.exit_code == 0, result.output
    assert "visitor records: 1 older than 30 days" in " ".join(result.output.split())
    with sessions(engine)() as db:
        assert [row.id for row in db.scalars(select(VisitorAsk))] == [kept]
    engine.dispose()


def test_an_unknown_station_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["privacy", "purge", "--station", "nowhere", "--database", f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 2 and "nowhere" in result.output and "Traceback" not in result.output


def test_a_database_url_of_an_unknown_kind_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["privacy", "purge", "--database", "postgres+nothing://x@127.0.0.1/x"])
    assert result.exit_code == 2 and "Traceback" not in result.output and "postgres+nothing" in result.output


def test_a_scenario_names_its_station_as_yxy_serve_takes_it(tmp_path: Path) -> None:
    """Found using it: `yxy serve typical_week_door` runs, so the purge and the federation export take the same name."""
    database = f"sqlite:///{tmp_path / 'yxy.db'}"
    for command in (["privacy", "purge"], ["federation", "export", "--from", "2026-12-07"]):
        result = CliRunner().invoke(app, [*command, "--station", "typical_week_door", "--database", database])
        assert result.exit_code == 0, result.output
