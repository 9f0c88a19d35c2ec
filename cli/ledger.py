"""``yxy ledger verify``: are the union's books whole? Every edited, deleted, slipped-in or cut-off entry, by number.
``yxy ledger report``: a month's books as the union posts them (HTML and XLSX). ``yxy ledger close``: a month closed."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from cli.common import app, check_lang, console, database_failed, errors

if TYPE_CHECKING:
    from collections.abc import Iterator

    from store.ledger import Broken

ledger_app = typer.Typer(
    name="ledger", help="The union's books: verify or check them, report a month, close a month.", no_args_is_help=True
)
app.add_typer(ledger_app, name="ledger")
PUBLISHED = re.compile(r"^(\d{1,12}):([0-9a-f]{64})$")


@ledger_app.command("verify")
def verify(
    database: Annotated[
        str | None, typer.Option("--database", help="Database URL (default: YXY_DATABASE_URL, else sqlite:///yxy.db).")
    ] = None,
    published: Annotated[
        list[str] | None,
        typer.Option("--published", help="A head the station published, as ENTRY:HASH (from a monthly report); repeatable."),
    ] = None,
) -> None:
    """Walk the whole books: exit 0 if intact, 1 listing each break if not, 2 if they cannot be read.

    The hash is plain SHA-256, so anyone holding the entries can check the chain; give the heads the station has
    published (the monthly report prints its month's) to catch books rewritten from the start. Each entry must also be
    recorded as booked in the audit log (whose own chain `yxy audit verify` checks): one appended behind the
    application's back is not."""
    from sqlalchemy import func, select
    from sqlalchemy.exc import SQLAlchemyError

    from station.settings import Settings
    from store.audit import key_file_for
    from store.db import engine_for, sessions
    from store.ledger import Ledger, attestations, head_file_for
    from store.models import LedgerEntry

    heads = _heads(published)
    settings = Settings.from_options(database_url=database)
    ledger = Ledger(head_file_for(key_file_for(settings.database_url, settings.audit_key_file)))
    engine = engine_for(settings.database_url)
    try:
        with sessions(engine)() as db:
            broken = ledger.verify(db, published=heads, attested=attestations(db))
            entries = db.scalar(select(func.count()).select_from(LedgerEntry)) or 0
    except SQLAlchemyError as exc:
        raise database_failed(settings.database_url, exc) from None
    finally:
        engine.dispose()
    _said(broken, entries, f"{entries} entries, every one balanced")


def _heads(published: list[str] | None) -> list[tuple[int, str]]:
    """``--published ENTRY:HASH`` options as (entry, hash); a bad one is one line and exit 2."""
    heads = []
    for text in published or []:
        found = PUBLISHED.match(text.strip().lower())
        if found is None:
            errors.print(f"[red]error:[/red] --published {escape(text[:80])!r}: write ENTRY:HASH (a number, a colon, 64 hex digits)")
            raise typer.Exit(code=2)
        heads.append((int(found.group(1)), found.group(2)))
    return heads


def _said(broken: list[Broken], entries: int, intact: str) -> None:
    """Intact (exit 0), or each break and how many (exit 1)."""
    if not broken:
        console.print(f"[green]intact[/green]: {intact}", highlight=False)
        return
    for problem in broken:
        where = f"entry {problem.entry_id}" if problem.entry_id is not None else "the books"
        console.print(f"[red]broken[/red] {where}: {escape(problem.why)}", highlight=False, soft_wrap=True)
    console.print(f"{len(broken)} breaks in {entries} entries", highlight=False)
    raise typer.Exit(code=1)


MOST_PAGE_BYTES = 32 * 1024 * 1024
"""A page of 500 published entries is well under a megabyte; a server sending more is not read further."""


def _fetch(url: str) -> object:
    import json
    import urllib.request

    with urllib.request.urlopen(url, timeout=30) as answer:
        body = answer.read(MOST_PAGE_BYTES + 1)
    if len(body) > MOST_PAGE_BYTES:
        raise ValueError(f"{url} sent more than {MOST_PAGE_BYTES // (1024 * 1024)} MB")
    return json.loads(body)


@ledger_app.command("check")
def check(
    url: Annotated[str, typer.Argument(help="The station's address, e.g. http://192.168.1.20:8000 (its /books page).")],
    published: Annotated[
        list[str] | None,
        typer.Option("--published", help="A head the station published before, as ENTRY:HASH (a monthly report's); repeatable."),
    ] = None,
) -> None:
    """Check a station's published books from outside, as anyone can: no account, no database, only its transparency
    page's data. Every entry's hash is recomputed from what is shown, the chain is followed from the first entry, and it
    must end at the newest entry the page shows. Exit 0 if intact, 1 listing each break, 2 if the books cannot be read."""
    import http.client
    import urllib.error

    from store.ledger import check_published

    heads = _heads(published)
    base = url.rstrip("/")
    if not re.match(r"^https?://[^\s/]+", base):
        errors.print(f"[red]error:[/red] {escape(url[:80])!r}: give the station's address, starting http:// or https://")
        raise typer.Exit(code=2)

    def pages() -> Iterator[dict[str, Any]]:
        after = 0
        while True:
            page = _fetch(f"{base}/api/books/entries?after={after}")
            if not isinstance(page, list) or not all(isinstance(entry, dict) for entry in page):
                raise ValueError("/api/books/entries did not answer a list of entries")
            yield from page
            if not page:
                return
            last = page[-1].get("id")
            if not isinstance(last, int) or last <= after:
                raise ValueError("/api/books/entries went backwards")
            after = last

    try:
        month = _fetch(f"{base}/api/books/month")
        shown = month.get("head") if isinstance(month, dict) else None
        head = (int(shown["entry"]), str(shown["hash"])) if isinstance(shown, dict) else None
        count, broken = check_published(pages(), head, heads)
    except (
        urllib.error.URLError,
        http.client.HTTPException,
        OSError,
        ValueError,
        KeyError,
        TypeError,
        OverflowError,
        RecursionError,
    ) as exc:
        errors.print(f"[red]error:[/red] cannot read the books at {escape(base)}: {escape(str(exc)[:200])}")
        raise typer.Exit(code=2) from None
    _said(broken, count, f"{count} entries, every hash recomputed, ending at the page's newest")


@ledger_app.command("report")
def report(
    month: Annotated[str, typer.Option("--month", help="The month, as YYYY-MM.")],
    html_out: Annotated[Path | None, typer.Option("--html", help="Write the printable HTML report here.")] = None,
    xlsx_out: Annotated[Path | None, typer.Option("--xlsx", help="Write the workbook here.")] = None,
    station: Annotated[str, typer.Option("--station", help="The station's name for the title.")] = "",
    lang: Annotated[str, typer.Option("--lang", help="zh or en.")] = "zh",
    database: Annotated[
        str | None, typer.Option("--database", help="Database URL (default: YXY_DATABASE_URL, else sqlite:///yxy.db).")
    ] = None,
) -> None:
    """The month's books as the union posts them: income by source, spending against budget, every entry, and the
    books' head for anyone to check them by (no personal data)."""
    from sqlalchemy.exc import SQLAlchemyError

    from scenarios.i18n import t
    from station.settings import Settings
    from store.audit import key_file_for
    from store.db import engine_for, sessions
    from store.ledger import Ledger, head_file_for
    from store.ledger_report import html, read_month, xlsx, yuan

    check_lang(lang)
    first = _month(month)
    settings = Settings.from_options(database_url=database)
    engine = engine_for(settings.database_url)
    try:
        with sessions(engine)() as db:
            books = read_month(db, Ledger(head_file_for(key_file_for(settings.database_url, settings.audit_key_file))), first)
    except SQLAlchemyError as exc:
        raise database_failed(settings.database_url, exc) from None
    finally:
        engine.dispose()
    name = station or t("ledger.station", lang)
    if html_out is not None:
        _write(html_out, html(books, name, lang).encode())
    if xlsx_out is not None:
        _write(xlsx_out, xlsx(books, name, lang))
    console.print(
        f"{first:%Y-%m}: {t('ledger.income', lang)} {yuan(sum(books.income.values()))}, {t('ledger.spent', lang)} "
        f"{yuan(sum(books.spent.values()))}, {t('ledger.closing', lang)} {yuan(books.closing)}",
        highlight=False,
    )


def _write(path: Path, content: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    except OSError as exc:
        errors.print(f"[red]error:[/red] {escape(str(path))}: cannot write it ({escape(exc.strerror or str(exc))})", soft_wrap=True)
        raise typer.Exit(code=2) from None
    console.print(f"written: {escape(str(path))}", highlight=False)


@ledger_app.command("close")
def close(
    month: Annotated[str, typer.Option("--month", help="The month to close (and every one before it), as YYYY-MM.")],
    by: Annotated[str, typer.Option("--by", help="Who closes it (the officer), for the record.")],
    database: Annotated[
        str | None, typer.Option("--database", help="Database URL (default: YXY_DATABASE_URL, else sqlite:///yxy.db).")
    ] = None,
) -> None:
    """Close a month that is over: nothing more is booked into it (a late receipt is booked in an open month, its memo
    saying which month it corrects), and the books' head now is kept for `yxy ledger verify` to hold them to."""
    from sqlalchemy.exc import SQLAlchemyError

    from station.settings import Settings
    from store.db import engine_for, sessions
    from store.ledger import Ledger, LedgerError

    first = _month(month)
    settings = Settings.from_options(database_url=database)
    engine = engine_for(settings.database_url)
    try:
        with sessions(engine).begin() as db:
            closed = Ledger().close_month(db, first, by)
            head = (closed.head_entry, closed.head_hash)
    except LedgerError as exc:
        errors.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(code=2) from None
    except SQLAlchemyError as exc:
        raise database_failed(settings.database_url, exc) from None
    finally:
        engine.dispose()
    console.print(f"closed up to {first:%Y-%m}; the books' head: {head[0]}:{head[1]}", highlight=False, soft_wrap=True)


def _month(text: str) -> date:
    """``--month``'s first day, or one line saying what to write and exit code 2."""
    from store.ledger_report import month_of

    try:
        return month_of(text)
    except ValueError as exc:
        errors.print(f"[red]error:[/red] --month: {escape(str(exc))}")
        raise typer.Exit(code=2) from None
