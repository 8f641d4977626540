"""The default artifact, a ranker with matrix factorisation for predicted ratings, served by the
real app: lists are the ranker's (precomputed or live), predictions the rating model's, through
the same endpoints as any model."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from fastapi.testclient import TestClient

from recsys.api.app import create_app
from recsys.config import Settings
from recsys.models.persistence import load_model
from recsys.service import load_artifact, save_artifact
from tests.models.test_ranker import SMALL, taste_groups


@pytest.fixture(scope="module")
def ranker_artifact(tmp_path_factory):
    from recsys.models.registry import make_model

    data = taste_groups(seed=2)
    model = make_model("ranker", **SMALL).fit(data)
    return model, save_artifact(model, data, tmp_path_factory.mktemp("ranker") / "artifact")


@pytest.fixture(scope="module")
def client(ranker_artifact):
    _, folder = ranker_artifact
    with TestClient(create_app(Settings(model=folder))) as client:
        yield client


def test_the_artifact_names_how_it_ranks_and_rates(ranker_artifact):
    _, folder = ranker_artifact
    info = load_artifact(folder).model_info()
    assert info["model"] == "ranker" and info["ranking"] == "model"
    assert info["rating_model"] == "mf" and info["scorer"] == "model"
    assert "/" not in info["artifact"]
    assert not list(folder.rglob("*.joblib")) and not list(folder.rglob("*.pkl"))


def test_lists_over_http_are_the_rankers(ranker_artifact, client):
    model, _ = ranker_artifact
    for user in (0, 5, 17):
        expected, scores = model.recommend(user, n=10)
        body = client.get(f"/recommendations/{user}").json()
        assert [int(x["id"]) for x in body["items"]] == expected.tolist()
        v1 = client.get(f"/v1/users/{user}/recommendations", params={"n": 10}).json()
        assert [x["id"] for x in v1["items"]] == expected.tolist()
        np.testing.assert_allclose([x["score"] for x in v1["items"]], scores, atol=1e-3)


def test_pages_and_filters_go_deeper_than_the_precomputed_lists(ranker_artifact, client):
    model, _ = ranker_artifact
    first = client.get("/v1/users/3/recommendations", params={"n": 40}).json()["items"]
    page = client.get("/v1/users/3/recommendations", params={"n": 20, "offset": 20}).json()
    assert [x["id"] for x in page["items"]] == [x["id"] for x in first[20:]]
    genre = client.get("/v1/users/3/recommendations",
                       params={"genre": "genre 3", "n": 15}).json()  # fmt: skip
    ids = [x["id"] for x in genre["items"]]
    assert len(ids) == 15 and all(60 <= i < 80 for i in ids)
    seen = set(model.items_.ids[model.seen(model.users_.find(3))].tolist())
    assert not seen & set(ids)


def test_predictions_are_the_rating_models(ranker_artifact, client):
    _, folder = ranker_artifact
    loaded = load_model(folder)
    expected = float(loaded.raters_["mf"].predict([4], [7]).rating[0])
    body = client.get("/predictions/4/7").json()
    assert body["rating"] == pytest.approx(expected, abs=1e-4) and body["fallback"] is False


SERVE_AND_LIST_IMPORTS = """
import sys
from fastapi.testclient import TestClient
from recsys.api.app import create_app
from recsys.config import Settings

settings = Settings(model=sys.argv[1], state_dir=sys.argv[2], api_key="k")
with TestClient(create_app(settings)) as client:
    movies = [m["id"] for m in client.get("/v1/users/3/recommendations").json()["items"]]
    assert client.get("/v1/users/3/recommendations", params={"offset": 90}).status_code == 200
    assert client.post("/predictions", json={"pairs": [{"user_id": 3, "movie_id": movies[0]}]}
                       ).status_code == 200
    assert client.post("/v1/users/1000000/ratings", headers={"Authorization": "Bearer k"},
                       json={"ratings": [{"movie_id": m, "rating": 5.0} for m in movies]}
                       ).status_code in (200, 201)
    assert client.get("/v1/users/1000000/recommendations").status_code == 200
print(" ".join(sorted(m for m in ("pandas", "sklearn", "pyarrow") if m in sys.modules)))
"""


def test_serving_a_saved_model_needs_no_pandas(ranker_artifact, tmp_path):
    """Start-up reads plain arrays: the data-science stack (pandas, scikit-learn) that training
    uses stays unimported by a service that serves, writes and folds in (a second of start-up
    and 60 MiB of memory)."""
    _, folder = ranker_artifact
    run = subprocess.run([sys.executable, "-c", SERVE_AND_LIST_IMPORTS, str(folder), str(tmp_path)],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip() == ""
