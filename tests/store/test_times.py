"""Every moment the store keeps is one instant, whatever zone it came in: stored in UTC, read back aware, and compared in
SQL as the instants compare (SQLite keeps no offset: a shift sent as 08:00+08:00 was once kept as 08:00 and read back
eight hours late)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from store.models import DutyShift

offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
moments = st.builds(
    lambda utc, zone: utc.astimezone(zone),
    st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC)),
    offsets,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(starts=st.lists(moments, min_size=1, max_size=8), probe=moments)
def test_a_moment_in_any_zone_is_kept_and_compared_as_its_instant(engine: Engine, starts: list[datetime], probe: datetime) -> None:
    with Session(engine) as db, db.begin():
        db.execute(delete(DutyShift))
        for n, moment in enumerate(starts):
            db.add(DutyShift(username=f"c{n}", starts_at=moment, ends_at=moment + timedelta(hours=1), note="", made_by="t"))
    with Session(engine) as db:
        kept = {shift.username: shift.starts_at for shift in db.scalars(select(DutyShift))}
        before = set(db.scalars(select(DutyShift.username).where(DutyShift.starts_at < probe)))
    for n, moment in enumerate(starts):
        back = kept[f"c{n}"]
        assert back == moment and back.utcoffset() == timedelta(0), (moment, back)
    assert before == {f"c{n}" for n, moment in enumerate(starts) if moment < probe}, "SQL orders them as instants"
