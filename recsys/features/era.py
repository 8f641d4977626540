"""Release eras and the era mean: how a user rates the movies of a target's era (SPEC §3).

Tastes differ by period (people who love old films rate them apart from new releases), so the
Netflix seed described a target (u, m) by u's mean rating of the other movies from m's era.
"""

from __future__ import annotations

import numba
import numpy as np

from recsys.data.interactions import Interactions

ERAS = ("before 1970", "1970–1989", "1990 and later")
ERA_STARTS = np.array([1970, 1990])  # first year of every era but the first


def check_movie_eras(years: np.ndarray, eras: np.ndarray, n_items: int) -> None:
    """A year (NaN: none) and an era index (-1: none) per movie (ValueError otherwise)."""
    if np.shape(years) != (n_items,) or np.shape(eras) != (n_items,):
        raise ValueError(f"the movies' years or eras are not {n_items} values")
    if n_items and not -1 <= eras.min() <= eras.max() < len(ERAS):
        raise ValueError("a movie's era is not one of the eras")


def movie_eras(years) -> np.ndarray:
    """Era index (into `ERAS`) of each movie as int8; -1 for a movie with no year.

    Accepts a pandas nullable integer array or Series, or floats with NaN for missing years.
    """
    if hasattr(years, "to_numpy"):  # pandas: missing years are NA
        values = years.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        values = np.asarray(years, dtype=np.float64)
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

    # Sum and count of every user's ratings per era, row by row of the by-user view.
    by_user = history.by_user
    sums, counts = _era_sums(by_user.indptr, by_user.indices, by_user.ratings,
                             item_era.astype(np.int64), n_eras)  # fmt: skip

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


@numba.njit(cache=True)
def _era_sums(indptr, items, ratings, item_era, n_eras):
    """(user × era) sums and counts of ratings, as flat float64 arrays (user-major); one pass
    over the ratings with no per-rating temporaries (3 GB of them at Netflix size)."""
    n_users = len(indptr) - 1
    sums = np.zeros(n_users * n_eras)
    counts = np.zeros(n_users * n_eras)
    for u in range(n_users):
        for p in range(indptr[u], indptr[u + 1]):
            era = item_era[items[p]]
            if era >= 0:
                sums[u * n_eras + era] += ratings[p]
                counts[u * n_eras + era] += 1.0
    return sums, counts
