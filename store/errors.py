"""The store's refusals: a mistake in what was asked, with the catalog's code, so the web says it in the user's language."""

from __future__ import annotations


class Refusal(ValueError):
    """What is wrong and where (the message, in English for logs and scripts); ``code`` is the catalog's
    ``problem_<code>``, and ``params`` fill its placeholders."""

    def __init__(self, code: str, message: str, **params: str | int) -> None:
        super().__init__(message)
        self.code = code
        self.params = params
