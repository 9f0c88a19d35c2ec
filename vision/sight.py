"""What a simulated camera makes of one incident in its view: the incident drawn as keypoints by our generator, seen
from where the camera is mounted, and judged by the same ``Judge`` a live camera runs (no pixels anywhere).

A planner's camera (``scenarios.cameras``) asks this when someone in its view falls, lights a
cigarette or falls out with someone: the answer is whether the installed models caught it, how
long after it began, and how sure they were, so the alarm load and the misses of a planned
station come from the models themselves, not from a figure copied out of the model card.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import NamedTuple

import numpy as np

from vision.behaviour import Behaviour, BehaviourModel, load_behaviours
from vision.camera import Judge, Step
from vision.features import Reading
from vision.synthetic import CCTV, Noise, clip
from vision.training import SECONDS, draw, people


class Seen(NamedTuple):
    caught: bool
    delay_s: float
    """From the moment it began to the incident's opening (0 when missed)."""
    peak: float


@functools.cache
def installed() -> dict[Behaviour, BehaviourModel]:
    """The installed behaviour models, loaded once a process (a sweep's workers each load their own)."""
    return load_behaviours()


def judged(behaviour: Behaviour, height_m: float, pitch_deg: float, fps: float, rng: np.random.Generator) -> Seen:
    """One incident of ``behaviour`` by people of drawn size and build, at a drawn spot in the view of a camera mounted
    ``height_m`` up looking ``pitch_deg`` down at ``fps``, with the pose model's noise of the training conditions."""
    conditions = dataclasses.replace(draw(rng, held_out=False), camera_height_m=height_m, pitch=math.radians(pitch_deg), fps=fps)
    reading = {Behaviour.FALL: Reading.MOMENT, Behaviour.SMOKING: Reading.HABIT, Behaviour.DISPUTE: Reading.PAIR}[behaviour]
    kind = {Behaviour.FALL: "fall", Behaviour.SMOKING: "smoke"}.get(behaviour) or str(rng.choice(["argue", "push"]))
    actors, span = people(reading, kind, conditions, rng)
    began = span[0] if span is not None else 0.0
    camera = CCTV(height_m=height_m, pitch=math.radians(pitch_deg))
    frames = clip(actors, camera, SECONDS[reading], fps, Noise(jitter=conditions.jitter, dropped=conditions.dropped), rng)
    judge = Judge(installed(), (camera.width, camera.height))
    for n, found in enumerate(frames):
        t = n / fps
        for change in judge.observe(t, found).changes:
            if change.step is Step.OPENED and change.incident.behaviour is behaviour and t >= began:
                return Seen(True, t - began, change.incident.peak)
    return Seen(False, 0.0, 0.0)
