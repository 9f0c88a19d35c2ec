"""The change feed: one ordered, append-only stream of everything that happens.

KPIs, history, the web view's live push and automations all read this feed; none of
them reaches into an actor.  A consumer that falls behind resumes from the last
sequence number it saw, as long as the feed still retains it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
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
_new_change = tuple.__new__


class ChangeFeed:
    """Sequence numbers start at 1 and grow by one per change, with no gaps.

    A subscriber takes every change, or only those with the names it asks for: the
    simulation's KPI collector hears of a few hundred thousand changes a second, so
    the feed routes by name rather than calling everyone with everything.
    """

    def __init__(self, retain: int | None = None) -> None:
        self._retained: deque[Change] | None = deque(maxlen=retain) if retain != 0 else None
        self._everything: list[Subscriber] = []
        self._by_name: dict[str, list[Subscriber]] = {}
        self._routes: dict[str, tuple[Subscriber, ...]] = {}
        """name -> everyone a change of that name goes to, in order (every-change subscribers first)."""
        self._unnamed: tuple[Subscriber, ...] = ()
        """Where a change of a name nobody asked for goes: the every-change subscribers."""
        self.last_seq = 0

    def append(self, t: float, entity_id: str, name: str, version: int, data: Mapping[str, Any]) -> Change:
        self.last_seq += 1
        # tuple.__new__ skips the NamedTuple constructor's argument parsing: a hot path.
        change: Change = _new_change(Change, (self.last_seq, t, entity_id, name, version, data))
        if self._retained is not None:
            self._retained.append(change)
        for subscriber in self._routes.get(name, self._unnamed):
            subscriber(change)
        return change

    def subscribe(self, subscriber: Subscriber, after_seq: int | None = None, names: Iterable[str] | None = None) -> None:
        """Push every later change (or those named in ``names``), first replaying those after ``after_seq``."""
        wanted = None if names is None else set(names)
        if after_seq is not None:
            for change in self.since(after_seq):
                if wanted is None or change.name in wanted:
                    subscriber(change)
        if wanted is None:
            self._everything.append(subscriber)
        else:
            for name in wanted:
                self._by_name.setdefault(name, []).append(subscriber)
        self._route()

    def _route(self) -> None:
        """One lookup per change on the hot path: each name's subscribers are joined once, here."""
        self._unnamed = tuple(self._everything)
        self._routes = {name: (*self._everything, *subs) for name, subs in self._by_name.items()}

    @property
    def subscribers(self) -> int:
        return len(self._everything) + len({id(s) for subs in self._by_name.values() for s in subs})

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._everything = [s for s in self._everything if s != subscriber]
        self._by_name = {n: [s for s in subs if s != subscriber] for n, subs in self._by_name.items()}
        self._route()

    def since(self, after_seq: int) -> Iterator[Change]:
        """The retained changes with ``seq > after_seq``, oldest first.

        Asking after a change this feed never had (a page open across a restart of the station, whose new feed
        counts from 1 again) is a gap too: replaying nothing would leave that page silently out of date."""
        if after_seq > self.last_seq:
            raise FeedGapError(after_seq, self._retained[0].seq if self._retained else self.last_seq + 1)
        if after_seq == self.last_seq:
            return iter(())
        oldest = self._retained[0].seq if self._retained else self.last_seq + 1
        if self._retained is None:
            raise FeedGapError(after_seq, oldest)
        if after_seq + 1 < oldest:
            raise FeedGapError(after_seq, oldest)
        return (c for c in list(self._retained) if c.seq > after_seq)
