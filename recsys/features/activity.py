"""Activity statistics of a (user, movie, time) target, read off a rating history.

Counts, means and damped biases of the user and the movie; the movie's age when rated; how
long the user has been rating; and what the user rated on the same day (people rate in
sessions, and a session's mood carries over). A target's own rating, if the history holds it,
is left out of every statistic, as the SPEC's no-leakage rule asks.
"""

from __future__ import annotations

import numpy as np

from recsys.data.interactions import Interactions
from recsys.models.bias import Biases

DAY = 86_400
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


def _grouped(keys: np.ndarray, values: np.ndarray, wanted: np.ndarray):
    """Sum and count of ``values`` per key, looked up for the ``wanted`` keys."""
    unique, inverse = np.unique(keys, return_inverse=True)
    sums = np.bincount(inverse, values, len(unique))
    counts = np.bincount(inverse, minlength=len(unique)).astype(np.float64)
    if len(unique) == 0:
        return np.zeros(len(wanted)), np.zeros(len(wanted))
    position = np.minimum(np.searchsorted(unique, wanted), len(unique) - 1)
    hit = unique[position] == wanted
    return np.where(hit, sums[position], 0.0), np.where(hit, counts[position], 0.0)


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
    own = history.rating_of(user, item)
    has_own = ~np.isnan(own)
    own0 = np.where(has_own, own, 0.0)
    r = history.rating.astype(np.float64)

    user_count = _lookup(np.bincount(history.user, minlength=history.n_users), user, 0) - has_own
    user_sum = _lookup(np.bincount(history.user, r, history.n_users), user, 0) - own0
    item_count = _lookup(np.bincount(history.item, minlength=history.n_items), item, 0) - has_own
    item_sum = _lookup(np.bincount(history.item, r, history.n_items), item, 0) - own0

    rating_year = 1970 + timestamps / SECONDS_PER_YEAR
    movie_age = rating_year - _lookup(item_year.astype(np.float64), item)
    first = np.full(history.n_users, np.iinfo(np.int64).max)
    np.minimum.at(first, history.user, history.timestamp)
    first_seen = _lookup(np.where(first < np.iinfo(np.int64).max, first, np.nan), user)
    days_since_first = (timestamps - first_seen) / DAY

    day_keys = history.user.astype(np.int64) * 100_000 + history.timestamp // DAY
    wanted = np.where(user >= 0, user.astype(np.int64) * 100_000 + timestamps // DAY, -1)
    residual = r - biases.predict(history.user, history.item)
    day_sum, day_count = _grouped(day_keys, r, wanted)
    day_residual_sum, _ = _grouped(day_keys, residual, wanted)
    own_day = has_own & (history_day_of(history, user, item) == timestamps // DAY)
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


def history_day_of(history: Interactions, user: np.ndarray, item: np.ndarray) -> np.ndarray:
    """The day (since 1970) of the history's rating of each pair; -1 where there is none."""
    csr = history.by_user
    keys = csr.rows.astype(np.int64) * history.n_items + csr.indices
    ok = (user >= 0) & (item >= 0)
    out = np.full(len(user), -1, np.int64)
    if len(keys) == 0 or not ok.any():
        return out
    wanted = user[ok].astype(np.int64) * history.n_items + item[ok]
    position = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    hit = keys[position] == wanted
    out[np.flatnonzero(ok)[hit]] = csr.timestamps[position[hit]] // DAY
    return out
