"""Entities and the twin that holds them: what each thing in the station says it is."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from twin.errors import DuplicateEntityError, UnknownEntityError
from twin.feed import STATE, Change, ChangeFeed, Subscriber


@dataclass(slots=True)
class Entity:
    """A device, a worker group, the weather: anything with state in the station.

    ``attributes`` are static (capacity, floor-plan position, unit cost); ``reported``
    is what the thing last said; ``version`` grows by one on every reported change.
    """

    id: str
    kind: str
    attributes: Mapping[str, Any]
    reported: dict[str, Any] = field(default_factory=dict)
    version: int = 0


class Twin:
    """The station's entities plus the one feed every change goes through."""

    def __init__(self, station_id: str, retain: int | None = None) -> None:
        self.station_id = station_id
        self.entities: dict[str, Entity] = {}
        self.feed = ChangeFeed(retain=retain)

    def add(self, entity_id: str, kind: str, attributes: Mapping[str, Any] | None = None) -> Entity:
        if entity_id in self.entities:
            raise DuplicateEntityError(entity_id)
        entity = Entity(entity_id, kind, dict(attributes or {}))
        self.entities[entity_id] = entity
        return entity

    def entity(self, entity_id: str) -> Entity:
        try:
            return self.entities[entity_id]
        except KeyError:
            raise UnknownEntityError(entity_id) from None

    def report(self, entity_id: str, t: float, state: Mapping[str, Any]) -> Change | None:
        """Merge ``state`` into the entity's reported state; a no-op report changes nothing."""
        entity = self.entities.get(entity_id)
        if entity is None:
            raise UnknownEntityError(entity_id)
        reported = entity.reported
        changed = {k: v for k, v in state.items() if k not in reported or reported[k] != v}
        if not changed:
            return None
        reported.update(changed)
        entity.version += 1
        return self.feed.append(t, entity_id, STATE, entity.version, changed)

    def record(self, entity_id: str, t: float, name: str, data: Mapping[str, Any]) -> Change:
        """Append an event; events from transient sources (a visiting worker) need no entity."""
        entity = self.entities.get(entity_id)
        return self.feed.append(t, entity_id, name, entity.version if entity else 0, data)

    def subscribe(self, subscriber: Subscriber, after_seq: int | None = None, names: Iterable[str] | None = None) -> None:
        self.feed.subscribe(subscriber, after_seq, names)
