"""Shared test helpers: the library's location and a feed recorder."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "scenarios" / "library"


@pytest.fixture
def library() -> Path:
    return LIBRARY
