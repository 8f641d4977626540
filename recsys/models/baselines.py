"""The two reference models every other must beat: the global mean and damped biases."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from recsys.data.interactions import Interactions
from recsys.features.bias import Biases
from recsys.models.base import Recommender

if TYPE_CHECKING:
    from recsys.data.dataset import Dataset


class GlobalMean(Recommender):
    """Predicts the mean training rating for everything, unknown users and movies included
    (no bias fallback: it is the reference every model must beat); recommends nothing in
    particular. Pairs with an unknown side are still flagged ``fallback``."""

    name = "global-mean"
    handles_unknown = True
    answers_in_microseconds = True

    def __init__(self) -> None:
        pass

    def _fit(self, history: Interactions, data: Dataset) -> None:
        self.mean_ = history.global_mean

    def _predict(self, user, item, timestamps) -> np.ndarray:
        return np.full(len(user), self.mean_, np.float32)

    def _fold_predict(self, folded, items) -> np.ndarray:
        return np.full(len(items), self.mean_, np.float32)


class Baseline(Recommender):
    """μ + b_u + b_i with damped biases (Koren's baseline predictor, fitted by alternating
    damped means: b_i = Σ(r − μ − b_u) / (item_damping + n_i), then the same for b_u)."""

    name = "baseline"
    answers_in_microseconds = True

    def __init__(
        self, user_damping: float = 5.0, item_damping: float = 5.0, iterations: int = 15
    ) -> None:
        self.user_damping = user_damping
        self.item_damping = item_damping
        self.iterations = iterations

    def _validate(self) -> None:
        self._require(self.user_damping >= 0 and self.item_damping >= 0, "damping must be >= 0")
        self._require(self.iterations >= 1, "iterations must be >= 1")

    def _check_state(self, n_users: int, n_items: int) -> None:
        self.biases_.check(n_users, n_items)

    def _fit(self, history: Interactions, data: Dataset) -> None:
        self.biases_ = Biases.fit(
            history,
            user_damping=self.user_damping,
            item_damping=self.item_damping,
            iterations=self.iterations,
        )

    def _predict(self, user, item, timestamps) -> np.ndarray:
        return self.biases_.predict(user, item)

    def _fold(self, ratings) -> float:
        return self.biases_.user_bias_of(ratings.items, ratings.ratings, self.user_damping)

    def _fold_predict(self, folded, items) -> np.ndarray:
        return self.biases_.global_mean + folded.state + self.biases_.item_bias[items]

    def score_items(self, user: int) -> np.ndarray:
        return self.biases_.global_mean + self.biases_.user_bias[user] + self.biases_.item_bias
