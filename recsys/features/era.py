"""Release eras and the era mean: how a user rates the movies of a target's era (SPEC §3).

Tastes differ by period (people who love old films rate them apart from new releases), so the
Netflix seed described a target (u, m) by u's mean rating of the other movies from m's era.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys.data.interactions import Interactions

ERAS = ("before 1970", "1970–1989", "1990 and later")
ERA_STARTS = np.array([1970, 1990])  # first year of every era but the first


def movie_eras(years) -> np.ndarray:
    """Era index (into `ERAS`) of each movie as int8; -1 for a movie with no year.

    Accepts a pandas nullable integer array or Series, or floats with NaN for missing years.
    """
    values = pd.Series(years, copy=False).to_numpy(dtype=np.float64, na_value=np.nan)
    era = np.searchsorted(ERA_STARTS, values, side="right").astype(np.int8)
    era[np.isnan(values)] = -1
    return era


def era_mean(
    history: Interactions,
    item_era: np.ndarray,
    user: np.ndarray,
    item: np.ndarray,
    *,
    default: float = 2.0,
) -> np.ndarray:
    """u's mean rating in ``history`` over the movies other than m of m's era, per target.

    ``item_era`` is `movie_eras` per item index. If the history holds (u, m), that rating is
    left out (no leakage). ``default`` (the seed's 2.0) where u has no such rating, where u or
    m is unknown (-1), or where m has no year (it belongs to no era). Returns float32.
    """
    item_era = np.asarray(item_era)
    if len(item_era) != history.n_items:
        raise ValueError(f"item_era has {len(item_era)} entries for {history.n_items} items")
    user = np.asarray(user, dtype=np.int64).ravel()
    item = np.asarray(item, dtype=np.int64).ravel()
    if len(user) != len(item):
        raise ValueError(f"{len(user)} users but {len(item)} items")
    n_eras = len(ERAS)

    # Sum and count of every user's ratings per era: one bincount over user × era.
    rated_era = item_era[history.item].astype(np.int64)
    dated = rated_era >= 0
    key = history.user[dated].astype(np.int64) * n_eras + rated_era[dated]
    size = history.n_users * n_eras
    weights = history.rating[dated].astype(np.float64)
    sums = np.bincount(key, weights, minlength=size).astype(np.float64, copy=False)  # empty: int
    counts = np.bincount(key, minlength=size).astype(np.float64)

    out = np.full(len(user), default, np.float32)
    ok = (user >= 0) & (item >= 0)
    ok[ok] = item_era[item[ok]] >= 0
    if not ok.any():
        return out
    u, m = user[ok], item[ok]
    wanted = u * n_eras + item_era[m]
    total, count = sums[wanted], counts[wanted]
    own = history.rating_of(u, m)  # the target's own rating, NaN when not in the history
    held = ~np.isnan(own)
    total[held] -= own[held]
    count[held] -= 1
    mean = np.divide(total, count, out=np.full(len(u), default), where=count > 0)
    out[ok] = mean
    return out
