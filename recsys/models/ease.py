"""EASE (Steck 2019): a linear item-to-item model with a closed form.

Over the users × items matrix X of who rated what, B = argmin ‖X − XB‖² + λ‖B‖² with diag(B) = 0
is B = I − P·diag(1/diag(P)) for P = (XᵀX + λI)⁻¹; a user's scores are their row of X times B.

Memory is bounded: B is dense, max_items² float32 (4,000 movies: 64 MB), and the inversion
needs twice that in float64. A catalogue larger than ``max_items`` keeps its most-rated movies
(the rest are never recommended by EASE; other generators of the ranker cover them). On
ml-25m's 59,047 movies a full B would be 13.9 GB; with the default it stays 64 MB.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.linalg

from recsys.data.interactions import Interactions
from recsys.errors import ConfigError
from recsys.models.ranking import ItemScorer

if TYPE_CHECKING:
    from recsys.data.dataset import Dataset


class EASE(ItemScorer):
    """Embarrassingly shallow autoencoder over the who-rated-what matrix."""

    name = "ease"

    def __init__(self, l2: float = 200.0, max_items: int = 4000) -> None:
        self.l2 = l2
        self.max_items = max_items

    def _validate(self) -> None:
        self._require(self.l2 > 0, "l2 must be > 0")
        self._require(self.max_items >= 1, "max_items must be >= 1")

    def _fit(self, history: Interactions, data: Dataset) -> None:
        counts = np.bincount(history.item, minlength=history.n_items)
        rated = np.flatnonzero(counts)
        if len(rated) > self.max_items:  # the most-rated, ties by index
            rated = np.sort(rated[np.lexsort((rated, -counts[rated]))[: self.max_items]])
        X = self.rated_[:, rated]
        gram = (X.T @ X).toarray().astype(np.float64)
        gram[np.diag_indices_from(gram)] += self.l2
        # The Gram matrix plus λI is symmetric positive definite: a Cholesky inverse costs
        # half of a general one.
        factor, info = scipy.linalg.lapack.dpotrf(gram, lower=False, overwrite_a=True)
        if info == 0:
            precision, info = scipy.linalg.lapack.dpotri(factor, lower=False, overwrite_c=True)
        if info != 0:
            raise ConfigError(f"ease: the Gram matrix is not positive definite (LAPACK {info})")
        precision = np.triu(precision) + np.triu(precision, 1).T
        weights = -precision / np.diag(precision)
        np.fill_diagonal(weights, 0.0)
        self.kept_items_ = rated.astype(np.int64)
        self.weights_ = np.ascontiguousarray(weights, np.float32)

    def _check_state(self, n_users: int, n_items: int) -> None:
        kept, k = self.kept_items_, len(self.kept_items_)
        if k and not 0 <= kept.min() <= kept.max() < n_items:
            raise ValueError("kept_items_ names movies the model does not have")
        if self.weights_.shape != (k, k) or not np.isfinite(self.weights_).all():
            raise ValueError(f"weights_ is not {k} × {k} finite numbers")

    def score_users(self, users, rated=None) -> np.ndarray:
        rated = self.rated_[users] if rated is None else rated
        scores = np.full((rated.shape[0], len(self.items_)), -np.inf, np.float32)
        scores[:, self.kept_items_] = rated[:, self.kept_items_] @ self.weights_
        return scores
