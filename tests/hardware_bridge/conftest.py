"""Brokers for the bridge tests: the embedded one always, Mosquitto (MQTT 5 and 3.1.1) at 127.0.0.1:1883.

In CI (CI=true) Mosquitto must be there: its cases fail when it is not. Elsewhere
they are skipped with the reason. Every test uses a station id of its own, so
retained messages of one test never reach another.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from actors.runtime import Placement
from hardware_bridge.broker import EmbeddedBroker
from hardware_bridge.mqtt import BrokerConfig
from station.ray import ray_session
from tests.brokers import MOSQUITTO_BIN, PrivateMosquitto, free_port, reachable, wait_for
from tests.conftest import IN_CI

__all__ = ["MOSQUITTO_BIN", "PrivateMosquitto", "free_port", "reachable", "wait_for"]

MOSQUITTO = ("127.0.0.1", 1883)


@pytest.fixture(params=["embedded", "mosquitto-5", "mosquitto-3.1.1"])
def broker(request: pytest.FixtureRequest) -> Iterator[BrokerConfig]:
    if request.param == "embedded":
        with EmbeddedBroker(port=free_port()) as embedded:
            yield BrokerConfig.from_url(embedded.url)
        return
    if not reachable(*MOSQUITTO):
        if IN_CI:
            raise AssertionError("Mosquitto is required in CI and is not listening on 127.0.0.1:1883")
        pytest.skip("Mosquitto is not listening on 127.0.0.1:1883")
    yield BrokerConfig(*MOSQUITTO, protocol=request.param.split("-")[1])


@pytest.fixture
def station() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=[Placement.INLINE, pytest.param(Placement.RAY, marks=pytest.mark.xdist_group("ray"))])
def placement(request: pytest.FixtureRequest) -> Iterator[Placement]:
    """Actors hosted in this process, then in Ray (a local one started for the test)."""
    if request.param is Placement.RAY:
        with ray_session():
            yield request.param
    else:
        yield request.param
