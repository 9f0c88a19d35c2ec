"""The pure core stays pure: twin/ and actors/ do no I/O and read no wall clock or global randomness.

Walks the syntax tree of every module, so a new module is covered the day it lands.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

PURE_PACKAGES = ("twin", "actors")
PLACEMENT_EXCEPTIONS = {"actors/runtime.py"}
"""The one module that may wrap actors for Ray (the Ray issue)."""

FORBIDDEN_MODULES = {
    "ray",
    "paho",
    "fastapi",
    "starlette",
    "uvicorn",
    "socket",
    "ssl",
    "requests",
    "httpx",
    "urllib",
    "http",
    "asyncio",
    "subprocess",
    "threading",
    "multiprocessing",
    "os",
    "io",
    "pathlib",
    "shutil",
    "tempfile",
    "sqlite3",
    "sqlalchemy",
    "random",
    "time",
    "simpy",
    "scenarios",
    "hardware_bridge",
    "web",
    "cli",
    "vision",
}
FORBIDDEN_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("random", "seed"),
    ("random", "rand"),
    ("random", "randn"),
    ("random", "randint"),
    ("random", "random"),
    ("random", "choice"),
    ("random", "default_rng"),
    ("random", "shuffle"),
    ("random", "exponential"),
}
FORBIDDEN_NAMES = {"open", "print", "input", "exec", "eval", "__import__"}


def pure_modules() -> list[Path]:
    return sorted(
        p for package in PURE_PACKAGES for p in (ROOT / package).rglob("*.py") if str(p.relative_to(ROOT)) not in PLACEMENT_EXCEPTIONS
    )


def violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            names = []
        for name in names:
            if name.split(".")[0] in FORBIDDEN_MODULES:
                found.append(f"{path.name}:{node.lineno} imports {name}")
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_NAMES:
                found.append(f"{path.name}:{node.lineno} calls {func.id}()")
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Attribute | ast.Name):
                owner = func.value.attr if isinstance(func.value, ast.Attribute) else func.value.id
                if (owner, func.attr) in FORBIDDEN_CALLS:
                    found.append(f"{path.name}:{node.lineno} calls {owner}.{func.attr}()")
    return found


@pytest.mark.parametrize("path", pure_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_core_does_no_io(path: Path) -> None:
    assert violations(path) == []


def test_the_checker_catches_what_it_should(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import socket\nfrom paho.mqtt import client\nimport numpy as np\nfrom datetime import datetime\n"
        "x = datetime.now()\ny = np.random.rand()\nz = open('f')\n",
        encoding="utf-8",
    )
    found = violations(bad)
    assert len(found) == 5, found


def test_twin_does_not_import_actors() -> None:
    for path in (ROOT / "twin").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("actors"), f"{path.name} imports {node.module}"
