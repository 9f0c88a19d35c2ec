"""A feed subscriber that checks the station's invariants on every change of a replication."""

from __future__ import annotations

from dataclasses import dataclass, field

from scenarios.schema import Scenario
from twin.feed import STATE, Change


@dataclass
class InvariantChecker:
    scenario: Scenario
    problems: list[str] = field(default_factory=list)
    started: dict[str, int] = field(default_factory=dict)
    """worker -> needs planned"""
    outcomes: dict[str, int] = field(default_factory=dict)
    ended: set[str] = field(default_factory=set)
    enters: set[str] = field(default_factory=set)
    lockers: dict[tuple[str, int], str] = field(default_factory=dict)
    door_state: dict[str, int] = field(default_factory=dict)
    socs_seen: int = 0
    last_seq: int = 0

    def __post_init__(self) -> None:
        self.devices = {d.id: d for d in self.scenario.station.devices}

    def fail(self, change: Change, what: str) -> None:
        self.problems.append(f"t={change.t:.1f} {change.entity_id} {change.name}: {what}")

    def __call__(self, change: Change) -> None:
        if change.seq != self.last_seq + 1:
            self.fail(change, f"sequence jumped from {self.last_seq} to {change.seq}")
        self.last_seq = change.seq
        device = self.devices.get(change.entity_id)
        data = change.data
        if change.name == STATE and device is not None:
            self._state(change, device.kind, device.config)
        elif change.name == "visit_started":
            self.started[change.entity_id] = data["needs"]
            self.outcomes[change.entity_id] = 0
            if data["enters"]:
                self.enters.add(change.entity_id)
        elif change.name in ("service_started", "request_refused"):
            self.outcomes[data["worker"]] = self.outcomes.get(data["worker"], 0) + 1
            if change.name == "service_started" and "compartment" in data:
                key = (change.entity_id, data["compartment"])
                if key in self.lockers:
                    self.fail(change, f"compartment {key[1]} given to {data['worker']} while {self.lockers[key]} holds it")
                self.lockers[key] = data["worker"]
        elif change.name == "locker_released":
            key = (change.entity_id, data["compartment"])
            if self.lockers.pop(key, None) != data["worker"]:
                self.fail(change, f"compartment {key[1]} released by {data['worker']}, who did not hold it")
        elif change.name == "visit_ended":
            worker = change.entity_id
            self.ended.add(worker)
            if self.outcomes.get(worker) != self.started.get(worker):
                self.fail(change, f"{worker} planned {self.started.get(worker)} needs but {self.outcomes.get(worker)} were answered")
            if data["served"] + data["unmet"] != self.started.get(worker):
                self.fail(change, f"{worker}: served {data['served']} + unmet {data['unmet']} != needs {self.started.get(worker)}")

    def _state(self, change: Change, kind: str, config: object) -> None:
        data = change.data
        units = getattr(config, "units", None)
        if "busy" in data and not 0 <= data["busy"] <= (units or 0):
            self.fail(change, f"busy {data['busy']} outside [0, {units}]")
        limit = getattr(config, "queue_limit", None)
        if "queue" in data and (data["queue"] < 0 or (limit is not None and data["queue"] > limit)):
            self.fail(change, f"queue {data['queue']} outside [0, {limit}]")
        if kind == "door":
            self.door_state.update(data)
            s = self.door_state
            if s["occupancy"] != s["entries"] - s["exits"] or s["occupancy"] < 0:
                self.fail(change, f"occupancy {s['occupancy']} != entries {s['entries']} - exits {s['exits']}")
        if "soc" in data:
            self.socs_seen += 1
            held = [soc for soc in data["soc"] if soc is not None]
            if len(held) != getattr(config, "batteries", None):
                self.fail(change, f"{len(held)} batteries in the cabinet, stocked {getattr(config, 'batteries', None)}")
            if any(not 0.0 <= soc <= 1.0 for soc in held):
                self.fail(change, f"state of charge outside [0, 1]: {held}")
        if "level_l" in data and not 0 <= data["level_l"] <= getattr(config, "tank_l", 0) + 1e-9:
            self.fail(change, f"tank level {data['level_l']} outside [0, tank]")

    def finish(self) -> list[str]:
        """Every worker who arrived has left with every need answered, or is still inside."""
        inside = set(self.started) - self.ended
        door = self.scenario.population.door
        if door is not None:
            occupancy = self.door_state.get("occupancy", 0)
            if occupancy != len(inside & self.enters):
                self.problems.append(f"door says {occupancy} inside, the feed says {len(inside & self.enters)}")
        return self.problems
