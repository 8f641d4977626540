"""A predictor from the closest-rater features alone: the four closest raters' opinions of the
movie, as residuals over their own baselines, averaged with weights that fall with distance and
shrunk towards the target's baseline."""

from __future__ import annotations

import numpy as np

from recsys.data.dataset import Dataset
from recsys.data.interactions import Interactions
from recsys.features.closest import closest_raters
from recsys.models.base import Recommender
from recsys.models.bias import Biases


class ClosestRaters(Recommender):
    """r̂_um = b_um + Σ_k w_k (r_vk,m − b_vk,m) / (Σ_k w_k + shrinkage), w_k = 1 / (1 + d_k)."""

    name = "closest-raters"

    def __init__(
        self, n: int = 4, shrinkage: float = 0.5, max_candidates: int | None = None
    ) -> None:
        self.n = n
        self.shrinkage = shrinkage
        self.max_candidates = max_candidates

    def _validate(self) -> None:
        self._require(self.n >= 1, "n must be >= 1")
        self._require(self.shrinkage >= 0, "shrinkage must be >= 0")

    def _fit(self, history: Interactions, data: Dataset) -> None:
        self.history_ = history
        self.biases_ = Biases.fit(history, user_damping=5.0, item_damping=5.0, iterations=10)

    def _predict(self, user, item, timestamps) -> np.ndarray:
        closest = closest_raters(
            self.history_, user, item, n=self.n, max_candidates=self.max_candidates
        )
        found = closest.raters >= 0
        neighbour_base = self.biases_.predict(
            np.where(found, closest.raters, -1).ravel(), np.repeat(item, self.n)
        ).reshape(found.shape)
        residual = np.where(found, closest.ratings - neighbour_base, 0.0)
        weight = np.where(found, 1.0 / (1.0 + np.nan_to_num(closest.distances)), 0.0)
        offset = (weight * residual).sum(axis=1) / (weight.sum(axis=1) + self.shrinkage)
        return self.biases_.predict(user, item) + offset
