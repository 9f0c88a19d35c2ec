"""Light commands import nothing heavy: `yxy --help`, `yxy scenarios` and `yxy check` answer at once.

Each command runs in a fresh interpreter (what a user's shell does), which then lists
the top-level packages it imported.  Their time is measured by bench/cli_start.py, not
here: a timed unit test fails on a busy machine for nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEAVY = {"ray", "plotly", "fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "scipy", "numpy", "simpy", "paho", "ssl", "jinja2"}
"""Each costs 0.05-1.5 s to import; a command that does not simulate, serve or talk MQTT needs none of them."""

PROBE = """
import json, sys
sys.argv = ["yxy", *json.loads(sys.argv[1])]
from cli.main import app
try:
    app()
except SystemExit as exit:
    code = exit.code
else:
    code = 0
print("\\n" + json.dumps({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def imported_by(*argv: str) -> tuple[int, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    last = done.stdout.strip().splitlines()[-1]
    answer = json.loads(last)
    return answer["code"], set(answer["modules"])


@pytest.mark.parametrize(
    "argv",
    [
        ("--help",),
        ("scenarios",),
        ("scenarios", "--format", "json"),
        ("check", "summer_heat_wave"),
        ("check", "summer_heat_wave", "--set", "devices.microwave.units=0"),
        ("simulate", "--help"),
        ("serve", "--help"),
        ("broker", "--help"),
    ],
)
def test_a_light_command_imports_nothing_heavy(argv: tuple[str, ...]) -> None:
    code, modules = imported_by(*argv)
    assert code in (0, 2), f"yxy {' '.join(argv)} exited {code}"
    assert not modules & HEAVY, f"yxy {' '.join(argv)} imported {sorted(modules & HEAVY)}"


def test_the_probe_sees_a_heavy_import() -> None:
    """The probe itself can fail: a command that simulates does import the engine."""
    code, modules = imported_by("simulate", "mmc", "-n", "2", "--set", "scenario.horizon=10m", "--set", "scenario.warmup=0")
    assert code == 0
    assert {"simpy", "numpy", "scipy"} <= modules
