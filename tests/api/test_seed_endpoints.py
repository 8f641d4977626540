"""The MovieLens seed's endpoints keep its response shapes exactly (fields may only be added)."""

from __future__ import annotations

import numpy as np

from recsys.data.schema import ITEM, USER


def rated_by(dataset, user_id) -> set:
    return set(dataset.ratings.loc[dataset.ratings[USER] == user_id, ITEM].tolist())


def test_recommendations_have_the_seed_shape_string_ids_and_are_the_models_top_10(
    client, model, dataset
):
    response = client.get("/recommendations/1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) >= {"items"}
    items = body["items"]
    assert len(items) == 10
    assert all(set(item) >= {"id"} and isinstance(item["id"], str) for item in items)
    expected, scores = model.recommend(1, 10)
    assert [item["id"] for item in items] == [str(i) for i in expected]
    np.testing.assert_allclose([item["score"] for item in items], scores, atol=1e-4)
    assert not {int(item["id"]) for item in items} & rated_by(dataset, 1)
    assert body["fallback"] is False


def test_recommendations_with_metadata_have_int_ids_titles_and_genre_lists(client, dataset):
    plain = client.get("/recommendations/1").json()["items"]
    body = client.get("/recommendations/1", params={"returnMetadata": "true"}).json()
    items = body["items"]
    assert [item["id"] for item in items] == [int(item["id"]) for item in plain]
    movies = dataset.movies.set_index(ITEM)
    for item in items:
        assert set(item) >= {"id", "title", "genres"}
        assert isinstance(item["id"], int)
        assert item["title"] == movies.loc[item["id"], "title"]
        assert item["genres"] == list(movies.loc[item["id"], "genres"])
    false = client.get("/recommendations/1", params={"returnMetadata": "false"}).json()
    assert false["items"] == plain


def test_feature_lists_every_rated_movie_descending(client, dataset):
    body = client.get("/feature/1").json()
    assert list(body) == ["feature"]
    assert len(body["feature"]) == 1 and list(body["feature"][0]) == ["histories"]
    histories = body["feature"][0]["histories"]
    assert histories == sorted(rated_by(dataset, 1), reverse=True)


def test_unknown_user_is_a_clear_404(client):
    for path in ("/recommendations/999999", "/feature/999999", "/recommendations/abc"):
        response = client.get(path)
        assert response.status_code == 404
        assert "unknown user" in response.json()["detail"]


def test_unknown_user_with_popular_fallback_gets_the_most_rated_movies_flagged(client, dataset):
    body = client.get("/recommendations/999999", params={"fallback": "popular"}).json()
    assert body["fallback"] is True
    counts = dataset.ratings[ITEM].value_counts()
    top = [str(i) for i in counts.index[:10]]
    ids = [item["id"] for item in body["items"]]
    assert sorted(counts[[int(i) for i in ids]], reverse=True) == list(counts.iloc[:10])
    assert len(set(ids) & set(top)) >= 9  # ties at the cut may order differently


def test_bad_seed_parameters_are_422(client):
    assert client.get("/recommendations/1", params={"returnMetadata": "maybe"}).status_code == 422
    assert client.get("/recommendations/1", params={"fallback": "random"}).status_code == 422
