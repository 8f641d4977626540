"""Sampling (SPEC §2.4): random movies, users with enough of them, reproducible, and written
so every tool reads the sample like the original."""

from __future__ import annotations

import json

import numpy as np
import pytest

from recsys.cli import main
from recsys.data.loading import load
from recsys.data.sampling import sample, write_sample
from recsys.data.synthetic import synthesize
from recsys.errors import ConfigError


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RECSYS_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def source():
    return synthesize(20_000, n_users=600, n_movies=300, seed=11)


def test_a_sample_keeps_only_chosen_movies_and_users_with_enough_of_them(source):
    got = sample(source, n_movies=40, min_ratings=3, seed=1)
    movies = got.ratings["item_id"].unique()
    assert len(movies) <= 40
    per_user = got.ratings.groupby("user_id").size()
    assert per_user.min() >= 3
    # Every rating of the chosen movies by a kept user is kept: nothing else is lost.
    r = source.ratings
    expected = r[r["item_id"].isin(set(got.movies["item_id"])) & r["user_id"].isin(per_user.index)]
    assert len(got.ratings) == len(expected)
    # ...and a user left out had fewer than 3 ratings of the chosen movies.
    chosen = r[r["item_id"].isin(set(got.movies["item_id"]))]
    left_out = chosen[~chosen["user_id"].isin(per_user.index)].groupby("user_id").size()
    assert (left_out < 3).all()


def test_the_same_seed_gives_the_same_sample_and_another_seed_another(source):
    a = sample(source, n_movies=30, seed=5)
    b = sample(source, n_movies=30, seed=5)
    c = sample(source, n_movies=30, seed=6)
    assert a.fingerprint == b.fingerprint
    assert a.fingerprint != c.fingerprint


def test_a_date_window_applies_first(source):
    got = sample(source, n_movies=300, min_ratings=1, start="2003-01-01", end="2004-01-01")
    seconds = got.ratings["timestamp"]
    assert seconds.min() >= 1041379200 and seconds.max() < 1072915200
    inside = source.ratings["timestamp"].between(1041379200, 1072915199)
    assert len(got.ratings) == inside.sum()


def test_bad_arguments_are_refused(source):
    with pytest.raises(ConfigError, match="empty"):
        sample(source, start="2004-01-01", end="2003-01-01")
    with pytest.raises(ConfigError, match="not a date"):
        sample(source, start="someday")
    with pytest.raises(ConfigError, match="no ratings"):
        sample(source, start="2030-01-01")


def test_a_written_sample_reads_back_with_its_manifest(source, tmp_path):
    got = sample(source, n_movies=25, seed=2)
    folder = write_sample(got, source, tmp_path / "sample", params={"n_movies": 25, "seed": 2})
    assert (folder / "combined_data_1.txt").exists()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format"] == "netflix"
    assert manifest["source"]["fingerprint"] == source.fingerprint
    assert manifest["counts"]["ratings"] == len(got.ratings)
    back = load(folder, cache=False)
    assert back.fingerprint == got.fingerprint == manifest["fingerprint"]
    assert set(back.movies["title"]) == set(got.movies["title"])


@pytest.mark.real_data
def test_the_command_samples_a_real_movielens_file_in_its_own_layout(ml_small, tmp_path):
    out = tmp_path / "sample"
    assert main(["-q", "sample", str(ml_small), str(out), "--movies", "50", "--seed", "4"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "movielens"  # half stars do not fit the Netflix layout
    back = load(out, cache=False)
    assert back.ratings["item_id"].nunique() <= 50
    assert np.isin(back.ratings["rating"].unique() * 2 % 2, [0, 1]).all()
    assert back.fingerprint == manifest["fingerprint"]


def test_a_movie_whose_raters_were_all_dropped_is_neither_counted_nor_listed(source, caplog):
    """With a high --min-ratings some chosen movies keep no rating: the catalogue and the log
    line count only the movies kept, and the log counts the ratings dropped (finding 22e)."""
    caplog.set_level("INFO", logger="recsys.data.sampling")
    got = sample(source, n_movies=10, min_ratings=4, seed=0)
    rated = set(got.ratings["item_id"])
    assert len(rated) == 9  # one chosen movie lost every rater
    assert set(got.movies["item_id"]) == rated
    line = caplog.messages[-1]
    assert f"kept {len(got.ratings):,} ratings of {len(rated)} of them" in line
    assert "dropped" in line


def test_an_empty_window_names_only_the_dates_given(source):
    with pytest.raises(ConfigError, match=r"on or after 2030-01-01$"):
        sample(source, start="2030-01-01")
    with pytest.raises(ConfigError, match=r"before 1990-01-01$"):
        sample(source, end="1990-01-01")
