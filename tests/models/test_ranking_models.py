"""The ranking models against references computed the slow, obvious way on tiny data: EASE's
closed form, an exact ALS solve, co-occurrence cosines, popularity counts; the boosted trees'
node arrays against scikit-learn; the unseen-pair closest raters against SPEC §3."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from recsys.data.dataset import Dataset
from recsys.data.interactions import Interactions
from recsys.data.schema import HALF_STARS
from recsys.data.synthetic import synthesize
from recsys.features.pairs import unseen_closest
from recsys.models.base import UserRatings
from recsys.models.registry import make_model
from recsys.models.trees import Forest
from tests.features.test_closest import histories, history_of, reference_closest


def tiny_dataset(seed: int = 0, n_users: int = 30, n_items: int = 12) -> Dataset:
    rng = np.random.default_rng(seed)
    rated = rng.random((n_users, n_items)) < 0.4
    rated[np.arange(n_users), rng.integers(0, n_items, n_users)] = True  # nobody rates nothing
    users, items = np.nonzero(rated)
    ratings = pd.DataFrame({
        "user_id": users.astype(np.int64), "item_id": items.astype(np.int64),
        "rating": rng.integers(1, 11, len(users)).astype(np.float32) / 2,
        "timestamp": rng.integers(0, 10**8, len(users)).astype(np.int64),
    })  # fmt: skip
    movies = pd.DataFrame({
        "item_id": np.arange(n_items, dtype=np.int64),
        "title": [f"m{i}" for i in range(n_items)],
        "year": pd.array([1950 + 5 * i for i in range(n_items)], dtype="Int64"),
        "genres": [["A"] if i % 2 else ["B", "C"] for i in range(n_items)],
    })  # fmt: skip
    return Dataset(ratings=ratings, movies=movies, scale=HALF_STARS, name="tiny")


def dense_rated(model) -> np.ndarray:
    return model.rated_.toarray().astype(np.float64)


def test_ease_is_the_closed_form():
    model = make_model("ease", l2=3.0).fit(tiny_dataset())
    X = dense_rated(model)
    P = np.linalg.inv(X.T @ X + 3.0 * np.eye(X.shape[1]))
    B = np.eye(X.shape[1]) - P / np.diag(P)  # B = I − P diag(1/diag P)
    np.testing.assert_allclose(np.diag(B), 0, atol=1e-9)
    expected = X @ B
    got = model.score_users(np.arange(X.shape[0]))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_ease_keeps_the_most_rated_movies_when_the_catalogue_is_too_big():
    data = tiny_dataset()
    model = make_model("ease", l2=3.0, max_items=5).fit(data)
    counts = data.ratings["item_id"].value_counts()
    kept = set(model.items_.ids[model.kept_items_].tolist())
    assert len(kept) == 5 and min(counts[list(kept)]) >= counts.drop(list(kept)).max()
    scores = model.score_users(np.arange(3))
    dropped = np.setdiff1d(np.arange(len(model.items_)), model.kept_items_)
    assert np.isneginf(scores[:, dropped]).all()


def test_a_folded_in_list_is_the_trained_list_dropped_movies_included():
    """EASE folds a user in exactly: their own ratings give the trained list, the movies
    beyond ``max_items`` (scored -inf) at its end in both, not cut from one of them."""
    data = synthesize(2000, n_users=60, n_movies=40, seed=3)
    model = make_model("ease", max_items=10).fit(data)
    history = Interactions.from_ratings(data.ratings, model.users_, model.items_).by_user
    for user in range(0, 60, 7):
        row = history.row(user)
        own = UserRatings(history.indices[row].astype(np.int64), history.ratings[row],
                          history.timestamps[row])  # fmt: skip
        folded, scores = model.fold_in(own).recommend(30)
        trained, _ = model.recommend_indices(user, 30)
        assert np.array_equal(folded, trained) and np.isneginf(scores).any()


def exact_ridge(Y: np.ndarray, rated: np.ndarray, alpha: float, reg: float) -> np.ndarray:
    """Each row's exact solution of (YᵀY + α Σ y yᵀ + λI) x = (1 + α) Σ y (Hu et al.)."""
    k = Y.shape[1]
    out = np.zeros((rated.shape[0], k))
    for u in range(rated.shape[0]):
        C = 1 + alpha * rated[u]
        A = (Y.T * C) @ Y + reg * np.eye(k)
        out[u] = np.linalg.solve(A, (Y.T * C) @ rated[u])
    return out


def test_als_solves_the_weighted_normal_equations():
    model = make_model("als", n_factors=4, iterations=3, alpha=2.0, regularization=0.5,
                       cg_steps=4).fit(tiny_dataset())  # fmt: skip
    X = dense_rated(model)
    Y = model.item_factors_.astype(np.float64)
    # A fold-in is a ridge solve against the fixed item factors: CG converges on 4 factors.
    solved = model.solve_users(model.rated_)
    np.testing.assert_allclose(solved, exact_ridge(Y, X, 2.0, 0.5), rtol=2e-3, atol=2e-4)
    # The fit's item factors are the same solve with the roles swapped.
    U = model.user_factors_.astype(np.float64)
    np.testing.assert_allclose(Y, exact_ridge(U, X.T, 2.0, 0.5), rtol=1e-2, atol=1e-3)
    np.testing.assert_allclose(model.score_users(np.arange(3)),
                               model.user_factors_[:3] @ Y.T, rtol=1e-5, atol=1e-6)  # fmt: skip


def test_als_beats_chance_at_reconstructing_who_rated_what():
    model = make_model("als", n_factors=6, iterations=10).fit(tiny_dataset(n_users=60))
    X = dense_rated(model)
    scores = model.score_users(np.arange(X.shape[0]))
    assert scores[X == 1].mean() > scores[X == 0].mean() + 0.1


def test_cooccurrence_is_the_cosine_of_rater_sets_kept_to_k():
    model = make_model("item-cooc", k=3, block=5).fit(tiny_dataset())
    X = dense_rated(model)
    common = X.T @ X
    norms = np.sqrt(np.maximum(np.diag(common), 1))
    cosine = common / norms[:, None] / norms[None, :]
    np.fill_diagonal(cosine, 0)
    similarity = model.similarity_.toarray()
    for i in range(X.shape[1]):
        kept = np.flatnonzero(similarity[i])
        assert len(kept) <= 3
        np.testing.assert_allclose(similarity[i, kept], cosine[i, kept], rtol=1e-5)
        if len(kept):  # the kept ones are the most similar
            others = np.setdiff1d(np.arange(X.shape[1]), np.r_[kept, i])
            assert cosine[i, kept].min() >= cosine[i, others].max() - 1e-6
    np.testing.assert_allclose(model.score_users(np.arange(4)), X[:4] @ similarity, rtol=1e-5)


def test_popular_counts_and_damps_by_age():
    data = tiny_dataset()
    counts = data.ratings["item_id"].value_counts()
    plain = make_model("popular").fit(data)
    np.testing.assert_array_equal(plain.item_scores_, counts.reindex(plain.items_.ids).to_numpy())
    damped = make_model("popular", half_life_days=100).fit(data)
    r = data.ratings
    age = (r["timestamp"].max() - r["timestamp"]) / 86_400
    expected = (0.5 ** (age / 100)).groupby(r["item_id"]).sum().reindex(damped.items_.ids)
    np.testing.assert_allclose(damped.item_scores_, expected.to_numpy(), rtol=1e-5)
    top, _ = plain.recommend(int(r["user_id"].iloc[0]), n=3)
    seen = set(r.loc[r["user_id"] == r["user_id"].iloc[0], "item_id"])
    assert not seen & set(top.tolist())


@pytest.mark.parametrize("cls", [HistGradientBoostingRegressor, HistGradientBoostingClassifier])
def test_forest_gives_scikit_learns_raw_scores(cls):
    rng = np.random.default_rng(0)
    X = rng.random((3000, 6)).astype(np.float32)
    X[rng.random(X.shape) < 0.15] = np.nan
    y = np.nan_to_num(X[:, 0], nan=0.3) + X[:, 1] > 1.0
    model = cls(max_iter=40, random_state=0).fit(X, y.astype(int))
    forest = Forest.from_sklearn(model)
    forest.check()
    test = rng.random((5000, 6)).astype(np.float32)  # parallel and serial kernels both
    test[rng.random(test.shape) < 0.15] = np.nan
    for rows in (test[:50], test):
        np.testing.assert_allclose(forest.raw(rows), model._raw_predict(rows).ravel(),
                                   rtol=1e-12, atol=1e-12)  # fmt: skip
    with pytest.raises(ValueError, match="features"):
        forest.raw(test[:, :5])


def test_an_averaged_forest_scores_the_mean_of_its_members():
    rng = np.random.default_rng(1)
    X = rng.random((2000, 4)).astype(np.float32)
    X[rng.random(X.shape) < 0.1] = np.nan
    y = (np.nan_to_num(X[:, 0], nan=0.5) > 0.5).astype(int)
    members = [HistGradientBoostingClassifier(max_iter=10 + 7 * k, random_state=k).fit(X, y)
               for k in range(3)]  # fmt: skip
    forest = Forest.average([Forest.from_sklearn(m) for m in members])
    forest.check()
    assert forest.n_trees == sum(m.n_iter_ for m in members)
    mean = np.mean([m._raw_predict(X).ravel() for m in members], axis=0)
    np.testing.assert_allclose(forest.raw(X), mean, rtol=1e-12, atol=1e-12)


def test_a_damaged_forest_is_refused():
    rng = np.random.default_rng(0)
    model = HistGradientBoostingRegressor(max_iter=5).fit(rng.random((200, 3)), rng.random(200))
    forest = Forest.from_sklearn(model)
    outside = np.where(forest.is_leaf, -1, 10**6).astype(np.int32)
    bad = dataclasses.replace(forest, left=outside)
    with pytest.raises(ValueError, match="child node outside"):
        bad.check()
    looping = np.where(forest.is_leaf, -1, forest.roots[0]).astype(np.int32)  # back to a root
    with pytest.raises(ValueError, match="child node before its parent"):
        dataclasses.replace(forest, right=looping).check()


@settings(max_examples=100, deadline=None)
@given(histories(), st.integers(1, 5))
def test_unseen_closest_raters_match_the_spec(case, n):
    table, n_users, n_items = case
    history = history_of(table, n_users, n_items)
    pairs = [(u, m) for u in range(n_users) for m in range(n_items) if (u, m) not in table]
    if not pairs:
        return
    user = np.array([u for u, _ in pairs])
    item = np.array([m for _, m in pairs])
    ratings, distances = unseen_closest(history, user, item, n=n)
    for row, (u, m) in enumerate(pairs):
        expected = reference_closest(table, u, m, n)
        want_r = np.full(n, np.nan, np.float32)
        want_d = np.full(n, np.nan, np.float32)
        want_r[: len(expected)] = [r for r, _, _ in expected]
        want_d[: len(expected)] = [d for _, d, _ in expected]
        np.testing.assert_allclose(ratings[row], want_r, rtol=1e-6)
        np.testing.assert_allclose(distances[row], want_d, rtol=1e-5)


def test_unseen_closest_wants_pairs_grouped_by_user():
    history = history_of({(0, 0): 4.0, (1, 0): 3.0, (1, 1): 5.0}, 2, 2)
    with pytest.raises(ValueError, match="grouped"):
        unseen_closest(history, np.array([1, 0]), np.array([0, 1]))
