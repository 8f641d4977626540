"""Models that choose what to show rather than predict a rating: the shared base, and the two
simplest, most-rated movies (`Popular`) and item-to-item co-occurrence (`Cooccurrence`).

Predicting a rating and choosing a list are different jobs: ordering by predicted rating puts
obscure movies with a few high ratings first. These models learn from who rated what (a rating
of any value says "this user chose to watch it") and score every movie for a user; their
`predict` gives the damped bias baseline behind every model, so the contract holds and a
ranking model is never asked for what it does not know.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from recsys.data.interactions import Interactions
from recsys.data.schema import DAY
from recsys.models.base import FALLBACK_DAMPING, Recommender

if TYPE_CHECKING:
    from recsys.data.dataset import Dataset


def rated_matrix(indptr: np.ndarray, items: np.ndarray, n_items: int) -> sp.csr_matrix:
    """Users × items, 1 where the user rated the item (float32 CSR of a by-user index)."""
    values = np.ones(len(items), np.float32)
    return sp.csr_matrix((values, items, indptr), shape=(len(indptr) - 1, n_items))


class ItemScorer(Recommender):
    """Base of the ranking models: scores for whole blocks of users at once."""

    def _predict(self, user, item, timestamps) -> np.ndarray:
        return self.fallback_.predict(user, item)

    @property
    def rated_(self) -> sp.csr_matrix:
        """Who rated what in training, built once from the seen-items index."""
        cached = getattr(self, "_rated", None)
        if cached is None or cached[0] is not self.seen_items_:  # built for this fit only
            matrix = rated_matrix(self.seen_indptr_, self.seen_items_, len(self.items_))
            self._rated = cached = (self.seen_items_, matrix)
        return cached[1]

    def score_users(self, users: np.ndarray, rated: sp.csr_matrix | None = None) -> np.ndarray:
        """Scores (float32, users × items) of every item for each user index; ``rated`` gives
        the users' rows of who-rated-what instead of the training ones (a fold-in)."""
        raise NotImplementedError

    def score_items(self, user: int) -> np.ndarray:
        return self.score_users(np.array([user]))[0]

    def _fold(self, ratings) -> sp.csr_matrix:
        """The user's row of who-rated-what."""
        items = np.sort(np.asarray(ratings.items, np.int32))
        return rated_matrix(np.array([0, len(items)]), items, len(self.items_))

    def _fold_predict(self, folded, items) -> np.ndarray:
        r = folded.ratings
        bias = self.fallback_.user_bias_of(r.items, r.ratings, FALLBACK_DAMPING)
        return self.fallback_.global_mean + bias + self.fallback_.item_bias[items]

    def _fold_score(self, folded, items) -> np.ndarray:
        return self.score_users(np.zeros(1, np.int64), rated=folded.state)[0][items]


class Popular(ItemScorer):
    """Movies by how many ratings they have (each rating damped by its age when
    ``half_life_days`` is set), the same list for everyone; the reference of every ranking
    table."""

    name = "popular"

    def __init__(self, half_life_days: float | None = None) -> None:
        self.half_life_days = half_life_days

    def _validate(self) -> None:
        self._require(
            self.half_life_days is None or self.half_life_days > 0,
            "half_life_days must be None (plain counts) or > 0",
        )

    def _fit(self, history: Interactions, data: Dataset) -> None:
        weights = None
        if self.half_life_days is not None:
            age_days = (history.timestamp.max() - history.timestamp) / DAY
            weights = 0.5 ** (age_days / self.half_life_days)
        counts = np.bincount(history.item, weights, minlength=history.n_items)
        self.item_scores_ = counts.astype(np.float32)

    def _check_state(self, n_users: int, n_items: int) -> None:
        self._check_shapes({"item_scores_": (n_items,)})

    def score_users(self, users, rated=None) -> np.ndarray:
        return np.tile(self.item_scores_, (len(users), 1))


class Cooccurrence(ItemScorer):
    """Item-to-item kNN on co-occurrence: the cosine of two movies' sets of raters, each movie
    keeping its ``k`` most similar; a user's score for a movie sums its similarity to every
    movie they rated. Built block by block, so memory grows with items × k."""

    name = "item-cooc"

    def __init__(self, k: int = 100, block: int = 512) -> None:
        self.k = k
        self.block = block

    def _validate(self) -> None:
        self._require(self.k >= 1, "k must be >= 1")
        self._require(self.block >= 1, "block must be >= 1")

    def _fit(self, history: Interactions, data: Dataset) -> None:
        X = self.rated_
        by_item = X.T.tocsr()
        counts = np.asarray(X.sum(axis=0)).ravel()
        norms = np.sqrt(np.maximum(counts, 1.0)).astype(np.float32)
        n_items = history.n_items
        k = min(self.k, max(n_items - 1, 1))
        rows, cols, values = [], [], []
        for start in range(0, n_items, self.block):
            stop = min(start + self.block, n_items)
            common = (by_item[start:stop] @ X).toarray().astype(np.float32)
            cosine = common / norms[start:stop, None] / norms[None, :]
            cosine[np.arange(stop - start), np.arange(start, stop)] = 0.0
            best = np.argpartition(-cosine, k - 1, axis=1)[:, :k]
            best_values = np.take_along_axis(cosine, best, axis=1)
            keep = best_values > 0
            rows.append(np.repeat(np.arange(start, stop), keep.sum(axis=1)))
            cols.append(best[keep])
            values.append(best_values[keep])
        self.similarity_ = sp.csr_matrix(
            (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n_items, n_items), dtype=np.float32,
        )  # fmt: skip

    def _check_state(self, n_users: int, n_items: int) -> None:
        similarity = self.similarity_
        if similarity.shape != (n_items, n_items):
            raise ValueError(f"similarity_ is {similarity.shape}, expected {(n_items, n_items)}")
        if not np.isfinite(similarity.data).all():
            raise ValueError("similarity_ is not all finite numbers")

    def score_users(self, users, rated=None) -> np.ndarray:
        rated = self.rated_[users] if rated is None else rated
        return np.asarray((rated @ self.similarity_).todense(), np.float32)
