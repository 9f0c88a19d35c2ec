"""``yxy members`` end to end on a SQLite file: what an officer types, what they read, and the exit codes scripts see."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from tests.store.test_member_import import HEADER, good_row, member_list, write_csv
from tests.test_light_commands import HEAVY, imported_by


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'out' / 'yxy.db'}"


def yxy(*args: str, database: str) -> Result:
    return CliRunner().invoke(app, ["members", *args, "--database", database])


def test_a_bad_list_is_refused_one_line_per_problem_and_nothing_stored(tmp_path: Path, database: str) -> None:
    bad = {
        3: ("手机号", "phone", ["钱三", "1380013", "", "", "", "否", ""]),
        5: ("工种", "group", ["钱五", "13900000555", "厨师", "", "", "否", ""]),
    }
    path = write_csv(tmp_path / "list.csv", member_list(10, bad))
    result = yxy("import", str(path), database=database)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == f"error: {path}: 第 3 行“手机号”列：不是有效的手机号（11 位，以 1 开头，可带 +86）"
    assert lines[1].startswith(f"error: {path}: 第 5 行“工种”列：没有这个工种；可填：外卖骑手、") and len(lines) == 3
    assert lines[2].startswith("没有导入任何会员：2 处问题")
    assert "Traceback" not in result.output + result.stderr
    listed = yxy("list", "--format", "json", database=database)
    assert listed.exit_code == 0 and json.loads(listed.stdout) == {"members": [], "next_after": None}


def test_skip_bad_imports_the_rest_and_says_what_it_left_out(tmp_path: Path, database: str) -> None:
    path = write_csv(tmp_path / "list.csv", member_list(10, {4: ("手机号", "phone", ["钱四", "1380013", "", "", "", "否", ""])}))
    result = yxy("import", str(path), "--skip-bad", "--lang", "en", database=database)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "imported 10 members", "skipped 1 rows:",
        "  line 4, column “手机号”: not a Chinese mobile number (11 digits starting with 1, +86 allowed)",
    ]  # fmt: skip
    found = yxy("list", "--search", "孙00", "--format", "csv", database=database)
    assert found.exit_code == 0 and found.stdout.count("\n") == 10  # header and 9 of 孙001..孙009
    table = yxy("list", "--limit", "4", "--lang", "en", database=database)
    assert "孙004" in table.stdout and "孙005" not in table.stdout and "give --after 4 for the next page" in table.stdout


def test_ban_reactivate_delete_and_the_audit_log_stays_whole(tmp_path: Path, database: str) -> None:
    yxy("import", str(write_csv(tmp_path / "l.csv", [HEADER, good_row(1), good_row(2)])), database=database)
    refused = yxy("ban", "1", "--lang", "en", database=database)
    assert refused.exit_code == 2 and refused.stderr.strip() == "error: Reason: a ban needs a reason"
    naive = yxy("ban", "1", "--reason", "打架", "--until", "2099-01-01T00:00", database=database)
    assert naive.exit_code == 2 and "截止时间须在将来，并带时区" in naive.stderr
    banned = yxy("ban", "1", "--reason", "打架", "--until", "2099-01-01T08:00+08:00", database=database)
    assert banned.exit_code == 0 and banned.stdout.strip() == "会员 1：禁止入站"
    shown = json.loads(yxy("list", "--format", "json", database=database).stdout)["members"][0]
    assert (shown["status"], shown["status_reason"], shown["status_until"]) == ("banned", "打架", "2099-01-01T00:00:00+00:00")
    assert yxy("reactivate", "1", database=database).exit_code == 0
    deleted = yxy("delete", "2", "--yes", "--lang", "en", database=database)
    assert deleted.stdout.strip() == "member 2 deleted; their name and phone are no longer stored"
    missing = yxy("delete", "2", "--yes", database=database)
    assert missing.exit_code == 2 and missing.stderr.strip() == "error: 编号：没有会员 2"
    verified = CliRunner().invoke(app, ["audit", "verify", "--database", database])
    assert verified.exit_code == 0 and "intact: 4 entries" in verified.stdout  # the import, the ban, the reactivation, the deletion


def test_export_writes_what_import_reads(tmp_path: Path, database: str) -> None:
    yxy("import", str(write_csv(tmp_path / "l.csv", member_list(5, {}))), database=database)
    for name in ("out.csv", "out.xlsx"):
        result = yxy("export", str(tmp_path / name), database=database)
        assert result.exit_code == 0 and result.stdout.startswith("已导出 5 名会员到")
    wrong = yxy("export", str(tmp_path / "out.txt"), database=database)
    assert wrong.exit_code == 2 and "不能读取 .txt 文件" in wrong.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("import", "nowhere.csv"), "error: nowhere.csv: 无法读取（No such file or directory）"),
        (("import", "list.xls"), "请在 Excel 或 WPS 中另存为 .xlsx 或 CSV"),
        (("list", "--lang", "fr"), "error: --lang 'fr': one of zh, en"),
        (("list", "--limit", "0", "--lang", "en"), "error: limit: must be between 1 and 500"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(args: tuple[str, ...], said: str, database: str, tmp_path: Path) -> None:
    (tmp_path / "list.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    result = CliRunner().invoke(app, ["members", *[str(tmp_path / a) if a == "list.xls" else a for a in args], "--database", database])
    assert result.exit_code == 2 and said in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("argv", [("members", "--help"), ("members", "import", "--help"), ("members", "list", "--help")])
def test_members_help_imports_nothing_heavy(argv: tuple[str, ...]) -> None:
    code, modules = imported_by(*argv)
    assert code == 0 and not modules & HEAVY, sorted(modules & HEAVY)
