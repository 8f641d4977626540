"""Service settings, read from the environment (``RECSYS_*``) behind a cached getter."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """What the service serves and its limits. Nothing set: the built-in demo data."""

    model_config = SettingsConfigDict(env_prefix="RECSYS_", extra="ignore")

    model: Path | None = Field(None, description="a trained artifact folder (`recsys train`)")
    data: str | None = Field(
        None, description="a data set to train on at start-up when no model is given"
    )
    train_model: str = Field("mf", description="the model trained at start-up from RECSYS_DATA")
    artifact_cache: Path | None = Field(
        None, description="where a model trained at start-up is kept for the next start"
    )
    max_batch: int = Field(10_000, description="most (user, movie) pairs in one POST /predictions")
    max_n: int = Field(100, description="most items one list may ask for")


@lru_cache
def get_settings() -> Settings:
    return Settings()
