"""Who the door lets in: banned members never, nobody past the capacity, visitors at night for the toilet and water."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.door_access import (
    AsVisitor,
    ByFace,
    ByPass,
    EntryRules,
    InEmergency,
    MemberStanding,
    Standing,
    Verdict,
    decide,
)

RULES = EntryRules(capacity=10, reserve=2, night_from_h=22.0, night_to_h=6.0, face_min_score=0.85)
standings = st.builds(
    MemberStanding,
    member=st.integers(min_value=1, max_value=20),
    standing=st.sampled_from(Standing),
    until_s=st.none() | st.floats(min_value=0.0, max_value=1000.0),
    face_consent=st.booleans(),
)
entrants = st.one_of(
    st.builds(ByPass, member=st.integers(min_value=1, max_value=25)),
    st.builds(ByFace, member=st.integers(min_value=1, max_value=25), score=st.floats(min_value=0.0, max_value=1.0)),
    st.builds(
        AsVisitor,
        needs=st.lists(st.sampled_from(["toilet", "drink_water", "rest", "charge"]), max_size=3).map(tuple),
        approved=st.booleans(),
    ),
    st.just(InEmergency()),
)
hours = st.floats(min_value=0.0, max_value=23.999)


@given(
    st.lists(standings, max_size=20).map(lambda s: {m.member: m for m in s}),
    st.lists(st.tuples(st.booleans(), entrants, hours, st.floats(min_value=0.0, max_value=2000.0)), max_size=80),
    st.booleans(),
)
def test_nobody_comes_in_past_the_capacity_and_only_an_emergency_takes_the_reserve(
    members: dict[int, MemberStanding], steps: list[tuple[bool, object, float, float]], locked: bool
) -> None:
    inside = 0
    for leaving, entrant, hour, now in steps:
        if leaving:
            inside = max(0, inside - 1)
            continue
        decision = decide(RULES, entrant, members, inside, locked, now, hour)  # type: ignore[arg-type]
        if decision.admitted:
            assert not locked
            assert inside < RULES.capacity
            if decision.verdict is not Verdict.EMERGENCY:
                assert inside < RULES.capacity - RULES.reserve
            inside += 1
        assert inside <= RULES.capacity


@given(standings, st.floats(min_value=0.0, max_value=2000.0), st.integers(min_value=0, max_value=7), hours)
def test_a_banned_member_never_gets_in_while_the_ban_lasts(standing: MemberStanding, now: float, inside: int, hour: float) -> None:
    for entrant in (ByPass(standing.member), ByFace(standing.member, 1.0)):
        decision = decide(RULES, entrant, {standing.member: standing}, inside, False, now, hour)
        lasting = standing.until_s is None or now < standing.until_s
        if standing.standing is not Standing.ACTIVE and lasting:
            assert not decision.admitted and decision.verdict in {Verdict.BANNED, Verdict.DEACTIVATED}
        else:
            assert decision.admitted or decision.verdict in {Verdict.NO_FACE_CONSENT}


def test_a_member_not_in_the_registry_and_a_face_without_consent_stay_out() -> None:
    known = {1: MemberStanding(1, face_consent=False)}
    assert decide(RULES, ByPass(2), known, 0, False, 0.0, 12.0).verdict is Verdict.UNKNOWN_MEMBER
    assert decide(RULES, ByFace(1, 0.99), known, 0, False, 0.0, 12.0).verdict is Verdict.NO_FACE_CONSENT
    consented = {1: MemberStanding(1, face_consent=True)}
    assert decide(RULES, ByFace(1, 0.5), consented, 0, False, 0.0, 12.0).verdict is Verdict.FACE_NOT_SURE
    assert decide(RULES, ByFace(1, 0.9), consented, 0, False, 0.0, 12.0).verdict is Verdict.MEMBER


@pytest.mark.parametrize(
    ("needs", "hour", "approved", "verdict"),
    [
        (("toilet",), 3.0, False, Verdict.VISITOR_AT_NIGHT),
        (("drink_water", "toilet"), 22.5, False, Verdict.VISITOR_AT_NIGHT),
        (("toilet", "rest"), 3.0, False, Verdict.NEEDS_APPROVAL),
        (("toilet",), 12.0, False, Verdict.NEEDS_APPROVAL),
        (("toilet",), 6.0, False, Verdict.NEEDS_APPROVAL),
        (("rest",), 12.0, True, Verdict.VISITOR_APPROVED),
    ],
)
def test_a_lost_courier_at_3_am_needs_nobodys_approval_for_the_toilet(
    needs: tuple[str, ...], hour: float, approved: bool, verdict: Verdict
) -> None:
    assert decide(RULES, AsVisitor(needs, approved), {}, 0, False, 0.0, hour).verdict is verdict


def test_the_reserve_must_leave_room_for_someone() -> None:
    with pytest.raises(ValueError, match="reserve"):
        EntryRules(capacity=3, reserve=3)
