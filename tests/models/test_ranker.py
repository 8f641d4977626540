"""The two-stage ranker: it beats popularity where the truth is known, its labels never come from
the ratings its features are built on, its precomputed lists are its live ranking, and it
answers predicted ratings with its rating model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys.data.dataset import Dataset
from recsys.data.schema import HALF_STARS, ITEM, USER
from recsys.data.splits import random_split
from recsys.evaluation.protocols import rank_test_users
from recsys.models.registry import make_model

SMALL = {"depth": 20, "max_iter": 60, "label_rounds": 2, "precompute": 15,
         "min_samples_leaf": 20, "max_leaf_nodes": 7}  # fmt: skip


def taste_groups(seed: int = 0) -> Dataset:
    """Users in four taste groups of 20 movies each. A user watches mostly their own group's
    movies and rates them 4–5, and a few of the others, rated 1–2. Group 0 is twice as big,
    so the most-rated movies are group 0's: popularity is wrong for three users in five."""
    rng = np.random.default_rng(seed)
    groups = rng.choice(4, 300, p=[0.4, 0.2, 0.2, 0.2])
    rows = []
    for user, group in enumerate(groups):
        own = rng.choice(20, 12, replace=False) + 20 * group
        others = rng.choice(np.setdiff1d(np.arange(80), np.arange(20) + 20 * group), 3,
                            replace=False)  # fmt: skip
        rows += [(user, m, rng.choice([4.0, 4.5, 5.0])) for m in own]
        rows += [(user, m, rng.choice([1.0, 1.5, 2.0])) for m in others]
    ratings = pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])
    ratings["rating"] = ratings["rating"].astype(np.float32)
    ratings["timestamp"] = rng.integers(0, 10**8, len(ratings))
    movies = pd.DataFrame({
        "item_id": np.arange(80), "title": [f"movie {i}" for i in range(80)],
        "year": pd.array(1960 + np.arange(80) // 2, dtype="Int64"),
        "genres": [[f"genre {i // 20}"] for i in range(80)],
    })  # fmt: skip
    return Dataset(ratings=ratings, movies=movies, scale=HALF_STARS, name="taste groups")


@pytest.fixture(scope="module")
def setup():
    data = taste_groups()
    split = random_split(data.ratings, test_fraction=0.2, seed=0)
    train = data.with_ratings(split.train)
    return data, split, make_model("ranker", **SMALL).fit(train)


def test_the_ranker_beats_popularity_where_the_truth_is_known(setup):
    data, split, ranker = setup
    popular = make_model("popular").fit(data.with_ratings(split.train))
    ours = rank_test_users(ranker, split, ks=(10,))["ndcg_at_10"]
    reference = rank_test_users(popular, split, ks=(10,))["ndcg_at_10"]
    assert ours > reference + 0.2, (ours, reference)
    # and its lists hold the user's own group
    user = int(split.train[USER].iloc[0])
    group = split.train.loc[(split.train[USER] == user) & (split.train["rating"] >= 4), ITEM]
    group = int(group.iloc[0]) // 20
    top, _ = ranker.recommend(user, n=5)
    assert (np.asarray(top) // 20 == group).mean() >= 0.8


def test_labels_are_held_out_of_the_features(setup):
    _, split, ranker = setup
    from recsys.data.interactions import Interactions

    history = Interactions.from_ratings(split.train)
    for round_ in range(2):
        held = ranker._label_mask(history, round_)
        per_user = pd.Series(held).groupby(history.user).agg(["sum", "count"])
        assert (per_user["sum"] < per_user["count"]).all()  # never a user's every rating
        assert (per_user.loc[per_user["count"] >= 2, "sum"] >= 1).all()
    first, second = ranker._label_mask(history, 0), ranker._label_mask(history, 1)
    assert (first != second).any()  # rounds draw different slices


def test_precomputed_lists_are_the_live_ranking(setup):
    _, split, ranker = setup
    for user_id in split.train[USER].unique()[:10]:
        user = ranker.users_.find(user_id)
        stored, stored_scores = ranker.recommend_indices(user, 10)
        live, live_scores = ranker._rank_live(user, len(ranker.items_), 0, None, True)
        # the same scores (a block's BLAS sums may round apart from one user's, so near-ties
        # can swap), and every stored movie scored as the live ranking scores it
        np.testing.assert_allclose(stored_scores, live_scores[:10], atol=1e-4)
        by_item = dict(zip(live.tolist(), live_scores.tolist(), strict=True))
        np.testing.assert_allclose([by_item[i] for i in stored.tolist()], stored_scores,
                                   atol=1e-4)  # fmt: skip
    # a page past the precomputed depth and a filter both go live, and stay consistent
    user = ranker.users_.find(split.train[USER].iloc[0])
    deep, _ = ranker.recommend_indices(user, 10, offset=10)
    full, _ = ranker._rank_live(user, 20, 0, None, True)
    np.testing.assert_array_equal(deep, full[10:])
    allowed = np.zeros(len(ranker.items_), bool)
    allowed[::3] = True
    filtered, _ = ranker.recommend_indices(user, 5, candidates=allowed)
    assert allowed[filtered].all()


def test_predicted_ratings_come_from_the_rating_model(setup):
    _, split, ranker = setup
    test = split.test
    ours = ranker.predict(test[USER], test[ITEM]).rating
    theirs = ranker.raters_["mf"].predict(test[USER], test[ITEM]).rating
    np.testing.assert_array_equal(ours, theirs)


def test_bad_ranker_settings_are_refused():
    from recsys.errors import ConfigError

    data = taste_groups()
    for params in ({"generators": ("mf",)}, {"rating_model": "ranker"}, {"label_split": "x"},
                   {"label_fraction": 1.5}, {"depth": 0}):  # fmt: skip
        with pytest.raises(ConfigError):
            make_model("ranker", **params).fit(data)
