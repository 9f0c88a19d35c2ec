"""Scores into incidents (issue 13): one incident a person a behaviour however long it lasts, none again within the
cool-down, closed when the score stays low or the person is gone; and the shipped models are checked before loading."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vision.behaviour import BEHAVIOURS, Behaviour, Incidents, Rule, load_behaviours
from vision.features import NAMES
from vision.pose import ModelError

RULE = Rule(threshold=0.6, smoothing=0.5, clear_s=3.0, cooldown_s=20.0)


@settings(max_examples=200, deadline=None)
@given(
    scores=st.lists(st.tuples(st.sampled_from([(1,), (2,), (3, 4)]), st.floats(0.0, 1.0)), min_size=1, max_size=300),
    step=st.sampled_from([0.125, 0.2, 0.25]),
)
def test_incidents_open_only_above_the_threshold_one_a_person_and_not_again_within_the_cool_down(
    scores: list[tuple[tuple[int, ...], float]], step: float
) -> None:
    incidents = Incidents({Behaviour.FALL: RULE})
    opened: dict[tuple[int, ...], list[float]] = {}
    closed: dict[tuple[int, ...], float] = {}
    for n, (subject, score) in enumerate(scores):
        t = n * step
        incident = incidents.judge(t, Behaviour.FALL, subject, score)
        if incident is not None and incident.opened_at == t:
            assert incident.scores[-1][1] >= RULE.threshold - 1e-4, "an incident opened below the threshold"
            assert t >= closed.get(subject, -1e9) + RULE.cooldown_s, "the same person raised again within the cool-down"
            opened.setdefault(subject, []).append(t)
        if incident is not None and incident.closed_at is not None:
            closed[subject] = t
        for gone in incidents.quiet(t, seen={s for s, _ in scores[max(0, n - 5) : n + 1]}):
            closed[gone.subject] = t
        subjects = [i.subject for i in incidents.open]
        assert len(subjects) == len(set(subjects)), "two incidents open at once for one person"


def test_one_long_fall_is_one_incident_updated_while_it_lasts_and_closed_when_the_person_is_gone() -> None:
    incidents = Incidents({Behaviour.FALL: RULE})
    seen = [incidents.judge(t / 5, Behaviour.FALL, (1,), 0.95) for t in range(50)]
    assert {i.number for i in seen if i is not None} == {1} and seen[0] is None, "the first score alone is smoothed below"
    assert len(seen[-1].scores) == 49 and seen[-1].peak > 0.9  # type: ignore[union-attr]
    assert incidents.quiet(10.0 + RULE.clear_s - 0.5, seen=set()) == []
    (gone,) = incidents.quiet(10.0 + RULE.clear_s, seen=set())
    assert gone.closed_at == 10.0 + RULE.clear_s and incidents.open == []
    assert incidents.judge(20.0, Behaviour.FALL, (1,), 1.0) is None and incidents.judge(20.2, Behaviour.FALL, (1,), 1.0) is None
    assert incidents.judge(20.2, Behaviour.FALL, (2,), 1.0) is None, "smoothing starts afresh for another person"
    assert incidents.judge(20.4, Behaviour.FALL, (2,), 1.0) is not None


def test_the_shipped_models_load_and_score_rows_of_features() -> None:
    fall = load_behaviours()[Behaviour.FALL]
    scores = fall.scores(np.zeros((3, len(NAMES)), np.float32))
    assert scores.shape == (3,) and ((scores >= 0) & (scores <= 1)).all()


def _copy(tmp_path: Path) -> Path:
    for path in BEHAVIOURS.parent.glob("*.onnx"):
        if path.name != "movenet_multipose_lightning.onnx":
            shutil.copy(path, tmp_path / path.name)
    shutil.copy(BEHAVIOURS, tmp_path / BEHAVIOURS.name)
    return tmp_path / BEHAVIOURS.name


def test_a_corrupt_swapped_or_incomplete_model_is_a_clear_error(tmp_path: Path) -> None:
    manifest = _copy(tmp_path)
    (tmp_path / "fall.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelError, match=r"fall\.onnx: sha256 .* is not the"):
        load_behaviours(manifest)
    recorded = json.loads(manifest.read_text(encoding="utf-8"))
    recorded["models"]["fall"]["sha256"] = "0" * 64
    (tmp_path / "fall.onnx").write_bytes(b"not a model")
    recorded["models"]["fall"]["features"].append("how_tall_the_hat_is")
    manifest.write_text(json.dumps(recorded), encoding="utf-8")
    with pytest.raises(ModelError, match="features this version does not make: how_tall_the_hat_is"):
        load_behaviours(manifest)
    del recorded["models"]["fall"]["threshold"]
    manifest.write_text(json.dumps(recorded), encoding="utf-8")
    with pytest.raises(ModelError, match="the fall model's entry is incomplete"):
        load_behaviours(manifest)
    manifest.write_text("{", encoding="utf-8")
    with pytest.raises(ModelError, match="cannot read the behaviour models' manifest"):
        load_behaviours(manifest)
