"""What the app serves from its settings, and start-up failures that say what is wrong."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from recsys.api.app import StartupError, create_app
from recsys.config import Settings
from recsys.data.synthetic import synthesize
from recsys.errors import ArtifactError
from recsys.models.persistence import load_model
from recsys.models.registry import make_model
from recsys.service import load_artifact, load_service, save_artifact


def test_nothing_set_serves_the_demo_data_and_caches_the_trained_model(tmp_path, dataset):
    settings = Settings(artifact_cache=tmp_path)
    with TestClient(create_app(settings)) as client:
        info = client.get("/v1/model").json()
        assert info["data"]["name"] == "demo"
        assert info["data"]["fingerprint"] == dataset.fingerprint
        assert info["metrics"]["rmse"] > 0  # evaluated on a hold-out split at training
        assert client.get("/recommendations/1").status_code == 200
    (cached,) = list(tmp_path.iterdir())
    assert cached.name.startswith(f"{settings.train_model}-demo-")
    assert (cached / "artifact.json").is_file()
    stamp = (cached / "serving.npz").stat().st_mtime_ns
    again = load_service(settings)  # from the cache: nothing retrained
    assert (cached / "serving.npz").stat().st_mtime_ns == stamp
    assert again.model_info()["trained_at"] == info["trained_at"]


def test_a_data_folder_is_trained_on_at_start_up(tmp_path):
    dataset = synthesize(3_000, n_users=60, n_movies=80, seed=5)
    data = write_ratings_folder(dataset, tmp_path / "ml")
    settings = Settings(data=str(data), artifact_cache=tmp_path / "cache", train_model="baseline")
    user = int(dataset.ratings["user_id"].iloc[0])
    with TestClient(create_app(settings)) as client:
        info = client.get("/v1/model").json()
        assert info["model"] == "baseline" and info["scorer"] == "model"
        assert info["data"]["ratings"] == len(dataset.ratings)
        top = client.get(f"/v1/users/{user}/recommendations", params={"n": 5}).json()["items"]
    (folder,) = (tmp_path / "cache").iterdir()
    model = load_model(folder)  # the artifact holds the model itself
    assert [i["id"] for i in top] == model.recommend(user, 5)[0].tolist()


def test_a_model_scored_by_features_serves_what_the_model_says(tmp_path):
    # item-knn computes features per movie: its scoring runs in worker threads.
    dataset = synthesize(4_000, n_users=80, n_movies=120, seed=6)
    model = make_model("item-knn").fit(dataset)
    folder = save_artifact(model, dataset, tmp_path / "knn")
    user, movie = (int(v) for v in dataset.ratings[["user_id", "item_id"]].iloc[3])
    with TestClient(create_app(Settings(model=folder))) as client:
        assert client.get("/v1/model").json()["model"] == "item-knn"
        items = client.get(f"/recommendations/{user}").json()["items"]
        assert [int(i["id"]) for i in items] == model.recommend(user, 10)[0].tolist()
        page = client.get(f"/v1/users/{user}/recommendations", params={"n": 3, "offset": 2})
        assert [i["id"] for i in page.json()["items"]] == model.recommend(user, 5)[0][2:].tolist()
        rating = client.get(f"/predictions/{user}/{movie}").json()["rating"]
        assert rating == pytest.approx(float(model.predict([user], [movie]).rating[0]), abs=1e-4)
        similar = client.get(f"/v1/movies/{movie}/similar", params={"n": 5}).json()["items"]
        assert len(similar) == 5 and movie not in [i["id"] for i in similar]


def test_a_missing_data_folder_stops_start_up(tmp_path):
    app = create_app(Settings(data=str(tmp_path / "nope")))
    with pytest.raises(StartupError, match="no such file"), TestClient(app):
        pass


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: (f / "artifact.json").unlink(), "not a complete recsys artifact"),
        (lambda f: (f / "artifact.json").write_text("{oops"), "unreadable"),
        (lambda f: (f / "serving.npz").write_bytes(b"PK\x03\x04 truncated"), "corrupt"),
        (lambda f: _set_meta(f, format_version=99), "artifact format 99"),
        (lambda f: _set_meta(f, format="something-else"), "not a recsys artifact"),
        (lambda f: _drop_array(f, "raters_users"), "missing arrays raters_users"),
        (lambda f: _drop_array(f, "item_movie"), "missing arrays item_movie"),
        (lambda f: _drop_rows(f, "item_rating_count"), "inconsistent arrays"),
        (lambda f: shutil.rmtree(f), "no such artifact folder"),
    ],
)
def test_a_broken_artifact_stops_start_up_with_the_reason(tmp_path, artifact, damage, message):
    folder = tmp_path / "artifact"
    shutil.copytree(artifact, folder)
    damage(folder)
    with pytest.raises(ArtifactError, match=message):
        load_artifact(folder)
    with pytest.raises(StartupError, match=message), TestClient(create_app(Settings(model=folder))):
        pass


def _set_meta(folder, **changes):
    meta = json.loads((folder / "artifact.json").read_text())
    (folder / "artifact.json").write_text(json.dumps(meta | changes))


def _rewrite(folder, change):
    with np.load(folder / "serving.npz") as stored:
        arrays = {k: stored[k] for k in stored.files}
    change(arrays)
    np.savez(folder / "serving.npz", **arrays)


def _drop_array(folder, name):
    _rewrite(folder, lambda a: a.pop(name))


def _drop_rows(folder, name):
    _rewrite(folder, lambda a: a.__setitem__(name, a[name][:-1]))


def write_ratings_folder(dataset, folder):
    """A MovieLens-latest folder (ratings.csv, movies.csv) of a data set."""
    folder.mkdir()
    ratings = dataset.ratings.set_axis(["userId", "movieId", "rating", "timestamp"], axis=1)
    ratings.to_csv(folder / "ratings.csv", index=False)
    movies = dataset.movies
    years = movies["year"].map(lambda y: f" ({y})", na_action="ignore").fillna("")
    titles = movies["title"] + years
    genres = movies["genres"].map(lambda g: "|".join(g) or "(no genres listed)")
    table = {"movieId": movies["item_id"], "title": titles, "genres": genres}
    pd.DataFrame(table).to_csv(folder / "movies.csv", index=False)
    return folder
