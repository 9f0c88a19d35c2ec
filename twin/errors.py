"""Errors of the twin core.

TwinError
├── UnknownEntityError   a change names an entity the twin does not hold
├── DuplicateEntityError an entity id is registered twice
├── UnknownCommandError  an acknowledgement names a command the twin never issued
└── FeedGapError         a consumer asks to resume from a change no longer retained
"""

from __future__ import annotations


class TwinError(Exception):
    pass


class UnknownEntityError(TwinError, KeyError):
    def __init__(self, entity_id: str) -> None:
        super().__init__(f"unknown entity {entity_id!r}")
        self.entity_id = entity_id

    def __str__(self) -> str:
        return str(self.args[0])


class DuplicateEntityError(TwinError):
    def __init__(self, entity_id: str) -> None:
        super().__init__(f"entity {entity_id!r} is already registered")
        self.entity_id = entity_id


class UnknownCommandError(TwinError, KeyError):
    def __init__(self, command_id: str) -> None:
        super().__init__(f"unknown command {command_id!r}")
        self.command_id = command_id

    def __str__(self) -> str:
        return str(self.args[0])


class FeedGapError(TwinError):
    def __init__(self, after_seq: int, oldest: int) -> None:
        super().__init__(f"cannot resume after change {after_seq}: the oldest change retained is {oldest}")
        self.after_seq = after_seq
        self.oldest = oldest
