"""One Settings object, read from YXY_ environment variables (pydantic-settings)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YXY_", extra="ignore")

    database_url: str = "sqlite:///yxy.db"
    mqtt_url: str | None = Field(None, description="Broker URL; None starts the embedded broker.")
    broker_port: int = 18830
    emulate: bool = Field(False, description="Emulate the devices, driven by the simulated population.")
    speed: float = 1.0
    emulate_from_now: bool = Field(True, description="The emulated crowd starts at the station's time of day, not the scenario's start.")
    report_interval_s: float = 30.0
    session_ttl_s: float = Field(8 * 3600, description="A signed-in session lasts a shift.")
    login_max_failures: int = Field(5, description="Failed logins in a row before the account is locked.")
    lockout_s: float = 900.0
    secure_cookies: bool = Field(False, description="True behind HTTPS.")
