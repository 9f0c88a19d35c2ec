"""Errors a planner can cause, each with a message that names the file, the key and the fix.

ScenarioError
├── ScenarioFileError   the file cannot be read or is not TOML
└── ScenarioValueError  a key is missing, unknown or has a value out of range
SimulationError          the model broke an invariant while running (a bug, not a user mistake)
"""

from __future__ import annotations


class ScenarioError(Exception):
    """A mistake in a scenario file or an override; the CLI prints it and exits with code 2."""


class ScenarioFileError(ScenarioError):
    pass


class ScenarioValueError(ScenarioError):
    pass


class SimulationError(Exception):
    pass
