"""A screen or TV in the station: notices, the weather warning, a film on a rainy night.

It does what it is told and shows it; nobody queues for it, so it has no physics of its
own, and its simulated self is the plain device, which takes what it was set to.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ScreenConfig:
    unit_cost_cny: float = 0.0
    monthly_cost_cny: float = 0.0
