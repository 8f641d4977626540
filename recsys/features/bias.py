"""Damped user and item biases: the baseline every model falls back on, and the residuals the
neighbourhood models work on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsys.data.interactions import Interactions


@dataclass(frozen=True)
class Biases:
    """μ + b_u + b_i, with b = Σ residual / (damping + count), fitted by alternating updates."""

    global_mean: float
    user_bias: np.ndarray  # float32 per user index
    item_bias: np.ndarray  # float32 per item index

    @classmethod
    def fit(
        cls, history: Interactions, *, user_damping: float, item_damping: float, iterations: int
    ) -> Biases:
        mu = history.global_mean
        u, i = history.user, history.item
        r = history.rating.astype(np.float64)
        n_u = np.bincount(u, minlength=history.n_users)
        n_i = np.bincount(i, minlength=history.n_items)
        b_u = np.zeros(history.n_users)
        b_i = np.zeros(history.n_items)
        for _ in range(iterations):
            b_i = np.bincount(i, r - mu - b_u[u], history.n_items) / (item_damping + n_i)
            b_u = np.bincount(u, r - mu - b_i[i], history.n_users) / (user_damping + n_u)
        return cls(mu, b_u.astype(np.float32), b_i.astype(np.float32))

    def check(self, n_users: int, n_items: int) -> None:
        """A bias per user and per item, all finite (ValueError otherwise)."""
        users, items = len(self.user_bias), len(self.item_bias)
        if (users, items) != (n_users, n_items):
            raise ValueError(f"the biases are for {users} users and {items} movies, not "
                             f"{n_users} and {n_items}")  # fmt: skip
        values = (self.global_mean, self.user_bias, self.item_bias)
        if not all(np.isfinite(v).all() for v in values):
            raise ValueError("the biases are not all finite numbers")

    def predict(self, user: np.ndarray, item: np.ndarray) -> np.ndarray:
        """μ + b_u + b_i; an unknown side (index -1) contributes no bias."""
        b_u = np.where(user >= 0, self.user_bias[np.maximum(user, 0)], 0.0)
        b_i = np.where(item >= 0, self.item_bias[np.maximum(item, 0)], 0.0)
        return (self.global_mean + b_u + b_i).astype(np.float32)

    def user_bias_of(self, items: np.ndarray, ratings: np.ndarray, damping: float) -> float:
        """The damped bias of a user given by their ratings of item indices (a fold-in)."""
        residual = np.asarray(ratings, np.float64) - self.global_mean - self.item_bias[items]
        return float(residual.sum() / (damping + len(items)))

    def residuals(self, history: Interactions) -> np.ndarray:
        """r − (μ + b_u + b_i) for every rating of the history (float32)."""
        return history.rating - self.predict(history.user, history.item)
