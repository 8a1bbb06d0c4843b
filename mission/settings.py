"""Settings: one ``pydantic-settings`` class, ``PATROL_*`` environment variables, built in the entry point."""

from __future__ import annotations

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class VehicleSettings(BaseModel):
    connect_timeout_s: float = 15.0
    command_timeout_s: float = 10.0
    ready_timeout_s: float = 60.0


class MqttSettings(BaseModel):
    url: str | None = Field(default=None, description="mqtt://host:port of an external broker; none = embedded")
    telemetry_hz: float = 5.0


class DatabaseSettings(BaseModel):
    url: str = "sqlite+aiosqlite:///patrol.db"


class WebSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PATROL_", env_nested_delimiter="__", extra="forbid")

    vehicle: VehicleSettings = VehicleSettings()
    mqtt: MqttSettings = MqttSettings()
    database: DatabaseSettings = DatabaseSettings()
    web: WebSettings = WebSettings()
    max_altitude_m: float = 120.0
