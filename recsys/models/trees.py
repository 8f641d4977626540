"""Gradient-boosted trees as plain arrays: what a fitted scikit-learn
``HistGradientBoosting*`` model knows, stored and evaluated without pickles.

scikit-learn keeps each fitted tree as a structured array of nodes; `Forest.from_sklearn` copies
the fields prediction needs (feature, threshold, where missing values go, children, leaf values)
into flat arrays, one block per tree. `Forest.raw` walks them in a compiled kernel and gives the
same raw scores scikit-learn's ``_raw_predict`` gives (tested): the regression value, or the
log-odds of a binary classifier. An artifact then holds numbers only, and loading it runs no
code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np


@dataclass(frozen=True)
class Forest:
    """Trees of one boosted model; node indices are global (a tree's root is ``roots[t]``)."""

    feature: np.ndarray  # int32: the feature a split node tests
    threshold: np.ndarray  # float64: go left when x <= threshold
    missing_left: np.ndarray  # bool: where NaN goes
    left: np.ndarray  # int32: left child (global index)
    right: np.ndarray  # int32
    is_leaf: np.ndarray  # bool
    value: np.ndarray  # float64: a leaf's contribution
    roots: np.ndarray  # int64: the root node of each tree
    baseline: np.ndarray  # float64 scalar (0-d): the model's starting raw score
    n_features: np.ndarray  # int64 scalar (0-d): width of the feature matrix it reads

    @classmethod
    def from_sklearn(cls, model) -> Forest:
        """The trees of a fitted HistGradientBoostingRegressor or binary Classifier."""
        predictors = [tree for iteration in model._predictors for tree in iteration]
        if any(len(iteration) != 1 for iteration in model._predictors):
            raise ValueError("only regressors and binary classifiers are supported")
        nodes = [p.nodes for p in predictors]
        if any(n["is_categorical"].any() for n in nodes):
            raise ValueError("categorical splits are not supported")
        sizes = np.array([len(n) for n in nodes], np.int64)
        roots = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        offset = np.repeat(roots, sizes)
        every = np.concatenate(nodes) if nodes else np.zeros(0, nodes_dtype())
        leaf = every["is_leaf"].astype(bool)
        return cls(
            feature=every["feature_idx"].astype(np.int32),
            threshold=every["num_threshold"].astype(np.float64),
            missing_left=every["missing_go_to_left"].astype(bool),
            left=np.where(leaf, -1, every["left"] + offset).astype(np.int32),
            right=np.where(leaf, -1, every["right"] + offset).astype(np.int32),
            is_leaf=leaf,
            value=every["value"].astype(np.float64),
            roots=roots,
            baseline=np.asarray(float(np.ravel(model._baseline_prediction)[0])),
            n_features=np.asarray(int(model.n_features_in_), np.int64),
        )

    @classmethod
    def average(cls, forests: list[Forest]) -> Forest:
        """One forest whose raw score is the mean of the forests' raw scores: every tree of
        each, its leaf values divided by their number, and the mean of their baselines."""
        if len(forests) == 1:
            return forests[0]
        baseline = np.mean([float(f.baseline) for f in forests])
        return cls._joined(forests, len(forests), baseline)

    @classmethod
    def chain(cls, forests: list[Forest]) -> Forest:
        """One forest whose raw score is the sum of the forests' raw scores: their trees one
        after another (boosting grown in rounds, each from the scores of the last)."""
        if len(forests) == 1:
            return forests[0]
        return cls._joined(forests, 1, sum(float(f.baseline) for f in forests))

    @classmethod
    def _joined(cls, forests: list[Forest], divisor: int, baseline: float) -> Forest:
        starts = np.cumsum([0] + [len(f.feature) for f in forests[:-1]])
        placed = list(zip(forests, starts, strict=True))

        def children(f: Forest, side: np.ndarray, start: int) -> np.ndarray:
            return np.where(f.is_leaf, -1, side + start).astype(np.int32)

        def joined(name: str) -> np.ndarray:
            return np.concatenate([getattr(f, name) for f in forests])

        return cls(
            feature=joined("feature"),
            threshold=joined("threshold"),
            missing_left=joined("missing_left"),
            left=np.concatenate([children(f, f.left, s) for f, s in placed]),
            right=np.concatenate([children(f, f.right, s) for f, s in placed]),
            is_leaf=joined("is_leaf"),
            value=joined("value") / divisor,
            roots=np.concatenate([f.roots + s for f, s in placed]),
            baseline=np.asarray(baseline),
            n_features=forests[0].n_features,
        )

    @property
    def n_trees(self) -> int:
        return len(self.roots)

    def raw(self, features: np.ndarray) -> np.ndarray:
        """Raw scores (float64) of the rows of a feature matrix."""
        features = np.ascontiguousarray(features, np.float32)
        if features.ndim != 2 or features.shape[1] != int(self.n_features):
            raise ValueError(
                f"expected a matrix of {int(self.n_features)} features, got {features.shape}"
            )
        out = np.full(len(features), float(self.baseline))
        tiles, parallel = _tiles(len(features), self.n_trees)
        kernel = _raw_parallel if parallel else _raw_serial
        kernel(features, tiles, self.feature, self.threshold, self.missing_left, self.left,
               self.right, self.is_leaf, self.value, self.roots, out)  # fmt: skip
        return out

    def check(self) -> None:
        """Consistent arrays: children inside the forest, features inside the matrix."""
        n = len(self.feature)
        split = ~self.is_leaf
        fields = (self.threshold, self.missing_left, self.left, self.right, self.is_leaf,
                  self.value)  # fmt: skip
        if any(len(a) != n for a in fields):
            raise ValueError("tree arrays differ in length")
        if len(self.roots) and (self.roots.min() < 0 or self.roots.max() >= n):
            raise ValueError("a tree root outside the forest")
        for child in (self.left[split], self.right[split]):
            if len(child) and (child.min() < 0 or child.max() >= n):
                raise ValueError("a child node outside the forest")
        features = self.feature[split]
        if len(features) and (features.min() < 0 or features.max() >= int(self.n_features)):
            raise ValueError("a split on a feature the model does not read")
        if not (np.isfinite(self.value).all() and np.isfinite(self.baseline)):
            raise ValueError("non-finite leaf values")


def nodes_dtype() -> np.dtype:
    from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE

    return PREDICTOR_RECORD_DTYPE


@numba.njit(cache=True, inline="always")
def _walk(x, node, feature, threshold, missing_left, left, right, is_leaf):
    while not is_leaf[node]:
        v = x[feature[node]]
        if np.isnan(v):
            node = left[node] if missing_left[node] else right[node]
        elif v <= threshold[node]:
            node = left[node]
        else:
            node = right[node]
    return node


TILE_ROWS = 256  # rows walked through each tree together, so their features stay in cache
PARALLEL_WALKS = 50_000  # rows × trees above which the rows are split over the threads


def _tiles(n_rows: int, n_trees: int) -> tuple[int, bool]:
    """How many tiles of rows to walk, and whether in parallel: a page of candidates (a few
    hundred rows through 800 trees) is worth splitting over both cores too."""
    parallel = n_rows * n_trees >= PARALLEL_WALKS and numba.get_num_threads() > 1
    tiles = -(-n_rows // TILE_ROWS)
    if parallel:
        tiles = max(tiles, min(n_rows, numba.get_num_threads()))
    return max(tiles, 1), parallel


@numba.njit(cache=True)
def _raw_tile(X, lo, hi, feature, threshold, missing_left, left, right, is_leaf, value, roots,
              out):  # fmt: skip
    """Rows lo..hi tree by tree; each row's leaf values summed in tree order, as a walk of
    one row through every tree would sum them (the same scores, to the bit)."""
    totals = np.zeros(hi - lo)
    for root in roots:
        for r in range(lo, hi):
            totals[r - lo] += value[_walk(X[r], root, feature, threshold, missing_left, left,
                                          right, is_leaf)]  # fmt: skip
    for r in range(lo, hi):
        out[r] += totals[r - lo]


@numba.njit(cache=True)
def _raw_serial(X, tiles, feature, threshold, missing_left, left, right, is_leaf, value, roots,
                out):  # fmt: skip
    n = X.shape[0]
    for k in range(tiles):
        _raw_tile(X, k * n // tiles, (k + 1) * n // tiles, feature, threshold, missing_left, left,
                  right, is_leaf, value, roots, out)  # fmt: skip


@numba.njit(cache=True, parallel=True)
def _raw_parallel(X, tiles, feature, threshold, missing_left, left, right, is_leaf, value, roots,
                  out):  # fmt: skip
    n = X.shape[0]
    for k in numba.prange(tiles):
        _raw_tile(X, k * n // tiles, (k + 1) * n // tiles, feature, threshold, missing_left, left,
                  right, is_leaf, value, roots, out)  # fmt: skip
