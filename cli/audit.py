"""``yxy audit verify``: is the audit log whole? Every edited, deleted, slipped-in or cut-off entry, by number."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cli.common import app, console, errors

audit_app = typer.Typer(name="audit", help="Check the staff audit log against its hash chain.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def verify(
    database: Annotated[
        str | None, typer.Option("--database", help="Database URL (default: YXY_DATABASE_URL, else sqlite:///yxy.db).")
    ] = None,
    key_file: Annotated[
        Path | None, typer.Option("--key-file", help="The audit key (default: YXY_AUDIT_KEY_FILE, else beside a SQLite database).")
    ] = None,
) -> None:
    """Walk the whole log: exit 0 if it is intact, 1 listing each break if not, 2 if it cannot be read."""
    from sqlalchemy.exc import SQLAlchemyError

    from station.settings import Settings
    from store.audit import AuditKeyError, AuditLog, key_file_for
    from store.db import engine_for, sessions

    settings = Settings.from_options(database_url=database, audit_key_file=str(key_file) if key_file else None)
    path = key_file_for(settings.database_url, settings.audit_key_file)
    if not path.exists():
        errors.print(f"[red]error:[/red] audit key {escape(str(path))}: not found (give --key-file)", highlight=False, soft_wrap=True)
        raise typer.Exit(code=2)
    engine = engine_for(settings.database_url)
    try:
        with sessions(engine)() as db:
            log = AuditLog(path)
            broken = log.verify(db)
            counted = log.count(db)
    except AuditKeyError as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None
    except SQLAlchemyError as exc:
        errors.print(
            f"[red]error:[/red] {escape(settings.database_url)}: cannot read the audit log ({exc.__class__.__name__})", soft_wrap=True
        )
        raise typer.Exit(code=2) from None
    finally:
        engine.dispose()
    unchained = f", {counted.unchained} from before the chain began (not verifiable)" if counted.unchained else ""
    if not broken:
        console.print(f"[green]intact[/green]: {counted.chained} entries{unchained}")
        return
    for problem in broken:
        where = f"entry {problem.entry_id}" if problem.entry_id is not None else "the log"
        console.print(f"[red]broken[/red] {where}: {escape(problem.why)}", highlight=False, soft_wrap=True)
    console.print(f"{len(broken)} breaks in {counted.chained} entries{unchained}")
    raise typer.Exit(code=1)
