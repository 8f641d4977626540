"""Synthetic Netflix-like data: deterministic by seed, exactly the size asked, clean."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from recsys.data.loading import load
from recsys.data.synthetic import HISTOGRAM, synthesize, write_synthetic
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
    assert r.groupby("user_id").size().min() >= 1
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
