"""`recsys train --feedback`: stored ratings merged into the data set (the latest wins, a
deletion removes, every dropped row counted), and the artifact records the store's watermark.
The merge is checked by hand on both backends; the command end to end on SQLite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recsys.data.dataset import Dataset
from recsys.data.feedback import with_feedback
from recsys.data.frames import movies_frame, ratings_frame
from recsys.data.schema import HALF_STARS
from recsys.store import open_store

ROOT = Path(__file__).resolve().parents[2]


def dataset_of(rows, movies, ids=int) -> Dataset:
    users, items, ratings, times = zip(*rows, strict=True)
    frame = ratings_frame(np.array([ids(u) for u in users]), np.array([ids(i) for i in items]),
                          ratings, times)  # fmt: skip
    catalogue = movies_frame(np.array([ids(m) for m in movies]), [f"m{m}" for m in movies],
                             [None] * len(movies), [[] for _ in movies])  # fmt: skip
    return Dataset(frame, catalogue, HALF_STARS, name="tiny")


def as_rows(dataset: Dataset) -> set[tuple]:
    r = dataset.ratings
    return set(zip(r["user_id"].tolist(), r["item_id"].tolist(), r["rating"].tolist(),
                   r["timestamp"].tolist(), strict=True))  # fmt: skip


def test_stored_ratings_merge_by_hand(store):
    base = dataset_of(
        [(1, 10, 3.0, 100), (1, 11, 3.0, 100), (1, 13, 3.0, 50), (2, 10, 4.0, 100),
         (2, 12, 4.0, 100)],
        movies=[10, 11, 12, 13],
    )  # fmt: skip
    store.upsert("1", [("10", 5.0, 200),  # later: replaces
                       ("11", 1.0, 99),  # earlier: the training rating stays
                       ("13", 2.0, 50)])  # a tie: the stored one wins  # fmt: skip
    store.delete("2", "10", 150)  # later: the training rating goes
    store.delete("2", "12", 90)  # earlier than the training rating: it stays
    store.delete("2", "11", 10)  # nothing to delete
    store.upsert("3", [("13", 4.0, 300),  # a new user
                       ("99", 4.0, 300),  # not in the catalogue
                       ("12", 7.0, 300)])  # off the scale  # fmt: skip
    store.upsert("abc", [("10", 4.0, 300)])  # not an id of this data set (ints)
    store.upsert("4", [("11.5", 4.0, 300)])  # not a movie id of it either

    merged, counts = with_feedback(base, store)

    assert as_rows(merged) == {
        (1, 10, 5.0, 200), (1, 11, 3.0, 100), (1, 13, 2.0, 50), (2, 12, 4.0, 100),
        (3, 13, 4.0, 300),
    }  # fmt: skip
    assert counts == {
        "url": store.describe(), "seq": store.last_seq(), "added": 1, "replaced": 2,
        "deleted": 1, "older": 2, "unknown_movies": 2, "unusable_user_ids": 1, "off_scale": 1,
    }  # fmt: skip
    assert merged.ratings.dtypes.to_dict() == base.ratings.dtypes.to_dict()
    assert merged.movies is base.movies and merged.scale == base.scale
    assert as_rows(base) != as_rows(merged)  # the data set itself is left alone


def test_integer_ids_beyond_2_to_the_53_are_kept_exactly(store):
    """The API stores any int64 user id; training reads it back exactly, not through a float."""
    base = dataset_of([(1, 10, 3.0, 100)], movies=[10])
    big = 2**53 + 1  # a float would read it as 2**53
    store.upsert(str(big), [("10", 4.0, 300)])
    store.upsert(str(2**63), [("10", 4.0, 300)])  # beyond int64: no id of this data set
    merged, counts = with_feedback(base, store)
    assert as_rows(merged) == {(1, 10, 3.0, 100), (big, 10, 4.0, 300)}
    assert counts["added"] == 1 and counts["unusable_user_ids"] == 1


def test_text_ids_are_matched_as_text(store):
    base = dataset_of([("ann", "m1", 3.0, 100), ("bob", "m2", 2.0, 100)],
                      movies=["m1", "m2"], ids=str)  # fmt: skip
    store.upsert("ann", [("m1", 4.5, 100), ("m2", 1.0, 1)])
    store.delete("bob", "m2", 200)
    merged, counts = with_feedback(base, store)
    assert as_rows(merged) == {("ann", "m1", 4.5, 100), ("ann", "m2", 1.0, 1)}
    assert (counts["added"], counts["replaced"], counts["deleted"]) == (1, 1, 1)


def test_an_empty_store_changes_nothing(store):
    base = dataset_of([(1, 10, 3.0, 100)], movies=[10])
    merged, counts = with_feedback(base, store)
    assert as_rows(merged) == as_rows(base) and merged.fingerprint == base.fingerprint
    assert counts["seq"] == 0 and counts["added"] == counts["deleted"] == 0


# -- the command -------------------------------------------------------------------------
def recsys(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "recsys.cli", *args], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("synth") / "data"
    made = recsys("synth", str(folder), "--ratings", "3000", "--format", "movielens")
    assert made.returncode == 0, made.stderr
    return folder


def test_train_with_feedback_learns_the_stored_ratings_and_records_the_watermark(data, tmp_path):
    import recsys as api

    base = api.load(str(data))
    r = base.ratings
    user, movie = int(r["user_id"].iloc[0]), int(r["item_id"].iloc[0])
    new_movies = [int(m) for m in base.movies["item_id"][:3]]
    new_user = int(r["user_id"].max()) + 1
    state = tmp_path / "state"
    with open_store(None, state) as store:
        store.upsert(str(new_user), [(str(m), 4.5, 2_000_000_000) for m in new_movies])
        store.delete(str(user), str(movie), 2_000_000_000)
        store.upsert(str(new_user), [("not-a-movie", 4.0, 2_000_000_000)])
        url, seq = store.describe(), store.last_seq()
    assert url == f"sqlite:///{(state / 'feedback.sqlite3').resolve()}"

    out = tmp_path / "model"
    done = recsys("train", "--data", str(data), "--model", "baseline", "--no-evaluate",
                  "--feedback", url, "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"feedback from {url} up to seq {seq}: added 3, replaced 0, deleted 1" in done.stdout
    assert "unknown movies 1" in done.stdout
    meta = json.loads((out / "artifact.json").read_text())
    assert meta["feedback"] == {"seq": seq, "url": url}
    assert meta["data"]["ratings"] == base.n_ratings + 3 - 1
    assert meta["data"]["users"] == r["user_id"].nunique() + 1

    with np.load(out / "serving.npz", allow_pickle=False) as arrays:  # the model's history
        user_ids, item_ids = arrays["user_ids"], arrays["item_ids"]
        indptr, items = arrays["history_indptr"], arrays["history_items"]
        ratings = arrays["history_ratings"]
    (at,) = np.flatnonzero(user_ids == new_user)
    span = slice(indptr[at], indptr[at + 1])
    assert sorted(item_ids[items[span]].tolist()) == sorted(new_movies)
    assert ratings[span].tolist() == [4.5] * 3
    (old,) = np.flatnonzero(user_ids == user)
    assert movie not in item_ids[items[indptr[old] : indptr[old + 1]]]


def test_train_with_feedback_refuses_a_missing_store_and_hides_a_password(data, tmp_path):
    nowhere = f"sqlite:///{tmp_path}/nope.sqlite3"
    missing = recsys("train", "--data", str(data), "--model", "baseline", "--no-evaluate",
                     "--feedback", nowhere, "--out", str(tmp_path / "m"))  # fmt: skip
    assert missing.returncode == 2 and "no SQLite file" in missing.stderr
    unreachable = recsys("train", "--data", str(data), "--model", "baseline", "--no-evaluate",
                         "--feedback", "postgresql+psycopg://u:hunter2@127.0.0.1:1/db",
                         "--out", str(tmp_path / "m"))  # fmt: skip
    assert unreachable.returncode == 2, unreachable.stderr
    assert "cannot open the rating store" in unreachable.stderr
    assert "hunter2" not in unreachable.stderr + unreachable.stdout
    assert len(unreachable.stderr.strip().splitlines()) == 1
