"""``yxy``: the command line that composes the twin, the actors, the scenarios and the live station.

A user's mistake (a bad scenario file, a bad --set, a bad --mqtt) is one red line per
problem and exit code 2, never a traceback.  Commands live by concern in
cli/planner.py, cli/studies.py, cli/station.py, cli/broker.py, cli/audit.py, cli/members.py and
cli/federation.py, cli/privacy.py, cli/vision.py, cli/ledger.py and cli/supplies.py; importing them registers
them.
"""

from __future__ import annotations

from cli import audit, broker, federation, ledger, members, planner, privacy, station, studies, supplies, vision
from cli.common import app

__all__ = [
    "app",
    "audit",
    "broker",
    "federation",
    "ledger",
    "main",
    "members",
    "planner",
    "privacy",
    "station",
    "studies",
    "supplies",
    "vision",
]


def main() -> None:
    """Entry point; also for ``python -m cli``."""
    app()
