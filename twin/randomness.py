"""Random streams derived per (seed, stream name).

Each stream (arrivals of one worker group, service times of one device, one group's
visit choices) draws from its own generator, so a change in one part of a scenario
does not shift the numbers another part sees: variants share common random numbers
and their differences are not noise.

A stream hands out the three primitive variates every distribution here is built
from, drawn from numpy in blocks: one numpy call per scalar costs more than the rest
of a simulated customer's arithmetic.
"""

from __future__ import annotations

import hashlib

import numpy as np

BLOCK = 256


def stream_key(name: str) -> tuple[int, ...]:
    """A stable spawn key for ``name`` (Python's ``hash`` is salted per process)."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=16).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


class RandomStream:
    """Uniform, standard exponential and standard normal variates of one named stream.

    Each kind has its own block, so how many of one kind were drawn never shifts the
    others: a variant that draws one more uniform sees the same exponentials.
    """

    __slots__ = ("_exponential", "_generators", "_normal", "_uniform")

    def __init__(self, seed: int, name: str) -> None:
        children = np.random.SeedSequence(seed, spawn_key=stream_key(name)).spawn(3)
        self._generators = [np.random.Generator(np.random.PCG64(child)) for child in children]
        self._uniform: list[float] = []
        self._exponential: list[float] = []
        self._normal: list[float] = []

    def random(self) -> float:
        """Uniform on [0, 1)."""
        if not self._uniform:
            self._uniform = self._generators[0].random(BLOCK).tolist()[::-1]
        return self._uniform.pop()

    def standard_exponential(self) -> float:
        if not self._exponential:
            self._exponential = self._generators[1].standard_exponential(BLOCK).tolist()[::-1]
        return self._exponential.pop()

    def standard_normal(self) -> float:
        if not self._normal:
            self._normal = self._generators[2].standard_normal(BLOCK).tolist()[::-1]
        return self._normal.pop()


def actor_stream(seed: int, actor_id: str, name: str) -> RandomStream:
    """The stream ``name`` of actor ``actor_id``: every binding names them this way, so an actor
    draws the same numbers inline, in Ray or anywhere else (sim-ray parity rests on it)."""
    return RandomStream(seed, f"{actor_id}/{name}")
