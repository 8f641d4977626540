"""LightGBM trees as the project's node arrays, and scikit-learn's early stopping on them.

LightGBM's Dask estimator trains on the workers; its booster's JSON dump is copied into a
`Forest`, so a model fitted on a cluster saves and loads like any other (``arrays.npz``,
``allow_pickle=False``) and serves without LightGBM. A LightGBM split sends ``x <= threshold``
left; a missing value goes the default way when the split's missing type is ``NaN``, and is read
as 0 when it is ``None`` (LightGBM's `NumericalDecision`), which is where a `Forest` sends it.

The Dask estimator cannot stop early (each worker would decide alone), so the trees are grown
in rounds, each from the scores of the ones before (LightGBM's ``init_score``), until
`stopped_at` finds where scikit-learn's ``HistGradientBoostingRegressor(early_stopping=True)``
stops: the first iteration after which ``n_iter_no_change`` iterations did not improve the
held-out loss by more than ``tol``. The trees up to there are kept.
"""

from __future__ import annotations

import numba
import numpy as np

from recsys.models.trees import Forest, _walk


def forest_from_lightgbm(booster, n_features: int) -> Forest:
    """The trees of a fitted `lightgbm.Booster` (regression, numerical splits only)."""
    dump = booster.dump_model()
    fields: dict[str, list] = {k: [] for k in ("feature", "threshold", "missing_left", "left",
                                                "right", "is_leaf", "value")}  # fmt: skip
    roots = []

    def add(node: dict) -> int:
        index = len(fields["value"])
        for values in fields.values():
            values.append(0)
        if "leaf_value" in node:
            fields["is_leaf"][index], fields["value"][index] = True, float(node["leaf_value"])
            fields["left"][index] = fields["right"][index] = fields["feature"][index] = -1
            return index
        if node["decision_type"] != "<=":
            raise ValueError(f"unsupported LightGBM split {node['decision_type']!r}")
        threshold = float(node["threshold"])
        missing = node["missing_type"]
        if missing == "NaN":
            missing_left = bool(node["default_left"])
        elif missing == "None":  # LightGBM reads NaN as 0.0
            missing_left = threshold >= 0.0
        else:
            raise ValueError(f"unsupported LightGBM missing type {missing!r} (zero_as_missing)")
        fields["feature"][index] = int(node["split_feature"])
        fields["threshold"][index] = threshold
        fields["missing_left"][index] = missing_left
        fields["left"][index] = add(node["left_child"])
        fields["right"][index] = add(node["right_child"])
        return index

    for tree in dump["tree_info"]:
        roots.append(add(tree["tree_structure"]))
    return Forest(
        feature=np.asarray(fields["feature"], np.int32),
        threshold=np.asarray(fields["threshold"], np.float64),
        missing_left=np.asarray(fields["missing_left"], bool),
        left=np.asarray(fields["left"], np.int32),
        right=np.asarray(fields["right"], np.int32),
        is_leaf=np.asarray(fields["is_leaf"], bool),
        value=np.asarray(fields["value"], np.float64),
        roots=np.asarray(roots, np.int64),
        baseline=np.asarray(0.0),  # LightGBM folds the mean into the first tree's leaves
        n_features=np.asarray(n_features, np.int64),
    )


def first_trees(forest: Forest, n: int) -> Forest:
    """The forest of its first ``n`` trees (trees are stored one after another)."""
    if n >= forest.n_trees:
        return forest
    end = int(forest.roots[n])
    return Forest(
        forest.feature[:end], forest.threshold[:end], forest.missing_left[:end],
        forest.left[:end], forest.right[:end], forest.is_leaf[:end], forest.value[:end],
        forest.roots[:n], forest.baseline, forest.n_features,
    )  # fmt: skip


def staged_squared_error(forest: Forest, features: np.ndarray, target: np.ndarray,
                         start: float) -> np.ndarray:  # fmt: skip
    """Sum of squared errors after 0, 1, …, n_trees trees (index 0: every row predicted as
    ``start``, the training mean, as scikit-learn's baseline)."""
    features = np.ascontiguousarray(features, np.float32)
    out = np.zeros(forest.n_trees + 1)
    _staged(features, np.asarray(target, np.float64), forest.feature, forest.threshold,
            forest.missing_left, forest.left, forest.right, forest.is_leaf, forest.value,
            forest.roots, float(forest.baseline), float(start), out)  # fmt: skip
    return out


@numba.njit(cache=True)
def _staged(X, y, feature, threshold, missing_left, left, right, is_leaf, value, roots, baseline,
            start, out):  # fmt: skip
    for r in range(X.shape[0]):
        error = y[r] - start
        out[0] += error * error
        total = baseline
        for t in range(len(roots)):
            total += value[_walk(X[r], roots[t], feature, threshold, missing_left, left, right,
                                 is_leaf)]  # fmt: skip
            error = y[r] - total
            out[t + 1] += error * error


def stopped_at(loss: np.ndarray, n_iter_no_change: int, tol: float = 1e-7) -> int | None:
    """The iteration scikit-learn's early stopping stops after, None if it has not stopped
    within these trees (more would be grown)."""
    scores = -np.asarray(loss, np.float64)
    for i in range(n_iter_no_change, len(scores)):
        reference = scores[i - n_iter_no_change] + tol
        if not (scores[i - n_iter_no_change + 1 : i + 1] > reference).any():
            return i
    return None
