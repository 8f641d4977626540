"""Biased matrix factorisation: r̂ = μ + b_u + b_i + p_u·q_i, fitted by stochastic gradient
descent.

The SGD is blocked like libmf's: users and movies are dealt at random into `BLOCKS` groups
each, and an epoch walks `BLOCKS` rounds of cells (b, (b + s) mod `BLOCKS`) that share no user
and no movie, the cells of a round running in parallel. No two threads ever write the same
factors, so the result depends on ``random_state`` alone, not on the thread count; each cell's
ratings are shuffled once, and the order of the rounds is drawn each epoch. Memory is one
shuffled copy of (user, item, rating) plus the factors. A plain Hogwild pass over shuffled
ratings was the alternative; blocking was kept for being deterministic at the same speed
(`benchmarks/netflix_scale.py`).

This is what the MovieLens seed's RecommenderNet meant to be: its ``tf.tensordot(u, m, 2)``
summed the products over the whole batch, one number added to every row, so its model was in
effect bias-only. Here the dot product is per (user, movie) row. SGD was chosen over ALS by
benchmark (`benchmarks/models.py als`): on the seed's split the best biased ALS is within 0.002
RMSE of it (0.826 against 0.828 on warm test ratings) but takes ten times as long to fit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

from recsys.data.interactions import Interactions
from recsys.execution import current_engine
from recsys.models.base import Recommender
from recsys.progress import advance

if TYPE_CHECKING:
    from recsys.data.dataset import Dataset

BLOCKS = 8  # per side of the grid: several cells per thread on a small machine, fixed so
# results do not depend on how many threads run them


class MatrixFactorization(Recommender):
    """Biased MF (Funk/Koren SVD) with L2-regularised SGD over shuffled ratings."""

    name = "mf"
    answers_in_microseconds = True
    similar_in_microseconds = True

    def __init__(
        self,
        n_factors: int = 64,
        epochs: int = 60,
        learning_rate: float = 0.01,
        regularization: float = 0.08,
        bias_regularization: float = 0.01,
        init_std: float = 0.1,
        random_state: int = 0,
    ) -> None:
        self.n_factors = n_factors
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.bias_regularization = bias_regularization
        self.init_std = init_std
        self.random_state = random_state

    def _validate(self) -> None:
        self._require(self.n_factors >= 1, "n_factors must be >= 1")
        self._require(self.epochs >= 1, "epochs must be >= 1")
        self._require(self.learning_rate > 0, "learning_rate must be > 0")
        self._require(self.regularization >= 0, "regularization must be >= 0")

    def _fit(self, history: Interactions, data: Dataset) -> None:
        rng = np.random.default_rng(self.random_state)
        shape = (self.n_factors,)
        user_factors = rng.normal(0, self.init_std, (history.n_users, *shape)).astype(np.float32)
        item_factors = rng.normal(0, self.init_std, (history.n_items, *shape)).astype(np.float32)
        user_bias = np.zeros(history.n_users, np.float32)
        item_bias = np.zeros(history.n_items, np.float32)
        mean = np.float32(history.global_mean)
        user, item, rating, cells = _grid(history, rng)
        hyper = (np.float32(self.learning_rate), np.float32(self.regularization),
                 np.float32(self.bias_regularization))  # fmt: skip
        if (engine := current_engine()) is not None:  # recsys --cluster: cells as tasks
            engine.sgd(self, user, item, rating, cells, rng, mean, user_factors, item_factors,
                       user_bias, item_bias, hyper)  # fmt: skip
        for _ in range(self.epochs if engine is None else 0):
            rounds = rng.permutation(BLOCKS)
            _epoch(user, item, rating, cells, rounds, mean, user_factors, item_factors,
                   user_bias, item_bias, *hyper)  # fmt: skip
            advance("mf epochs (ratings)", len(rating), self.epochs * len(rating))
        self.global_mean_ = float(mean)
        self.user_factors_ = user_factors
        self.item_factors_ = item_factors
        self.user_bias_ = user_bias
        self.item_bias_ = item_bias
        self.item_norms_ = np.linalg.norm(item_factors, axis=1).astype(np.float32)

    def _check_state(self, n_users: int, n_items: int) -> None:
        self._check_shapes({
            "user_factors_": (n_users, self.n_factors), "item_factors_": (n_items, self.n_factors),
            "user_bias_": (n_users,), "item_bias_": (n_items,), "item_norms_": (n_items,),
        })  # fmt: skip

    def _predict(self, user, item, timestamps) -> np.ndarray:
        dot = np.einsum("ij,ij->i", self.user_factors_[user], self.item_factors_[item])
        return self.global_mean_ + self.user_bias_[user] + self.item_bias_[item] + dot

    def _fold(self, ratings) -> np.ndarray:
        """The user's factors and bias by ridge regression against the fixed movie factors
        and biases: SGD's per-rating penalties add up to λ·n over the user's n ratings."""
        Q = np.column_stack([self.item_factors_[ratings.items], np.ones(len(ratings.items))])
        target = ratings.ratings - self.global_mean_ - self.item_bias_[ratings.items]
        penalty = np.r_[np.full(self.n_factors, self.regularization), self.bias_regularization]
        gram = Q.T @ Q + np.diag(penalty * max(len(target), 1) + 1e-6)
        return np.linalg.solve(gram, Q.T @ target).astype(np.float32)  # p_u, then b_u

    def _fold_predict(self, folded, items) -> np.ndarray:
        vector = folded.state
        base = self.global_mean_ + vector[-1] + self.item_bias_[items]
        return base + self.item_factors_[items] @ vector[:-1]

    def score_items(self, user: int) -> np.ndarray:
        """One matrix-vector product: every item's score for the user."""
        base = self.global_mean_ + self.user_bias_[user]
        return self.item_factors_ @ self.user_factors_[user] + self.item_bias_ + base

    def similarity(self, item: int) -> np.ndarray:
        """The cosine of the movies' factor vectors."""
        norms = self.item_norms_
        return self.item_factors_ @ self.item_factors_[item] / (norms * norms[item] + 1e-9)


def _grid(history: Interactions, rng: np.random.Generator):
    """The ratings shuffled and grouped by cell of the BLOCKS × BLOCKS grid (user block major);
    ``cells`` holds the BLOCKS² + 1 boundaries."""
    user_block = rng.integers(0, BLOCKS, history.n_users).astype(np.uint8)
    item_block = rng.integers(0, BLOCKS, history.n_items).astype(np.uint8)
    # A byte a rating for its cell (BLOCKS² <= 256) and 32-bit positions, grouped by a stable
    # counting sort: at 100 M ratings int64 cells, a shuffle and an argsort cost 4 GB beside
    # the history, this 0.9 (the same order as the stable argsort of the shuffled cells).
    cell = user_block[history.user] * np.uint8(BLOCKS) + item_block[history.item]
    shuffled = rng.permutation(np.arange(len(history), dtype=np.int32))
    cells = np.zeros(BLOCKS * BLOCKS + 1, np.int64)
    np.cumsum(np.bincount(cell, minlength=BLOCKS * BLOCKS), out=cells[1:])
    order = _group(shuffled, cell, cells[:-1].copy())
    del shuffled, cell
    return history.user[order], history.item[order], history.rating[order], cells


@numba.njit(cache=True)
def _group(positions, key, starts):
    """``positions`` grouped by their ``key`` (stable: in the given order within a group);
    ``starts`` is where each key's group begins, and is used up."""
    out = np.empty_like(positions)
    for p in positions:
        k = key[p]
        out[starts[k]] = p
        starts[k] += 1
    return out


@numba.njit(cache=True, parallel=True, fastmath=True)
def _epoch(user, item, rating, cells, rounds, mean, P, Q, b_u, b_i, lr, reg, reg_bias):
    """One pass over every rating: per round s, the cells (b, (b + s) mod BLOCKS) in parallel."""
    k = P.shape[1]
    for s in rounds:
        for b in numba.prange(BLOCKS):
            cell = b * BLOCKS + (b + s) % BLOCKS
            for t in range(cells[cell], cells[cell + 1]):
                u = user[t]
                i = item[t]
                p_u = P[u]
                q_i = Q[i]
                dot = np.float32(0.0)
                for f in range(k):
                    dot += p_u[f] * q_i[f]
                error = rating[t] - (mean + b_u[u] + b_i[i] + dot)
                b_u[u] += lr * (error - reg_bias * b_u[u])
                b_i[i] += lr * (error - reg_bias * b_i[i])
                for f in range(k):
                    p = p_u[f]
                    q = q_i[f]
                    p_u[f] = p + lr * (error * q - reg * p)
                    q_i[f] = q + lr * (error * p - reg * q)
