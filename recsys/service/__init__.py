"""The framework-free service the HTTP API and the CLI share: artifacts (`save_artifact`,
`load_artifact`), the `Recommendations` object, and what to serve from the settings
(`load_service`)."""

from recsys.service.artifact import save_artifact
from recsys.service.recommendations import (
    History,
    Neighbours,
    Ranked,
    Recommendations,
    UnknownGenreError,
    load_artifact,
)
from recsys.service.startup import load_service, source_key, train_artifact

__all__ = [
    "History",
    "Neighbours",
    "Ranked",
    "Recommendations",
    "UnknownGenreError",
    "load_artifact",
    "load_service",
    "save_artifact",
    "source_key",
    "train_artifact",
]
