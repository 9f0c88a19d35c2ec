"""The optional event log: every change of the feed as one CSV row, for planners' own analysis."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from typing import TextIO

from twin.feed import Change, Subscriber

COLUMNS = ("replication", "seq", "t_s", "time", "entity", "name", "version", "data")


class EventLog:
    def __init__(self, out: TextIO, start: datetime) -> None:
        self._writer = csv.writer(out)
        self._writer.writerow(COLUMNS)
        self._start = start

    def for_replication(self, replication: int) -> Subscriber:
        def write(change: Change) -> None:
            self._writer.writerow(
                (
                    replication,
                    change.seq,
                    f"{change.t:.3f}",
                    (self._start + timedelta(seconds=change.t)).isoformat(timespec="seconds"),
                    change.entity_id,
                    change.name,
                    change.version,
                    json.dumps(change.data, ensure_ascii=False, default=str, sort_keys=True),
                )
            )

        return write
