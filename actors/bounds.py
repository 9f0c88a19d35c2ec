"""Limits on config values, as dataclass field metadata the scenario schema enforces.

A zero timer step loops for ever and a zero capacity divides by zero, so these are
refused at the edge, by key, instead of failing deep inside a run.
"""

from __future__ import annotations

from types import MappingProxyType

POSITIVE = MappingProxyType({"gt": 0.0})
FRACTION = MappingProxyType({"gt": 0.0, "lt": 1.0})
"""Strictly between 0 and 1 (a charging tail never reaches 1)."""
CLOCK_HOUR = MappingProxyType({"ge": 0.0, "le": 24.0})
