"""One Settings object for a live station and its web view: options, ``YXY_`` variables, the station file.

The CLI builds it with ``from_options``.  Each setting comes from the first of: an
option given on the command line, its ``YXY_`` environment variable, the station
file's [broker] or [security] table, the default.  An option left out leaves the
environment's value in force (passing it as an explicit ``None`` would silently
override ``YXY_MQTT_URL`` and the like), and the environment beats the file, so one
file serves every machine and each machine's secrets stay in its environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from actors.runtime import Placement


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YXY_", extra="ignore")

    database_url: str = Field("sqlite:///yxy.db", description="History, accounts and audit; SQLite or PostgreSQL.")
    mqtt_url: str | None = Field(None, description="Broker URL; None starts the embedded broker.")
    broker_port: Annotated[int, Field(ge=1, le=65535)] = Field(18830, description="Port of the embedded broker.")
    broker_secret_file: str | None = Field(
        None, description="The station's broker secret (yxy broker config): the bridge and emulated devices sign in with it."
    )
    emulate: bool = Field(False, description="Emulate the devices, driven by the simulated population.")
    speed: Annotated[float, Field(gt=0)] = Field(1.0, description="With emulate: simulated seconds per real second.")
    emulate_from_now: bool = Field(True, description="The emulated crowd starts at the station's time of day, not the scenario's start.")
    report_interval_s: Annotated[float, Field(gt=0)] = 30.0
    ack_timeout_s: Annotated[float, Field(gt=0)] = 5.0
    retention_days: Annotated[float, Field(gt=0)] = 30.0
    door_log_days: Annotated[float, Field(ge=1)] = Field(30.0, description="Who the door let in or turned away is kept this long.")
    visitor_records_days: Annotated[float, Field(ge=1)] = Field(30.0, description="Visitors' asks (no phone: a visit key) kept this long.")
    face_consent_days: Annotated[float, Field(ge=1)] = Field(
        365.0, description="A consent to face entry lapses this long after it was given; the terminals then forget the face."
    )
    camera_evidence_days: Annotated[float, Field(gt=0)] = Field(
        7.0, description="A camera's incident (blurred snapshot, keypoints, scores, verdict) is kept this long after it ended."
    )
    evidence_dir: str | None = Field(
        None, description="Where cameras keep incidents' evidence; None: beside a SQLite database, else ./yxy-evidence."
    )
    discovery: bool = Field(False, description="Announce the devices to Home Assistant (MQTT discovery).")
    placement: Placement = Field(Placement.INLINE, description="Where the device actors live: this process, or Ray.")
    ray_address: str | None = Field(None, description="With placement ray: a cluster to join; None starts Ray here.")
    session_ttl_s: float = Field(8 * 3600, description="A signed-in session lasts a shift.")
    login_max_failures: Annotated[int, Field(ge=1)] = Field(5, description="Failed sign-ins in a row from one place before it must wait.")
    login_first_wait_s: Annotated[float, Field(gt=0)] = Field(30.0, description="The first wait; each failure after one doubles it.")
    login_longest_wait_s: Annotated[float, Field(gt=0)] = Field(900.0, description="The longest a place is made to wait.")
    login_per_minute: Annotated[int, Field(ge=1)] = Field(20, description="Sign-in attempts one place may make a minute, any names.")
    login_crowd: Annotated[int, Field(ge=1)] = Field(
        10, description="Places waiting on one account before only places it signed in from may try it."
    )
    audit_key_file: str | None = Field(
        None, description="The key that seals the audit log's chain; None: beside a SQLite database, else ./yxy-audit.key."
    )
    trusted_proxies: str | None = Field(
        None, description="Addresses of reverse proxies whose X-Forwarded-For is believed (comma-separated); none by default."
    )
    secure_cookies: bool = Field(False, description="True behind HTTPS.")
    public_url: str | None = Field(
        None, description="The address members and visitors reach the station at (https://…, behind a proxy); links in SMS use it."
    )
    sms_command: str | None = Field(
        None,
        description="Sends a member's sign-in code by SMS: your gateway's command or script, run with YXY_SMS_PHONE, YXY_SMS_CODE "
        "and YXY_SMS_TEXT in its environment (never its arguments, which other users can see); exit 0 means sent.",
    )
    planner_most_visits: Annotated[float, Field(gt=0)] = Field(
        2_000_000, description="The most visits one web planner run may simulate (all replications); about 15 min here."
    )
    planner_wall_s: Annotated[float, Field(gt=0)] = Field(1800.0, description="A web planner run is stopped after this long.")
    planner_memory_mb: Annotated[int, Field(ge=256)] = Field(
        4096, description="The memory a web planner run may add to its process beyond the loaded simulator."
    )
    planner_queued_per_user: Annotated[int, Field(ge=1)] = Field(3, description="Runs one user may have queued or running at once.")
    metrics_token: str | None = Field(None, description="A bearer token Prometheus presents to read /metrics.", repr=False)

    @classmethod
    def from_options(cls, station: Mapping[str, Any] | None = None, **given: Any) -> Settings:
        """The options the user gave (those not ``None``) over the environment over ``station``'s own settings."""
        from_environment = cls().model_fields_set
        from_file = {name: value for name, value in (station or {}).items() if name not in from_environment}
        return cls(**{**from_file, **{name: value for name, value in given.items() if value is not None}})
