"""Ratings indexed for the maths: dense indices plus CSR views by user and by item.

Every model and feature works on one of these instead of on a DataFrame. Sub-histories (a
cross-validation fold) keep the full vocabularies, so indices line up everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numba
import numpy as np

from recsys.data.schema import ITEM, RATING, TIMESTAMP, USER
from recsys.data.vocabulary import Vocabulary

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class CSR:
    """Rows of (column index, rating, timestamp), each row's columns sorted ascending."""

    indptr: np.ndarray  # int64, n_rows + 1
    indices: np.ndarray  # int32
    ratings: np.ndarray  # float32
    timestamps: np.ndarray  # int64

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.indptr)

    @property
    def rows(self) -> np.ndarray:
        """The row of each entry (the other index of the rating), int32. Made on demand: kept,
        it would cost 4 bytes a rating in each view (0.4 GB a view at Netflix size)."""
        return np.repeat(np.arange(len(self.indptr) - 1, dtype=np.int32), self.counts)

    def row(self, r: int) -> slice:
        return slice(self.indptr[r], self.indptr[r + 1])

    def check(self, n_rows: int, n_columns: int, n_entries: int) -> None:
        """Rows that hold the ``n_entries`` entries, columns in range, finite ratings."""
        check_rows(self.indptr, self.indices, n_rows, n_columns)
        if not len(self.indices) == len(self.ratings) == len(self.timestamps) == n_entries:
            raise ValueError(f"a view of the ratings does not hold {n_entries} entries")
        if not np.isfinite(self.ratings).all():
            raise ValueError("a view of the ratings holds ratings that are not finite numbers")


def check_rows(indptr: np.ndarray, indices: np.ndarray, n_rows: int, n_columns: int) -> None:
    """CSR row pointers for ``n_rows`` rows over ``indices``, each index a column in
    [0, n_columns): ValueError "... do not fit the ids" otherwise. What a loaded model's
    arrays must be before kernels that do not check bounds index with them."""
    indptr, indices = np.asarray(indptr), np.asarray(indices)
    fits = (
        len(indptr) == n_rows + 1 and indptr[0] == 0 and indptr[-1] == len(indices)
        and bool((np.diff(indptr) >= 0).all())
        and (len(indices) == 0 or 0 <= indices.min() <= indices.max() < n_columns)
    )  # fmt: skip
    if not fits:
        raise ValueError(f"rows of {len(indices)} entries do not fit the ids ({n_rows} rows "
                         f"of {n_columns} columns)")  # fmt: skip


def _csr(rows: np.ndarray, cols: np.ndarray, rating, ts, n_rows: int) -> CSR:
    order = np.lexsort((cols, rows))
    indptr = np.zeros(n_rows + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return CSR(indptr, cols[order], rating[order], ts[order])


@dataclass(frozen=True)
class Interactions:
    """A rating history: raw-id vocabularies, aligned index arrays, and CSR by user and item."""

    users: Vocabulary
    items: Vocabulary
    user: np.ndarray  # int32 index per rating
    item: np.ndarray  # int32 index per rating
    rating: np.ndarray  # float32
    timestamp: np.ndarray  # int64 seconds
    by_user: CSR  # row = user, indices = items
    by_item: CSR  # row = item, indices = users
    anonymous: int = 0  # users after the vocabulary's, with no raw id (`with_user`)

    @classmethod
    def from_ratings(
        cls,
        ratings: pd.DataFrame,
        users: Vocabulary | None = None,
        items: Vocabulary | None = None,
    ) -> Interactions:
        """Index canonical ratings; given vocabularies must cover every id in ``ratings``."""
        users = users or Vocabulary(ratings[USER].to_numpy())
        items = items or Vocabulary(ratings[ITEM].to_numpy())
        u = users.index(ratings[USER].to_numpy())
        i = items.index(ratings[ITEM].to_numpy())
        if (u < 0).any() or (i < 0).any():
            raise ValueError("ratings hold ids outside the given vocabularies")
        r = ratings[RATING].to_numpy(np.float32)
        ts = ratings[TIMESTAMP].to_numpy(np.int64)
        return cls(
            users, items, u, i, r, ts,
            _csr(u, i, r, ts, len(users)),
            _csr(i, u, r, ts, len(items)),
        )  # fmt: skip

    def subset(self, mask: np.ndarray) -> Interactions:
        """The ratings selected by ``mask``, with the same vocabularies."""
        u, i, r, ts = self.user[mask], self.item[mask], self.rating[mask], self.timestamp[mask]
        return Interactions(
            self.users, self.items, u, i, r, ts,
            _csr(u, i, r, ts, self.n_users),
            _csr(i, u, r, ts, len(self.items)),
            self.anonymous,
        )  # fmt: skip

    def with_user(
        self, items: np.ndarray, ratings: np.ndarray, timestamps: np.ndarray
    ) -> tuple[Interactions, int]:
        """This history plus one user with no raw id, given by their ratings (unique item
        indices), and that user's index (the last). A copy of the arrays, no re-sort: the new
        user's row goes at the end of the by-user view and at the end of each rated movie's
        row of the by-item view, since their index is the largest."""
        order = np.argsort(items, kind="stable")
        items = np.asarray(items, np.int32)[order]
        ratings = np.asarray(ratings, np.float32)[order]
        timestamps = np.asarray(timestamps, np.int64)[order]
        new = self.n_users
        users = np.full(len(items), new, np.int32)
        u, i = self.by_user, self.by_item
        by_user = CSR(
            np.append(u.indptr, u.indptr[-1] + len(items)), np.append(u.indices, items),
            np.append(u.ratings, ratings), np.append(u.timestamps, timestamps),
        )  # fmt: skip
        at = i.indptr[items.astype(np.int64) + 1]
        grown = np.zeros(len(i.indptr), np.int64)
        grown[items.astype(np.int64) + 1] = 1
        by_item = CSR(
            i.indptr + np.cumsum(grown), np.insert(i.indices, at, users),
            np.insert(i.ratings, at, ratings), np.insert(i.timestamps, at, timestamps),
        )  # fmt: skip
        return Interactions(
            self.users, self.items, np.append(self.user, users), np.append(self.item, items),
            np.append(self.rating, ratings), np.append(self.timestamp, timestamps),
            by_user, by_item, self.anonymous + 1,
        ), new  # fmt: skip

    def __len__(self) -> int:
        return len(self.rating)

    def check(self) -> None:
        """Aligned arrays with indices inside the vocabularies, and both views holding every
        rating (ValueError otherwise): a loaded history, before any kernel reads it."""
        n = len(self.rating)
        if not len(self.user) == len(self.item) == len(self.timestamp) == n:
            raise ValueError("the history's user, movie, rating and time arrays differ in length")
        self.by_user.check(self.n_users, self.n_items, n)
        self.by_item.check(self.n_items, self.n_users, n)
        if n and not (0 <= self.user.min() <= self.user.max() < self.n_users
                      and 0 <= self.item.min() <= self.item.max() < self.n_items):  # fmt: skip
            raise ValueError("the history's ratings name users or movies it does not have")

    @property
    def n_users(self) -> int:
        return len(self.users) + self.anonymous

    @property
    def n_items(self) -> int:
        return len(self.items)

    def position_of(self, user: np.ndarray, item: np.ndarray) -> np.ndarray:
        """Where each (user, item) index pair sits in the by-user view, -1 where the history
        has no such rating: a binary search of the user's row, no key array the size of the
        history (0.8 GB at Netflix size)."""
        user = np.asarray(user, np.int64)
        item = np.asarray(item, np.int64)
        return _positions(self.by_user.indptr, self.by_user.indices, user, item)

    def rating_of(self, user: np.ndarray, item: np.ndarray) -> np.ndarray:
        """The history's rating of each (user, item) index pair, NaN where there is none."""
        found = np.full(len(user), np.nan, np.float32)
        at = self.position_of(user, item)
        hit = at >= 0
        found[hit] = self.by_user.ratings[at[hit]]
        return found

    @property
    def global_mean(self) -> float:
        return float(self.rating.mean(dtype=np.float64)) if len(self.rating) else 0.0


def gather(indptr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Positions of all entries of the given CSR rows, row after row (no Python loop)."""
    rows = np.asarray(rows, np.int64)
    starts = indptr[rows]
    lengths = indptr[rows + 1] - starts
    if len(lengths) == 0:
        return np.zeros(0, np.int64)
    offsets = np.cumsum(lengths) - lengths
    return np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(starts - offsets, lengths)


@numba.njit(cache=True)
def entry(indptr, indices, row, column):
    """Where ``column`` sits in CSR row ``row`` (a binary search), -1 when it is not there."""
    lo, hi = indptr[row], indptr[row + 1]
    p = lo + np.searchsorted(indices[lo:hi], column)
    return p if p < hi and indices[p] == column else -1


@numba.njit(cache=True)
def _positions(indptr, indices, user, item):
    n_users = len(indptr) - 1
    out = np.full(len(user), -1, np.int64)
    for t in range(len(user)):
        if 0 <= user[t] < n_users and item[t] >= 0:
            out[t] = entry(indptr, indices, user[t], item[t])
    return out
