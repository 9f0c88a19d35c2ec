"""The member's door pass: accepted at most once, and never when forged, expired, early or for another station."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from actors.door_pass import MOST_PASS_CHARS, AcceptedPasses, Checked, PassRules, Refusal, admit, check, issue

KEY = b"k" * 32
RULES = PassRules(life_s=30.0, skew_s=5.0)
stations = st.from_regex(r"[a-z0-9_-]{1,20}", fullmatch=True)
members = st.integers(min_value=1, max_value=10**9)
nonces = st.from_regex(r"[A-Za-z0-9_-]{8,32}", fullmatch=True)
moments = st.floats(min_value=1.7e9, max_value=1.9e9, allow_nan=False)


@given(stations, members, moments, nonces, st.floats(min_value=-5.0, max_value=35.0))
def test_a_fresh_pass_names_its_member_and_opens_once(station: str, member: int, issued: float, nonce: str, age: float) -> None:
    accepted = AcceptedPasses()
    text = issue(KEY, station, member, issued, nonce)
    now = int(issued) + age
    checked = check(KEY, station, text, now, accepted, RULES)
    assert isinstance(checked, Checked) and checked.member == member
    admit(checked, accepted)
    assert check(KEY, station, text, now, accepted, RULES) is Refusal.REPLAYED
    assert check(KEY, station, text, now + 1.0, accepted, RULES) in {Refusal.REPLAYED, Refusal.EXPIRED}


@given(stations, members, moments, nonces, st.data())
def test_any_change_to_a_pass_is_refused(station: str, member: int, issued: float, nonce: str, data: st.DataObject) -> None:
    text = issue(KEY, station, member, issued, nonce)
    position = data.draw(st.integers(min_value=0, max_value=len(text) - 1))
    replacement = data.draw(st.characters(codec="ascii").filter(lambda c: c != text[position]))
    forged = text[:position] + replacement + text[position + 1 :]
    assert not isinstance(check(KEY, station, forged, int(issued), AcceptedPasses(), RULES), Checked)


@given(stations, members, moments, nonces)
def test_a_pass_signed_with_another_key_or_for_another_station_is_refused(station: str, member: int, issued: float, nonce: str) -> None:
    now = int(issued)
    assert check(KEY, station, issue(b"x" * 32, station, member, issued, nonce), now, AcceptedPasses(), RULES) is Refusal.FORGED
    other = issue(KEY, f"{station}x", member, issued, nonce)
    assert check(KEY, station, other, now, AcceptedPasses(), RULES) is Refusal.OTHER_STATION


@given(stations, members, moments, nonces, st.floats(min_value=0.001, max_value=1e6))
def test_outside_its_life_and_the_clocks_skew_a_pass_is_refused(
    station: str, member: int, issued: float, nonce: str, beyond: float
) -> None:
    text = issue(KEY, station, member, issued, nonce)
    start = int(issued)
    assert check(KEY, station, text, start + 35.0 + beyond, AcceptedPasses(), RULES) is Refusal.EXPIRED
    assert check(KEY, station, text, start - 5.0 - beyond, AcceptedPasses(), RULES) is Refusal.NOT_YET_VALID


@given(st.text(max_size=300))
def test_any_scanned_text_gets_an_answer_and_never_opens_without_the_key(text: str) -> None:
    assert isinstance(check(KEY, "yunting", text, 1.8e9, AcceptedPasses(), RULES), Refusal)


@given(st.text(min_size=1, max_size=20), st.sampled_from([1, 5]))
def test_a_pass_shaped_text_with_other_characters_is_refused_not_an_error(odd: str, part: int) -> None:
    """Found in review: non-ASCII in the station or signature part raised instead of being refused."""
    parts = issue(KEY, "yunting", 7, 1.8e9, "abcdefgh1234").split(".")
    parts[part] = odd
    assert isinstance(check(KEY, "yunting", ".".join(parts), 1.8e9, AcceptedPasses(), RULES), Refusal)


def test_a_huge_scan_is_refused_unread() -> None:
    assert check(KEY, "yunting", "Y" * (MOST_PASS_CHARS + 1), 1.8e9, AcceptedPasses(), RULES) is Refusal.MALFORMED


def test_the_door_forgets_spent_passes_once_they_would_have_expired() -> None:
    accepted = AcceptedPasses()
    for n in range(100):
        checked = check(KEY, "yunting", issue(KEY, "yunting", 7, 1000.0, f"nonce{n:05d}"), 1000.0 + n / 10, accepted, RULES)
        assert isinstance(checked, Checked)
        admit(checked, accepted)
    check(KEY, "yunting", "nothing", 2000.0, accepted, RULES)  # a malformed scan does not tidy up
    assert len(accepted.until) == 100
    check(KEY, "yunting", issue(KEY, "yunting", 7, 2000.0, "latenonce"), 2000.0, accepted, RULES)
    assert accepted.until == {}
