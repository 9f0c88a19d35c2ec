"""The store's refusals: a mistake in what was asked, with the catalog's code, so the web says it in the user's language."""

from __future__ import annotations

import unicodedata

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Characters that turn the text after them around on the page ("Trojan Source"): a note could show a name reversed."""


class Refusal(ValueError):
    """What is wrong and where (the message, in English for logs and scripts); ``code`` is the catalog's
    ``problem_<code>``, and ``params`` fill its placeholders."""

    def __init__(self, code: str, message: str, **params: str | int) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


def unprintable(text: str, allowed: str = "\n") -> bool:
    """Whether ``text`` holds a character that is not text: a control (ASCII's, DEL, the C1 block) or a line or paragraph
    separator (U+2028, U+2029: they break a one-line note where it is shown) other than those ``allowed``, or one that
    reorders what follows it. Joiners and variation selectors stay: emoji are made of them."""
    return any((c not in allowed and unicodedata.category(c) in ("Cc", "Zl", "Zp")) or c in BIDI_CONTROLS for c in text)
