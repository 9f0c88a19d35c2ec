"""``yxy members``: the member register from the shell: import and export the union's list, find, ban, reactivate, delete.

Each write is audited as the shell's user (role ``cli``); a mistake in a file or an
option is one line per problem in ``--lang``'s words, and exit code 2.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from cli.common import app, check_lang, check_writable, console, errors, station_database
from cli.planner import Format, FormatOption

if TYPE_CHECKING:  # the database is imported by the commands that open it
    from sqlalchemy.orm import Session

    from store.members import Actor, Members, Problem
    from store.models import Member

members_app = typer.Typer(name="members", help="The member register: import, export, list, ban, reactivate, delete.", no_args_is_help=True)
app.add_typer(members_app, name="members")

DatabaseOption = Annotated[str | None, typer.Option("--database", help="Database URL (default: YXY_DATABASE_URL, else sqlite:///yxy.db).")]
KeyFileOption = Annotated[
    Path | None,
    typer.Option("--key-file", help="The station's audit key (default: YXY_AUDIT_KEY_FILE, else beside a SQLite database)."),
]
LangOption = Annotated[str, typer.Option("--lang", help="Language of messages and headers: zh or en.")]
MemberId = Annotated[int, typer.Argument(min=1, help="The member's id (yxy members list shows it).")]


def _say(lang: str, key: str, **params: Any) -> str:
    from scenarios.i18n import t

    return t(key, lang).format(**params)


def _refuse(problems: tuple[Problem, ...] | list[Problem], lang: str, source: str = "") -> typer.Exit:
    from store.members import say

    where = f"{escape(source)}: " if source else ""
    for problem in problems:
        errors.print(f"[red]error:[/red] {where}{escape(say(problem, lang))}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def _actor() -> Actor:
    from store.members import Actor

    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (a container)
        user = "unknown"
    return Actor(user, "cli", "cli")


@contextmanager
def _register(database: str | None, key_file: Path | None, lang: str) -> Iterator[tuple[Session, Members]]:
    """A transaction on the migrated database and the register over it; every user mistake inside ends in exit code 2."""
    from station.settings import Settings
    from store.db import sessions
    from store.members import MemberError, Members

    check_lang(lang)
    settings = Settings.from_options(database_url=database, audit_key_file=str(key_file) if key_file else None)
    with station_database(settings) as (engine, audit, key):
        try:
            with sessions(engine).begin() as db:
                yield db, Members(audit, key)
        except MemberError as exc:
            raise _refuse(exc.problems, lang) from None


@members_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="The member list: .csv (UTF-8 or GB18030) or .xlsx, headers in Chinese or English.")],
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="Import the good rows and list the bad ones (default: all or none).")
    ] = False,
    database: DatabaseOption = None,
    key_file: KeyFileOption = None,
    lang: LangOption = "zh",
) -> None:
    """Enrol every member of FILE, or none: each bad row is named by its line and column."""
    from store.member_import import MemberFileError, import_members, read_sheet
    from store.members import MemberError

    check_lang(lang)
    try:
        sheet = read_sheet(file)
    except MemberError as exc:
        raise _refuse(exc.problems, lang, str(file)) from None
    with _register(database, key_file, lang) as (db, register):
        try:
            report = import_members(db, register, _actor(), sheet, skip_bad=skip_bad)
        except MemberFileError as exc:  # the transaction rolls back: nothing is stored
            refused = _refuse(exc.problems, lang, str(file))
            errors.print(escape(_say(lang, "member_import_refused", count=len(exc.problems))), highlight=False, soft_wrap=True)
            raise refused from None
    console.print(escape(_say(lang, "member_imported", count=report.imported)), highlight=False)
    if report.skipped:
        console.print(escape(_say(lang, "member_skipped", count=len({p.line for p in report.skipped}))), highlight=False)
        from store.members import say

        for problem in report.skipped:
            console.print(f"  {escape(say(problem, lang))}", highlight=False, soft_wrap=True)
    if report.ignored_columns:
        from scenarios.i18n import t

        columns = t("list_sep", lang).join(report.ignored_columns)
        console.print(escape(_say(lang, "member_ignored_columns", columns=columns)), highlight=False, soft_wrap=True)


@members_app.command("export")
def export(
    file: Annotated[Path, typer.Argument(help="Where to write: .csv (UTF-8 with BOM, opens in Excel) or .xlsx.")],
    database: DatabaseOption = None,
    key_file: KeyFileOption = None,
    lang: LangOption = "zh",
) -> None:
    """Write every member to FILE, readable by you only; it imports again as it is. The export is audited."""
    from store.member_import import export_members

    check_lang(lang)
    check_writable("FILE", file)
    with _register(database, key_file, lang) as (db, register):
        count = export_members(db, register, _actor(), file, lang)
    console.print(escape(_say(lang, "member_exported", count=count, file=file)), highlight=False, soft_wrap=True)


@members_app.command("list")
def list_(
    search: Annotated[str, typer.Option("--search", help="Part of a name, phone or membership number.")] = "",
    limit: Annotated[int, typer.Option("--limit", help="At most this many (1 to 500).")] = 50,
    after: Annotated[int, typer.Option("--after", min=0, help="Start after this member id (the next page).")] = 0,
    form: FormatOption = Format.TABLE,
    database: DatabaseOption = None,
    key_file: KeyFileOption = None,
    lang: LangOption = "zh",
) -> None:
    """Members whose name, phone or membership number contains --search, by id, a page at a time."""
    from store.members import search as find

    with _register(database, key_file, lang) as (db, _):
        page = find(db, search, limit=limit, after=after)
        rows = [_listed(member, lang) for member in page.members]
    if form is Format.JSON:
        sys.stdout.write(json.dumps({"members": rows, "next_after": page.next_after}, ensure_ascii=False, indent=2) + "\n")
    elif form is Format.CSV:
        _print_csv(rows)
    else:
        _print_table(rows, lang)
        if page.next_after is not None:
            console.print(escape(_say(lang, "member_more", after=page.next_after)), highlight=False)


def _listed(member: Member, lang: str) -> dict[str, Any]:
    from scenarios.i18n import t
    from store.db import as_utc

    return {
        "id": member.id, "member_no": member.member_no, "name": member.name, "phone": member.phone,
        "worker_group": member.worker_group, "group_name": t(f"group.{member.worker_group}", lang), "employer": member.employer,
        "face_consent": member.face_consent, "face_consent_on": member.face_consent_on.isoformat() if member.face_consent_on else None,
        "face_consent_scope": member.face_consent_scope, "status": member.status, "status_reason": member.status_reason,
        "status_until": as_utc(member.status_until).isoformat() if member.status_until else None,
    }  # fmt: skip


def _print_csv(rows: list[dict[str, Any]]) -> None:
    """As the planner's CSV, but each cell neutralised: names and employers are typed by people, and opened in Excel."""
    import csv

    from store.member_import import neutralised

    writer = csv.writer(sys.stdout)
    writer.writerow(rows[0].keys() if rows else [])
    for row in rows:
        writer.writerow([neutralised("" if value is None else str(value)) for value in row.values()])


def _print_table(rows: list[dict[str, Any]], lang: str) -> None:
    from rich.table import Table

    from scenarios.i18n import t

    if not rows:
        console.print(escape(_say(lang, "member_none_found")), highlight=False)
        return
    columns = ("id", "member_no", "name", "phone", "worker_group", "status")
    table = Table(*(t(f"member_col.{name}", lang) for name in columns))
    for row in rows:
        until = f" → {row['status_until'][:16].replace('T', ' ')} UTC" if row["status_until"] else ""
        status = t(f"member_status.{row['status']}", lang) + until
        table.add_row(str(row["id"]), escape(row["member_no"] or ""), escape(row["name"]), row["phone"], escape(row["group_name"]), status)
    console.print(table)


def _until(text: str | None, lang: str) -> datetime | None:
    from store.members import Problem

    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise _refuse([Problem("until_past", field="status_until")], lang) from None


def _set(
    member_id: int, status: str, reason: str | None, until: str | None, database: str | None, key_file: Path | None, lang: str
) -> None:
    from actors.door_access import Standing

    check_lang(lang)
    moment = _until(until, lang)
    with _register(database, key_file, lang) as (db, register):
        register.set_status(db, _actor(), member_id, Standing(status), reason, moment)
    console.print(escape(_say(lang, "member_status_set", member=member_id, status=_say(lang, f"member_status.{status}"))), highlight=False)


ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why: the member may ask, and an officer must answer.")]
UntilOption = Annotated[
    str | None, typer.Option("--until", help="When it lapses by itself, ISO 8601 with a time zone: 2026-01-31T08:00+08:00.")
]


@members_app.command("ban")
def ban(
    member_id: MemberId,
    reason: ReasonOption = None,
    until: UntilOption = None,
    database: DatabaseOption = None,
    key_file: KeyFileOption = None,
    lang: LangOption = "zh",
) -> None:
    """Keep a member out (a reason is required), until --until or until reactivated."""
    _set(member_id, "banned", reason, until, database, key_file, lang)


@members_app.command("deactivate")
def deactivate(
    member_id: MemberId,
    reason: ReasonOption = None,
    until: UntilOption = None,
    database: DatabaseOption = None,
    key_file: KeyFileOption = None,
    lang: LangOption = "zh",
) -> None:
    """Stop a membership (moved away, left the job), until --until or until reactivated."""
    _set(member_id, "deactivated", reason, until, database, key_file, lang)


@members_app.command("reactivate")
def reactivate(member_id: MemberId, database: DatabaseOption = None, key_file: KeyFileOption = None, lang: LangOption = "zh") -> None:
    """Make a member active again: the ban or deactivation, its reason and its end are lifted."""
    _set(member_id, "active", None, None, database, key_file, lang)


@members_app.command("delete")
def delete(
    member_id: MemberId,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    database: DatabaseOption = None,
    key_file: KeyFileOption = None,
    lang: LangOption = "zh",
) -> None:
    """Forget a member for good: their name and phone are kept nowhere afterwards; the audit log keeps only the id."""
    check_lang(lang)
    if not yes:
        typer.confirm(f"delete member {member_id}?", abort=True)
    with _register(database, key_file, lang) as (db, register):
        register.delete(db, _actor(), member_id)
    console.print(escape(_say(lang, "member_deleted", member=member_id)), highlight=False)
