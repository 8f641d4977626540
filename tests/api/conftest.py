"""One trained artifact for the API tests (matrix factorisation on the demo data), the model it
holds, and a client of the real app serving it (lifespan included)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from recsys.api.app import create_app
from recsys.config import Settings
from recsys.data.dataset import Dataset
from recsys.data.synthetic import demo_dataset
from recsys.models.base import Recommender
from recsys.models.registry import make_model
from recsys.service import Recommendations, load_artifact, save_artifact


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    return demo_dataset()


@pytest.fixture(scope="session")
def model(dataset: Dataset) -> Recommender:
    return make_model("mf", n_factors=16, epochs=15).fit(dataset)


@pytest.fixture(scope="session")
def artifact(tmp_path_factory, model: Recommender, dataset: Dataset) -> Path:
    metrics = {"rmse": 0.9, "protocol": "test"}
    return save_artifact(model, dataset, tmp_path_factory.mktemp("artifact") / "mf", metrics)


@pytest.fixture(scope="session")
def service(artifact: Path) -> Recommendations:
    return load_artifact(artifact)


@pytest.fixture(scope="session")
def client(artifact: Path):
    with TestClient(create_app(Settings(model=artifact))) as client:
        yield client
