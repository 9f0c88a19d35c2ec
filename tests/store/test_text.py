"""What the store takes as text: anything people write (Chinese, emoji with their joiners, punctuation), never a control
character (ASCII's, DEL, the C1 block) nor one that turns the text after it around on the page."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from store.errors import BIDI_CONTROLS, unprintable

written = st.text(st.characters(categories=["L", "M", "N", "P", "S", "Zs"]) | st.sampled_from("\u200d\ufe0f\u200b"), max_size=60)
controls = st.characters(categories=["Cc"], exclude_characters="\n") | st.sampled_from(sorted(BIDI_CONTROLS))


@given(text=written)
def test_what_people_write_is_text(text: str) -> None:
    assert not unprintable(text) and not unprintable(f"{text}\n{text}")


@given(before=written, bad=controls, after=written)
def test_one_control_anywhere_makes_it_no_text(before: str, bad: str, after: str) -> None:
    assert unprintable(before + bad + after), repr(bad)


def test_what_is_allowed_is_the_callers_choice() -> None:
    assert unprintable("a\tb") and not unprintable("a\tb", allowed="\n\t") and unprintable("a\nb", allowed="")
    assert not unprintable("👩\u200d🔧 修好了 ✔\ufe0f") and unprintable("\u202e名字") and unprintable("a\x7fb") and unprintable("a\x9bb")
