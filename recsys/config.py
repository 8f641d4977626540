"""Service settings, read from the environment (``RECSYS_*``) behind a cached getter."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from recsys.errors import ConfigError

KIB = 1024


class Settings(BaseSettings):
    """What the service serves and its limits. Nothing set: the built-in demo data."""

    model_config = SettingsConfigDict(env_prefix="RECSYS_", extra="ignore")

    model: Path | None = Field(None, description="a trained artifact folder (`recsys train`)")
    data: str | None = Field(
        None, description="a data set to train on at start-up when no model is given"
    )
    train_model: str = Field(
        "ranker", description="the model trained at start-up from RECSYS_DATA"
    )
    artifact_cache: Path | None = Field(
        None, description="where a model trained at start-up is kept for the next start"
    )
    # -- stored ratings, rollout and keys (README "Live service") ---------------------------
    database_url: str | None = Field(
        None, description="where ratings written over HTTP are stored: a SQLAlchemy URL "
        "(postgresql+psycopg://…); none: SQLite in the state folder",
    )
    state_dir: Path | None = Field(
        None, description="the folder of the embedded SQLite store (default ~/.local/state/recsys)"
    )
    feedback_poll: float = Field(
        0.25, gt=0, description="seconds between polls for ratings other replicas stored"
    )
    api_key: SecretStr | None = Field(
        None, description="bearer key for writes and admin calls; none: writes are refused"
    )
    read_key: SecretStr | None = Field(
        None, description="bearer key reads need (the API key reads too); none: reads are open"
    )
    max_ratings: int = Field(1000, ge=1, description="most ratings in one POST (413)")
    max_batch: int = Field(10_000, description="most (user, movie) pairs in one POST /predictions")
    max_n: int = Field(100, ge=1, description="most items one list may ask for")

    # -- limits of the HTTP service (README "Limits and security") --------------------------
    # Bodies, query values and CORS hold however the app is served; the connection limits
    # (head, timeouts of headers and idle connections, connections, concurrency, shutdown)
    # need the server `recsys serve` runs (recsys.api.protocol).
    max_body_bytes: int = Field(
        2048 * KIB, ge=1, description="most bytes of a request body, however it is sent (413)"
    )
    max_url_bytes: int = Field(8 * KIB, ge=64, description="longest request target (414)")
    max_header_bytes: int = Field(
        16 * KIB, ge=256, description="most bytes of all request headers together (431)"
    )
    max_headers: int = Field(100, ge=1, description="most request headers (431)")
    max_query_values: int = Field(
        32, ge=1, description="most values of one repeated query parameter, e.g. genre (422)"
    )
    header_timeout: float = Field(
        10.0, gt=0, description="seconds from a request's first byte to its last header (408)"
    )
    body_timeout: float = Field(
        30.0, gt=0, description="seconds from the end of the headers to the end of the body (408)"
    )
    idle_timeout: float = Field(
        5.0, gt=0, description="seconds a connection may wait, idle, for its next request"
    )
    drain_timeout: float = Field(
        2.0, ge=0, description="seconds a rejected body is still read and dropped before the "
        "connection closes (so the client sees the answer)",
    )
    max_connections: int = Field(1024, ge=1, description="open connections at once (503)")
    max_concurrency: int = Field(64, ge=1, description="requests in progress at once (503)")
    shutdown_timeout: float = Field(
        10.0, ge=0, description="seconds requests in progress get to finish after SIGTERM"
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="origins allowed to call the API from a browser (comma-separated; '*' for "
        "any); none by default",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value


def state_folder(settings: Settings) -> Path:
    """RECSYS_STATE_DIR, else ~/.local/state/recsys."""
    return settings.state_dir or Path.home() / ".local" / "state" / "recsys"


def read_settings() -> Settings:
    """The settings from the environment; a bad RECSYS_* value is a `ConfigError` naming each
    fault in one line."""
    try:
        return Settings()
    except ValidationError as error:
        faults = [
            f"RECSYS_{'_'.join(map(str, e['loc'])).upper()}={e.get('input')!r}: {e['msg']}"
            for e in error.errors()
        ]
        raise ConfigError("; ".join(faults)) from None


@lru_cache
def get_settings() -> Settings:
    return read_settings()
