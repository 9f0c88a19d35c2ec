"""``yxy privacy purge``: forget what is past the station file's ``[privacy]`` periods, now (the live station does it
every hour; this is for a station that is not running, or for cron)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cli.common import app, console, errors, load_station_or_scenario, station_database

privacy_app = typer.Typer(name="privacy", help="Personal data kept only as long as the station file says.", no_args_is_help=True)
app.add_typer(privacy_app, name="privacy")


@privacy_app.command("purge")
def purge(
    station: Annotated[
        str, typer.Option("--station", help="The station file or a library name (its id and [privacy] periods).")
    ] = "yunting",
    database: Annotated[
        str | None, typer.Option("--database", help="Database URL (default: YXY_DATABASE_URL, else sqlite:///yxy.db).")
    ] = None,
    key_file: Annotated[Path | None, typer.Option("--key-file", help="The station's key (default: beside a SQLite database).")] = None,
) -> None:
    """Delete the door log, visitors' asks, face consents and the cameras' evidence past their periods; lapsed faces are
    queued for the terminals.

    The audit log says how many of each went, never who."""
    from scenarios.errors import ScenarioError
    from station.settings import Settings
    from store.db import sessions
    from store.privacy import Periods
    from store.privacy import purge as purge_now
    from vision.evidence import Evidence, evidence_folder_for

    try:
        the_station, _ = load_station_or_scenario(station)
    except ScenarioError as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None
    settings = Settings.from_options(dict(the_station.settings), database_url=database, audit_key_file=str(key_file) if key_file else None)
    periods = Periods(settings.door_log_days, settings.visitor_records_days, settings.face_consent_days)
    evidence = Evidence(evidence_folder_for(settings.database_url, settings.evidence_dir), settings.camera_evidence_days * 86400)
    with station_database(settings) as (engine, audit, key):
        done = purge_now(sessions(engine), the_station.id, periods, audit, key, datetime.now(UTC))
        incidents = evidence.purge(datetime.now(UTC).timestamp())
        if incidents:
            with sessions(engine).begin() as db:
                audit.append(db, "station", "station", "camera_evidence_purged", the_station.id, None, {"incidents": incidents}, "station")
    console.print(
        f"door log: {done.door_log} rows older than {periods.door_log_days:g} days deleted; "
        f"visitor records: {done.visitor_records} older than {periods.visitor_records_days:g} days; "
        f"face consents lapsed after {periods.face_consent_days:g} days: {len(done.consents_lapsed)}; "
        f"camera incidents older than {settings.camera_evidence_days:g} days: {incidents}",
        highlight=False,
    )
