"""The live service through the real app and real databases (SQLite and PostgreSQL): ratings in
over HTTP, folded into the next request, kept across restarts and model swaps, and writes
protected by a key."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from recsys.api.app import create_app
from recsys.config import Settings
from recsys.models.registry import make_model
from recsys.service import save_artifact
from recsys.service.artifact import META_FILE
from tests.databases import database  # noqa: F401  (the fixture: SQLite, then PostgreSQL)

KEY = "test-key-0123456789"
READ_KEY = "read-key-9876543210"
AUTH = {"Authorization": f"Bearer {KEY}"}
JSON_BODY = {"content-type": "application/json"}
NEW_USER = 990_001


def settings(artifact, db, **extra) -> Settings:
    return Settings(model=artifact, database_url=db.url, state_dir=db.state_dir, api_key=KEY,
                    feedback_poll=0.05, **extra)  # fmt: skip


@pytest.fixture
def live(artifact, database):  # noqa: F811
    with TestClient(create_app(settings(artifact, database))) as client:
        yield client


def popular_ids(client, n: int) -> list[int]:
    return [m["id"] for m in client.get("/v1/movies/popular", params={"n": n}).json()["items"]]


def post(client, user, ratings, headers=AUTH):
    return client.post(f"/v1/users/{user}/ratings", json={"ratings": ratings}, headers=headers)


def test_a_new_user_exists_once_they_rated_and_the_next_request_folds_them_in(live):
    assert live.get(f"/v1/users/{NEW_USER}/recommendations").status_code == 404
    movies = popular_ids(live, 3)
    answer = post(live, NEW_USER, [{"movie_id": m, "rating": 5.0} for m in movies])
    assert answer.status_code == 200, answer.text
    assert answer.json() | {"seq": 0} == {
        "user_id": NEW_USER, "received": 3, "stored": 3, "older": 0, "duplicates": 0,
        "seq": 0, "folded_in": True,
    }  # fmt: skip
    listed = live.get(f"/v1/users/{NEW_USER}/recommendations", params={"n": 20}).json()
    assert listed["folded_in"] is True and len(listed["items"]) == 20
    assert not {m["id"] for m in listed["items"]} & set(movies)
    assert all("predicted_rating" in m for m in listed["items"])
    seed = live.get(f"/recommendations/{NEW_USER}").json()
    assert seed["folded_in"] is True and len(seed["items"]) == 10
    history = live.get(f"/v1/users/{NEW_USER}/history").json()
    assert sorted(m["id"] for m in history["items"]) == sorted(movies)
    popular = live.get("/v1/movies/popular", params={"user_id": NEW_USER, "n": 10})
    assert popular.status_code == 200
    assert not {m["id"] for m in popular.json()["items"]} & set(movies)
    feature = live.get(f"/feature/{NEW_USER}").json()
    assert sorted(feature["feature"][0]["histories"]) == sorted(movies)
    predicted = live.get(f"/predictions/{NEW_USER}/{listed['items'][0]['id']}").json()
    assert predicted["fallback"] is False
    closest = live.get(f"/v1/users/{NEW_USER}/closest-raters")
    assert closest.status_code == 200 and closest.json()["raters"]


def test_a_known_users_new_ratings_change_their_list_and_rated_movies_leave_it(live, dataset):
    user = int(dataset.ratings["user_id"].iloc[0])
    before = live.get(f"/v1/users/{user}/recommendations", params={"n": 10}).json()
    assert before["folded_in"] is False
    top = [m["id"] for m in before["items"][:5]]
    answer = post(live, user, [{"movie_id": m, "rating": 1.0} for m in top])
    assert answer.status_code == 200
    after = live.get(f"/v1/users/{user}/recommendations", params={"n": 10}).json()
    assert after["folded_in"] is True
    assert not {m["id"] for m in after["items"]} & set(top)
    history = live.get(f"/v1/users/{user}/history", params={"n": 100}).json()["items"]
    rated = {m["id"]: m["rating"] for m in history}
    assert all(rated[m] == 1.0 for m in top)
    stored = {m["id"] for m in history if m["stored"]}  # written over HTTP, not trained on
    assert stored == set(top) and len(history) > len(top)


def test_a_folded_in_list_is_kept_until_the_next_write_and_its_pages_are_the_live_ones(live):
    user, movies = NEW_USER + 2, popular_ids(live, 30)
    written = post(live, user, [{"movie_id": m, "rating": 5.0} for m in movies[:20]])
    assert written.status_code == 200

    def page(**params):
        return live.get(f"/v1/users/{user}/recommendations", params=params).json()["items"]

    first, again = page(n=30), page(n=30)
    assert first == again and len(first) == 30
    assert page(n=10, offset=10) == first[10:20]  # a slice of the kept list
    assert page(n=30, genre="Drama") != first  # filtered: ranked live, inside the filter
    deep = page(n=20, offset=95)  # past the kept depth: ranked live
    assert [m["id"] for m in deep[:5]] == [m["id"] for m in page(n=100)[95:]]
    # a write changes the user's last stored change, so the next request folds in again
    top = [m["id"] for m in first[:3]]
    assert post(live, user, [{"movie_id": m, "rating": 1.0} for m in top]).status_code == 200
    assert not {m["id"] for m in page(n=30)} & set(top)


def test_the_latest_timestamp_wins_and_repeats_in_a_request_count(live):
    movie = popular_ids(live, 1)[0]
    user = NEW_USER + 1
    first = post(live, user, [{"movie_id": movie, "rating": 4.0, "timestamp": 2_000}])
    assert first.status_code == 200
    older = post(live, user, [{"movie_id": movie, "rating": 1.0, "timestamp": 1_000}]).json()
    assert older["stored"] == 0 and older["older"] == 1
    repeated = [{"movie_id": movie, "rating": 2.0, "timestamp": 3_000},
                {"movie_id": movie, "rating": 3.0, "timestamp": 2_500}]  # fmt: skip
    twice = post(live, user, repeated).json()
    assert twice["duplicates"] == 1 and twice["stored"] == 1
    (entry,) = live.get(f"/v1/users/{user}/history").json()["items"]
    assert entry["rating"] == 2.0 and entry["timestamp"] == 3_000


def test_a_rating_older_than_the_training_one_is_not_applied_and_says_so(live, dataset):
    first = dataset.ratings.iloc[0]
    user, movie, stamp = (int(first[k]) for k in ("user_id", "item_id", "timestamp"))
    rating = float(first["rating"])
    other = 1.0 if rating != 1.0 else 2.0
    late = post(live, user, [{"movie_id": movie, "rating": other, "timestamp": stamp - 1}])
    assert late.status_code == 200 and late.json()["stored"] == 0 and late.json()["older"] == 1
    history = live.get(f"/v1/users/{user}/history", params={"n": 100}).json()["items"]
    assert [h["rating"] for h in history if h["id"] == movie] == [rating]
    newer = post(live, user, [{"movie_id": movie, "rating": other, "timestamp": stamp}])
    assert newer.json()["stored"] == 1 and newer.json()["older"] == 0  # a tie: the write wins
    history = live.get(f"/v1/users/{user}/history", params={"n": 100}).json()["items"]
    assert [h["rating"] for h in history if h["id"] == movie] == [other]


def test_a_rating_within_float_noise_of_a_step_is_stored_on_the_step(live):
    movie, user = popular_ids(live, 1)[0], NEW_USER + 6
    assert post(live, user, [{"movie_id": movie, "rating": 4.0000005}]).status_code == 200
    (entry,) = live.get(f"/v1/users/{user}/history").json()["items"]
    assert entry["rating"] == 4.0


def test_ids_in_a_body_are_read_one_way_on_every_route(live):
    """A whole JSON number is that integer (31.0 is 31), and a UTF-8 byte-order mark before a
    body is read past, on a write as on a batch of predictions."""
    movie, user = popular_ids(live, 1)[0], NEW_USER + 7
    assert post(live, user, [{"movie_id": float(movie), "rating": 4.0}]).json()["stored"] == 1
    (entry,) = live.get(f"/v1/users/{user}/history").json()["items"]
    assert entry["id"] == movie
    pairs = json.dumps({"pairs": [{"user_id": user, "movie_id": float(movie)}]}).encode()
    for path, body in (("/predictions", pairs),
                       (f"/v1/users/{user}/ratings", b'{"ratings": [{"movie_id": %d, '
                                                    b'"rating": 3.0}]}' % movie)):  # fmt: skip
        answer = live.post(path, content=b"\xef\xbb\xbf" + body, headers=AUTH | JSON_BODY)
        assert answer.status_code == 200, (path, answer.text)
    assert live.post("/predictions", content=pairs, headers=JSON_BODY).json()["predictions"][0][
        "movie_id"] == movie  # fmt: skip


def test_bad_entries_are_422_each_named_and_nothing_of_the_request_is_stored(live):
    user = NEW_USER + 2
    good = popular_ids(live, 1)[0]
    answer = post(live, user, [{"movie_id": good, "rating": 4.0},
                               {"movie_id": 10**12, "rating": 4.0},
                               {"movie_id": good, "rating": 9.0}])  # fmt: skip
    assert answer.status_code == 422
    where = {tuple(e["loc"]) for e in answer.json()["detail"]}
    assert where == {("body", "ratings", 1, "movie_id"), ("body", "ratings", 2, "rating")}
    assert live.get(f"/v1/users/{user}/history").status_code == 404  # nothing stored
    # What `recsys train --feedback` would drop is refused here: a rating between the demo
    # scale's steps (1 to 5 in whole stars), a timestamp beyond tomorrow (it would outrank
    # every later change); and no coercion: true is no rating or movie, "4" no rating.
    ahead = int(time.time()) + 2 * 86_400
    for entry in ({"movie_id": good, "rating": 4.5}, {"movie_id": good, "rating": True},
                  {"movie_id": good, "rating": "4"}, {"movie_id": True, "rating": 4.0},
                  {"movie_id": good, "rating": 4.0, "timestamp": ahead},
                  {"movie_id": good, "rating": 4.0, "timestamp": "1000"}):  # fmt: skip
        refused = post(live, user, [entry])
        assert refused.status_code == 422, entry
        assert {tuple(e["loc"][:3]) for e in refused.json()["detail"]} == {("body", "ratings", 0)}
    assert post(live, user, [{"movie_id": good, "rating": 4, "timestamp": ahead - 86_400}]).json()[
        "stored"] == 1  # an integer rating, a timestamp within a day of now  # fmt: skip
    for body in ({"ratings": []}, {"ratings": [{"movie_id": good}]}, {"nope": 1},
                 {"ratings": [{"movie_id": good, "rating": "x"}]}):  # fmt: skip
        assert live.post(f"/v1/users/{user}/ratings", json=body, headers=AUTH).status_code == 422
    assert post(live, "not-a-number", [{"movie_id": good, "rating": 4.0}]).status_code == 422
    too_many = [{"movie_id": good, "rating": 4.0}] * 1_001
    assert post(live, user, too_many).status_code == 413


def test_writes_need_the_key_and_reads_the_read_key_when_one_is_set(artifact, database):  # noqa: F811
    movie = {"movie_id": 1, "rating": 4.0}
    with TestClient(create_app(settings(artifact, database, read_key=READ_KEY))) as client:
        assert post(client, NEW_USER, [movie], headers={}).status_code == 401
        wrong = post(client, NEW_USER, [movie], headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        read = {"Authorization": f"Bearer {READ_KEY}"}
        assert post(client, NEW_USER, [movie], headers=read).status_code == 403
        assert client.post("/v1/admin/model", json={"path": "x"}).status_code == 401
        for path in (f"/v1/users/{NEW_USER}/ratings", "/v1/admin/model"):  # the key comes first
            for headers, status in (({}, 401), ({"Authorization": "Bearer nope"}, 401),
                                    (read, 403), (AUTH, None)):  # fmt: skip
                for body, unread in ((b"{bad", 422), (b"\xff", 400)):  # not JSON, not UTF-8
                    bad = client.post(path, content=body, headers=headers | JSON_BODY)
                    assert bad.status_code == (status or unread), (path, headers, body)
                    assert bad.json()["detail"]
        assert client.get("/v1/users/1/recommendations").status_code == 401
        assert client.get("/v1/users/1/recommendations", headers=read).status_code == 200
        assert client.get("/v1/users/1/recommendations", headers=AUTH).status_code == 200
        assert client.get("/health/ready").status_code == 200  # health stays open
        assert KEY not in client.get("/v1/model", headers=read).text
    no_key = Settings(model=artifact, database_url=database.url, state_dir=database.state_dir)
    with TestClient(create_app(no_key)) as client:
        refused = post(client, NEW_USER, [movie], headers=AUTH)
        assert refused.status_code == 403 and "RECSYS_API_KEY" in refused.json()["detail"]


def test_delete_removes_a_stored_or_a_training_rating(live, dataset):
    user = int(dataset.ratings["user_id"].iloc[0])
    history = live.get(f"/v1/users/{user}/history", params={"n": 100}).json()
    movie = history["items"][0]["id"]
    gone = live.delete(f"/v1/users/{user}/ratings/{movie}", headers=AUTH)
    assert gone.status_code == 200 and gone.json()["deleted"] is True
    after = live.get(f"/v1/users/{user}/history", params={"n": 100}).json()
    assert after["total"] == history["total"] - 1
    assert movie not in {m["id"] for m in after["items"]}
    assert live.delete(f"/v1/users/{user}/ratings/{movie}", headers=AUTH).status_code == 404
    assert live.delete(f"/v1/users/{NEW_USER + 9}/ratings/{movie}", headers=AUTH).status_code == 404
    assert live.delete(f"/v1/users/{user}/ratings/{movie}").status_code == 401


def test_stored_ratings_survive_a_restart(artifact, database):  # noqa: F811
    movies = [1, 2]
    with TestClient(create_app(settings(artifact, database))) as client:
        movies = popular_ids(client, 2)
        rated = [{"movie_id": m, "rating": 3.0} for m in movies]
        assert post(client, NEW_USER + 3, rated).status_code == 200
    with TestClient(create_app(settings(artifact, database))) as client:
        history = client.get(f"/v1/users/{NEW_USER + 3}/history").json()
        assert sorted(m["id"] for m in history["items"]) == sorted(movies)


def test_a_rollout_swaps_the_model_and_a_broken_one_is_refused(live, dataset, tmp_path):
    movies = popular_ids(live, 3)
    rated = [{"movie_id": m, "rating": 5.0} for m in movies]
    assert post(live, NEW_USER + 4, rated).status_code == 200
    other = save_artifact(make_model("baseline").fit(dataset), dataset, tmp_path / "baseline-v2")
    swapped = live.post("/v1/admin/model", json={"path": str(other)}, headers=AUTH)
    assert swapped.status_code == 200, swapped.text
    assert swapped.json()["model"] == "baseline" and swapped.json()["artifact"] == "baseline-v2"
    assert live.get("/v1/model").json()["model"] == "baseline"
    after = live.get(f"/v1/users/{NEW_USER + 4}/recommendations").json()
    assert after["folded_in"] is True and not {m["id"] for m in after["items"]} & set(movies)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "meta.json").write_text("{not json")
    edited = []  # hand-edited metadata the service would read as the wrong type
    steps = [{"low": 0.5, "high": 5, "step": step} for step in ("x", 0)]
    wrong = [("feedback", "x"), ("data", "x"), ("model", 3), *(("scale", s) for s in steps)]
    for n, (field, value) in enumerate(wrong):
        copy = Path(shutil.copytree(other, tmp_path / f"edited-{n}")) / META_FILE
        copy.write_text(json.dumps(json.loads(copy.read_text()) | {field: value}))
        edited.append(copy.parent)
    for path in (broken, tmp_path / "missing", *edited, "~no-such-user-here/model"):
        refused = live.post("/v1/admin/model", json={"path": str(path)}, headers=AUTH)
        assert refused.status_code == 422 and "refused" in refused.json()["detail"], refused.text
        assert str(tmp_path) not in refused.text  # no server path reflected
        assert live.get("/v1/model").json()["artifact"] == "baseline-v2"  # the old one serves on
    assert live.get(f"/v1/users/{NEW_USER + 4}/recommendations").status_code == 200
    assert live.post("/v1/admin/model", json={"path": str(other)}).status_code == 401


def test_a_user_whose_stored_ratings_the_new_model_does_not_know_is_unknown_not_an_error(
    live, dataset, tmp_path
):
    """After a swap to a model trained without the only movie a new user rated, that user is
    unknown to it (404 everywhere, their pair of a batch a fallback), not a server error."""
    movie, kept = popular_ids(live, 2)
    assert post(live, NEW_USER + 5, [{"movie_id": movie, "rating": 4.0}]).status_code == 200
    ratings = dataset.ratings[dataset.ratings["item_id"] != movie]
    without = dataset.with_ratings(ratings)
    other = save_artifact(make_model("baseline").fit(without), without, tmp_path / "without")
    assert live.post("/v1/admin/model", json={"path": str(other)}, headers=AUTH).status_code == 200
    user = f"/v1/users/{NEW_USER + 5}"
    for path in (f"{user}/history", f"{user}/recommendations", f"{user}/closest-raters",
                 f"/recommendations/{NEW_USER + 5}", f"/feature/{NEW_USER + 5}",
                 f"/predictions/{NEW_USER + 5}/{movie}"):  # fmt: skip
        answer = live.get(path)
        assert answer.status_code == 404 and "unknown user" in answer.json()["detail"], path
    known = int(ratings["user_id"].iloc[0])
    pairs = [{"user_id": known, "movie_id": kept}, {"user_id": NEW_USER + 5, "movie_id": kept}]
    batch = live.post("/predictions", json={"pairs": pairs})
    assert batch.status_code == 200, batch.text
    first, second = batch.json()["predictions"]
    assert first["fallback"] is False and second["unknown"] == ["user"]
    gone = live.delete(f"{user}/ratings/{movie}", headers=AUTH)
    assert gone.status_code == 404 and "unknown movie" in gone.json()["detail"]
