"""docs/mqtt.md's examples are what the code takes and sends: each is parsed by the schema of its topic."""

from __future__ import annotations

import re

import pytest

from actors.registry import DEVICE_KINDS
from hardware_bridge import discovery, payloads, topics
from hardware_bridge.topics import Channel
from tests.conftest import ROOT

DOC = (ROOT / "docs" / "mqtt.md").read_text(encoding="utf-8")
EXAMPLES = re.findall(r"```json\n(\S+)\n(.+?)\n```", DOC, flags=re.S)
STATION = "yunting"


def test_the_docs_show_an_example_of_every_channel() -> None:
    shown = {topic.rsplit("/", 1)[1] for topic, _ in EXAMPLES}
    assert shown >= {*(c.value for c in Channel if c is not Channel.AVAILABILITY), topics.TWIN, "command", "result"}, shown


@pytest.mark.parametrize(("topic", "body"), EXAMPLES, ids=[t for t, _ in EXAMPLES])
def test_each_example_is_valid_for_its_topic(topic: str, body: str) -> None:
    payload = body.encode()
    if topic == discovery.command_topic(STATION):
        device, fields, _by, _id = discovery.parse_command(payload)
        payloads.settable({"lights": "lights"}[device], fields, topic)
        return
    if topic == topics.bridge_result(STATION):
        payloads.FateMessage.model_validate_json(body)
        return
    _, _, kind, _device, channel = topic.split("/")
    if channel in (Channel.STATE, topics.TWIN):
        payloads.parse_state(kind, topic, payload)
    elif channel == Channel.SET:
        payloads.parse_set(kind, topic, payload)
    elif channel == Channel.ACK:
        payloads.parse_ack(topic, payload)
    elif channel == Channel.EVENT:
        payloads.parse_event(topic, payload)
    else:
        raise AssertionError(f"an example on {topic} that nothing checks")


def _names(cell: str) -> set[str]:
    """``on, mode (off/cool/heat), setpoint_c (16-32)`` -> the field names."""
    return {name.split(" (")[0].strip() for name in re.sub(r"\([^)]*\)", "", cell).split(",") if name.strip()}


def test_the_kind_table_is_what_each_kind_reports_and_obeys() -> None:
    """One row per kind (or kinds sharing schemas), read off the registry: a field the docs forget is a field nobody sends."""
    table = re.search(r"\| kind \| state fields \| settable \|\n\| --- .*?\n((?:\|.*\|\n)+)", DOC)
    assert table is not None, "docs/mqtt.md lost its kind table"
    documented: dict[str, tuple[set[str], set[str]]] = {}
    for row in table.group(1).splitlines():
        kinds, state, settable = (cell.strip() for cell in row.strip("|").split("|"))
        for kind in kinds.split(", "):
            documented[kind] = (_names(state), _names(settable))
    assert set(documented) == set(DEVICE_KINDS)
    for kind, entry in DEVICE_KINDS.items():
        obeys = set(entry.obeys.model_fields) if entry.obeys is not None else set()
        assert documented[kind] == (set(entry.reports.model_fields), obeys), kind
