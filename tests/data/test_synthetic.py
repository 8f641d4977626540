"""Synthetic Netflix-like data: deterministic by seed, exactly the size asked, clean."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from recsys.data.loading import load
from recsys.data.netflix import read_probe
from recsys.data.synthetic import (
    HISTOGRAM,
    NETFLIX_MOVIES,
    default_sizes,
    latest_ratings,
    synthesize,
    synthesize_netflix,
    write_netflix_synthetic,
    write_synthetic,
)
from recsys.errors import ConfigError


@pytest.fixture(scope="module")
def dataset():
    return synthesize(5000, seed=4, start="2001-03-01", end="2003-06-30")


def test_exact_size_and_clean(dataset):
    r = dataset.ratings
    assert len(r) == 5000
    assert not r.duplicated(["user_id", "item_id"]).any()
    assert r["rating"].dtype == np.float32
    assert set(np.unique(r["rating"]).tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}  # every star
    assert (r["rating"] == np.round(r["rating"])).all()
    assert dataset.report.rows_read == dataset.report.rows_kept == 5000


def test_dates_fall_within_the_range(dataset):
    t = dataset.ratings["timestamp"]
    assert t.min() >= pd.Timestamp("2001-03-01", tz="UTC").timestamp()
    assert t.max() < pd.Timestamp("2003-07-01", tz="UTC").timestamp()


def test_every_user_rates_and_every_rated_movie_is_listed(dataset):
    r, m = dataset.ratings, dataset.movies
    assert set(r["item_id"]) <= set(m["item_id"])
    assert r["user_id"].nunique() == default_sizes(len(r))[0]  # each of the users asked for
    assert m["year"].isna().any() or len(m) < 50  # some unknown years in a big enough catalogue


def test_deterministic_by_seed(dataset):
    again = synthesize(5000, seed=4, start="2001-03-01", end="2003-06-30")
    pd.testing.assert_frame_equal(dataset.ratings, again.ratings)
    pd.testing.assert_frame_equal(dataset.movies, again.movies)
    other = synthesize(5000, seed=5, start="2001-03-01", end="2003-06-30")
    assert not dataset.ratings.equals(other.ratings)


@pytest.mark.parametrize(("n", "users", "movies"), [(2, 1, 3), (37, 5, 20), (400, 20, 25)])
def test_sizes_asked_for(n, users, movies):
    got = synthesize(n, n_users=users, n_movies=movies, seed=0)
    assert len(got.ratings) == n
    assert got.ratings["user_id"].nunique() == users
    assert got.ratings["item_id"].max() <= movies
    assert not got.ratings.duplicated(["user_id", "item_id"]).any()


def test_impossible_sizes_are_refused():
    with pytest.raises(ConfigError, match="cannot all rate"):
        synthesize(10, n_users=20, n_movies=5)
    with pytest.raises(ConfigError, match="do not fit"):
        synthesize(1000, n_users=10, n_movies=10)
    with pytest.raises(ConfigError, match="after end"):
        synthesize(100, start="2005-01-01", end="2004-01-01")


@pytest.mark.parametrize("fmt", ["netflix", "movielens"])
def test_write_synthetic_reads_back_the_same_ratings(tmp_path, fmt):
    folder = write_synthetic(tmp_path / fmt, 2000, format=fmt, seed=2)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["params"]["n_ratings"] == 2000 and manifest["counts"]["ratings"] == 2000
    back = load(folder, cache=False)
    original = synthesize(2000, seed=2)
    assert back.report.dropped == {} and len(back.ratings) == 2000
    for column in ("user_id", "item_id", "rating"):
        np.testing.assert_array_equal(back.ratings[column].to_numpy(),
                                      original.ratings[column].to_numpy())  # fmt: skip
    stamps = original.ratings["timestamp"].to_numpy()
    if fmt == "netflix":
        stamps = stamps // 86_400 * 86_400
    np.testing.assert_array_equal(back.ratings["timestamp"].to_numpy(), stamps)


@pytest.fixture(scope="module")
def larger():
    return synthesize(100_000, seed=8)


def test_the_rating_histogram_is_netflixs(larger):
    shares = np.bincount(larger.ratings["rating"].to_numpy().astype(int), minlength=6)[1:] / 1e5
    np.testing.assert_allclose(shares, HISTOGRAM, atol=0.01)
    assert 3.5 < larger.ratings["rating"].mean() < 3.7  # Netflix's mean is 3.60


def test_activity_and_popularity_have_long_tails(larger):
    r = larger.ratings
    for counts in (r.groupby("user_id").size(), r.groupby("item_id").size()):
        assert counts.mean() > 1.4 * counts.median()  # skewed to the right
        assert counts.max() > 10 * counts.median()
        top = counts.sort_values(ascending=False)
        assert top.iloc[: len(top) // 10].sum() > 0.3 * len(r)  # the top 10% carry a third


def test_ratings_fall_after_release_and_the_signal_is_learnable(larger):
    r = larger.ratings.merge(larger.movies[["item_id", "year"]], on="item_id")
    rated_year = pd.to_datetime(r["timestamp"], unit="s").dt.year
    dated = r["year"].notna().to_numpy()
    assert (rated_year.to_numpy()[dated] >= r["year"].to_numpy(dtype=float)[dated]).all()
    # User and movie means explain part of the variance (a latent-factor model made them).
    train = r.sample(frac=0.8, random_state=0)
    test = r.drop(train.index)
    mean = train["rating"].mean()
    item_bias = (train.groupby("item_id")["rating"].mean() - mean).rename("b")
    predicted = mean + test["item_id"].map(item_bias).fillna(0)
    baseline = np.sqrt(((test["rating"] - mean) ** 2).mean())
    assert np.sqrt(((test["rating"] - predicted) ** 2).mean()) < 0.95 * baseline


@pytest.fixture(scope="module")
def netflix_one_percent():
    return synthesize_netflix(0.01, seed=1)


def test_netflix_shape_at_one_percent_has_the_published_marginals(netflix_one_percent):
    """At 1 % of the users every movie stays: ratings per user keep Netflix's spread (median
    96), ratings per movie shrink by the fraction (top 232,944 and median 561 at full size)."""
    r = netflix_one_percent.ratings
    assert len(r) == 1_004_805 and r["user_id"].nunique() == 4_802
    assert len(netflix_one_percent.movies) == NETFLIX_MOVIES
    per_user = r.groupby("user_id").size()
    assert 86 <= per_user.median() <= 106 and abs(per_user.mean() - 209.25) < 1
    per_movie = r.groupby("item_id").size().reindex(range(1, NETFLIX_MOVIES + 1), fill_value=0)
    assert 0.8 * 2_329 <= per_movie.max() <= 1.1 * 2_329
    assert 3 <= per_movie.median() <= 9  # 5.6 expected; rare movies' counts are Poisson noise
    assert 0.75 * 26.7 <= per_movie.quantile(0.75) <= 1.25 * 26.7
    stars = np.bincount(r["rating"].astype(int), minlength=6)[1:] / len(r)
    np.testing.assert_allclose(stars, HISTOGRAM, atol=0.01)
    days = pd.to_datetime(r["timestamp"], unit="s")
    assert days.min() >= pd.Timestamp("1999-11-11") and days.max() <= pd.Timestamp("2005-12-31")


def test_latest_ratings_are_each_users_last_three_keeping_one(netflix_one_percent):
    r = netflix_one_percent.ratings.iloc[:200_000]
    rows = latest_ratings(r)
    chosen = np.zeros(len(r), bool)
    chosen[rows] = True
    frame = r.assign(chosen=chosen, row=np.arange(len(r)))
    for _, group in frame.groupby("user_id"):  # brute force: by time, later rows first
        ranked = group.sort_values(["timestamp", "row"], ascending=False)
        expected = np.zeros(len(group), bool)
        expected[: min(3, len(group) - 1)] = True
        np.testing.assert_array_equal(ranked["chosen"].to_numpy(), expected)


def test_write_netflix_synthetic_writes_the_probe_of_latest_ratings(tmp_path):
    folder = write_netflix_synthetic(tmp_path / "nf", 0.0005, seed=2)
    back = load(folder, cache=False)
    assert len(back.ratings) == round(100_480_507 * 0.0005)
    probe = read_probe(folder)
    expected = back.ratings.iloc[latest_ratings(back.ratings)][["user_id", "item_id"]]
    got = set(zip(probe["user_id"], probe["item_id"], strict=True))
    assert got == set(zip(expected["user_id"], expected["item_id"], strict=True))
    assert len(got) == len(probe)  # no pair listed twice


def test_write_synthetic_never_writes_over_other_files(tmp_path):
    """A folder holding the user's own files (no recsys manifest.json), a file, or an empty
    path (the current folder) is refused, and nothing in it changes (audit finding 1)."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "ratings.csv").write_text("my precious ratings")
    for write in (lambda f: write_synthetic(f, 100, format="movielens"),
                  lambda f: write_netflix_synthetic(f, 0.0001)):  # fmt: skip
        with pytest.raises(ConfigError, match=r"recsys did not write \(no manifest\.json\)"):
            write(mine)
        with pytest.raises(ConfigError, match="empty path"):
            write("")
    assert sorted(p.name for p in mine.iterdir()) == ["ratings.csv"]
    assert (mine / "ratings.csv").read_text() == "my precious ratings"
    with pytest.raises(ConfigError, match="a file is there"):
        write_synthetic(mine / "ratings.csv", 100)
    # A folder recsys wrote (with its manifest) may be written again.
    again = write_synthetic(tmp_path / "made", 100, format="movielens", seed=1)
    assert write_synthetic(again, 200, format="movielens", seed=2) == again
    assert json.loads((again / "manifest.json").read_text())["counts"]["ratings"] == 200
    # In another layout: the earlier set's files go, so a reader finds one data set.
    write_netflix_synthetic(again, 0.0001)
    assert not (again / "ratings.csv").exists() and (again / "probe.txt").exists()
    (again / "notes.txt").write_text("mine")  # a file recsys did not write: refused, kept
    with pytest.raises(ConfigError, match=r"recsys did not write \(notes\.txt\)"):
        write_synthetic(again, 100)
    assert (again / "notes.txt").read_text() == "mine" and (again / "probe.txt").exists()
