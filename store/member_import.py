"""Member lists as spreadsheets: import from CSV or XLSX with every bad row named, export to either.

The union keeps its 500+ members in Excel.  An import reads the first sheet (XLSX) or the
whole file (CSV: UTF-8 with or without a BOM, or GB18030 as Excel saves "CSV" on a
Chinese Windows), finds its header row (the first row with anything in it), and reads
each row below through ``MemberIn``, the rule book enrolment uses.  Each problem names
the row as the spreadsheet numbers it and the column by its header as written, so the
officer can find it.  Nothing is stored unless every row is good, or ``skip_bad`` says to
store the good ones and list the rest.

Headers may be Chinese or English, in any order and case (``HEADERS``); columns nobody
asked for are left out and named.  Required: name and phone.

Bounds, checked before the work they protect: the file's size (``Limits.file_bytes``), an
XLSX's unpacked size as its zip directory declares it (zipfile never inflates a part past
its declared size, so a zip bomb is refused before openpyxl reads a byte of it), the
number of members, and the columns read (openpyxl's read-only mode is asked for the
first ``Limits.columns`` only, and streams rows).  A formula is refused, not evaluated.

Export is import's inverse: the same headers in the reader's language, so an export
imports again.  CSV is written with a BOM (Excel then reads it as UTF-8) and every cell
that a spreadsheet would evaluate (``=``, ``+``, ``-``, ``@``) gets a quote in front,
which import takes off again; XLSX cells are typed as text, so Excel evaluates none.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import os
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from actors.door_access import Standing
from store.db import as_utc
from store.members import (
    FORMULA_START,
    Actor,
    MemberIn,
    MemberInvalid,
    Members,
    Problem,
    WorkerGroup,
    enrolled_numbers,
    enrolled_phones,
    every_member,
    lock_register,
    problems_of,
)
from store.models import Member

logger = logging.getLogger(__name__)

IMPORTED = ("member_no", "name", "phone", "worker_group", "employer", "face_consent", "face_consent_on", "face_consent_scope")
"""The columns an import reads, in the order an export writes them."""
EXPORTED = (*IMPORTED, "status", "status_reason", "status_until")
REQUIRED = ("name", "phone")
HEADERS: dict[str, tuple[str, ...]] = {
    "member_no": ("会员号", "会员编号", "工会会员号", "会员证号", "member no", "member number", "membership number"),
    "name": ("姓名", "名字", "会员姓名", "name", "full name"),
    "phone": ("手机号", "手机", "手机号码", "电话", "联系电话", "phone", "mobile", "tel", "phone number"),
    "worker_group": ("工种", "职业", "群体", "类别", "group", "worker group", "occupation"),
    "employer": ("单位", "工作单位", "所属单位", "平台", "所属平台", "单位/平台", "employer", "platform", "company"),
    "face_consent": ("人脸授权", "人脸识别授权", "刷脸授权", "face consent"),
    "face_consent_on": ("授权日期", "人脸授权日期", "consent date", "face consent date"),
    "face_consent_scope": ("授权范围", "人脸授权范围", "consent scope", "face consent scope"),
}
"""Headers an import understands besides the catalog's (``member_col.<field>`` in each language) and the field's own name."""
EXCEL_LAST_ROW = 1_048_576


@dataclass(frozen=True)
class Limits:
    file_bytes: int = 10 * 2**20
    rows: int = 20_000
    """Members in one file; a city's list is a few thousand."""
    columns: int = 32
    unpacked_bytes: int = 32 * 2**20
    """An XLSX's parts together, unpacked; a 20,000-row list is a few MB."""


LIMITS = Limits()


@dataclass(frozen=True)
class Sheet:
    """A member file read and bounded: its header as written, and its non-empty rows by spreadsheet row number."""

    header: tuple[str, ...]
    header_line: int
    rows: list[tuple[int, tuple[object, ...]]]


@dataclass(frozen=True)
class ImportReport:
    imported: int
    skipped: list[Problem] = field(default_factory=list)
    """With ``skip_bad``: the bad rows' problems, which were left out."""
    ignored_columns: list[str] = field(default_factory=list)


class MemberFileError(MemberInvalid):
    """A member file that cannot be read, or whose rows have problems (each on its line and column); nothing was stored."""


def read_sheet(path: Path, limits: Limits = LIMITS) -> Sheet:
    """The file's header and rows, or ``MemberFileError`` saying why not (too big, not CSV or XLSX, unreadable)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise MemberFileError(Problem("unreadable", {"why": exc.strerror or type(exc).__name__})) from None
    if size > limits.file_bytes:
        raise MemberFileError(Problem("file_too_big", {"size_mb": f"{size / 2**20:.1f}", "most_mb": f"{limits.file_bytes / 2**20:g}"}))
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _sheet(_csv_rows(path.read_bytes()), limits)
    if suffix == ".xlsx":
        _check_unpacked(path, limits)
        return _sheet(_xlsx_rows(path, limits), limits)
    raise MemberFileError(Problem("old_format" if suffix in (".xls", ".et", ".wps") else "format", {"suffix": suffix or "-"}))


def _sheet(rows: Iterator[tuple[int, tuple[object, ...]]], limits: Limits) -> Sheet:
    header: tuple[str, ...] | None = None
    header_line = 0
    kept: list[tuple[int, tuple[object, ...]]] = []
    for line, cells in rows:
        if line > EXCEL_LAST_ROW:  # a sheet no spreadsheet could write; openpyxl would fill the gap row by row
            raise MemberFileError(Problem("past_last_row", {"most": EXCEL_LAST_ROW}))
        if all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells):
            continue
        if header is None:
            header = _trimmed(cells)
            header_line = line
            if len(header) > limits.columns:
                raise MemberFileError(Problem("too_many_columns", {"most": limits.columns}, line=line))
            continue
        if len(kept) == limits.rows:
            raise MemberFileError(Problem("too_many_rows", {"most": limits.rows}))
        kept.append((line, cells))
    if header is None:
        raise MemberFileError(Problem("empty"))
    return Sheet(header, header_line, kept)


def _trimmed(cells: Sequence[object]) -> tuple[str, ...]:
    found = ["" if cell is None else " ".join(str(cell).split()) for cell in cells]
    while found and not found[-1]:
        found.pop()
    return tuple(found)


def _csv_rows(data: bytes) -> Iterator[tuple[int, tuple[object, ...]]]:
    """Records numbered as a spreadsheet numbers them once it opens the file (a quoted line break stays in its cell)."""
    reader = csv.reader(io.StringIO(_decoded(data), newline=""), strict=True)
    line = 0
    try:
        for line, cells in enumerate(reader, start=1):
            yield line, tuple(cells)
    except csv.Error:
        raise MemberFileError(Problem("csv", line=line + 1)) from None


def _decoded(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        encodings: tuple[str, ...] = ("utf-8-sig",)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ()  # Excel's "Unicode text": tab-separated, not CSV
    else:
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise MemberFileError(Problem("encoding"))


def _check_unpacked(path: Path, limits: Limits) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            declared = sum(part.file_size for part in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise MemberFileError(Problem("xlsx_unreadable")) from None
    if declared > limits.unpacked_bytes:
        raise MemberFileError(Problem("xlsx_too_big", {"most_mb": f"{limits.unpacked_bytes / 2**20:g}"}))


def _xlsx_rows(path: Path, limits: Limits) -> Iterator[tuple[int, tuple[object, ...]]]:
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    try:
        book = load_workbook(path, read_only=True, data_only=False, keep_links=False)
    except Exception as exc:  # openpyxl raises a dozen kinds for a malformed file (KeyError, ParseError, TypeError...)
        logger.info("an XLSX member file could not be opened: %s", type(exc).__name__)
        raise MemberFileError(Problem("xlsx_unreadable")) from None
    try:
        if not book.worksheets:
            raise MemberFileError(Problem("empty"))
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # the declared size may be wrong (other writers), and openpyxl would stop reading there
        rows = sheet.iter_rows(min_row=1, max_col=limits.columns, values_only=True)
        yield from enumerate(rows, start=1)
    except MemberFileError:
        raise
    except Exception as exc:  # rows are parsed as they are read: the same dozen kinds, found later
        logger.info("an XLSX member file could not be read: %s", type(exc).__name__)
        raise MemberFileError(Problem("xlsx_unreadable")) from None
    finally:
        book.close()


# ---- rows into members --------------------------------------------------------------------------------------------------


def header_fields() -> dict[str, str]:
    """Every header an import understands, normalised (``_header_key``), and the field it names."""
    from scenarios.i18n import LANGUAGES, t

    known: dict[str, str] = {}
    for name in IMPORTED:
        for header in (name, *HEADERS[name], *(t(f"member_col.{name}", lang) for lang in LANGUAGES)):
            known[_header_key(header)] = name
    return known


def _header_key(header: str) -> str:
    """Headers compare without case, spaces, underscores, dots, colons or brackets: "Member No." is member_no."""
    folded = unicodedata.normalize("NFKC", header).casefold()
    return "".join(c for c in folded if c.isalnum() or c == "/")


@dataclass(frozen=True)
class _Columns:
    by_field: dict[str, int]
    ignored: list[str]


def _columns(sheet: Sheet) -> _Columns:
    known = header_fields()
    by_field: dict[str, int] = {}
    ignored: list[str] = []
    problems: list[Problem] = []
    for index, header in enumerate(sheet.header):
        name = known.get(_header_key(header))
        if name is None:
            if header:
                ignored.append(header)
        elif name in by_field:
            problems.append(Problem("duplicate_column", line=sheet.header_line, column=header))
        else:
            by_field[name] = index
    from scenarios.i18n import t

    for name in REQUIRED:
        if name not in by_field:
            wanted = f"{t(f'member_col.{name}', 'zh')} / {t(f'member_col.{name}', 'en')}"
            problems.append(Problem("missing_column", {"column": wanted}, line=sheet.header_line))
    if problems:
        raise MemberFileError(*problems)
    return _Columns(by_field, ignored)


@dataclass(frozen=True)
class Rows:
    """A sheet read through ``MemberIn``: each good row's member by line, every problem placed on its cell, the columns left out."""

    good: list[tuple[int, MemberIn]]
    problems: list[Problem]
    ignored_columns: list[str]
    columns: _Columns


def members_of(sheet: Sheet) -> Rows:
    """The file's members and problems, the file alone: no database (``import_members`` checks what is enrolled)."""
    columns = _columns(sheet)
    width = len(sheet.header)
    good: list[tuple[int, MemberIn]] = []
    problems: list[Problem] = []
    first_line: dict[tuple[str, str], int] = {}
    for line, cells in sheet.rows:
        if any(cell not in (None, "") for cell in cells[width:]):
            problems.append(Problem("extra_cells", {"columns": width}, line=line))
            continue
        values = {name: cells[index] if index < len(cells) else None for name, index in columns.by_field.items()}
        try:
            member = MemberIn.model_validate(values)
        except ValidationError as exc:
            problems += [_placed(problem, line, sheet, columns) for problem in problems_of(exc)]
            continue
        keys = [(name, value) for name, value in (("phone", member.phone), ("member_no", member.member_no)) if value]
        repeated = [
            _placed(Problem(f"duplicate_{name}", {"line": first_line[(name, value)]}, field=name), line, sheet, columns)
            for name, value in keys
            if (name, value) in first_line
        ]
        for key in keys:
            first_line.setdefault(key, line)
        if repeated:
            problems += repeated
        else:
            good.append((line, member))
    return Rows(good, problems, columns.ignored, columns)


def _placed(problem: Problem, line: int, sheet: Sheet, columns: _Columns) -> Problem:
    index = columns.by_field.get(problem.field)
    return Problem(problem.code, problem.params, problem.field, line, sheet.header[index] if index is not None else "")


def import_members(db: Session, members: Members, actor: Actor, sheet: Sheet, *, skip_bad: bool = False) -> ImportReport:
    """Enrol every member of ``sheet`` in ``db``'s transaction, or none: ``MemberFileError`` lists each bad row.

    With ``skip_bad`` the good rows are enrolled and the bad ones reported.  Phones and
    membership numbers already enrolled are checked under the register's lock, so a
    second import of an overlapping file waits for the first and then names its rows.
    """
    rows = members_of(sheet)
    problems = list(rows.problems)
    lock_register(db)
    phones = enrolled_phones(db, (member.phone for _, member in rows.good))
    numbers = enrolled_numbers(db, (member.member_no for _, member in rows.good))
    for line, member in rows.good:
        for name, found in (("phone", phones.get(member.phone)), ("member_no", numbers.get(member.member_no or ""))):
            if found is not None:
                problems.append(_placed(Problem(f"{name}_enrolled", {"member": found}, field=name), line, sheet, rows.columns))
    order = {header: index for index, header in enumerate(sheet.header)}
    problems.sort(key=lambda p: (p.line or 0, order.get(p.column, -1)))
    bad_lines = {problem.line for problem in problems}
    if problems and not skip_bad:
        logger.info("member import refused: %d problems in %d rows", len(problems), len(bad_lines))
        raise MemberFileError(*problems)
    enrolled = members.enrol_many(db, actor, [member for line, member in rows.good if line not in bad_lines], skipped=len(bad_lines))
    logger.info("member import: %d enrolled, %d rows skipped", len(enrolled), len(bad_lines))
    return ImportReport(len(enrolled), problems, rows.ignored_columns)


# ---- export -------------------------------------------------------------------------------------------------------------


def export_members(db: Session, members: Members, actor: Actor, path: Path, lang: str) -> int:
    """Write every member to ``path`` (.csv or .xlsx, readable by its owner only), headers in ``lang``.

    Audited: an export is a read of everyone's data at once."""
    from scenarios.i18n import t

    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise MemberFileError(Problem("format", {"suffix": suffix or "-"}))
    header = [t(f"member_col.{name}", lang) for name in EXPORTED]
    rows = (_exported(member, lang) for member in every_member(db))
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        written = _write_csv(file, header, rows) if suffix == ".csv" else _write_xlsx(file, header, rows)
    members.audit_export(db, actor, written, suffix.removeprefix("."))
    return written


def _exported(member: Member, lang: str) -> list[str]:
    from scenarios.i18n import t

    values: dict[str, Any] = {name: getattr(member, name) for name in EXPORTED}
    values["worker_group"] = t(f"group.{WorkerGroup(member.worker_group).value}", lang)
    values["face_consent"] = t("member_consent_yes" if member.face_consent else "member_consent_no", lang)
    values["status"] = t(f"member_status.{Standing(member.status).value}", lang)
    if member.status_until is not None:
        values["status_until"] = as_utc(member.status_until).astimezone(UTC).isoformat(timespec="minutes")
    return ["" if value is None else value.isoformat() if isinstance(value, date | datetime) else str(value) for value in values.values()]


def neutralised(cell: str) -> str:
    """A cell a spreadsheet shows as text: a quote before a leading ``=``, ``+``, ``-``, ``@``, tab or CR (formula injection)."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def _write_csv(file: Any, header: list[str], rows: Iterator[list[str]]) -> int:
    text = io.TextIOWrapper(file, encoding="utf-8-sig", newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    written = 0
    for row in rows:
        writer.writerow([neutralised(cell) for cell in row])
        written += 1
    text.flush()
    text.detach()
    return written


def _write_xlsx(file: Any, header: list[str], rows: Iterator[list[str]]) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]

    book = Workbook(write_only=True)
    sheet = book.create_sheet()

    def as_text(value: str) -> Any:
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # openpyxl would make "=..." a formula; a member's data is never one
        return cell

    sheet.append([as_text(cell) for cell in header])
    written = 0
    for row in rows:
        sheet.append([as_text(cell) for cell in row])
        written += 1
    book.save(file)
    return written
