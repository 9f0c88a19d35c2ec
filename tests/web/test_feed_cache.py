"""The feed's encoded changes: the same text a viewer would have made itself, made once, and never more than kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from twin.clock import Clock
from twin.feed import Change
from web.feed import EncodedChanges, _json

CLOCK = Clock(datetime(2026, 7, 20, tzinfo=UTC), lambda: 0.0)
VALUES = st.one_of(st.integers(), st.floats(allow_nan=False), st.text(max_size=8), st.booleans())
DATA = st.dictionaries(st.text(max_size=8), VALUES, max_size=4)


@given(st.lists(DATA, min_size=1, max_size=60), st.integers(min_value=1, max_value=20), st.randoms())
def test_each_text_is_the_changes_json_and_the_cache_stays_bounded(datas: list[dict[str, object]], keep: int, rng: object) -> None:
    """Changes (unique by seq, as in a twin) asked for in any order and again: always their own JSON, the cache bounded."""
    changes = [Change(seq, float(seq), "lights", "state", 1, data) for seq, data in enumerate(datas, 1)]
    encoded = EncodedChanges(CLOCK, keep)
    asked = changes + [rng.choice(changes) for _ in range(len(changes))]  # type: ignore[attr-defined]
    for change in asked:
        assert json.loads(encoded.text(change)) == json.loads(json.dumps(_json(change, CLOCK)))
        assert len(encoded._texts) <= keep
