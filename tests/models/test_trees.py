"""Forest.raw by QuickScorer against walking each tree: the same scores to the bit."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor

from recsys.models import trees
from recsys.models.trees import Forest


def walked(forest: Forest, X: np.ndarray) -> np.ndarray:
    """Each row down each tree, node by node: the reference."""
    out = np.full(len(X), float(forest.baseline))
    for r, x in enumerate(X):
        total = 0.0
        for root in forest.roots:
            node = root
            while not forest.is_leaf[node]:
                v = float(x[forest.feature[node]])
                go_left = forest.missing_left[node] if np.isnan(v) else v <= forest.threshold[node]
                node = forest.left[node] if go_left else forest.right[node]
            total += forest.value[node]
        out[r] += total
    return out


def test_quickscorer_gives_the_walked_sums_to_the_bit():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(4000, 5)).astype(np.float32)
    X[rng.random(X.shape) < 0.2] = np.nan
    y = np.nan_to_num(X[:, 0]) * 2 + np.nan_to_num(X[:, 1]) ** 2
    model = HistGradientBoostingRegressor(max_iter=60, max_leaf_nodes=40, random_state=0)
    forest = Forest.from_sklearn(model.fit(X, y))
    assert forest._scorer is not None
    test = rng.normal(size=(700, 5)).astype(np.float32)
    test[rng.random(test.shape) < 0.2] = np.nan
    test[:50, 2] = np.inf
    test[50:100, 3] = -np.inf
    np.testing.assert_array_equal(forest.raw(test), walked(forest, test))  # parallel
    np.testing.assert_array_equal(forest.raw(test[:3]), walked(forest, test[:3]))  # serial


def test_float64_thresholds_send_float32_rows_where_the_float64_test_does():
    # one split per tree on feature 0 at a threshold no float32 holds, rows on either side of it
    threshold = 0.1  # float32(0.1) is above 0.1
    just_below = np.nextafter(np.float32(threshold), np.float32(0))
    forest = Forest(
        feature=np.array([0, 0, 0, 0, 0, 0], np.int32),
        threshold=np.array([threshold, 0, 0, -1e300, 0, 0]),
        missing_left=np.array([False, False, False, True, False, False]),
        left=np.array([1, -1, -1, 4, -1, -1], np.int32),
        right=np.array([2, -1, -1, 5, -1, -1], np.int32),
        is_leaf=np.array([False, True, True, False, True, True]),
        value=np.array([0, 1.0, 10.0, 0, 100.0, 1000.0]),
        roots=np.array([0, 3]),
        baseline=np.asarray(0.5),
        n_features=np.asarray(1),
    )
    X = np.array([[np.float32(threshold)], [just_below], [np.nan], [-np.inf], [3e38]], np.float32)
    np.testing.assert_array_equal(forest.raw(X), walked(forest, X))
    assert forest.raw(X).tolist() == [1010.5, 1001.5, 110.5, 101.5, 1010.5]


def test_trees_of_more_than_64_leaves_are_walked():
    rng = np.random.default_rng(0)
    X = rng.random((5000, 4)).astype(np.float32)
    y = np.sin(10 * X[:, 0]) + X[:, 1] * X[:, 2]
    model = HistGradientBoostingRegressor(max_iter=5, max_leaf_nodes=120, min_samples_leaf=5)
    forest = Forest.from_sklearn(model.fit(X, y))
    assert np.bincount(np.repeat(np.arange(forest.n_trees), np.diff(
        np.r_[forest.roots, len(forest.feature)]))[forest.is_leaf]).max() > trees.LEAF_BITS
    assert forest._scorer is None
    np.testing.assert_allclose(forest.raw(X[:500]), model._raw_predict(X[:500]).ravel(),
                               rtol=1e-12, atol=1e-12)  # fmt: skip


def test_an_empty_forest_scores_its_baseline():
    empty = Forest(
        *(np.zeros(0, dtype) for dtype in (np.int32, np.float64, bool, np.int32, np.int32, bool,
                                           np.float64, np.int64)),
        baseline=np.asarray(-0.25), n_features=np.asarray(2),
    )  # fmt: skip
    assert empty.raw(np.zeros((3, 2), np.float32)).tolist() == [-0.25] * 3
    with pytest.raises(ValueError, match="features"):
        dataclasses.replace(empty).raw(np.zeros((3, 3), np.float32))
