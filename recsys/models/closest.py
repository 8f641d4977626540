"""A predictor from the closest-rater features alone (SPEC §3): the four closest raters' ratings
of the movie, averaged with weights that fall with their distance, shrunk towards the mean
rating. No biases, no learning: the yardstick the seed's gradient-boosted model must beat."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from recsys.data.interactions import Interactions
from recsys.features.closest import closest_raters
from recsys.models.base import Recommender

if TYPE_CHECKING:
    from recsys.data.dataset import Dataset


class ClosestRaters(Recommender):
    """r̂_um = (Σ_k w_k r_vk,m + shrinkage · μ) / (Σ_k w_k + shrinkage), w_k = 1 / (1 + d_k).

    μ is the training mean; a target whose movie has no other rater gets μ.
    """

    name = "closest-raters"

    def __init__(
        self, n: int = 4, shrinkage: float = 0.5, max_candidates: int | None = None
    ) -> None:
        self.n = n
        self.shrinkage = shrinkage
        self.max_candidates = max_candidates

    def _validate(self) -> None:
        self._require(self.n >= 1, "n must be >= 1")
        self._require(self.shrinkage > 0, "shrinkage must be > 0")

    def _fit(self, history: Interactions, data: Dataset) -> None:
        self.history_ = history
        self.mean_ = history.global_mean

    def _check_state(self, n_users: int, n_items: int) -> None:
        self._check_history(n_users, n_items)

    def _predict(self, user, item, timestamps) -> np.ndarray:
        return self._from(self.history_, user, item)

    def _fold(self, ratings):
        """The history with the user added: their closest raters come from their ratings."""
        return self.history_.with_user(ratings.items, ratings.ratings, ratings.timestamps)

    def _fold_predict(self, folded, items) -> np.ndarray:
        history, user = folded.state
        return self._from(history, np.full(len(items), user, np.int32), items)

    def _from(self, history, user, item) -> np.ndarray:
        closest = closest_raters(
            history, user, item, n=self.n, max_candidates=self.max_candidates
        )
        found = closest.raters >= 0
        weight = np.where(found, 1.0 / (1.0 + np.nan_to_num(closest.distances)), 0.0)
        votes = (weight * np.nan_to_num(closest.ratings)).sum(axis=1)
        return (votes + self.shrinkage * self.mean_) / (weight.sum(axis=1) + self.shrinkage)
