"""Every model of the registry serves through the one contract: saved as an artifact and
loaded by the app, it answers lists, pages, filters, predictions, similar movies and a user
folded in from ratings written over HTTP, and each answer is what the model itself says."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from recsys.api.app import create_app
from recsys.config import Settings
from recsys.data.schema import ITEM, USER
from recsys.data.synthetic import synthesize
from recsys.models.base import UserRatings
from recsys.models.registry import MODELS, make_model
from recsys.service import save_artifact
from tests.models.conftest import FAST

KEY = "every-model-key-0123"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def dataset():
    return synthesize(4_000, n_users=90, n_movies=100, seed=11)


@pytest.fixture(scope="module", params=sorted(MODELS))
def served(request, dataset, tmp_path_factory):
    model = make_model(request.param, **FAST.get(request.param, {})).fit(dataset)
    folder = save_artifact(model, dataset, tmp_path_factory.mktemp("art") / request.param)
    state = tmp_path_factory.mktemp("state")
    with TestClient(create_app(Settings(model=folder, state_dir=state, api_key=KEY))) as client:
        yield model, client


def ids(answer) -> list:
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


def test_lists_and_pages_are_the_models(served, dataset):
    model, client = served
    user = int(dataset.ratings[USER].iloc[0])
    expected = model.recommend(user, 12)[0].tolist()
    assert ids(client.get(f"/v1/users/{user}/recommendations", params={"n": 12})) == expected
    page = client.get(f"/v1/users/{user}/recommendations", params={"n": 4, "offset": 8})
    assert ids(page) == expected[8:12]
    seed = client.get(f"/recommendations/{user}").json()["items"]
    assert [int(item["id"]) for item in seed] == expected[:10]
    listed = client.get(f"/v1/users/{user}/recommendations").json()["items"]
    predicted = model.predict(np.full(len(listed), user), np.array([m["id"] for m in listed]))
    np.testing.assert_allclose([m["predicted_rating"] for m in listed], predicted.rating,
                               atol=1e-3)  # fmt: skip


def test_a_filtered_list_is_the_models_list_over_those_movies(served, dataset):
    model, client = served
    user = int(dataset.ratings[USER].iloc[1])
    movies = dataset.movies
    allowed = movies[movies["year"].between(1990, 2005).fillna(False).astype(bool)][ITEM]
    answer = client.get(f"/v1/users/{user}/recommendations",
                        params={"n": 5, "year_min": 1990, "year_max": 2005})  # fmt: skip
    assert ids(answer) == model.recommend(user, 5, items=allowed.to_numpy())[0].tolist()


def test_predictions_are_the_models_with_the_fallback_flagged(served, dataset):
    model, client = served
    user, movie = (int(v) for v in dataset.ratings[[USER, ITEM]].iloc[5])
    pairs = [{"user_id": user, "movie_id": movie}, {"user_id": 10**9, "movie_id": movie}]
    answer = client.post("/predictions", json={"pairs": pairs})
    assert answer.status_code == 200, answer.text
    got = answer.json()["predictions"]
    expected = model.predict(np.array([user, 10**9]), np.array([movie, movie]))
    np.testing.assert_allclose([p["rating"] for p in got], expected.rating, atol=1e-3)
    assert [p["fallback"] for p in got] == expected.fallback.tolist() == [False, True]


def test_similar_movies_are_the_models_similarity(served, dataset):
    model, client = served
    movie = int(dataset.ratings[ITEM].value_counts().index[0])
    scores = model.similarity(model.items_.find(movie))
    answer = client.get(f"/v1/movies/{movie}/similar", params={"n": 5})
    found = ids(answer)
    assert len(found) == 5 and movie not in found
    got = [item["score"] for item in answer.json()["items"]]
    np.testing.assert_allclose(got, scores[model.items_.index(np.array(found))], atol=1e-3)
    assert got == sorted(got, reverse=True)


def test_a_user_written_over_http_is_folded_in_by_the_model(served, dataset):
    model, client = served
    movies = dataset.ratings[ITEM].value_counts().index[:5].tolist()
    ratings = [{"movie_id": int(m), "rating": 5.0} for m in movies]
    written = client.post("/v1/users/777001/ratings", json={"ratings": ratings}, headers=AUTH)
    assert written.status_code == 200, written.text
    listed = client.get("/v1/users/777001/recommendations", params={"n": 8}).json()
    assert listed["folded_in"] is True
    history = client.get("/v1/users/777001/history").json()["items"]
    history.sort(key=lambda entry: model.items_.find(entry["id"]))
    folded = model.fold_in(UserRatings(
        model.items_.index(np.array([entry["id"] for entry in history])).astype(np.int64),
        np.array([entry["rating"] for entry in history], np.float32),
        np.array([entry["timestamp"] for entry in history], np.int64),
    ))  # fmt: skip
    items, _ = folded.recommend(8)
    assert [m["id"] for m in listed["items"]] == model.items_.to_ids(items).tolist()
    assert not {m["id"] for m in listed["items"]} & set(movies)
    np.testing.assert_allclose([m["predicted_rating"] for m in listed["items"]],
                               folded.predict(items), atol=1e-3)  # fmt: skip
