"""The change feed: one ordered, append-only stream of everything that happens.

KPIs, history, the web view's live push and automations all read this feed; none of
them reaches into an actor.  A consumer that falls behind resumes from the last
sequence number it saw, as long as the feed still retains it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from twin.errors import FeedGapError

STATE = "state"
"""The ``name`` of a change that updates an entity's reported state."""


class Change(NamedTuple):
    """One entry of the feed.

    ``name`` is ``STATE`` for a reported-state change (``data`` holds only the fields
    that changed) or the past-tense name of an event (``service_started``), whose
    ``data`` is the event's payload.  ``version`` is the entity's version after the
    change; an event leaves it as it was.
    """

    seq: int
    t: float
    entity_id: str
    name: str
    version: int
    data: Mapping[str, Any]


Subscriber = Callable[[Change], None]


class ChangeFeed:
    """Sequence numbers start at 1 and grow by one per change, with no gaps."""

    def __init__(self, retain: int | None = None) -> None:
        self._retained: deque[Change] = deque(maxlen=retain)
        self._subscribers: list[Subscriber] = []
        self.last_seq = 0

    def append(self, t: float, entity_id: str, name: str, version: int, data: Mapping[str, Any]) -> Change:
        self.last_seq += 1
        change = Change(self.last_seq, t, entity_id, name, version, data)
        if self._retained.maxlen != 0:
            self._retained.append(change)
        for subscriber in self._subscribers:
            subscriber(change)
        return change

    def subscribe(self, subscriber: Subscriber, after_seq: int | None = None) -> None:
        """Push every later change to ``subscriber``, first replaying those after ``after_seq``."""
        if after_seq is not None:
            for change in self.since(after_seq):
                subscriber(change)
        self._subscribers.append(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.remove(subscriber)

    def since(self, after_seq: int) -> Iterator[Change]:
        """The retained changes with ``seq > after_seq``, oldest first."""
        if after_seq >= self.last_seq:
            return iter(())
        oldest = self._retained[0].seq if self._retained else self.last_seq + 1
        if after_seq + 1 < oldest:
            raise FeedGapError(after_seq, oldest)
        return (c for c in list(self._retained) if c.seq > after_seq)
