"""Why an alarm was raised, kept for as long as the station's retention period and no longer: per incident, a JSON
record (the behaviour, the scores over time, the person's keypoints, the custodian's verdict) and, from its opening,
the snapshot with the head of everyone the pose model found or tracked blurred.

One folder, one subfolder a camera; an incident's files are named by its id
(``<camera>-<opened, ms since the epoch>-<behaviour>-<number>``), readable by their owner
only, each written to a temporary file of its own and renamed, so a reader never sees half a
file and a crash leaves no torn record. ``purge``
deletes every incident that ended (or, still open, began) before the retention period; the
labels (true or false alarm, by whom, when) are exported for training without any image.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hardware_bridge.security import write_private

if TYPE_CHECKING:  # the station reads evidence without loading the cameras' models
    from vision.watch import IncidentReport

CAMERA_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""A station's device ids (``scenarios.schema.Identifier``): nothing that climbs out of a folder."""
INCIDENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}-\d{1,16}-[a-z]+-\d{1,9}$")
VERDICTS = ("true", "false")
VERDICT = ".verdict.json"
MOST_SCORES = 2000
"""Score points an incident keeps: over an hour of a smoker at one a second, nearly seven minutes of a fall at five."""


class EvidenceError(ValueError):
    """A request about evidence that cannot be met (no such incident, a bad verdict), in words for the person asking."""


@dataclass(frozen=True)
class Evidence:
    folder: Path
    keep_s: float

    def keep(self, report: IncidentReport) -> str:
        """Record one step of an incident; its id. The scores are added to those kept (at most ``MOST_SCORES``), the
        keypoints and snapshot are the opening's: what the alarm was raised on stays, however long it lasts."""
        if not CAMERA_ID.match(report.camera):
            raise EvidenceError(f"camera id {report.camera!r}: use letters, digits, '-' and '_'")
        incident = f"{report.camera}-{int(report.opened_at * 1000)}-{report.behaviour.value}-{report.number}"
        where = self.folder / report.camera
        where.mkdir(parents=True, exist_ok=True)
        record = self._read(where / f"{incident}.json") or {
            "id": incident, "camera": report.camera, "behaviour": report.behaviour.value, "opened_at": report.opened_at,
            "picture": list(report.picture),
        }  # fmt: skip
        scores = {float(t): s for t, s in record.get("scores", [])} | {round(t, 3): s for t, s in report.scores}
        record |= {
            "updated_at": report.at,
            "closed_at": report.at if report.step.value == "closed" else None,
            "peak": max(report.peak, float(record.get("peak", 0.0))),
            "scores": [[t, scores[t]] for t in sorted(scores)][-MOST_SCORES:],
        }
        if report.keypoints and not record.get("keypoints"):
            record["keypoints"] = report.keypoints
        if report.snapshot is not None and not record.get("snapshot"):
            write_private(where / f"{incident}.jpg", report.snapshot)
            record["snapshot"] = f"{incident}.jpg"
        write_private(where / f"{incident}.json", json.dumps(record, ensure_ascii=False).encode())
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
        return (self.folder / _camera_of(incident) / f"{incident}.jpg").read_bytes()

    def judge(self, incident: str, verdict: str, who: str, at: float) -> dict[str, Any]:
        """The custodian's verdict on an incident: a true or a false alarm (kept with who said so and when). It is a file
        of its own, so the camera's agent updating the incident meanwhile cannot write over it."""
        if verdict not in VERDICTS:
            raise EvidenceError(f"verdict {verdict!r}: say 'true' or 'false'")
        record = self.record(incident)
        record["verdict"] = {"alarm": verdict, "by": who, "at": at}
        write_private(self.folder / _camera_of(incident) / f"{incident}{VERDICT}", json.dumps(record["verdict"]).encode())
        return record

    def labels(self) -> Iterator[dict[str, Any]]:
        """Every judged incident, for later training: its behaviour, scores, keypoints and verdict, never an image."""
        for camera in sorted(p for p in self.folder.glob("*") if p.is_dir()):
            for record in self._records(camera):
                if record.get("verdict"):
                    yield {key: value for key, value in record.items() if key != "snapshot"}

    def purge(self, now: float) -> int:
        """Delete every incident (record, snapshot, verdict) that ended, or began if still open, before the retention
        period, and any file left beside them that old (a snapshot whose record was never written, a temporary file);
        how many incidents went."""
        gone = 0
        for camera in [p for p in self.folder.glob("*") if p.is_dir()]:
            for record in self._records(camera):
                ended = record.get("closed_at") or record.get("updated_at") or record["opened_at"]
                if now - float(ended) > self.keep_s:
                    for suffix in (".json", ".jpg", VERDICT):
                        (camera / f"{record['id']}{suffix}").unlink(missing_ok=True)
                    gone += 1
            for left in camera.iterdir():
                with contextlib.suppress(OSError):  # gone meanwhile
                    if left.is_file() and now - left.stat().st_mtime > self.keep_s:
                        left.unlink()
        return gone

    def record(self, incident: str) -> dict[str, Any]:
        """The incident's record with its verdict (None until given)."""
        if not INCIDENT_ID.match(incident):
            raise EvidenceError(f"no incident {incident!r}")
        record = self._read(self.folder / _camera_of(incident) / f"{incident}.json")
        if record is None:
            raise EvidenceError(f"no incident {incident!r} (perhaps past the retention period)")
        return record | {"verdict": self._read(self.folder / _camera_of(incident) / f"{incident}{VERDICT}")}

    @staticmethod
    def _read(path: Path) -> dict[str, Any] | None:
        try:
            record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return record

    def _records(self, camera: Path) -> Iterator[dict[str, Any]]:
        for path in sorted(camera.glob("*.json")):
            if path.name.endswith(VERDICT):
                continue
            record = self._read(path)
            if record is not None and "opened_at" in record:
                yield record | {"verdict": self._read(path.with_name(path.name.removesuffix(".json") + VERDICT))}


def _camera_of(incident: str) -> str:
    return incident.rsplit("-", 3)[0]


def evidence_folder_for(database_url: str, configured: str | None) -> Path:
    """The configured folder, else beside a SQLite database, else ``yxy-evidence`` in the working directory."""
    if configured:
        return Path(configured).resolve()
    if database_url.startswith("sqlite:///") and not database_url.endswith(":memory:"):
        return Path(database_url.removeprefix("sqlite:///") + ".evidence").resolve()
    return Path("yxy-evidence").resolve()  # absolute: a Ray worker elsewhere does not start in this folder
