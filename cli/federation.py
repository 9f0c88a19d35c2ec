"""``yxy federation export``: the station's anonymised daily counts per worker group, for the city's platform."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cli.common import app, console, database_failed, errors, load_station_or_scenario

federation_app = typer.Typer(name="federation", help="What the station reports to the city's or province's platform.", no_args_is_help=True)
app.add_typer(federation_app, name="federation")


@federation_app.command("export")
def export(
    first: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD, in the station's time zone.")],
    last: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (default: the first).")] = None,
    station: Annotated[
        str, typer.Option("--station", help="The station file, or a scenario (its station); a path or a library name.")
    ] = "yunting",
    database: Annotated[
        str | None, typer.Option("--database", help="Database URL (default: YXY_DATABASE_URL, else sqlite:///yxy.db).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the JSON here (default: print it).")] = None,
) -> None:
    """Entries and people per worker group and turn-aways by reason, each day; no one is named, counts under 3 are null.

    The format is docs/federation.md's."""
    from sqlalchemy.exc import SQLAlchemyError

    from scenarios.errors import ScenarioError
    from station.settings import Settings
    from store.db import engine_for, migrate
    from store.federation import FederationError, daily_counts

    try:
        days = (date.fromisoformat(first), date.fromisoformat(last or first))
    except ValueError as exc:
        errors.print(f"[red]error:[/red] --from/--to: {escape(str(exc))}; write a day as 2026-12-06", highlight=False)
        raise typer.Exit(code=2) from None
    try:
        the_station, _ = load_station_or_scenario(station)
    except ScenarioError as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None
    settings = Settings.from_options(database_url=database)
    engine = engine_for(settings.database_url)
    try:
        migrate(engine)  # a station that never ran has no door log yet: its counts are zeros, not an error
        document = daily_counts(engine, the_station.id, the_station.timezone, *days)
    except FederationError as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(code=2) from None
    except SQLAlchemyError as exc:
        raise database_failed(settings.database_url, exc) from None
    finally:
        engine.dispose()
    text = json.dumps(document, ensure_ascii=False, indent=2)
    if out is None:
        console.print(text, highlight=False, soft_wrap=True, markup=False)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        console.print(f"{len(document['days'])} days written to {escape(str(out))}", highlight=False)
