"""The reports' 95% intervals hold the truth about 95% of the time, on many small studies of a known queue.

400 studies of 10 replications of the M/M/2 station at utilisation 0.8 (bench/interval_coverage.py,
where the methods were compared): each KPI's interval must cover Erlang C's value in 93-97% of the
studies (the coverage's standard error is 0.011).  Seeds are fixed, so the run is reproducible; it
fails if the interval method, the KPI collector or the simulator drifts.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import pytest

from bench.interval_coverage import KPIS, replications, study_station, tally
from scenarios.statistics import METHOD

STUDIES, REPLICATIONS = 400, 10


@pytest.mark.slow
def test_intervals_hold_their_coverage_on_an_mm2_station() -> None:
    scenario = study_station()
    numbers = [range(s * REPLICATIONS, (s + 1) * REPLICATIONS) for s in range(STUDIES)]
    with ProcessPoolExecutor(2) as pool:  # 4,000 replications: both cores, when the other test worker is done
        studies = list(pool.map(replications, [scenario] * STUDIES, numbers, chunksize=20))
    tallies = tally(studies, [METHOD, "t"])
    report = {f"{kpi}/{method}": f"{t.coverage:.3f} ({t.too_low} low, {t.too_high} high)" for (kpi, method), t in tallies.items()}
    for kpi in KPIS:
        assert 0.93 <= tallies[kpi, METHOD].coverage <= 0.97, report
    # What the method is for: the skewed mean wait, which plain t covers less well.
    assert tallies["wait_mean_s", METHOD].coverage > tallies["wait_mean_s", "t"].coverage, report
