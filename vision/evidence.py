"""Why an alarm was raised, kept for as long as the station's retention period and no longer: per incident, a JSON
record (the behaviour, the scores over time, the person's keypoints, the custodian's verdict) and, from its opening,
the snapshot with every head blurred.

One folder, one subfolder a camera; an incident's files are named by its id
(``<camera>-<opened, ms since the epoch>-<behaviour>-<number>``), written to a temporary name
and renamed, so a reader never sees half a file and a crash leaves no torn record. ``purge``
deletes every incident that ended (or, still open, began) before the retention period; the
labels (true or false alarm, by whom, when) are exported for training without any image.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the station reads evidence without loading the cameras' models
    from vision.watch import IncidentReport

CAMERA_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
INCIDENT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}-\d{1,16}-[a-z]+-\d{1,9}$")
VERDICTS = ("true", "false")


class EvidenceError(ValueError):
    """A request about evidence that cannot be met (no such incident, a bad verdict), in words for the person asking."""


@dataclass(frozen=True)
class Evidence:
    folder: Path
    keep_s: float

    def keep(self, report: IncidentReport) -> str:
        """Record one step of an incident (its snapshot only when it opened); its id."""
        if not CAMERA_ID.match(report.camera):
            raise EvidenceError(f"camera id {report.camera!r}: use lower-case letters, digits, '-' and '_'")
        incident = f"{report.camera}-{int(report.opened_at * 1000)}-{report.behaviour.value}-{report.number}"
        where = self.folder / report.camera
        where.mkdir(parents=True, exist_ok=True)
        record = self._read(where / f"{incident}.json") or {
            "id": incident, "camera": report.camera, "behaviour": report.behaviour.value, "opened_at": report.opened_at,
            "picture": list(report.picture), "verdict": None,
        }  # fmt: skip
        record |= {
            "updated_at": report.at,
            "closed_at": report.at if report.step.value == "closed" else None,
            "peak": report.peak,
            "scores": [[round(t, 3), s] for t, s in report.scores],
        }
        if report.keypoints:
            record["keypoints"] = report.keypoints
        if report.snapshot is not None:
            _write(where / f"{incident}.jpg", report.snapshot)
            record["snapshot"] = f"{incident}.jpg"
        _write(where / f"{incident}.json", json.dumps(record, ensure_ascii=False).encode())
        return incident

    def find(self, camera: str, behaviour: str, since: float, until: float) -> list[dict[str, Any]]:
        """The incidents of ``behaviour`` on ``camera`` that opened between ``since`` and ``until`` (an alarm's span)."""
        if not CAMERA_ID.match(camera):
            return []
        found = [r for r in self._records(self.folder / camera) if r["behaviour"] == behaviour and since <= r["opened_at"] <= until]
        return sorted(found, key=lambda r: float(r["opened_at"]))

    def snapshot(self, incident: str) -> bytes:
        record = self.record(incident)
        if record.get("snapshot") != f"{incident}.jpg":
            raise EvidenceError(f"incident {incident} has no snapshot")
        return (self.folder / incident.rsplit("-", 3)[0] / f"{incident}.jpg").read_bytes()

    def judge(self, incident: str, verdict: str, who: str, at: float) -> dict[str, Any]:
        """The custodian's verdict on an incident: a true or a false alarm (kept with who said so and when)."""
        if verdict not in VERDICTS:
            raise EvidenceError(f"verdict {verdict!r}: say 'true' or 'false'")
        record = self.record(incident)
        record["verdict"] = {"alarm": verdict, "by": who, "at": at}
        _write(self.folder / incident.rsplit("-", 3)[0] / f"{incident}.json", json.dumps(record, ensure_ascii=False).encode())
        return record

    def labels(self) -> Iterator[dict[str, Any]]:
        """Every judged incident, for later training: its behaviour, scores, keypoints and verdict, never an image."""
        for camera in sorted(p for p in self.folder.glob("*") if p.is_dir()):
            for record in self._records(camera):
                if record.get("verdict"):
                    yield {key: value for key, value in record.items() if key != "snapshot"}

    def purge(self, now: float) -> int:
        """Delete every incident (record and snapshot) that ended, or began if still open, before the retention period;
        how many went."""
        gone = 0
        for camera in [p for p in self.folder.glob("*") if p.is_dir()]:
            for record in self._records(camera):
                ended = record.get("closed_at") or record.get("updated_at") or record["opened_at"]
                if now - float(ended) > self.keep_s:
                    for suffix in (".jpg", ".json"):
                        (camera / f"{record['id']}{suffix}").unlink(missing_ok=True)
                    gone += 1
        return gone

    def record(self, incident: str) -> dict[str, Any]:
        if not INCIDENT_ID.match(incident):
            raise EvidenceError(f"no incident {incident!r}")
        camera = incident.rsplit("-", 3)[0]
        record = self._read(self.folder / camera / f"{incident}.json")
        if record is None:
            raise EvidenceError(f"no incident {incident!r} (perhaps past the retention period)")
        return record

    @staticmethod
    def _read(path: Path) -> dict[str, Any] | None:
        try:
            record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return record

    def _records(self, camera: Path) -> Iterator[dict[str, Any]]:
        for path in sorted(camera.glob("*.json")):
            record = self._read(path)
            if record is not None and "opened_at" in record:
                yield record


def evidence_folder_for(database_url: str, configured: str | None) -> Path:
    """The configured folder, else beside a SQLite database, else ``yxy-evidence`` in the working directory."""
    if configured:
        return Path(configured)
    if database_url.startswith("sqlite:///") and not database_url.endswith(":memory:"):
        return Path(database_url.removeprefix("sqlite:///") + ".evidence")
    return Path("yxy-evidence")


def _write(path: Path, content: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(content)
    os.replace(temporary, path)
