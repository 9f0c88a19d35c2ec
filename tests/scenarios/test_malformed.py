"""Malformed scenario files: one clear line naming the file and the key, exit code 2, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.conftest import LIBRARY, ROOT

MINIMAL = (LIBRARY / "mmc.toml").read_text(encoding="utf-8")


def variant(old: str, new: str) -> str:
    assert old in MINIMAL, old
    return MINIMAL.replace(old, new, 1)


# (case id, file text, words the one error line must contain)
CASES = [
    ("not-toml", MINIMAL + "\n[devices.server\n", ["not valid TOML", "line"]),
    ("missing-section", variant('[station]\nid = "mmc"\n', ""), ["station", "required key is missing"]),
    ("unknown-top-key", MINIMAL + '\n[devics.x]\nkind = "door"\n', ["devics", "unknown key", "allowed here: automations, broker, devices"]),
    ("bad-duration", variant('horizon = "50h"', 'horizon = "50 hours"'), ["scenario.horizon", "not a duration", "'15m'"]),
    ("zero-units", variant("units = 3", "units = 0"), ["devices.server.units", "greater than or equal to 1"]),
    ("unknown-kind", variant('kind = "microwave"', 'kind = "oven"'), ["devices.server.kind", "unknown kind 'oven'", "microwave"]),
    ("unknown-device-key", variant("units = 3", "units = 3\nspeed = 2"), ["devices.server.speed", "unknown key", "units"]),
    ("need-without-device", variant('device = "server"', 'device = "servr"'), ["needs.serve.device", "no device 'servr'", "server"]),
    ("shares", variant("share = 1.0", "share = 0.8"), ["population", "shares add up to 0.8"]),
    ("warmup-too-long", variant('warmup = "2h"', 'warmup = "60h"'), ["scenario", "warmup", "shorter than horizon"]),
    ("unknown-dist", variant('dist = "exponential"', 'dist = "beta"'), ["devices.server.service", "unknown dist 'beta'", "exponential"]),
    (
        "triangle-upside-down",
        variant(
            'service = { dist = "exponential", mean = "80s" }', 'service = { dist = "triangular", low = "2m", mode = "1m", high = "3m" }'
        ),
        ["devices.server.service", "low <= mode <= high"],
    ),
    (
        "unknown-profile",
        variant('hourly_share = "flat"', 'hourly_share = "lunch"'),
        ["hourly_share", "unknown profile 'lunch'", "station_visits"],
    ),
    ("short-profile", variant('hourly_share = "flat"', "hourly_share = [1, 2, 3]"), ["hourly_share", "at least 24"]),
    (
        "profile-twice",
        variant('hourly_share = "flat"', 'hourly_share = "flat"\nday_profile = { "12:00" = 5 }'),
        ["streams.arrivals", "hourly_share", "day_profile", "once"],
    ),
    ("profile-bad-time", variant('hourly_share = "flat"', 'day_profile = { "12:60" = 5 }'), ["day_profile", "12:60", "HH:MM"]),
    ("profile-all-zero", variant('hourly_share = "flat"', 'day_profile = { "00:00" = 0 }'), ["day_profile", "above zero"]),
    ("balk-chance", variant("share = 1.0", "share = 1.0\nbalk_chance = [0, 1.5]"), ["balk_chance.1", "less than or equal to 1"]),
    ("stream-needs-unknown", variant('needs = ["serve"]', 'needs = ["serve", "nap"]'), ["streams.arrivals.needs", "no need 'nap'"]),
    ("bad-probability", variant("probability = 1.0", "probability = 1.5"), ["needs.serve.probability", "less than or equal to 1"]),
    ("weather-unknown", variant('profile = "neutral"', 'profile = "monsoon"'), ["weather", "unknown profile 'monsoon'"]),
    ("bad-station-id", variant('id = "mmc"', 'id = "mmc station!"'), ["station.id", "pattern"]),
    ("bad-timezone", variant('id = "mmc"', 'id = "mmc"\ntimezone = "China/Beijing"'), ["station.timezone", "unknown time zone"]),
    ("timezone-folder", variant('id = "mmc"', 'id = "mmc"\ntimezone = "Asia"'), ["station.timezone", "unknown time zone 'Asia'"]),
    ("extends-missing", 'extends = "nowhere.toml"\n' + MINIMAL, ["extends", "no such scenario or station file"]),
]


@pytest.mark.parametrize(("text", "words"), [(t, w) for _, t, w in CASES], ids=[c for c, _, _ in CASES])
def test_malformed_file_gives_one_clear_line(tmp_path: Path, text: str, words: list[str]) -> None:
    path = tmp_path / "station.toml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["simulate", str(path), "-n", "1"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and str(path) in lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert "Traceback" not in result.output


def test_cabinet_with_no_empty_slot(tmp_path: Path) -> None:
    path = tmp_path / "cabinet.toml"
    path.write_text(variant('kind = "microwave"', 'kind = "battery_cabinet"\nslots = 4\nbatteries = 4'), encoding="utf-8")
    result = CliRunner().invoke(app, ["simulate", str(path), "-n", "1"])
    assert result.exit_code == 2
    assert "devices.server: batteries (4) must be fewer than slots (4)" in result.stderr


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ("devices.server.units", ["--set", "KEY=VALUE"]),
        ("devices.server.units=many", ["devices.server.units", "valid integer"]),
        ("scenario.name.x=1", ["--set scenario.name.x", "scenario.name is a value"]),
    ],
)
def test_bad_override(override: str, words: list[str]) -> None:
    result = CliRunner().invoke(app, ["simulate", "mmc", "-n", "1", "--set", override])
    assert result.exit_code == 2
    for word in words:
        assert word in result.stderr


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["simulate", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2 and "no such scenario file" in result.stderr
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    result = CliRunner().invoke(app, ["simulate", str(binary)])
    assert result.exit_code == 2 and "cannot be read" in result.stderr


def test_real_entry_point_exit_code(tmp_path: Path) -> None:
    """The installed command, not just the in-process runner, exits 2 without a traceback."""
    path = tmp_path / "bad.toml"
    path.write_text(variant("units = 3", "units = -1"), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "cli", "simulate", str(path)], capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 2
    assert "devices.server.units" in done.stderr and "Traceback" not in done.stderr
