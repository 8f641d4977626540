"""Gradient-boosted trees as plain arrays: what a fitted scikit-learn
``HistGradientBoosting*`` model knows, stored and evaluated without pickles.

scikit-learn keeps each fitted tree as a structured array of nodes; `Forest.from_sklearn` copies
the fields prediction needs (feature, threshold, where missing values go, children, leaf values)
into flat arrays, one block per tree. `Forest.raw` walks them in a compiled kernel and gives the
same raw scores scikit-learn's ``_raw_predict`` gives (tested): the regression value, or the
log-odds of a binary classifier. An artifact then holds numbers only, and loading it runs no
code.

`Forest.raw` scores rows by QuickScorer (Lucchese et al., SIGIR 2015) rather than by walking
each tree: a tree's leaves are bits of a word, each split node knows the leaves of its left
subtree, and a row clears those bits for every node it fails (x > threshold). A feature's nodes
are sorted by threshold, so a row visits only the nodes it fails, with no branch to predict per
node, and the leaf it exits by is the lowest bit left. Two times faster than walking on the
ranker's 820 trees; trees of more than 64 leaves are walked.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

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
        if self._scorer is not None:
            kernel = _scores_parallel if parallel else _scores_serial
            kernel(features, tiles, *self._scorer, out)
            return out
        kernel = _raw_parallel if parallel else _raw_serial
        kernel(features, tiles, self.feature, self.threshold, self.missing_left, self.left,
               self.right, self.is_leaf, self.value, self.roots, out)  # fmt: skip
        return out

    @cached_property
    def _scorer(self) -> tuple[np.ndarray, ...] | None:
        """The forest laid out for QuickScorer, built at the first `raw` (milliseconds), or
        None when a tree has more leaves than a word has bits."""
        n_nodes, n_trees = len(self.feature), self.n_trees
        sizes = np.diff(np.r_[self.roots, n_nodes])
        tree = np.repeat(np.arange(n_trees, dtype=np.int32), sizes)
        if n_trees == 0:
            return None
        leaves = np.bincount(tree[self.is_leaf], minlength=n_trees)
        if leaves.max() > LEAF_BITS:
            return None
        mask = np.zeros(n_nodes, np.uint64)
        leaf_values = np.zeros((n_trees, int(leaves.max())))
        _leaf_bits(self.left, self.right, self.is_leaf, self.value, self.roots, mask, leaf_values)
        split = np.flatnonzero(~self.is_leaf)
        feature = self.feature[split]
        threshold = _below_in_float32(self.threshold[split])
        width = int(self.n_features) + 1
        # a feature's nodes by threshold: a row fails a prefix of them
        by_threshold = split[np.lexsort((tree[split], threshold, feature))]
        # and those a missing value fails: the ones that send it right
        by_missing = split[np.lexsort((tree[split], feature))]
        by_missing = by_missing[~self.missing_left[by_missing]]
        return (
            np.searchsorted(self.feature[by_threshold], np.arange(width)).astype(np.int64),
            _below_in_float32(self.threshold[by_threshold]),
            tree[by_threshold],
            mask[by_threshold],
            np.searchsorted(self.feature[by_missing], np.arange(width)).astype(np.int64),
            tree[by_missing],
            mask[by_missing],
            leaf_values,
        )

    def check_width(self, feature_names: list[str]) -> None:
        """The trees read as many features as the model that holds them names."""
        if int(self.n_features) != len(feature_names):
            raise ValueError(f"the trees read {int(self.n_features)} features, the model "
                             f"names {len(feature_names)}")  # fmt: skip

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
        nodes = np.flatnonzero(split)
        for child in (self.left[split], self.right[split]):
            if len(child) and (child.min() < 0 or child.max() >= n):
                raise ValueError("a child node outside the forest")
            if (child <= nodes).any():  # children come after their node: every walk ends
                raise ValueError("a child node before its parent")
        features = self.feature[split]
        if len(features) and (features.min() < 0 or features.max() >= int(self.n_features)):
            raise ValueError("a split on a feature the model does not read")
        if not (np.isfinite(self.value).all() and np.isfinite(self.baseline)):
            raise ValueError("non-finite leaf values")


def fittable(features: np.ndarray, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
    """``features`` with each column that is missing (NaN) in all of ``rows`` set to 0
    (scikit-learn's binning fails on such a column: a catalogue with no release years). A
    constant column gets no split, so the trees ignore it whatever it holds later."""
    empty = np.isnan(features[rows]).all(axis=0)
    if not empty.any():
        return features
    features = features.copy()
    features[:, empty] = 0.0
    return features


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


LEAF_BITS = 64  # a tree's leaves as the bits of one word
# Lowest set bit of a word by multiplication (a de Bruijn sequence): the bit's index is read
# from the top six bits of the product.
DE_BRUIJN = np.uint64(0x03F79D71B4CB0A89)
LOWEST_BIT = np.zeros(64, np.int64)
LOWEST_BIT[(np.left_shift(np.uint64(1), np.arange(64, dtype=np.uint64)) * DE_BRUIJN) >> 58] = (
    np.arange(64)
)


def _below_in_float32(threshold: np.ndarray) -> np.ndarray:
    """The largest float32 at or below each float64 threshold: for a float32 x, x > t exactly
    when x > that float32, so rows compare in float32 and go where the float64 test sends them."""
    with np.errstate(over="ignore"):  # beyond float32's range: ±inf, then stepped back
        rounded = threshold.astype(np.float32)
    above = rounded.astype(np.float64) > threshold
    rounded[above] = np.nextafter(rounded[above], np.float32(-np.inf))
    return rounded


@numba.njit(cache=True)
def _leaf_bits(left, right, is_leaf, value, roots, mask, leaf_values):
    """Number each tree's leaves left to right; give each split node the word with the bits
    of its left subtree's leaves cleared (what failing it rules out)."""
    stack = np.empty(len(left) + 1, np.int64)
    first = np.zeros(len(left), np.int64)  # the first leaf number under a node
    end = np.zeros(len(left), np.int64)  # one past the last
    order = np.empty(len(left), np.int64)
    for t in range(len(roots)):
        top, seen, n_leaves = 0, 0, 0
        stack[0] = roots[t]
        while top >= 0:  # preorder, left before right: leaves come out left to right
            node = stack[top]
            top -= 1
            order[seen] = node
            seen += 1
            if is_leaf[node]:
                first[node], end[node] = n_leaves, n_leaves + 1
                leaf_values[t, n_leaves] = value[node]
                n_leaves += 1
            else:
                stack[top + 1] = right[node]
                stack[top + 2] = left[node]
                top += 2
        for k in range(seen - 1, -1, -1):  # children before parents
            node = order[k]
            if not is_leaf[node]:
                first[node], end[node] = first[left[node]], end[right[node]]
                span = end[left[node]] - first[node]  # < 64: the right subtree has a leaf
                cleared = ((np.uint64(1) << np.uint64(span)) - np.uint64(1)) << np.uint64(
                    first[node]
                )
                mask[node] = ~cleared


@numba.njit(cache=True)
def _scores_tile(X, lo, hi, starts, thresholds, trees, masks, missing_starts, missing_trees,
                 missing_masks, leaf_values, out):  # fmt: skip
    """Rows lo..hi: clear the leaves each failed node rules out, then add each tree's lowest
    remaining leaf, trees in order (the same sums as walking them, to the bit)."""
    n_trees = leaf_values.shape[0]
    alive = np.empty(n_trees, np.uint64)
    for r in range(lo, hi):
        alive[:] = ~np.uint64(0)
        x = X[r]
        for f in range(len(starts) - 1):
            v = x[f]
            if np.isnan(v):
                for k in range(missing_starts[f], missing_starts[f + 1]):
                    alive[missing_trees[k]] &= missing_masks[k]
            else:
                k, stop = starts[f], starts[f + 1]
                while k < stop and v > thresholds[k]:
                    alive[trees[k]] &= masks[k]
                    k += 1
        total = 0.0
        for t in range(n_trees):
            word = alive[t]
            lowest = word & (~word + np.uint64(1))
            total += leaf_values[t, LOWEST_BIT[(lowest * DE_BRUIJN) >> np.uint64(58)]]
        out[r] += total


@numba.njit(cache=True)
def _scores_serial(X, tiles, starts, thresholds, trees, masks, missing_starts, missing_trees,
                   missing_masks, leaf_values, out):  # fmt: skip
    n = X.shape[0]
    for k in range(tiles):
        _scores_tile(X, k * n // tiles, (k + 1) * n // tiles, starts, thresholds, trees, masks,
                     missing_starts, missing_trees, missing_masks, leaf_values, out)  # fmt: skip


@numba.njit(cache=True, parallel=True)
def _scores_parallel(X, tiles, starts, thresholds, trees, masks, missing_starts, missing_trees,
                     missing_masks, leaf_values, out):  # fmt: skip
    n = X.shape[0]
    for k in numba.prange(tiles):
        _scores_tile(X, k * n // tiles, (k + 1) * n // tiles, starts, thresholds, trees, masks,
                     missing_starts, missing_trees, missing_masks, leaf_values, out)  # fmt: skip
