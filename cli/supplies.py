"""``yxy supplies``: what the station's stock will last, forecast from the planner's simulation of the station."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli.common import LangOption, SetOption, app, check_lang, check_writable, console, database_failed, errors, fail, load, progress_bar

supplies_app = typer.Typer(name="supplies", help="The station's supplies: forecast what the coming weeks will take.", no_args_is_help=True)
app.add_typer(supplies_app, name="supplies")


@supplies_app.command("forecast")
def forecast(
    scenario: Annotated[str, typer.Argument(help="The station's scenario (its demand and weather): a file or a library name.")],
    first: Annotated[str | None, typer.Option("--from", help="The first day, YYYY-MM-DD (default: tomorrow).")] = None,
    days: Annotated[int, typer.Option("--days", min=1, max=91, help="How many days ahead.")] = 28,
    replications: Annotated[int, typer.Option("--replications", min=1, max=50, help="Simulated runs the intervals come from.")] = 3,
    database: Annotated[
        str | None, typer.Option("--database", help="Read the stock now from this database (default: YXY_DATABASE_URL, else none).")
    ] = None,
    overrides: SetOption = None,
    report: Annotated[Path | None, typer.Option("--report", help="Write the forecast as an HTML report here.")] = None,
    lang: LangOption = "zh",
) -> None:
    """Simulate the station from --from for --days, and read each supply's consumption off its devices' uses: what the
    first week and all the days will take (95 % intervals), and with the stock now (from --database), the day it
    reaches its reorder point and the day it is likely empty."""
    import os

    from sqlalchemy.exc import SQLAlchemyError

    from scenarios.errors import ScenarioError
    from scenarios.i18n import in_language
    from scenarios.page import render
    from scenarios.supplies import forecast as run_forecast
    from scenarios.supplies import page

    check_lang(lang)
    check_writable("--report", report)
    try:
        start = date.fromisoformat(first) if first is not None else date.today() + timedelta(days=1)
    except ValueError:
        errors.print(f"[red]error:[/red] --from {escape(str(first)[:30])!r}: write a day as YYYY-MM-DD")
        raise typer.Exit(code=2) from None
    if not 2000 <= start.year <= 2999:
        errors.print(f"[red]error:[/red] --from {start}: a day from 2000 to 2999")
        raise typer.Exit(code=2)
    try:
        loaded = load(scenario, overrides or [], None)
    except ScenarioError as exc:
        raise fail(exc) from None
    if not loaded.station.supplies:
        errors.print(f"[red]error:[/red] {escape(scenario)}: the station keeps no supplies (list them under [supplies])")
        raise typer.Exit(code=2)
    url = database or os.environ.get("YXY_DATABASE_URL")
    stock: dict[str, int | None] = {}
    if url is not None:
        from store import supplies as shelves
        from store.db import engine_for, sessions

        engine = engine_for(url)
        try:
            with sessions(engine)() as db:
                for level in shelves.levels(db, loaded.station.supplies):
                    stock[level.item] = level.total if level.counted else None
        except SQLAlchemyError as exc:
            raise database_failed(url, exc) from None
        finally:
            engine.dispose()
    with progress_bar() as progress:
        task = progress.add_task(f"{loaded.name} {start:%Y-%m-%d} +{days}d", total=replications)
        result = run_forecast(loaded, loaded.station.supplies, start, days, replications, stock,
                              progress=lambda done: progress.update(task, completed=done))  # fmt: skip
    table = Table(title=f"{loaded.station.name or loaded.station.id}: {start:%Y-%m-%d} +{days} days")
    for column in ("item", "first 7 days", f"all {days} days", "stock now", "reorder by", "likely empty by"):
        table.add_column(column)
    for item in result.items:
        if not item.forecast or item.total is None:
            held = str(item.stock) if item.stock is not None else "not counted"
            table.add_row(escape(in_language(item.label, "en")), "used by hand: not simulated", "", held)
            continue
        week = item.daily[:7]
        table.add_row(
            escape(in_language(item.label, "en")),
            f"{sum(d['mean'] for d in week):,.0f} [{sum(d['ci_low'] for d in week):,.0f}, {sum(d['ci_high'] for d in week):,.0f}]",
            f"{item.total['mean']:,.0f} [{item.total['ci_low']:,.0f}, {item.total['ci_high']:,.0f}]",
            str(item.stock) if item.stock is not None else "not counted",
            f"{item.reorder_by:%Y-%m-%d}" if item.reorder_by else "—",
            f"{item.empty_by:%Y-%m-%d}" if item.empty_by else "—",
        )
    console.print(table)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(render(page(result, loaded.station.name or loaded.station.id, lang)), encoding="utf-8")
        console.print(f"report: {report}", highlight=False)
