"""Predicted ratings: one pair and batches, with the fallback flag, 404, 422 and 413."""

from __future__ import annotations

import numpy as np
import orjson

JSON = {"content-type": "application/json"}


def test_one_pair_is_the_models_prediction(client, model):
    body = client.get("/predictions/1/1").json()
    expected = model.predict([1], [1])
    assert body == {
        "user_id": 1, "movie_id": 1, "rating": round(float(expected.rating[0]), 4),
        "fallback": False,
    }  # fmt: skip


def test_one_pair_with_an_unknown_id_is_404(client):
    assert client.get("/predictions/999999/1").status_code == 404
    response = client.get("/predictions/1/999999")
    assert response.status_code == 404 and "unknown movie" in response.json()["detail"]


def test_a_batch_equals_the_models_predictions_and_flags_fallbacks(client, model):
    rng = np.random.default_rng(3)
    users = [*rng.choice(model.users_.ids, 500).tolist(), 999999, 1, "nobody"]
    movies = [*rng.choice(model.items_.ids, 500).tolist(), 1, 999999, 1]
    pairs = [{"user_id": u, "movie_id": m} for u, m in zip(users, movies, strict=True)]
    response = client.post("/predictions", json={"pairs": pairs})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(pairs)
    expected = model.predict(
        np.array([u if isinstance(u, int) else -1 for u in users]), np.array(movies)
    )
    got = body["predictions"]
    assert [p["user_id"] for p in got] == users and [p["movie_id"] for p in got] == movies
    np.testing.assert_allclose([p["rating"] for p in got], expected.rating, atol=1e-4)
    assert [p["fallback"] for p in got] == expected.fallback.tolist()
    assert got[-3]["fallback"] and got[-2]["fallback"] and got[-1]["fallback"]
    assert [p.get("unknown") for p in got[-3:]] == [["user"], ["movie"], ["user"]]
    low, high = model.scale_.low, model.scale_.high
    assert all(low <= p["rating"] <= high for p in got)


def test_a_full_batch_of_10000_pairs_is_answered(client, model):
    rng = np.random.default_rng(4)
    users, movies = rng.choice(model.users_.ids, 10_000), rng.choice(model.items_.ids, 10_000)
    pairs = [{"user_id": int(u), "movie_id": int(m)} for u, m in zip(users, movies, strict=True)]
    response = client.post("/predictions", content=orjson.dumps({"pairs": pairs}), headers=JSON)
    assert response.status_code == 200 and response.json()["count"] == 10_000


def test_an_oversized_batch_is_413(client):
    pairs = [{"user_id": 1, "movie_id": 1}] * 10_001
    response = client.post("/predictions", json={"pairs": pairs})
    assert response.status_code == 413
    assert "10,001 pairs" in response.json()["detail"]
    huge = b'{"pairs": [' + b'{"user_id": 1, "movie_id": 1},' * 100_000 + b"]}"
    assert client.post("/predictions", content=huge, headers=JSON).status_code == 413


def test_malformed_batches_are_422(client):
    bad = [
        b"not json", b"[]", b"{}", b'{"pairs": {}}', b'{"pairs": [{"user_id": 1}]}',
        b'{"pairs": [{"user_id": 1, "movie_id": 1, "extra": 2}]}',
        b'{"pairs": [{"user_id": null, "movie_id": 1}]}', b'{"pairs": [[1, 2]]}',
    ]  # fmt: skip
    for body in bad:
        response = client.post("/predictions", content=body, headers=JSON)
        assert response.status_code == 422, body
        assert isinstance(response.json()["detail"], list)


def test_an_empty_batch_is_an_empty_answer(client):
    assert client.post("/predictions", json={"pairs": []}).json() == {
        "predictions": [],
        "count": 0,
    }


def test_the_versioned_api_has_no_separate_predictions(client):
    assert client.get("/v1/predictions/1/1").status_code == 404


def test_a_whole_number_written_with_a_fraction_is_that_id(client):
    whole = b'{"pairs": [{"user_id": 1.0, "movie_id": 1}, {"user_id": 1, "movie_id": 1}]}'
    first, second = client.post("/predictions", content=whole, headers=JSON).json()["predictions"]
    assert first == second and first["user_id"] == 1 and "unknown" not in first
    for number in (b"1.5", b"9.3e18", b"-9223372036854775809"):
        body = b'{"pairs": [{"user_id": %s, "movie_id": 1}]}' % number
        response = client.post("/predictions", content=body, headers=JSON)
        assert response.status_code == 422, number
        assert response.json()["detail"][0]["loc"] == ["body", "pairs", 0, "user_id"]
