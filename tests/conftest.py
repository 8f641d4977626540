"""Shared fixtures: where the real data sets live, and skips when they are absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Ratings written over HTTP in tests go to a store of the test run, never the user's own.
if "RECSYS_STATE_DIR" not in os.environ:
    import tempfile

    os.environ["RECSYS_STATE_DIR"] = tempfile.mkdtemp(prefix="recsys-test-state-")
SHARED_DATA = Path(os.environ.get("RECSYS_SHARED_DATA", ROOT.parent / "shared" / "data"))


def shared_dataset(name: str) -> Path:
    path = SHARED_DATA / name
    if not (path / "ratings.csv").exists():
        pytest.skip(f"real data set {name} not found in {SHARED_DATA}")
    return path


@pytest.fixture
def ml_small() -> Path:
    """The genuine MovieLens latest-small release (../shared/data/ml-latest-small)."""
    return shared_dataset("ml-latest-small")


@pytest.fixture
def ml_small_dirty() -> Path:
    """The dirty copy the MovieLens seed trained on (../shared/data/movielens-small-dirty)."""
    return shared_dataset("movielens-small-dirty")
