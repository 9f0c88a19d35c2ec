"""The cameras' fourth stage: behaviour models read a track's features, and a score smoothed over time becomes an
incident, one a person a behaviour, raised once, updated while it lasts and closed when it is over.

The models are ours (``vision.training``), shipped as ONNX beside ``BEHAVIOURS`` (each file's
sha256, the features it reads, its threshold, and how it was trained and measured), and
checked before they are loaded, like the pose model. The rule that turns scores into
incidents (``Rule``, ``Incidents``) is the same code the held-out evaluation counts alarms
with, so the figures in the model card are what a camera does.
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np
import onnxruntime as ort

from vision.features import Reading
from vision.pose import MODELS, ModelError, checked, session

BEHAVIOURS = MODELS / "behaviours.json"
SCORES_KEPT = 120
"""Score points an incident keeps (the alarm page plots them): a minute at 2 points a second, then the oldest go."""


class Behaviour(StrEnum):
    FALL = "fall"
    SMOKING = "smoking"
    DISPUTE = "dispute"


@dataclass(frozen=True)
class Rule:
    """When a behaviour's score makes an incident: smoothed (an exponential moving average weighing the newest score by
    ``smoothing``) it must reach ``threshold``; the incident ends once the smoothed score has stayed below it for
    ``clear_s``, or its person has not been seen for as long; the same person does not raise the same behaviour again
    within ``cooldown_s`` of the end (one fall is one alarm, however long they lie there)."""

    threshold: float
    smoothing: float = 0.5
    hold_s: float = 0.0
    """How long the smoothed score must have stayed at or above the threshold before an incident opens: a moment's
    look-alike (someone striding past close under the camera) passes, a fallen person stays down."""
    clear_s: float = 10.0
    cooldown_s: float = 120.0


@dataclass
class Incident:
    number: int
    behaviour: Behaviour
    subject: tuple[int, ...]
    """The track or tracks it is about (two or more for a dispute)."""
    opened_at: float
    peak: float
    scores: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=SCORES_KEPT))
    closed_at: float | None = None
    last_above: float = 0.0
    last_seen: float = 0.0


class Incidents:
    """Smoothed scores per (behaviour, subject) and the incidents they open; bounded by the tracks a camera keeps."""

    def __init__(self, rules: dict[Behaviour, Rule]) -> None:
        self.rules = rules
        self._smoothed: dict[tuple[Behaviour, tuple[int, ...]], float] = {}
        self._open: dict[tuple[Behaviour, tuple[int, ...]], Incident] = {}
        self._cooling: dict[tuple[Behaviour, tuple[int, ...]], float] = {}
        self._above_since: dict[tuple[Behaviour, tuple[int, ...]], float] = {}
        self._numbers = itertools.count(1)

    def judge(self, t: float, behaviour: Behaviour, subject: tuple[int, ...], score: float) -> Incident | None:
        """Take one score; the incident it opened or updated, if any (``closed_at`` set when this closed it)."""
        rule, key = self.rules[behaviour], (behaviour, subject)
        smoothed = rule.smoothing * score + (1 - rule.smoothing) * self._smoothed.get(key, 0.0)
        self._smoothed[key] = smoothed
        if smoothed < rule.threshold:
            self._above_since.pop(key, None)
        else:
            self._above_since.setdefault(key, t)
        incident = self._open.get(key)
        if incident is None:
            if smoothed < rule.threshold or t < self._cooling.get(key, -np.inf) or t - self._above_since[key] < rule.hold_s:
                return None
            incident = Incident(next(self._numbers), behaviour, subject, t, smoothed)
            self._open[key] = incident
        incident.scores.append((t, round(smoothed, 4)))
        incident.peak = max(incident.peak, smoothed)
        incident.last_seen = t
        if smoothed >= rule.threshold:
            incident.last_above = t
        elif t - incident.last_above >= rule.clear_s:
            return self._close(key, t)
        return incident

    def quiet(self, t: float, seen: set[tuple[int, ...]]) -> list[Incident]:
        """Close incidents whose subject has not been scored for ``clear_s``, and forget the smoothed scores of subjects
        no longer ``seen``."""
        closed = [  # not scored for that long: its track is gone, or it stands outside every zone that judges it
            self._close(key, t) for key, incident in list(self._open.items()) if t - incident.last_seen >= self.rules[key[0]].clear_s
        ]
        for key in [k for k in self._smoothed if k[1] not in seen and k not in self._open]:
            del self._smoothed[key]
            self._above_since.pop(key, None)
        for key in [k for k, until in self._cooling.items() if until <= t]:
            del self._cooling[key]
        return closed

    def close_all(self, t: float) -> list[Incident]:
        """Close every open incident (the camera dropped, or its picture changed size): said, not silently lost."""
        return [self._close(key, t) for key in list(self._open)]

    @property
    def open(self) -> list[Incident]:
        return list(self._open.values())

    def _close(self, key: tuple[Behaviour, tuple[int, ...]], t: float) -> Incident:
        incident = self._open.pop(key)
        incident.closed_at = t
        self._cooling[key] = t + self.rules[key[0]].cooldown_s
        self._smoothed.pop(key, None)
        self._above_since.pop(key, None)
        return incident


@dataclass(frozen=True)
class BehaviourModel:
    """One behaviour's model: its ONNX session, what it reads of a track and which of those features, in order."""

    behaviour: Behaviour
    session: ort.InferenceSession
    reading: Reading
    features: tuple[str, ...]
    rule: Rule

    def scores(self, rows: np.ndarray) -> np.ndarray:
        """The behaviour's probability for each row of its reading's features."""
        columns = [self.reading.names.index(name) for name in self.features]
        chosen = np.ascontiguousarray(rows[:, columns], np.float32)
        _, probabilities = self.session.run(None, {self.session.get_inputs()[0].name: chosen})
        scores: np.ndarray = probabilities[:, 1]
        return scores


def load_behaviours(manifest: Path = BEHAVIOURS) -> dict[Behaviour, BehaviourModel]:
    """The shipped behaviour models, each checked against the sha256 its manifest records before it is loaded."""
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8"))
        entries = {Behaviour(name): entry for name, entry in recorded["models"].items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ModelError(f"{manifest}: cannot read the behaviour models' manifest ({exc.__class__.__name__}: {exc})") from None
    models = {}
    for behaviour, entry in entries.items():
        try:
            path, expected = manifest.parent / entry["file"], str(entry["sha256"])
            reading = Reading(entry["reads"])
            features = tuple(str(name) for name in entry["features"])
            rule = Rule(*(float(entry[key]) for key in ("threshold", "smoothing", "hold_s", "clear_s", "cooldown_s")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{manifest}: the {behaviour} model's entry is incomplete ({exc.__class__.__name__}: {exc})") from None
        unknown = [name for name in features if name not in reading.names]
        if unknown:
            raise ModelError(f"{manifest}: the {behaviour} model reads features this version does not make: {', '.join(unknown)}")
        found = checked(path, expected, "the behaviour model", "run `yxy vision train` or reinstall")
        models[behaviour] = BehaviourModel(behaviour, session(path, found, threads=1), reading, features, rule)
    return models
