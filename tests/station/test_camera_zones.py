"""A camera's zones in the station file (issue 13): corners in fractions of the picture, three to 32 of them, naming
the behaviours they judge; a bad zone is refused with the device, the zone and what is wrong; the judge reads them as
written, so a smokers' corner judges only smoking and only there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.camera import MOST_CORNERS, MOST_ZONES
from scenarios.errors import ScenarioValueError
from scenarios.schema import load_station
from station.cameras import judging_zones
from vision.behaviour import Behaviour

BASE = {"station": {"id": "zones", "name": "zones", "timezone": "Asia/Shanghai"}}


def _camera(zones: Any) -> Any:
    station = load_station(Path("station.toml"), raw={**BASE, "devices": {"hall": {"kind": "camera", "zones": zones}}})
    return station.devices[0].config


corner = st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0))


@settings(max_examples=40, deadline=None)
@given(points=st.lists(corner, min_size=3, max_size=MOST_CORNERS), judges=st.sets(st.sampled_from(["fall", "smoking", "dispute"])))
def test_a_zone_within_the_picture_is_read_as_written(points: list[tuple[float, float]], judges: set[str]) -> None:
    config = _camera([{"name": "corner", "points": [list(p) for p in points], "behaviours": sorted(judges)}])
    (zone,) = judging_zones(config)
    assert zone.points == tuple(points) and zone.behaviours == frozenset(Behaviour(b) for b in judges)


@pytest.mark.parametrize(
    ("zones", "said"),
    [
        ([{"name": "door", "points": [[0, 0], [1, 0]]}], "zone 'door': give 3 to 32 corners"),
        ([{"name": "door", "points": [[0, 0], [1, 0], [1.5, 1]]}], "zone 'door': corner [1.5, 1.0] lies outside the picture"),
        ([{"name": "door", "points": [[0, 0], [1, 0], [1, 1]], "behaviours": ["dancing"]}], "devices.hall.zones.0.behaviours.0"),
        ([{"name": "door", "points": [[0, 0]] * 10_000}], "give 3 to 32 corners"),
        ([{"name": f"z{n}", "points": [[0, 0], [1, 0], [1, 1]]} for n in range(MOST_ZONES + 1)], "devices.hall.zones"),
        ([{"name": "door", "points": "everywhere"}], "devices.hall.zones.0.points"),
    ],
)
def test_a_bad_zone_is_refused_naming_the_camera_and_what_is_wrong(zones: Any, said: str) -> None:
    with pytest.raises(ScenarioValueError, match=r"station\.toml") as refused:
        _camera(zones)
    assert said in str(refused.value)


def test_the_judge_reads_a_smokers_corner_as_smoking_there_only() -> None:
    config = _camera([{"name": "by the door", "points": [[0, 0.5], [0.5, 0.5], [0.5, 1], [0, 1]], "behaviours": ["smoking"]}])
    (zone,) = judging_zones(config)
    picture = (448, 256)
    at_the_door, elsewhere = np.array([50.0, 150.0, 90.0, 250.0]), np.array([300.0, 150.0, 340.0, 250.0])
    assert zone.holds(at_the_door, picture, Behaviour.SMOKING) and not zone.holds(elsewhere, picture, Behaviour.SMOKING)
    assert not zone.holds(at_the_door, picture, Behaviour.FALL)
