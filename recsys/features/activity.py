"""Activity statistics of a (user, movie, time) target, read off a rating history.

Counts, means and damped biases of the user and the movie; the movie's age when rated; how
long the user has been rating; and what the user rated on the same day (people rate in
sessions, and a session's mood carries over). A target's own rating, if the history holds it,
is left out of every statistic, as the SPEC's no-leakage rule asks.
"""

from __future__ import annotations

import numba
import numpy as np

from recsys.data.interactions import Interactions
from recsys.data.schema import DAY
from recsys.features.bias import Biases

SECONDS_PER_YEAR = 365.2425 * DAY
ACTIVITY_FEATURES = [
    "user_count", "user_mean", "user_bias", "item_count", "item_mean", "item_bias",
    "movie_age", "days_since_first", "day_count", "day_mean", "day_residual",
]  # fmt: skip


def _lookup(values: np.ndarray, index: np.ndarray, missing: float = np.nan) -> np.ndarray:
    """values[index] with ``missing`` where the index is -1."""
    out = np.full(len(index), missing, np.float64)
    ok = index >= 0
    out[ok] = values[index[ok]]
    return out


def _mean(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    return np.divide(total, count, out=np.full(len(total), np.nan), where=count > 0)


def activity_features(
    history: Interactions,
    biases: Biases,
    item_year: np.ndarray,
    user: np.ndarray,
    item: np.ndarray,
    timestamps: np.ndarray,
) -> np.ndarray:
    """The `ACTIVITY_FEATURES` of each target as a (n_targets, 11) float32 matrix.

    ``item_year`` is the release year per item index (NaN when unknown); ``biases`` were fitted
    on the same history; unknown users or movies (index -1) get NaN or zero counts.
    """
    by_user = history.by_user
    own_at = history.position_of(user, item)  # the target's own rating in the history, if any
    has_own = own_at >= 0
    own0 = np.zeros(len(user))
    own0[has_own] = by_user.ratings[own_at[has_own]]

    user_count = _lookup(by_user.counts, user, 0) - has_own
    user_sum = _lookup(np.bincount(history.user, history.rating, history.n_users), user, 0) - own0
    item_count = _lookup(history.by_item.counts, item, 0) - has_own
    item_sum = _lookup(np.bincount(history.item, history.rating, history.n_items), item, 0) - own0

    rating_year = 1970 + timestamps / SECONDS_PER_YEAR
    movie_age = rating_year - _lookup(item_year.astype(np.float64), item)
    first_seen = _lookup(_first_timestamps(by_user), user)
    days_since_first = (timestamps - first_seen) / DAY

    day = timestamps // DAY
    day_count, day_sum, day_residual_sum = _same_day(
        by_user.indptr, by_user.indices, by_user.ratings, by_user.timestamps,
        np.float64(biases.global_mean), biases.user_bias, biases.item_bias,
        np.asarray(user, np.int64), np.asarray(day, np.int64),
    )  # fmt: skip
    own_day = np.zeros(len(user), bool)
    own_day[has_own] = by_user.timestamps[own_at[has_own]] // DAY == day[has_own]
    day_count -= own_day
    day_sum -= np.where(own_day, own0, 0.0)
    own_residual = own0 - biases.predict(user, item)
    day_residual_sum -= np.where(own_day, own_residual, 0.0)

    columns = [
        user_count, _mean(user_sum, user_count), _lookup(biases.user_bias, user),
        item_count, _mean(item_sum, item_count), _lookup(biases.item_bias, item),
        movie_age, days_since_first,
        day_count, _mean(day_sum, day_count), _mean(day_residual_sum, day_count),
    ]  # fmt: skip
    return np.column_stack(columns).astype(np.float32)


def _first_timestamps(csr) -> np.ndarray:
    """Each row's earliest timestamp (NaN for an empty row)."""
    first = np.full(len(csr.indptr) - 1, np.nan)
    rated = np.flatnonzero(csr.counts > 0)
    if len(rated):
        first[rated] = np.minimum.reduceat(csr.timestamps, csr.indptr[rated])
    return first


@numba.njit(cache=True, parallel=True)
def _same_day(indptr, items, ratings, timestamps, mean, user_bias, item_bias, user, day):
    """Count, sum and bias residual sum of the ratings each target's user gave on its day: a
    scan of the user's row, no per-rating keys (at Netflix size a sort of 100 M int64)."""
    count = np.zeros(len(user))
    total = np.zeros(len(user))
    residual = np.zeros(len(user))
    for t in numba.prange(len(user)):
        u = user[t]
        if u < 0:
            continue
        for p in range(indptr[u], indptr[u + 1]):
            if timestamps[p] // DAY == day[t]:
                r = np.float64(ratings[p])
                count[t] += 1.0
                total[t] += r
                expected = np.float32(mean + user_bias[u] + item_bias[items[p]])
                residual[t] += r - np.float64(expected)
    return count, total, residual
