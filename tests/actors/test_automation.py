"""Automations: the engine's rules, and the same rules running a simulated heat wave."""

from __future__ import annotations

from datetime import date

from actors.automation import (
    MANUAL_HOLD_S,
    AirConditioningByTemperature,
    AutomationEngine,
    ClearAlarm,
    CommandDevice,
    ConditionAlarm,
    LightsByOccupancy,
    ManualHold,
    OfflineAlarm,
    RaiseAlarm,
)
from scenarios.model import run_replication
from scenarios.schema import load_scenario
from tests.conftest import LIBRARY
from twin.feed import Change

TODAY = date(2026, 7, 20)


def test_lights_follow_occupancy_and_dark() -> None:
    engine = AutomationEngine((LightsByOccupancy("lights", "door"),), cooldown_s=60)
    engine.observe("lights", "state", {"on": False})
    engine.observe("door", "state", {"occupancy": 2})
    assert engine.evaluate(0, hour=14.0, today=TODAY) == [], "daylight: off is right"
    on = CommandDevice("lights", {"on": True}, "lights_by_occupancy", {"why": "dark_and_occupied", "occupancy": 2})
    assert engine.evaluate(10, hour=21.0, today=TODAY) == [on]
    assert engine.evaluate(20, hour=21.0, today=TODAY) == [], "asked already; not again within the cool-down"
    engine.observe("lights", "state", {"on": True})
    engine.observe("door", "state", {"occupancy": 0})
    off = CommandDevice("lights", {"on": False}, "lights_by_occupancy", {"why": "nobody_inside"})
    assert engine.evaluate(30, hour=21.5, today=TODAY) == [off]


def test_air_conditioning_by_indoor_outdoor_and_occupancy() -> None:
    rule = AirConditioningByTemperature("ac", "door", outdoor_from="weather", cool_above_c=27, max_below_outdoor_c=10)
    engine = AutomationEngine((rule,))
    engine.observe("ac", "state", {"indoor_temp_c": 31.0, "on": False})
    engine.observe("weather", "state", {"temp_c": 38.0})
    engine.observe("door", "state", {"occupancy": 0})
    assert engine.evaluate(0, 14.0, TODAY) == [], "nobody inside, already off"
    engine.observe("door", "state", {"occupancy": 3})
    (action,) = engine.evaluate(60, 14.0, TODAY)
    cool = {"on": True, "mode": "cool", "setpoint_c": 28.0}
    why = {"why": "too_hot", "indoor_c": 31.0, "limit_c": 27}
    assert action == CommandDevice("ac", cool, "air_conditioning_by_temperature", why)


def test_a_persons_command_holds_the_device_against_its_rule() -> None:
    engine = AutomationEngine((LightsByOccupancy("lights", "door", manual_hold_s=1800),), cooldown_s=60)
    engine.observe("lights", "state", {"on": False})
    engine.observe("door", "state", {"occupancy": 0})
    hold = engine.observe("lights", "desired", {"desired": {"on": True}, "by": "custodian:wang"}, now=100)
    assert hold == ManualHold("lights", 1900, "custodian:wang", "lights_by_occupancy")
    engine.observe("lights", "state", {"on": True})  # switched on for a cleaner, nobody inside, daylight over
    assert engine.evaluate(1899, hour=21.0, today=TODAY) == [], "the custodian's until the hold ends"
    (off,) = engine.evaluate(1900, hour=21.0, today=TODAY)
    assert isinstance(off, CommandDevice) and off.fields == {"on": False} and off.reason == {"why": "nobody_inside"}
    assert engine.observe("lights", "desired", {"desired": {"on": False}, "by": "automation:lights_by_occupancy"}, 1900) is None
    assert engine.observe("lights", "desired", {"cleared": ["on"], "reason": "acked"}, 1900) is None, "settled, not commanded"
    assert engine.observe("lights", "desired", {"desired": {"on": False}, "command": "c1", "revised": True}, 1900) is None
    assert engine.observe("door", "desired", {"desired": {"locked": True}, "by": "custodian:wang"}, 1900) is None, "no rule"


def test_a_switch_at_the_wall_holds_too_but_the_rules_own_commands_do_not() -> None:
    engine = AutomationEngine((LightsByOccupancy("lights", "door"),), cooldown_s=60)
    engine.observe("door", "state", {"occupancy": 2})
    assert engine.observe("lights", "state", {"on": False}, 0) is None, "the first report is no one's doing"
    (on,) = engine.evaluate(10, hour=21.0, today=TODAY)
    assert isinstance(on, CommandDevice) and on.fields == {"on": True}
    assert engine.observe("lights", "state", {"on": True}, 11) is None, "what the rule asked for"
    hold = engine.observe("lights", "state", {"on": False}, 20)
    assert hold is not None and hold.by == "at_device" and hold.until_s == 20 + MANUAL_HOLD_S
    assert engine.evaluate(100, hour=21.0, today=TODAY) == []


def test_a_rules_durations_are_the_stations_at_an_emulated_pace() -> None:
    """At 60x, a 30-minute hold and a 60 s cool-down last 30 and 1 real seconds."""
    engine = AutomationEngine((LightsByOccupancy("lights", "door"),), cooldown_s=60, speed=60.0)
    engine.observe("lights", "state", {"on": False})
    engine.observe("door", "state", {"occupancy": 1})
    assert len(engine.evaluate(0, 21.0, TODAY)) == 1
    assert engine.evaluate(0.9, 21.0, TODAY) == []
    assert len(engine.evaluate(1.0, 21.0, TODAY)) == 1, "the cool-down is a station minute"
    hold = engine.observe("lights", "desired", {"desired": {"on": False}, "by": "operator:li"}, now=10)
    assert hold is not None and hold.until_s == 10 + 1800 / 60


def test_condition_alarms_need_to_hold_and_clear_themselves() -> None:
    rule = ConditionAlarm("fridge", "temp_c", ">", 8.0, "over_temperature", for_s=600)
    engine = AutomationEngine((rule, OfflineAlarm()))
    engine.observe("fridge", "state", {"temp_c": 9.0})
    assert engine.evaluate(0, 12, TODAY) == []
    assert engine.evaluate(599, 12, TODAY) == []
    (raised,) = engine.evaluate(600, 12, TODAY)
    assert isinstance(raised, RaiseAlarm) and raised.type == "over_temperature"
    assert engine.evaluate(700, 12, TODAY) == [], "raised once"
    engine.observe("fridge", "state", {"temp_c": 5.0})
    assert engine.evaluate(800, 12, TODAY) == [ClearAlarm("fridge", "over_temperature")]
    engine.observe("fridge", "availability", {"available": False})
    assert engine.evaluate(900, 12, TODAY) == [RaiseAlarm("fridge", "offline", "warning", "device offline")]


def test_aed_pads_expired_compares_with_today() -> None:
    engine = AutomationEngine((ConditionAlarm("aed", "pads_expiry", "<", "today", "pads_expired", severity="critical"),))
    engine.observe("aed", "state", {"pads_expiry": "2026-07-19"})
    assert [a.type for a in engine.evaluate(0, 9, TODAY) if isinstance(a, RaiseAlarm)] == ["pads_expired"]


def test_a_hot_afternoon_turns_the_ac_on_when_people_are_in() -> None:
    """The heat-wave week under automatic control: cooling only for an occupied, hot room."""
    scenario = load_scenario(LIBRARY / "automated_station.toml", ["scenario.horizon=2d", "scenario.warmup=0"])
    changes: list[Change] = []
    run_replication(scenario, 0, observers=[changes.append])
    occupancy = 0
    indoor = None
    switched_on = []
    for change in changes:
        if change.entity_id == "door" and change.name == "state" and "occupancy" in change.data:
            occupancy = change.data["occupancy"]
        if change.entity_id == "ac" and change.name == "state" and change.data.get("indoor_temp_c") is not None:
            indoor = change.data["indoor_temp_c"]
        if change.name == "command_sent" and change.data["device"] == "ac" and change.data["fields"].get("on") is True:
            switched_on.append((change.t, occupancy, indoor))
    assert switched_on, "the AC was never switched on in a heat wave"
    for _, people, temp in switched_on:
        assert people >= 1 and temp is not None and temp > 27.0
    ac_on = [c for c in changes if c.entity_id == "ac" and c.name == "state" and c.data.get("on") is True]
    assert ac_on and ac_on[0].t >= switched_on[0][0], "the AC obeyed the command, not before it"
    offs = [c for c in changes if c.name == "command_sent" and c.data["device"] == "ac" and c.data["fields"].get("on") is False]
    assert offs, "an empty station gets its AC switched off"
    lights = [c for c in changes if c.name == "command_sent" and c.data["device"] == "lights"]
    assert lights and all(c.t % 86400 >= 18 * 3600 or c.t % 86400 < 6 * 3600 or c.data["fields"]["on"] is False for c in lights)


def test_an_alarm_closed_while_its_condition_holds_is_raised_again() -> None:
    engine = AutomationEngine((ConditionAlarm("fridge", "temp_c", ">", 8.0, "over_temperature"),))
    engine.observe("fridge", "state", {"temp_c": 9.0})
    assert [type(a) for a in engine.evaluate(0, 12, TODAY)] == [RaiseAlarm]
    assert engine.evaluate(10, 12, TODAY) == []
    engine.observe("fridge", "alarm_cleared", {"source": "fridge", "type": "over_temperature"})  # an operator closed it
    again = engine.evaluate(20, 12, TODAY)  # the fridge is still warm
    assert [a.type for a in again if isinstance(a, RaiseAlarm)] == ["over_temperature"]
    engine.observe("fridge", "alarm_cleared", {"source": "fridge", "type": "other"})
    assert engine.evaluate(30, 12, TODAY) == [], "another alarm's clearing changes nothing"
