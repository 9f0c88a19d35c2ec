"""A camera's policy (issue 13): one alarm per incident however often its opening is told, none for a behaviour the
station does not know, and one lens alarm while the picture stays dark, cleared when it is well again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.camera import CameraConfig, CameraPolicy
from actors.message import DeviceEvent, Reported
from scenarios.sim import SimBinding
from twin.clock import Clock
from twin.entity import Twin


def _camera() -> SimBinding:
    env = simpy.Environment()
    binding = SimBinding(env, Twin("t", retain=0), Clock(datetime(2026, 12, 7, 12), lambda: env.now), 7)
    binding.host(CameraPolicy, "hall", CameraConfig())
    return binding


def _incident(number: int, step: str = "opened", behaviour: str = "fall") -> DeviceEvent:
    data: dict[str, Any] = {"behaviour": behaviour, "step": step, "number": number, "peak": 0.9, "opened_at": 100.0 + number}
    return DeviceEvent("incident", data | {"evidence": f"hall-{int(data['opened_at'] * 1000)}-{behaviour}-{number}"})


@settings(max_examples=50, deadline=None)
@given(told=st.lists(st.tuples(st.integers(1, 4), st.sampled_from(["opened", "updated", "closed"])), max_size=40))
def test_each_incident_raises_its_alarm_once_however_often_it_is_told(told: list[tuple[int, str]]) -> None:
    binding = _camera()
    for number, step in told:
        binding.deliver("hall", _incident(number, step))
    (alarm,) = binding.alarms.alarms.values() or [None]  # type: ignore[list-item]
    opened = {number for number, step in told if step == "opened"}
    assert (alarm.count if alarm is not None else 0) == len(opened), "a replayed opening adds nothing"


def test_an_unknown_behaviour_raises_nothing_and_a_dark_lens_is_one_alarm_until_the_picture_is_back() -> None:
    binding = _camera()
    binding.deliver("hall", _incident(1, behaviour="<script>"))
    assert not binding.alarms.alarms
    for _ in range(5):
        binding.deliver("hall", Reported({"lens": "dark", "fps": 5.0}))
    (lens,) = binding.alarms.alarms.values()
    assert (lens.type, lens.count, lens.detail, lens.active) == ("camera_lens", 1, "dark", True)
    binding.deliver("hall", Reported({"lens": "ok"}))
    assert not lens.active
