"""Random generators derived per (seed, stream name).

Each stream (arrivals of one worker group, service times of one device, one worker's
choices) draws from its own generator, so a change in one part of a scenario does not
shift the numbers another part sees: variants share common random numbers and their
differences are not noise.
"""

from __future__ import annotations

import hashlib

import numpy as np


def stream_key(name: str) -> tuple[int, ...]:
    """A stable spawn key for ``name`` (Python's ``hash`` is salted per process)."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=16).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


def random_stream(seed: int, name: str) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=stream_key(name))))
