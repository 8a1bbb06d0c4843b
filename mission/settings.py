"""Settings: one ``pydantic-settings`` class, ``PATROL_*`` environment variables, built in the entry point."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from mission.errors import ConfigError


class VehicleSettings(BaseModel):
    connect_timeout_s: float = Field(
        default=15.0, gt=0, description="one attempt at finding a drone's autopilot"
    )
    command_timeout_s: float = Field(default=10.0, gt=0, description="any command or transfer to a vehicle")


class MqttSettings(BaseModel):
    url: str | None = Field(
        default=None, description="mqtt://host:port of an external broker; none = embedded"
    )
    embedded_port: int = Field(default=1884, description="port of the embedded broker when no url is set")
    telemetry_hz: float = Field(default=5.0, gt=0, description="telemetry messages per drone per second")


class DatabaseSettings(BaseModel):
    url: str = Field(
        default="sqlite+aiosqlite:///patrol.db",
        description="SQLAlchemy URL: sqlite+aiosqlite or postgresql+asyncpg",
    )


class DockConfig(BaseModel):
    """A dock from the settings file (``[[fleet.docks]]``)."""

    id: str
    name: str = ""
    lat: float
    lon: float
    alt_amsl_m: float = 0.0


class DroneConfig(BaseModel):
    """A drone from the settings file (``[[fleet.drones]]``); no ``system_id``: discover it on the connection."""

    id: str
    name: str = ""
    connection_url: str
    system_id: int | None = Field(default=None, ge=1, le=255)
    dock_id: str | None = None


class FleetSettings(BaseModel):
    docks: list[DockConfig] = []
    drones: list[DroneConfig] = []
    link_timeout_s: float = Field(default=3.0, gt=0, description="no sample for this long: link down")
    reconnect_max_s: float = Field(default=10.0, gt=0, description="longest wait between link attempts")
    min_battery_pct: float = Field(default=30.0, ge=0, le=100, description="below this a drone is not ready")


class SimSettings(BaseModel):
    """The in-process simulator of ``patrol serve --sim N``."""

    gcs_port_base: int = Field(default=14540, description="drone i sends to 127.0.0.1:(this + i)")
    vehicle_port_base: int = Field(default=14580, description="drone i listens on 127.0.0.1:(this + i)")
    home: tuple[float, float, float] = Field(
        default=(19.3650, -99.2150, 2300.0), description="lat, lon, alt AMSL"
    )
    homes: list[tuple[float, float, float]] | None = Field(
        default=None,
        description="one (lat, lon, alt) per simulated drone, e.g. its dock; else a grid from home",
    )


class SchedulerSettings(BaseModel):
    tick_s: float = Field(default=1.0, gt=0, description="how often due runs are looked for")
    grace_s: float = Field(default=300.0, ge=0, description="a run later than this counts as missed")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PATROL_", env_nested_delimiter="__", extra="forbid")

    vehicle: VehicleSettings = VehicleSettings()
    mqtt: MqttSettings = MqttSettings()
    database: DatabaseSettings = DatabaseSettings()
    fleet: FleetSettings = FleetSettings()
    sim: SimSettings = SimSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    max_altitude_m: float = Field(default=120.0, gt=0, le=120, description="above take-off; Mexico's limit")
    timezone: str = Field(default="America/Mexico_City", description="IANA zone schedules are read in")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments > PATROL_* environment > TOML file (see load_settings).
        toml = TomlConfigSettingsSource(settings_cls)
        return (init_settings, env_settings, dotenv_settings, toml, file_secret_settings)


def load_settings(config_file: Path | None = None, **overrides: object) -> Settings:
    """Settings from the environment, optionally on top of a TOML file; ``ConfigError`` when invalid.

    The TOML file mirrors the nested models: ``timezone = "..."``, ``[database] url = "..."``.
    """
    cls: type[Settings] = Settings
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"settings file {config_file} not found")

        class _FromFile(Settings):
            model_config = SettingsConfigDict(**{**Settings.model_config, "toml_file": config_file})

        cls = _FromFile
    try:
        return cls(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        where = f" in {config_file}" if config_file else ""
        raise ConfigError(f"invalid settings{where}: {exc}") from exc
