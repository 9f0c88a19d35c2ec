"""A real Home Assistant against the live station (tests/interop/home_assistant.py); only with YXY_INTEROP=1.

It installs Home Assistant into .cache/home-assistant-venv the first time (about two
minutes from empty; 800 MB), then takes about 35 s.  Set YXY_INTEROP_SOURCE to run
another tree's ``yxy`` (a ``git worktree`` of HEAD, say).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.interop.home_assistant import Options, run_checks

pytestmark = [
    pytest.mark.skipif(os.environ.get("YXY_INTEROP") != "1", reason="a real Home Assistant: set YXY_INTEROP=1"),
    pytest.mark.xdist_group("home-assistant"),
]


def test_home_assistant_sees_the_station_right() -> None:
    source = os.environ.get("YXY_INTEROP_SOURCE")
    report = run_checks(Options(install=True, source=Path(source) if source else None))
    assert not report.failed, report.summary()
