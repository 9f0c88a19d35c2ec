"""A real Home Assistant against the live station (tests/interop/home_assistant.py), in every full run and CI.

It installs Home Assistant into ~/.cache/yxy/home-assistant-venv the first time (about 35 s
with uv from empty; 700 MB), then takes about 30 s.  YXY_INTEROP=0 leaves it out of a
run on a machine without Python 3.13 or newer; CI never sets it.  Set YXY_INTEROP_SOURCE to run
another tree's ``yxy`` (a ``git worktree`` of HEAD, say).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.interop.home_assistant import Options, run_checks

pytestmark = [
    pytest.mark.skipif(os.environ.get("YXY_INTEROP") == "0", reason="a real Home Assistant: left out by YXY_INTEROP=0"),
    pytest.mark.xdist_group("home-assistant"),
]


def test_home_assistant_sees_the_station_right() -> None:
    source = os.environ.get("YXY_INTEROP_SOURCE")
    report = run_checks(Options(install=True, source=Path(source) if source else None))
    assert not report.failed, report.summary()
