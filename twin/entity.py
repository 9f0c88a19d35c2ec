"""Entities and the twin that holds them: what each thing says it is, and what we want it to be.

Reported state is what a device last said; desired state is what an operator or an
automation asked for, carried by a command that the device must acknowledge.  The
rules (learned from device shadows): desired is cleared once reported matches it; a
command not acknowledged in time is failed, never silently lost; and a change made
at the device itself (someone pressed the button after the command was taken) wins
over a stale desired value instead of being driven back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from twin.errors import DuplicateEntityError, UnknownCommandError, UnknownEntityError
from twin.feed import STATE, Change, ChangeFeed, Subscriber

DESIRED = "desired"
AVAILABILITY = "availability"
_MISSING = object()


class CommandState(StrEnum):
    PENDING = "pending"
    ACKED = "acked"
    FAILED = "failed"


@dataclass(slots=True)
class Command:
    id: str
    entity_id: str
    fields: dict[str, Any]
    by: str
    issued_at: float
    deadline: float
    state: CommandState = CommandState.PENDING
    error: str | None = None
    sent_at: float | None = None
    """When it went out to the device; None while nothing has (an actor that refused it, a bridge offline)."""
    reason: dict[str, Any] | None = None
    """Why the automations asked; None for a person's command."""
    done_when_acknowledged: bool = False
    """Its fields are things to do (a door letting one through), not a state a report will match: the acknowledgement
    settles them."""


@dataclass(slots=True)
class Entity:
    """A device, a worker group, the weather: anything with state in the station.

    ``attributes`` are static (capacity, floor-plan position, unit cost, report
    interval); ``version`` grows by one on every change of reported or desired state
    or availability.
    """

    id: str
    kind: str
    attributes: Mapping[str, Any]
    reported: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    desired: dict[str, Any] = field(default_factory=dict)
    commands: dict[str, str] = field(default_factory=dict)
    """field -> id of the command that desires it"""
    last_command: str | None = None
    """The id of the newest command desired of it (the twin may have forgotten it since: see ``Twin.commands``)."""
    available: bool | None = None
    last_seen: float | None = None

    @property
    def delta(self) -> dict[str, Any]:
        """Desired values the device does not report yet."""
        return {k: v for k, v in self.desired.items() if self.reported.get(k, _MISSING) != v}


class Twin:
    """The station's entities plus the one feed every change goes through."""

    def __init__(self, station_id: str, retain: int | None = None) -> None:
        self.station_id = station_id
        self.entities: dict[str, Entity] = {}
        self.commands: dict[str, Command] = {}
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
        try:
            entity = self.entities[entity_id]
        except KeyError:
            raise UnknownEntityError(entity_id) from None
        entity.last_seen = t
        reported = entity.reported
        changed: dict[str, Any] | None = None
        for key, value in state.items():  # a loop, not a comprehension: no frame made per report (a hot path)
            if key not in reported or reported[key] != value:
                if changed is None:
                    changed = {}
                changed[key] = value
        change = None
        if changed is not None:
            reported.update(changed)
            entity.version += 1
            change = self.feed.append(t, entity_id, STATE, entity.version, changed)
        if entity.desired:
            # The whole report, not only what changed: a device that took a command and
            # still reports the old value was changed back at the device.
            self._settle(entity, t, state)
        return change

    def record(self, entity_id: str, t: float, name: str, data: Mapping[str, Any]) -> Change:
        """Append an event; events from transient sources (a visiting worker) need no entity."""
        entity = self.entities.get(entity_id)
        return self.feed.append(t, entity_id, name, entity.version if entity else 0, data)

    def subscribe(self, subscriber: Subscriber, after_seq: int | None = None, names: Iterable[str] | None = None) -> None:
        self.feed.subscribe(subscriber, after_seq, names)

    # ---- desired state and commands ------------------------------------------------

    def desire(
        self,
        entity_id: str,
        t: float,
        fields: Mapping[str, Any],
        command_id: str,
        by: str,
        ack_timeout_s: float,
        reason: Mapping[str, Any] | None = None,
        done_when_acknowledged: bool = False,
    ) -> Command:
        """Ask for ``fields``; the returned command must be sent to the device and acknowledged.

        ``reason``: why the automations asked, carried on the feed for the page (a person's command has none)."""
        entity = self.entity(entity_id)
        if command_id in self.commands:
            raise ValueError(f"command id {command_id!r} is already used")
        command = Command(
            command_id, entity_id, dict(fields), by, t, t + ack_timeout_s, reason=dict(reason) if reason else None,
            done_when_acknowledged=done_when_acknowledged,
        )  # fmt: skip
        self.commands[command_id] = command
        entity.desired.update(fields)
        entity.commands.update(dict.fromkeys(fields, command_id))
        entity.last_command = command_id
        entity.version += 1
        data: dict[str, Any] = {"desired": dict(fields), "command": command_id, "by": by}
        if reason:
            data["reason"] = dict(reason)
        self.feed.append(t, entity_id, DESIRED, entity.version, data)
        self._settle(entity, t, {k: entity.reported[k] for k in fields if k in entity.reported})
        return command

    def revise(self, command_id: str, t: float, fields: Mapping[str, Any]) -> Command:
        """The device's actor sent other fields than asked (a setpoint raised to a floor): desire those."""
        command = self.commands.get(command_id)
        if command is None:
            raise UnknownCommandError(command_id)
        entity = self.entity(command.entity_id)
        for key in command.fields:
            if entity.commands.get(key) == command_id:
                entity.desired.pop(key, None)
                entity.commands.pop(key, None)
        command.fields = dict(fields)
        entity.desired.update(fields)
        entity.commands.update(dict.fromkeys(fields, command_id))
        entity.version += 1
        self.feed.append(t, entity.id, DESIRED, entity.version, {"desired": dict(fields), "command": command_id, "revised": True})
        return command

    def sent(self, command_id: str, t: float) -> None:
        """The command went out to its device at ``t`` (its ack is measured from then)."""
        command = self.commands.get(command_id)
        if command is None:
            raise UnknownCommandError(command_id)
        if command.sent_at is None:
            command.sent_at = t

    def acknowledge(self, command_id: str, t: float, ok: bool, error: str | None = None) -> Command:
        command = self.commands.get(command_id)
        if command is None:
            raise UnknownCommandError(command_id)
        if command.state is not CommandState.PENDING:
            return command  # a duplicate ack (QoS 1 delivers at least once)
        entity = self.entity(command.entity_id)
        if ok:
            command.state = CommandState.ACKED
            self.feed.append(t, entity.id, "command_acked", entity.version, {"command": command_id})
            if command.done_when_acknowledged:
                self._clear_desired(entity, t, [k for k, cid in entity.commands.items() if cid == command.id], "done")
        else:
            self._fail(entity, command, t, error or "the device refused the command")
        return command

    def forget_commands(self, before: float) -> int:
        """Drop settled commands issued before ``before``: the feed and the history keep their story."""
        old = [c.id for c in self.commands.values() if c.state is not CommandState.PENDING and c.issued_at < before]
        for command_id in old:
            del self.commands[command_id]
        return len(old)

    def expire(self, now: float) -> list[Command]:
        """Fail every command whose acknowledgement is overdue."""
        overdue = [c for c in self.commands.values() if c.state is CommandState.PENDING and c.deadline <= now]
        for command in overdue:
            self._fail(
                self.entity(command.entity_id), command, now, f"no acknowledgement within {command.deadline - command.issued_at:g} s"
            )
        return overdue

    def _fail(self, entity: Entity, command: Command, t: float, error: str) -> None:
        command.state, command.error = CommandState.FAILED, error
        self.feed.append(t, entity.id, "command_failed", entity.version, {"command": command.id, "error": error, "fields": command.fields})
        self._clear_desired(entity, t, [k for k, cid in entity.commands.items() if cid == command.id], "command_failed")

    def _settle(self, entity: Entity, t: float, changed: Mapping[str, Any]) -> None:
        """Clear desired fields the device now reports, or has overridden since acknowledging the command.

        A device acknowledges a command once it has applied it, so a later report of
        another value is a change made at the device, not a stale one.
        """
        met, overridden = [], []
        for key, value in changed.items():
            if key not in entity.desired:
                continue
            if entity.desired[key] == value:
                met.append(key)
            elif self.commands[entity.commands[key]].state is CommandState.ACKED:
                overridden.append(key)
        if met:
            self._clear_desired(entity, t, met, "reported")
        if overridden:
            self._clear_desired(entity, t, overridden, "changed_at_device")

    def _clear_desired(self, entity: Entity, t: float, keys: list[str], reason: str) -> None:
        if not keys:
            return
        for key in keys:
            entity.desired.pop(key, None)
            entity.commands.pop(key, None)
        entity.version += 1
        self.feed.append(t, entity.id, DESIRED, entity.version, {"cleared": keys, "reason": reason})

    # ---- availability --------------------------------------------------------------

    def set_availability(self, entity_id: str, t: float, available: bool, reason: str) -> Change | None:
        entity = self.entity(entity_id)
        if entity.available == available:
            return None
        entity.available = available
        entity.version += 1
        return self.feed.append(t, entity_id, AVAILABILITY, entity.version, {"available": available, "reason": reason})

    def silent(self, now: float, intervals: float) -> list[Entity]:
        """Available entities not heard from for ``intervals`` of their own report interval."""
        return [
            e
            for e in self.entities.values()
            if e.available and e.last_seen is not None and "report_interval_s" in e.attributes
            and now - e.last_seen > intervals * float(e.attributes["report_interval_s"])
        ]  # fmt: skip
