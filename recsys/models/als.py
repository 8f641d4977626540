"""Implicit-feedback ALS (Hu, Koren & Volinsky 2008), solved by conjugate gradient.

Every (user, movie) pair is a preference p = 1 if the user rated the movie, else 0, trusted with
confidence c = 1 + α for a rating and 1 otherwise. Alternating over users and movies, each
factor vector minimises Σ c (p − xᵀy)² + λ‖x‖²; the normal equations
(YᵀY + Σ_rated α y yᵀ + λI) x = (1 + α) Σ_rated y cost YᵀY once per sweep plus the rated
entries, and a few conjugate-gradient steps from the previous solution (as `implicit` does)
replace the k³ solve. Rows are solved in parallel (numba ``prange``), so a sweep uses every core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np
import scipy.sparse as sp

from recsys.data.interactions import Interactions
from recsys.models.ranking import ItemScorer

if TYPE_CHECKING:
    from recsys.data.dataset import Dataset


class ImplicitALS(ItemScorer):
    """Confidence-weighted ALS on who rated what; scores are x_u · y_i."""

    name = "als"

    def __init__(
        self,
        n_factors: int = 64,
        iterations: int = 15,
        alpha: float = 5.0,
        regularization: float = 10.0,
        cg_steps: int = 3,
        init_std: float = 0.01,
        random_state: int = 0,
    ) -> None:
        self.n_factors = n_factors
        self.iterations = iterations
        self.alpha = alpha
        self.regularization = regularization
        self.cg_steps = cg_steps
        self.init_std = init_std
        self.random_state = random_state

    def _validate(self) -> None:
        self._require(self.n_factors >= 1, "n_factors must be >= 1")
        self._require(self.iterations >= 1, "iterations must be >= 1")
        self._require(self.alpha > 0, "alpha must be > 0")
        self._require(self.regularization >= 0, "regularization must be >= 0")
        self._require(self.cg_steps >= 1, "cg_steps must be >= 1")

    def _fit(self, history: Interactions, data: Dataset) -> None:
        rng = np.random.default_rng(self.random_state)
        k = self.n_factors
        users = (rng.standard_normal((history.n_users, k)) * self.init_std).astype(np.float32)
        items = (rng.standard_normal((history.n_items, k)) * self.init_std).astype(np.float32)
        by_user, by_item = history.by_user, history.by_item
        alpha, reg = np.float32(self.alpha), np.float32(self.regularization)
        for _ in range(self.iterations):
            _cg_sweep(users, items, by_user.indptr, by_user.indices, alpha, reg, self.cg_steps)
            _cg_sweep(items, users, by_item.indptr, by_item.indices, alpha, reg, self.cg_steps)
        self.user_factors_ = users
        self.item_factors_ = items

    def _check_state(self, n_users: int, n_items: int) -> None:
        self._check_shapes({"user_factors_": (n_users, self.n_factors),
                            "item_factors_": (n_items, self.n_factors)})  # fmt: skip

    def score_users(self, users, rated=None) -> np.ndarray:
        vectors = self.user_factors_[users] if rated is None else self.solve_users(rated)
        return vectors @ self.item_factors_.T

    def solve_users(self, rated: sp.csr_matrix) -> np.ndarray:
        """Factor vectors for users given by their rows of who-rated-what, with the item
        factors held fixed: the exact ridge solve of each row's normal equations (a k × k
        system on YᵀY, computed once), which folds a new user in."""
        Y = self.item_factors_
        if getattr(self, "_gram", None) is None or self._gram[0] is not Y:
            gram = Y.T.astype(np.float64) @ Y + self.regularization * np.eye(self.n_factors)
            self._gram = (Y, gram)
        gram = self._gram[1]
        vectors = np.zeros((rated.shape[0], self.n_factors), np.float32)
        for row in range(rated.shape[0]):
            y = Y[rated.indices[rated.indptr[row] : rated.indptr[row + 1]]].astype(np.float64)
            system = gram + self.alpha * (y.T @ y)
            vectors[row] = np.linalg.solve(system, (1.0 + self.alpha) * y.sum(axis=0))
        return vectors


@numba.njit(cache=True, parallel=True, fastmath=True)
def _cg_sweep(X, Y, indptr, indices, alpha, reg, steps):
    """Update every row x of X against fixed Y by ``steps`` conjugate-gradient steps on
    (YᵀY + α Σ y yᵀ + λI) x = (1 + α) Σ y, over the row's rated columns."""
    k = X.shape[1]
    YtY = Y.T @ Y + reg * np.eye(k, dtype=np.float32)
    for u in numba.prange(X.shape[0]):
        lo, hi = indptr[u], indptr[u + 1]
        x = X[u].copy()
        # r = b − A x
        r = -(YtY @ x)
        for t in range(lo, hi):
            y = Y[indices[t]]
            r += ((1.0 + alpha) - alpha * np.dot(y, x)) * y
        p = r.copy()
        rs_old = np.dot(r, r)
        for _ in range(steps):
            if rs_old < 1e-20:
                break
            Ap = YtY @ p
            for t in range(lo, hi):
                y = Y[indices[t]]
                Ap += alpha * np.dot(y, p) * y
            step = rs_old / np.dot(p, Ap)
            x += step * p
            r -= step * Ap
            rs_new = np.dot(r, r)
            p = r + (rs_new / rs_old) * p
            rs_old = rs_new
        X[u] = x
