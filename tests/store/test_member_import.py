"""Importing the union's member list (store/member_import.py), CSV and XLSX, on SQLite and PostgreSQL; and exporting it.

What an officer needs: every bad row named by its line and column, nothing stored
unless all is well (or ``skip_bad``), and a file that is too big, too long or a zip
bomb refused before it costs the station its memory.
"""

from __future__ import annotations

import csv
import io
import logging
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from store.db import sessions
from store.member_import import (
    IMPORTED,
    LIMITS,
    ImportReport,
    Limits,
    MemberFileError,
    export_members,
    import_members,
    read_sheet,
)
from store.members import Members, say
from store.models import AuditEntry, Member
from tests.store.test_members import OFFICER, made, register

__all__ = ["made", "register"]  # fixtures shared with the register's tests

HEADER = ["姓名", "手机号", "工种", "单位", "会员号", "人脸授权", "授权日期"]
BAD_ROWS = {
    # spreadsheet line (the header is line 1) -> (column, code, the row)
    41: ("手机号", "phone", ["钱四一", "1380013", "快递员", "顺丰", "", "否", ""]),
    102: ("工种", "group", ["钱一零二", "13900000102", "宇航员", "", "", "否", ""]),
    250: ("姓名", "too_long", ["钱" * 10_000, "13900000250", "骑手", "", "", "否", ""]),
    377: ("手机号", "duplicate_phone", ["钱三七七", "139-0000-0010", "环卫", "", "", "否", ""]),
    420: ("授权日期", "consent_without_date", ["钱四二零", "13900000420", "其他", "", "", "是", ""]),
    480: ("姓名", "formula", ['=HYPERLINK("http://evil.example","点我")', "13900000480", "其他", "", "", "否", ""]),
}


def good_row(i: int) -> list[str]:
    return [f"孙{i:03d}", f"+86 139 {i // 10000:04d} {i % 10000:04d}", "外卖骑手", "美团", f"JY{i:04d}", "是", "2024/5/1"]


def member_list(good: int = 500, bad: dict[int, tuple[str, str, list[str]]] = BAD_ROWS) -> list[list[str]]:
    """The header, then ``good`` good rows with the bad ones at their lines."""
    rows: list[list[str]] = [HEADER]
    i = 0
    while len(rows) < good + len(bad) + 1:
        line = len(rows) + 1
        if line in bad:
            rows.append(bad[line][2])
        else:
            i += 1
            rows.append(good_row(i))
    return rows


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as file:
        csv.writer(file).writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


WRITERS: dict[str, Callable[[Path, list[list[str]]], Path]] = {
    "csv": lambda p, rows: write_csv(p.with_suffix(".csv"), rows),
    "xlsx": lambda p, rows: write_xlsx(p.with_suffix(".xlsx"), list(rows)),
}


def stored(made: sessionmaker[Session]) -> int:
    with made() as db:
        return db.scalar(select(func.count()).select_from(Member)) or 0


def run_import(made: sessionmaker[Session], register: Members, path: Path, skip_bad: bool = False) -> ImportReport:
    sheet = read_sheet(path)
    with made.begin() as db:
        return import_members(db, register, OFFICER, sheet, skip_bad=skip_bad)


@pytest.mark.parametrize("form", ["csv", "xlsx"])
def test_500_good_rows_and_a_few_bad_ones_import_nothing_and_name_each_bad_cell(
    form: str, made: sessionmaker[Session], register: Members, tmp_path: Path
) -> None:
    path = WRITERS[form](tmp_path / "members", member_list())
    with pytest.raises(MemberFileError) as error:
        run_import(made, register, path)
    assert [(p.line, p.column, p.code) for p in error.value.problems] == [(line, col, code) for line, (col, code, _) in BAD_ROWS.items()]
    assert error.value.problems[3].params == {"line": 11}  # 139-0000-0010 is the 10th good row, on line 11
    assert stored(made) == 0
    said = {lang: [say(p, lang) for p in error.value.problems] for lang in ("zh", "en")}
    assert said["zh"][0] == "第 41 行“手机号”列：不是有效的手机号（11 位，以 1 开头，可带 +86）"
    assert said["en"][2] == "line 250, column “姓名”: too long: at most 64 characters"
    assert said["zh"][3] == "第 377 行“手机号”列：手机号与第 11 行重复"


@pytest.mark.parametrize("form", ["csv", "xlsx"])
def test_skip_bad_imports_the_good_rows_and_lists_the_bad(
    form: str, made: sessionmaker[Session], register: Members, tmp_path: Path
) -> None:
    path = WRITERS[form](tmp_path / "members", member_list())
    report = run_import(made, register, path, skip_bad=True)
    assert report.imported == 500 and stored(made) == 500
    assert sorted({p.line for p in report.skipped}) == sorted(BAD_ROWS)
    with made() as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "members_imported")).one()
    assert entry.after == {"count": 500, "ids": [[1, 500]], "skipped_rows": len(BAD_ROWS)} and entry.target == "members"
    again = run_import(made, register, path, skip_bad=True)  # the same file twice: every phone is enrolled now
    assert again.imported == 0 and {p.code for p in again.skipped} >= {"phone_enrolled", "member_no_enrolled"}
    with made() as db:
        first = db.scalars(select(Member).where(Member.member_no == "JY0001")).one()
        assert (first.name, first.phone, first.worker_group, first.employer, first.face_consent) == (
            "孙001", "13900000001", "riders", "美团", True,
        )  # fmt: skip


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_as_excel_in_china_saves_it(encoding: str, made: sessionmaker[Session], register: Members, tmp_path: Path) -> None:
    rows = [["Name", "Mobile", "Worker group", "Employer", "Member No.", "Face consent", "Consent date", "备注"], *member_list(20, {})[1:]]
    rows[3][0] = "欧阳·娜娜"  # a GB18030 file must keep what GBK could not
    report = run_import(made, register, write_csv(tmp_path / "m.csv", rows, encoding))
    assert report.imported == 20 and report.ignored_columns == ["备注"]
    with made() as db:
        assert db.scalars(select(Member.name).where(Member.member_no == "JY0003")).one() == "欧阳·娜娜"


def test_a_file_that_is_not_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes("姓名,手机号\n".encode("utf-16"))
    with pytest.raises(MemberFileError) as error:
        read_sheet(path)
    assert [p.code for p in error.value.problems] == ["encoding"]


def test_missing_and_doubled_columns_are_named_on_the_header_line(tmp_path: Path, made: sessionmaker[Session], register: Members) -> None:
    path = write_csv(tmp_path / "m.csv", [[], ["名字", "单位", "工作单位"], ["张三", "a", "b"]])
    with pytest.raises(MemberFileError) as error:
        run_import(made, register, path)
    assert [(p.line, p.column, p.code) for p in error.value.problems] == [(2, "工作单位", "duplicate_column"), (2, "", "missing_column")]
    assert say(error.value.problems[1], "en") == "line 2: no column “手机号 / Phone”"


def test_a_row_wider_than_its_header_is_a_comma_in_a_name(tmp_path: Path, made: sessionmaker[Session], register: Members) -> None:
    path = tmp_path / "m.csv"
    path.write_text("姓名,手机号\n张三,13800138000\n李,四,13800138001\n", encoding="utf-8")
    with pytest.raises(MemberFileError) as error:
        run_import(made, register, path)
    assert [(p.line, p.code) for p in error.value.problems] == [(3, "extra_cells")]


# ---- bounds --------------------------------------------------------------------------------------------------------------


def test_a_50_mb_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as file:
        file.truncate(50 * 2**20)  # sparse: nothing written, nothing read
    started = time.perf_counter()
    with pytest.raises(MemberFileError) as error:
        read_sheet(path)
    assert time.perf_counter() - started < 0.5
    assert say(error.value.problems[0], "en") == "the file is 50.0 MB; at most 10 MB"


def test_a_million_rows_are_refused_after_the_limit_not_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_bytes(b"name,phone\n" + b"a,1\n" * 1_000_000)
    with pytest.raises(MemberFileError) as error:
        read_sheet(path)
    assert [(p.code, p.params) for p in error.value.problems] == [("too_many_rows", {"most": LIMITS.rows})]


def test_an_xlsx_zip_bomb_is_refused_from_its_directory(tmp_path: Path) -> None:
    """200 MB of zeros packed into about 200 KB: refused by the sizes the zip declares, before openpyxl unpacks anything."""
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive, archive.open("xl/worksheets/sheet1.xml", "w") as part:
        for _ in range(200):
            part.write(b"\0" * 2**20)
    assert path.stat().st_size < 1 * 2**20
    with pytest.raises(MemberFileError) as error:
        read_sheet(path)
    assert [p.code for p in error.value.problems] == ["xlsx_too_big"]


@pytest.mark.parametrize("content", [b"not a zip", b"PK\x03\x04broken"])
def test_a_damaged_xlsx_is_refused(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "m.xlsx"
    path.write_bytes(content)
    with pytest.raises(MemberFileError) as error:
        read_sheet(path)
    assert [p.code for p in error.value.problems] == ["xlsx_unreadable"]


def test_an_xlsx_with_far_cells_reads_only_what_it_needs(tmp_path: Path) -> None:
    """A note in column XFD and a formatted cell on Excel's last row: the members are read, 32 columns wide."""
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "手机号"])
    sheet.append(["张三", 13800138000])
    sheet.cell(row=2, column=16384, value="far right")
    sheet.cell(row=1_048_576, column=1).number_format = "0"
    book.save(tmp_path / "far.xlsx")
    read = read_sheet(tmp_path / "far.xlsx")
    assert read.header == ("姓名", "手机号") and [(line, cells[:2]) for line, cells in read.rows] == [(2, ("张三", 13800138000))]
    assert all(len(cells) == 32 for _, cells in read.rows)


def test_an_xlsx_past_excels_last_row_is_refused(tmp_path: Path) -> None:
    good = write_xlsx(tmp_path / "good.xlsx", [["姓名", "手机号"], ["张三", "13800138000"]])
    odd = tmp_path / "odd.xlsx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(odd, "w") as target:
        for part in source.infolist():
            data = source.read(part)
            if part.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(
                    b"</sheetData>", b'<row r="2000000"><c r="A2000000" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
                )
            target.writestr(part, data)
    with pytest.raises(MemberFileError) as error:
        read_sheet(odd, Limits())
    assert [p.code for p in error.value.problems] == ["past_last_row"]


def test_formula_cells_are_refused_in_xlsx_too(tmp_path: Path, made: sessionmaker[Session], register: Members) -> None:
    path = write_xlsx(
        tmp_path / "f.xlsx", [["姓名", "手机号", "单位"], ['=HYPERLINK("http://evil.example","张三")', "13800138000", "=1+1"]]
    )
    with pytest.raises(MemberFileError) as error:
        run_import(made, register, path)
    assert [(p.line, p.column, p.code) for p in error.value.problems] == [(2, "姓名", "formula"), (2, "单位", "formula")]


# ---- all or nothing, and two imports at once ---------------------------------------------------------------------------

ROWS = st.lists(st.tuples(st.booleans(), st.integers(0, 60)), min_size=1, max_size=25)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=ROWS)
def test_an_import_stores_every_row_or_none(engine: Engine, register: Members, tmp_path: Path, rows: list[tuple[bool, int]]) -> None:
    made = sessions(engine)
    with made.begin() as db:
        db.execute(text("DELETE FROM member"))
    table = [HEADER] + [good_row(n) if good else ["某人", "1380013", "", "", "", "否", ""] for good, n in rows]
    path = write_csv(tmp_path / "m.csv", table)
    phones = [row[1] for row in table[1:] if row[1] != "1380013"]
    clean = all(good for good, _ in rows) and len(set(phones)) == len(phones)
    try:
        report = run_import(made, register, path)
    except MemberFileError as error:
        assert not clean and stored(made) == 0
        assert {p.line for p in error.problems} <= set(range(2, len(table) + 1))
    else:
        assert clean and report.imported == stored(made) == len(rows)


def test_two_imports_of_overlapping_lists_store_each_phone_once(made: sessionmaker[Session], register: Members, tmp_path: Path) -> None:
    """The second waits for the first's lock, then finds its phones enrolled and names them: no duplicate, no traceback."""
    first = write_csv(tmp_path / "a.csv", member_list(300, {}))
    second = write_csv(tmp_path / "b.csv", [HEADER] + [good_row(i) for i in range(200, 400)])
    outcomes: dict[str, object] = {}

    def attempt(name: str, path: Path) -> None:
        try:
            outcomes[name] = run_import(made, register, path).imported
        except MemberFileError as exc:
            outcomes[name] = {p.code for p in exc.problems}

    threads = [threading.Thread(target=attempt, args=(n, p)) for n, p in (("a", first), ("b", second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values(), key=str) in (
        [200, {"phone_enrolled", "member_no_enrolled"}],
        [300, {"phone_enrolled", "member_no_enrolled"}],
    )
    with made() as db:
        phones = list(db.scalars(select(Member.phone)))
    assert len(phones) == len(set(phones)) == stored(made) in (200, 300)


def test_an_import_logs_no_name_and_no_phone(
    made: sessionmaker[Session], register: Members, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_csv(tmp_path / "m.csv", member_list(30, {5: ("手机号", "phone", ["钱五", "1380013", "", "", "", "否", ""])}))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(MemberFileError):
        run_import(made, register, path)
    run_import(made, register, path, skip_bad=True)
    assert caplog.records and "孙" not in caplog.text and "钱" not in caplog.text
    # Every phone as written and as stored (a bare "139" also matched a log line's milliseconds: the check was flaky).
    phones = [f"1390000{i:04d}" for i in range(1, 31)] + ["+86 139", "1380013"]
    assert not any(phone in caplog.text for phone in phones)


# ---- export ------------------------------------------------------------------------------------------------------------


def imported_values(made: sessionmaker[Session]) -> list[tuple[object, ...]]:
    """Every member's values an import sets, by membership number."""
    with made() as db:
        return [tuple(getattr(m, name) for name in IMPORTED) for m in db.scalars(select(Member).order_by(Member.member_no))]


@pytest.mark.parametrize("form", ["csv", "xlsx"])
def test_an_export_imports_again_as_it_was(form: str, made: sessionmaker[Session], register: Members, tmp_path: Path) -> None:
    run_import(made, register, write_csv(tmp_path / "m.csv", member_list(40, {})))
    with made.begin() as db:
        db.execute(text("UPDATE member SET employer = '@SUM(1+1)', face_consent_scope = '-2+3' WHERE id = 1"))
    exported = tmp_path / f"out.{form}"
    with made.begin() as db:
        assert export_members(db, register, OFFICER, exported, "en") == 40
    assert exported.stat().st_mode & 0o777 == 0o600
    before = imported_values(made)
    with made.begin() as db:
        db.execute(text("DELETE FROM member"))
    report = run_import(made, register, exported)
    assert report.imported == 40 and report.ignored_columns == ["Status", "Reason", "Until"]
    assert imported_values(made) == before


def test_a_csv_export_neutralises_formulas_and_an_xlsx_one_types_them_as_text(
    made: sessionmaker[Session], register: Members, tmp_path: Path
) -> None:
    run_import(made, register, write_csv(tmp_path / "m.csv", member_list(3, {})))
    with made.begin() as db:
        db.execute(text("UPDATE member SET employer = '=HYPERLINK(\"http://evil.example\")', face_consent_scope = '+1' WHERE id = 1"))
        export_members(db, register, OFFICER, tmp_path / "out.csv", "zh")
        export_members(db, register, OFFICER, tmp_path / "out.xlsx", "zh")
    rows = list(csv.reader(io.StringIO((tmp_path / "out.csv").read_text(encoding="utf-8-sig"))))
    assert rows[0][:3] == ["会员号", "姓名", "手机号"]
    assert rows[1][4] == '\'=HYPERLINK("http://evil.example")' and rows[1][7] == "'+1"
    sheet = load_workbook(tmp_path / "out.xlsx").active
    assert sheet.cell(row=2, column=5).value == '=HYPERLINK("http://evil.example")' and sheet.cell(row=2, column=5).data_type == "s"


def test_an_xlsx_whose_entities_expand_like_a_billion_laughs_is_refused(tmp_path: Path) -> None:
    """Entities that would expand to 3 GB in a cell: expat's amplification guard stops the parse, and the file is refused."""
    good = write_xlsx(tmp_path / "good.xlsx", [["姓名", "手机号"], ["张三", "13800138000"]])
    entities = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    bomb = tmp_path / "laughs.xlsx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(bomb, "w") as target:
        for part in source.infolist():
            data = source.read(part)
            if part.filename == "xl/worksheets/sheet1.xml":
                data = f"<!DOCTYPE worksheet [{entities}]>".encode() + data.replace("张三".encode(), b"&a9;")
                assert data.count(b"&a9;") == 1  # used in the name cell
            target.writestr(part, data)
    with pytest.raises(MemberFileError) as error:
        read_sheet(bomb)
    assert [p.code for p in error.value.problems] == ["xlsx_unreadable"]
