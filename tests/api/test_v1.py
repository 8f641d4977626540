"""The versioned API: every endpoint's values against the model or a brute-force reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys.data.interactions import Interactions
from recsys.data.schema import ITEM, RATING, TIMESTAMP, USER
from recsys.features.closest import closest_raters, nearest_users


def test_recommendations_match_the_model_and_page_without_overlap(client, model):
    first = client.get("/v1/users/1/recommendations", params={"n": 5}).json()
    second = client.get("/v1/users/1/recommendations", params={"n": 5, "offset": 5}).json()
    both = client.get("/v1/users/1/recommendations", params={"n": 10}).json()
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert ids == [i["id"] for i in both["items"]]
    assert ids == model.recommend(1, 10)[0].tolist()
    assert first["n"] == 5 and second["offset"] == 5
    assert first["total"] == len(model.items_) - len(model.seen(model.users_.find(1)))


def test_recommendations_can_include_seen_movies(client, model):
    body = client.get("/v1/users/1/recommendations", params={"n": 20, "exclude_seen": False})
    expected = model.recommend(1, 20, exclude_seen=False)[0].tolist()
    assert [i["id"] for i in body.json()["items"]] == expected


def test_genre_and_year_filters_equal_filtering_the_full_ranking(client, model, dataset):
    params = {"n": 15, "genre": ["Comedy", "horror"], "year_min": 1980, "year_max": 1999}
    items = client.get("/v1/users/1/recommendations", params=params).json()["items"]
    movies = dataset.movies.set_index(ITEM)
    allowed = movies[
        movies["genres"].map(lambda g: bool({"Comedy", "Horror"} & set(g)))
        & movies["year"].between(1980, 1999).fillna(False).astype(bool)
    ].index
    expected = model.recommend(1, 15, items=allowed.to_numpy())[0].tolist()
    assert [i["id"] for i in items] == expected
    for item in items:
        assert 1980 <= item["year"] <= 1999 and {"Comedy", "Horror"} & set(item["genres"])


def test_similar_movies_are_the_models_nearest_factors(client, model):
    body = client.get("/v1/movies/1/similar", params={"n": 8}).json()
    cosine = model.similarity(model.items_.find(1))
    cosine[model.items_.find(1)] = -np.inf
    best = np.argsort(-cosine, kind="stable")[:8]
    cosine = cosine[best]
    assert [i["id"] for i in body["items"]] == model.items_.to_ids(best).tolist()
    np.testing.assert_allclose([i["score"] for i in body["items"]], cosine, atol=1e-4)
    assert 1 not in [i["id"] for i in body["items"]]


def test_closest_raters_match_the_feature_code(client, dataset):
    history = Interactions.from_ratings(dataset.ratings)
    body = client.get("/v1/users/1/closest-raters", params={"n": 12}).json()
    raters, distances, common = nearest_users(history, history.users.find(1), 12)
    assert [r["user_id"] for r in body["raters"]] == history.users.to_ids(raters).tolist()
    np.testing.assert_allclose([r["distance"] for r in body["raters"]], distances, atol=1e-4)
    assert [r["common_movies"] for r in body["raters"]] == common.tolist()


def test_closest_raters_of_a_movie_are_the_seeds_closest_1_to_4(client, dataset):
    history = Interactions.from_ratings(dataset.ratings)
    user, movie = 1, int(dataset.ratings[ITEM].value_counts().index[0])
    body = client.get("/v1/users/1/closest-raters", params={"movie_id": movie}).json()
    found = closest_raters(
        history, np.array([history.users.find(user)]), np.array([history.items.find(movie)])
    )
    assert body["movie_id"] == movie and body["user_id"] == user
    assert [r["user_id"] for r in body["raters"]] == history.users.to_ids(found.raters[0]).tolist()
    np.testing.assert_allclose([r["rating"] for r in body["raters"]], found.ratings[0])
    distances = [r["distance"] for r in body["raters"]]
    np.testing.assert_allclose(distances, found.distances[0], atol=1e-4)


def test_popular_movies_by_rating_count_and_without_a_users_movies(client, dataset):
    r = dataset.ratings
    stats = r.groupby(ITEM)[RATING].agg(["count", "mean"]).reset_index()
    stats = stats.sort_values(["count", "mean", ITEM], ascending=[False, False, True])
    body = client.get("/v1/movies/popular", params={"n": 12, "offset": 3}).json()
    assert [i["id"] for i in body["items"]] == stats[ITEM].iloc[3:15].tolist()
    assert [i["score"] for i in body["items"]] == stats["count"].iloc[3:15].tolist()
    seen = set(r.loc[r[USER] == 1, ITEM])
    unseen = stats[~stats[ITEM].isin(seen)]
    body = client.get("/v1/movies/popular", params={"n": 10, "user_id": 1}).json()
    assert [i["id"] for i in body["items"]] == unseen[ITEM].iloc[:10].tolist()
    assert body["total"] == len(unseen)


def test_movie_details(client, dataset):
    body = client.get("/v1/movies/1").json()
    row = dataset.movies.set_index(ITEM).loc[1]
    ratings = dataset.ratings.loc[dataset.ratings[ITEM] == 1, RATING]
    year = None if pd.isna(row["year"]) else int(row["year"])
    assert body == {
        "id": 1, "title": row["title"], "year": year, "genres": list(row["genres"]),
        "ratings": len(ratings), "mean_rating": pytest.approx(ratings.mean(), abs=1e-4),
        "recommendable": True,
    }  # fmt: skip


def test_history_most_recent_first_and_by_rating(client, dataset):
    r = dataset.ratings[dataset.ratings[USER] == 1]
    recent = r.sort_values([TIMESTAMP, ITEM], ascending=[False, True])
    body = client.get("/v1/users/1/history", params={"n": 7, "offset": 2}).json()
    assert body["total"] == len(r) and body["user_id"] == 1
    assert [i["id"] for i in body["items"]] == recent[ITEM].iloc[2:9].tolist()
    assert [i["rating"] for i in body["items"]] == recent[RATING].iloc[2:9].tolist()
    assert [i["timestamp"] for i in body["items"]] == recent[TIMESTAMP].iloc[2:9].tolist()
    best = r.sort_values([RATING, TIMESTAMP, ITEM], ascending=[False, False, True])
    body = client.get("/v1/users/1/history", params={"n": 5, "order": "rating"}).json()
    assert [i["id"] for i in body["items"]] == best[ITEM].iloc[:5].tolist()


@pytest.mark.parametrize(
    "path",
    [
        "/v1/users/999999/recommendations",
        "/v1/users/999999/closest-raters",
        "/v1/users/999999/history",
        "/v1/users/1/closest-raters?movie_id=999999",
        "/v1/movies/999999",
        "/v1/movies/999999/similar",
        "/v1/movies/popular?user_id=999999",
    ],
)
def test_unknown_ids_are_404_with_a_message(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "unknown" in response.json()["detail"] and "999999" in response.json()["detail"]


def test_unknown_user_with_fallback_gets_popular_movies(client):
    body = client.get(
        "/v1/users/999999/recommendations", params={"fallback": "popular", "n": 5}
    ).json()
    popular = client.get("/v1/movies/popular", params={"n": 5}).json()
    assert body["fallback"] is True and body["items"] == popular["items"]


@pytest.mark.parametrize(
    "query",
    [
        {"n": 0}, {"n": 101}, {"n": "ten"}, {"offset": -1}, {"offset": 10**7},
        {"year_min": -1}, {"year_max": 10_000}, {"year_min": "old"}, {"exclude_seen": "perhaps"},
        {"fallback": "nothing"},
    ],
)  # fmt: skip
def test_bad_parameters_are_422_in_fastapis_shape(client, query):
    response = client.get("/v1/users/1/recommendations", params=query)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail[0]["msg"]


def test_an_unknown_genre_is_422_and_names_the_genres(client):
    response = client.get("/v1/movies/popular", params={"genre": ["Drama", "Nope"]})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["query", "genre"]
    assert "unknown genre 'Nope'" in error["msg"] and "Drama" in error["msg"]


def test_a_crossed_year_range_is_422(client):
    params = {"year_min": 2000, "year_max": 1990}
    response = client.get("/v1/users/1/recommendations", params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "year_min"]


def test_a_one_year_range_keeps_that_year(client):
    params = {"year_min": 1995, "year_max": 1995, "n": 50}
    items = client.get("/v1/movies/popular", params=params).json()["items"]
    assert items and {i["year"] for i in items} == {1995}


def test_repeated_genres_count_once_and_are_bounded(client):
    once = client.get("/v1/movies/popular", params={"genre": "Drama"}).json()
    repeated = client.get("/v1/movies/popular", params={"genre": ["Drama", "drama"] * 40}).json()
    assert repeated == once
    genres = client.get("/v1/model").json()["genres"]
    many = [f"{g}{'!' * k}" for k in range(3) for g in genres]  # distinct values, over 32
    response = client.get("/v1/movies/popular", params={"genre": many})
    assert response.status_code == 422 and "at most 32" in response.json()["detail"][0]["msg"]


def test_an_offset_past_the_end_gives_an_empty_page(client):
    body = client.get("/v1/movies/popular", params={"offset": 100_000}).json()
    assert body["items"] == [] and body["total"] > 0


@pytest.mark.parametrize("path", ["/v1/movies/", "/v1/movies/%2F", "/v1/users/1/history/"])
def test_a_stray_slash_is_a_json_404_not_a_redirect(client, path):
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 404 and response.json() == {"detail": "Not Found"}
