"""Item-based k-nearest-neighbours over baseline residuals (Koren's "KNNBaseline").

r̂_ui = b_ui + Σ_j s_ij (r_uj − b_uj) / Σ_j s_ij over the k items j the user rated that are most
similar to i (positive similarities only), where s_ij is the Pearson correlation of the two
items' residuals over their common raters, shrunk by (n_ij − 1) / (n_ij − 1 + shrinkage).

Similarity rows are computed when needed, a chunk of items at a time, so memory stays
O(chunk × items) rather than items × items.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

from recsys.data.interactions import Interactions, check_rows
from recsys.features.bias import Biases
from recsys.models.base import Recommender

if TYPE_CHECKING:
    from recsys.data.dataset import Dataset

CHUNK = 256  # similarity rows held at once


class ItemKNN(Recommender):
    name = "item-knn"

    def __init__(
        self,
        k: int = 40,
        shrinkage: float = 100.0,
        min_k: int = 1,
        user_damping: float = 10.0,
        item_damping: float = 5.0,
    ) -> None:
        self.k = k
        self.shrinkage = shrinkage
        self.min_k = min_k
        self.user_damping = user_damping
        self.item_damping = item_damping

    def _validate(self) -> None:
        self._require(self.k >= 1, "k must be >= 1")
        self._require(self.shrinkage >= 0, "shrinkage must be >= 0")
        self._require(1 <= self.min_k <= self.k, "min_k must be between 1 and k")

    def _check_state(self, n_users: int, n_items: int) -> None:
        self.biases_.check(n_users, n_items)
        check_rows(self.user_indptr_, self.user_items_, n_users, n_items)
        check_rows(self.item_indptr_, self.item_users_, n_items, n_users)
        for residuals, entries in ((self.user_residuals_, self.user_items_),
                                   (self.item_residuals_, self.item_users_)):  # fmt: skip
            if len(residuals) != len(entries) or not np.isfinite(residuals).all():
                raise ValueError("the residuals are not one finite number a rating")

    def _fit(self, history: Interactions, data: Dataset) -> None:
        self.biases_ = Biases.fit(
            history, user_damping=self.user_damping, item_damping=self.item_damping, iterations=15
        )
        # Residuals laid out like the two CSR views: by user (columns = items) and by item.
        by_user, by_item = history.by_user, history.by_item
        self.user_indptr_ = by_user.indptr
        self.user_items_ = by_user.indices
        self.user_residuals_ = by_user.ratings - self.biases_.predict(by_user.rows, by_user.indices)
        self.item_indptr_ = by_item.indptr
        self.item_users_ = by_item.indices
        self.item_residuals_ = by_item.ratings - self.biases_.predict(by_item.indices, by_item.rows)

    def similarity_rows(self, items: np.ndarray) -> np.ndarray:
        """Shrunk Pearson-baseline similarities of ``items`` to every item (float32)."""
        return _similarity_rows(
            items.astype(np.int64), self.item_indptr_, self.item_users_, self.item_residuals_,
            self.user_indptr_, self.user_items_, self.user_residuals_,
            len(self.items_), np.float32(self.shrinkage),
        )  # fmt: skip

    def _predict(self, user, item, timestamps) -> np.ndarray:
        out = self.biases_.predict(user, item)
        order = np.argsort(item, kind="stable")
        distinct, starts = np.unique(item[order], return_index=True)
        bounds = np.append(starts, len(order))
        for lo in range(0, len(distinct), CHUNK):
            rows = self.similarity_rows(distinct[lo : lo + CHUNK])
            targets = order[bounds[lo] : bounds[min(lo + CHUNK, len(distinct))]]
            row_of = np.repeat(np.arange(len(rows)), np.diff(bounds[lo : lo + len(rows) + 1]))
            out[targets] += _neighbour_offsets(
                rows, row_of, user[targets], self.user_indptr_, self.user_items_,
                self.user_residuals_, self.k, self.min_k,
            )  # fmt: skip
        return out

    def _fold(self, ratings) -> np.ndarray:
        """Every item's prediction for the user, from the similarity rows of what they rated
        (as `score_items` computes it for a known user)."""
        bias = self.biases_.user_bias_of(ratings.items, ratings.ratings, self.user_damping)
        base = self.biases_.global_mean + bias + self.biases_.item_bias
        residuals = (ratings.ratings - base[ratings.items]).astype(np.float32)
        columns = self.similarity_rows(np.asarray(ratings.items, np.int64))
        return (base + _column_offsets(columns, residuals, self.k, self.min_k)).astype(np.float32)

    def _fold_predict(self, folded, items) -> np.ndarray:
        return folded.state[items]

    def score_items(self, user: int) -> np.ndarray:
        """Every item's score for one user, from the similarity rows of the items they rated."""
        rated = self.user_items_[self.user_indptr_[user] : self.user_indptr_[user + 1]]
        residuals = self.user_residuals_[self.user_indptr_[user] : self.user_indptr_[user + 1]]
        columns = self.similarity_rows(rated)  # sim(rated j, every i), symmetric
        offsets = _column_offsets(columns, residuals, self.k, self.min_k)
        base = self.biases_.global_mean + self.biases_.user_bias[user] + self.biases_.item_bias
        return (base + offsets).astype(np.float32)


@numba.njit(cache=True, parallel=True, fastmath=True)
def _similarity_rows(rows, item_indptr, item_users, item_res, user_indptr, user_items, user_res,
                     n_items, shrinkage):  # fmt: skip
    out = np.zeros((len(rows), n_items), np.float32)
    for r in numba.prange(len(rows)):
        i = rows[r]
        num = np.zeros(n_items, np.float64)
        sq_i = np.zeros(n_items, np.float64)
        sq_j = np.zeros(n_items, np.float64)
        count = np.zeros(n_items, np.int32)
        for p in range(item_indptr[i], item_indptr[i + 1]):
            u = item_users[p]
            e = item_res[p]
            for q in range(user_indptr[u], user_indptr[u + 1]):
                j = user_items[q]
                f = user_res[q]
                num[j] += e * f
                sq_i[j] += e * e
                sq_j[j] += f * f
                count[j] += 1
        for j in range(n_items):
            if j != i and count[j] > 1 and sq_i[j] > 0 and sq_j[j] > 0:
                shrink = (count[j] - 1) / (count[j] - 1 + shrinkage)
                out[r, j] = num[j] / np.sqrt(sq_i[j] * sq_j[j]) * shrink
    return out


@numba.njit(cache=True, inline="always")
def _weighted_top_k(sims, residuals, k, min_k):
    """Σ s·e / Σ s over the k largest positive similarities (0 when fewer than min_k)."""
    positive = sims > 0
    n_pos = positive.sum()
    if n_pos < min_k or n_pos == 0:
        return 0.0
    s = sims[positive]
    e = residuals[positive]
    if n_pos > k:
        threshold = np.partition(-s, k - 1)[k - 1] * -1.0
        above = s > threshold
        total_w = s[above].sum()
        total = (s[above] * e[above]).sum()
        ties = np.flatnonzero(s == threshold)[: k - above.sum()]
        total_w += s[ties].sum()
        total += (s[ties] * e[ties]).sum()
    else:
        total_w = s.sum()
        total = (s * e).sum()
    return total / total_w if total_w > 0 else 0.0


@numba.njit(cache=True, parallel=True)
def _neighbour_offsets(rows, row_of, users, user_indptr, user_items, user_res, k, min_k):
    out = np.zeros(len(users), np.float32)
    for t in numba.prange(len(users)):
        u = users[t]
        lo, hi = user_indptr[u], user_indptr[u + 1]
        sims = rows[row_of[t]][user_items[lo:hi]]
        out[t] = _weighted_top_k(sims, user_res[lo:hi], k, min_k)
    return out


@numba.njit(cache=True, parallel=True)
def _column_offsets(columns, residuals, k, min_k):
    n_items = columns.shape[1]
    out = np.zeros(n_items, np.float32)
    for i in numba.prange(n_items):
        out[i] = _weighted_top_k(np.ascontiguousarray(columns[:, i]), residuals, k, min_k)
    return out
