"""The twin's entities and change feed: versions only grow, the feed has no gaps, resume works."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twin.entity import Twin
from twin.errors import DuplicateEntityError, FeedGapError, UnknownEntityError
from twin.feed import STATE, Change

reports = st.lists(
    st.tuples(
        st.sampled_from(["microwave", "door", "lockers"]),
        st.dictionaries(st.sampled_from(["busy", "queue", "on"]), st.integers(0, 3), max_size=3),
    ),
    max_size=60,
)


@given(reports)
def test_versions_only_grow_and_feed_is_gapless(steps: list[tuple[str, dict[str, int]]]) -> None:
    twin = Twin("yunting")
    for entity_id in ("microwave", "door", "lockers"):
        twin.add(entity_id, entity_id)
    seen: list[Change] = []
    twin.subscribe(seen.append)
    expected_reported: dict[str, dict[str, int]] = {e: {} for e in twin.entities}
    for t, (entity_id, state) in enumerate(steps):
        before = twin.entity(entity_id).version
        change = twin.report(entity_id, float(t), state)
        changed = {k: v for k, v in state.items() if expected_reported[entity_id].get(k, object()) != v}
        expected_reported[entity_id].update(state)
        if changed:
            assert change is not None and change.data == changed
            assert twin.entity(entity_id).version == before + 1 == change.version
        else:
            assert change is None and twin.entity(entity_id).version == before
        assert twin.entity(entity_id).reported == expected_reported[entity_id]
    assert [c.seq for c in seen] == list(range(1, len(seen) + 1))
    for entity_id in twin.entities:
        versions = [c.version for c in seen if c.entity_id == entity_id]
        assert versions == list(range(1, len(versions) + 1))


def test_resume_from_a_sequence_number() -> None:
    twin = Twin("yunting", retain=100)
    twin.add("door", "door")
    for n in range(10):
        twin.report("door", float(n), {"occupancy": n})
    late: list[Change] = []
    twin.subscribe(late.append, after_seq=7)
    twin.report("door", 10.0, {"occupancy": 99})
    assert [c.seq for c in late] == [8, 9, 10, 11]
    assert late[-1].data == {"occupancy": 99}


def test_resume_past_retention_is_refused() -> None:
    twin = Twin("yunting", retain=3)
    twin.add("door", "door")
    for n in range(10):
        twin.report("door", float(n), {"occupancy": n})
    with pytest.raises(FeedGapError, match="oldest change retained is 8"):
        list(twin.feed.since(2))
    assert [c.seq for c in twin.feed.since(7)] == [8, 9, 10]


def test_resume_after_a_change_the_feed_never_had_is_a_gap() -> None:
    """A page that was open across a restart asks after change 689 of the old feed; the new one has 5."""
    twin = Twin("yunting")
    twin.add("door", "door")
    for n in range(5):
        twin.report("door", float(n), {"occupancy": n})
    with pytest.raises(FeedGapError):
        list(twin.feed.since(689))
    assert list(twin.feed.since(5)) == [], "caught up is not a gap"


def test_events_do_not_bump_versions_and_need_no_entity() -> None:
    twin = Twin("yunting")
    twin.add("microwave", "microwave")
    twin.report("microwave", 0.0, {"busy": 1})
    event = twin.record("microwave", 1.0, "service_started", {"wait_s": 3.0})
    assert event.name == "service_started" and event.version == 1
    visitor = twin.record("riders.visits.1", 2.0, "visit_started", {})
    assert visitor.version == 0 and twin.feed.last_seq == 3
    assert twin.entity("microwave").version == 1
    assert STATE == "state"


def test_unknown_and_duplicate_entities() -> None:
    twin = Twin("yunting")
    twin.add("door", "door")
    with pytest.raises(DuplicateEntityError):
        twin.add("door", "door")
    with pytest.raises(UnknownEntityError, match="'lights'"):
        twin.report("lights", 0.0, {"on": True})
