"""Arrival rates finer than an hour: a rate table with clock times ("12:00" = 10) gives the half-hour lunch peak it says."""

from __future__ import annotations

import math
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from scenarios.model import run_replication
from scenarios.profiles import day_share, hourly_share
from scenarios.schema import load_scenario
from tests.conftest import LIBRARY
from twin.feed import Change

DAYS = 20
PROFILE = '{ "00:00" = 1, "12:00" = 10, "12:30" = 1 }'


def test_a_half_hour_lunch_peak_arrives_as_the_rate_table_says() -> None:
    scenario = load_scenario(
        LIBRARY / "mmc.toml",
        [
            f"population.groups.customers.streams.arrivals.day_profile={PROFILE}",
            f"scenario.horizon={DAYS * 86400}",
            "scenario.warmup=0",
            "devices.server.units=20",  # nobody queues long: only arrivals matter here
        ],
    )
    arrivals: list[float] = []

    def arrived(change: Change) -> None:
        arrivals.append(change.t % 86400)

    run_replication(scenario, 0, observers=[_only("visit_started", arrived)])
    total = len(arrivals)
    per_day = 2.0 * 1440
    assert abs(total - per_day * DAYS) < 4 * math.sqrt(per_day * DAYS)
    expected = {(12 * 3600, 12.5 * 3600): 300 / 1710, (11.5 * 3600, 12 * 3600): 30 / 1710, (12.5 * 3600, 13 * 3600): 30 / 1710}
    for (start, end), share in expected.items():
        seen = sum(start <= t < end for t in arrivals) / total
        se = math.sqrt(share * (1 - share) / total)
        assert abs(seen - share) < 4 * se, f"{start / 3600:g}-{end / 3600:g} h: {seen:.4f} of arrivals, the table says {share:.4f}"


def _only(name: str, subscriber: object):  # type: ignore[no-untyped-def]
    def forward(change: Change) -> None:
        if change.name == name:
            subscriber(change)  # type: ignore[operator]

    return forward


@given(st.dictionaries(st.sampled_from([f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 15, 30, 45)]), st.floats(0, 100), min_size=1))
def test_a_rate_table_is_shares_of_the_day_in_equal_slots(table: dict[str, float]) -> None:
    if sum(table.values()) <= 0:
        return
    shares = day_share(table)
    assert 1440 % len(shares) == 0 and len(shares) >= 1
    assert math.isclose(sum(shares), 1.0, rel_tol=1e-9) and min(shares) >= 0
    slot = 1440 // len(shares)
    times = sorted((int(k[:2]) * 60 + int(k[3:]), v) for k, v in table.items())
    for minute, rate in times:  # each slot starting at a listed time has that time's rate
        assert minute % slot == 0
        assert math.isclose(shares[minute // slot] * sum(r for r in _rates(times, slot)), rate, rel_tol=1e-9, abs_tol=1e-12)


def _rates(times: list[tuple[int, float]], slot: int) -> list[float]:
    return [next((r for m, r in reversed(times) if m <= start), times[-1][1]) for start in range(0, 1440, slot)]


def test_an_hourly_table_is_the_same_as_the_hourly_share() -> None:
    hourly = tuple(float(h % 5 + 1) for h in range(24))
    assert day_share({f"{h:02d}:00": v for h, v in enumerate(hourly)}) == hourly_share(hourly)


def test_a_file_that_extends_another_gives_its_streams_a_rate_table_in_place_of_hourly_shares(tmp_path: Path) -> None:
    (tmp_path / "mmc.toml").write_text((LIBRARY / "mmc.toml").read_text(encoding="utf-8"), encoding="utf-8")
    lunch = tmp_path / "lunch.toml"
    lunch.write_text(
        f'extends = "mmc.toml"\n[scenario]\nname = "lunch"\n[population.groups.customers.streams.arrivals]\nday_profile = {PROFILE}\n',
        encoding="utf-8",
    )
    stream = load_scenario(lunch).population.groups[0].streams[0]
    assert len(stream.day_share) == 48 and max(stream.day_share) == stream.day_share[24]
