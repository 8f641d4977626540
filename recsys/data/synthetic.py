"""Synthetic Netflix-like data: any size from a few hundred ratings to 100 M, deterministic by seed.

Ratings come from a latent-factor model (user and movie biases plus a dot product of
`FACTORS`-dimensional factors, plus noise), cut into 1-5 stars with Netflix's histogram, so
collaborative filtering has real signal to find. User activity and movie popularity are
heavy-tailed; each user rates distinct movies; a rating falls after the user joined and after the
movie's release, with volume growing over the years as Netflix's did. Movies get release years
over three eras (some unknown), plausible titles (some with commas, some with accented latin-1
letters) and genres that follow their factors.

The ratings are generated straight into their final columns, grouped by movie like the Netflix
files (so writing and reading them back gives the same rows in the same order).
"""

from __future__ import annotations

import functools
import json
import logging
import math
from pathlib import Path

import numba
import numpy as np
import pandas as pd

import recsys
from recsys.data.cleaning import CleaningReport
from recsys.data.dataset import Dataset
from recsys.data.destination import clear_data_folder
from recsys.data.frames import movies_frame, ratings_frame
from recsys.data.netflix import write_netflix, write_probe
from recsys.data.schema import DAY, ITEM, TIMESTAMP, USER, WHOLE_STARS
from recsys.errors import ConfigError
from recsys.progress import advance

log = logging.getLogger(__name__)

NETFLIX_RATINGS, NETFLIX_USERS, NETFLIX_MOVIES = 100_480_507, 480_189, 17_770
FACTORS = 10
HISTOGRAM = (0.05, 0.10, 0.29, 0.34, 0.22)  # share of 1..5 stars in the Netflix training set
USER_BIAS, MOVIE_BIAS, INTERACTION, NOISE = 0.40, 0.45, 0.75, 0.60  # std. dev. of each part
ACTIVITY_SIGMA, POPULARITY_SIGMA = 1.25, 1.35  # log-normal spread: Netflix's mean/median
JOIN_GROWTH, RATING_GROWTH = 0.9 / 365, 0.5 / 365  # per day: sign-ups and rating volume grow
ERAS = ((1920, 1969, 0.15), (1970, 1989, 0.20), (1990, None, 0.63))  # and 2% unknown year
GENRES = {
    "Drama": 0.42, "Comedy": 0.33, "Thriller": 0.17, "Romance": 0.15, "Action": 0.15,
    "Crime": 0.11, "Adventure": 0.10, "Horror": 0.08, "Sci-Fi": 0.07, "Documentary": 0.06,
    "Fantasy": 0.06, "Mystery": 0.06, "Children": 0.05, "Animation": 0.04, "War": 0.04,
    "Musical": 0.03, "Western": 0.03, "Film-Noir": 0.01,
}  # fmt: skip
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
# Ratings per movie in the Netflix training set as a quantile curve: log count against the
# normal score of the movie's rank. Published: min 3, quartiles 192.5 / 561 / 2,668, max 232,944;
# the knots at z = 1.28, 2.0 and 2.8 are fitted so the mean (5,654) and the standard deviation
# (16,910) match too.
NETFLIX_MOVIE_COUNTS = (
    (-3.8578, 3.0), (-0.6745, 192.5), (0.0, 561.0), (0.6745, 2_668.0), (1.2816, 10_864.0),
    (2.0, 76_635.0), (2.8, 125_845.0), (3.8578, 232_944.0),
)  # fmt: skip
NETFLIX_PROBE_PER_USER = 3  # the Prize held out each user's last 9 ratings, a third as probe


# -- random numbers that do not depend on the order of work (so threads change nothing) -------
@numba.njit(cache=True)
def _mix(z):
    """SplitMix64's finaliser: a well-scrambled 64-bit function of z."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True)
def _uniform(key, counter):
    """The counter-th uniform number in [0, 1) of the stream named by key."""
    return (_mix(key + np.uint64(counter) * _GOLDEN) >> np.uint64(11)) * (1.0 / 2.0**53)


@numba.njit(cache=True)
def _normal(key, counter):
    """A standard normal number (Box-Muller) from two uniforms of the stream."""
    radius = math.sqrt(-2.0 * math.log(1.0 - _uniform(key, counter)))
    return radius * math.cos(2.0 * math.pi * _uniform(key, counter + 1))


# -- kernels ------------------------------------------------------------------------------------
@numba.njit(cache=True)
def _after(sorted_values, x):
    """The first index whose value is > x (np.searchsorted side="right", which takes numba
    seconds longer to compile)."""
    lo, hi = 0, len(sorted_values)
    while lo < hi:
        mid = (lo + hi) // 2
        if sorted_values[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@numba.njit(cache=True, parallel=True)
def _draw_movies(counts, starts, weights, key, heavy, out):
    """For each user below ``heavy`` ratings, counts[u] distinct movies drawn with probability
    ~ weights (draw and reject repeats), written to out[starts[u]:starts[u] + counts[u]].
    Heavy users are left to `_draw_heavy` (no sort in here: it would triple the compile time)."""
    n_users, n_movies = len(counts), len(weights)
    cdf = np.cumsum(weights)
    total = cdf[-1]
    n_blocks = min(n_users, 256)
    for b in numba.prange(n_blocks):
        taken = np.full(n_movies, -1, np.int64)
        for u in range(b * n_users // n_blocks, (b + 1) * n_users // n_blocks):
            count, start = counts[u], starts[u]
            if count >= heavy:
                continue
            stream = _mix(key ^ _mix(np.uint64(u)))
            j, draw = 0, 0
            while j < count:
                m = _after(cdf, _uniform(stream, draw) * total)
                draw += 1
                m = min(m, n_movies - 1)
                if taken[m] != u:
                    taken[m] = u
                    out[start + j] = m
                    j += 1


@numba.njit(cache=True)
def _clocks(user, weights, key, out):
    """Exp(1)/weight of every movie for one user: its movies are the smallest (Efraimidis-Spirakis
    sampling without replacement)."""
    stream = _mix(key ^ _mix(np.uint64(user)))
    for m in range(len(weights)):
        out[m] = -math.log(1.0 - _uniform(stream, m)) / weights[m]


def _draw_heavy(counts, starts, weights, key, heavy, out):
    """`_draw_movies` for the users with ``heavy`` ratings or more (a few: they rate a quarter
    of the catalogue or more), by the smallest `_clocks`."""
    clocks = np.empty(len(weights))
    for u in np.flatnonzero(counts >= heavy):
        _clocks(u, weights, key, clocks)
        out[starts[u] : starts[u] + counts[u]] = np.argsort(clocks)[: counts[u]]


@numba.njit(cache=True)
def _group_by_movie(drawn, counts, n_movies, user, item):
    """Move the user-major draws into movie-major rows (users ascending within a movie)."""
    following = np.zeros(n_movies + 1, np.int64)
    for m in drawn:
        following[m + 1] += 1
    following = np.cumsum(following)
    row = 0
    for u in range(len(counts)):
        for _ in range(counts[u]):
            m = drawn[row]
            user[following[m]] = u
            item[following[m]] = m
            following[m] += 1
            row += 1


@numba.njit(cache=True, parallel=True)
def _score(user, item, factors_u, factors_m, bias_u, bias_m, first_day, release_day, end_day,
           key, rating, stamp):  # fmt: skip
    """Each row's latent score (into rating) and date: on or after the later of the user's
    first day and the movie's release, with volume growing at RATING_GROWTH a day."""
    n_movies = len(bias_m)
    for i in numba.prange(len(user)):
        u, m = user[i], item[i]
        stream = _mix(key ^ _mix(np.uint64(u) * np.uint64(n_movies) + np.uint64(m)))
        lo = max(first_day[u], release_day[m])
        span = end_day - lo + 1
        x = _uniform(stream, 0)
        offset = math.log1p(x * math.expm1(RATING_GROWTH * span)) / RATING_GROWTH
        stamp[i] = (lo + min(np.int64(offset), span - 1)) * DAY
        dot = 0.0
        for k in range(factors_u.shape[1]):
            dot += factors_u[u, k] * factors_m[m, k]
        rating[i] = bias_u[u] + bias_m[m] + dot + NOISE * _normal(stream, 1)


# -- the data set -------------------------------------------------------------------------------
def default_sizes(n_ratings: int) -> tuple[int, int]:
    """(users, movies) for a data set of n_ratings, growing like Netflix's (480,189 users and
    17,770 movies at 100 M ratings): users ~ n^0.75 and movies ~ n^0.5, so small sets stay
    dense enough to learn from."""
    scale = n_ratings / NETFLIX_RATINGS
    n_users = max(10, round(NETFLIX_USERS * scale**0.75))
    n_movies = max(10, round(NETFLIX_MOVIES * scale**0.5))
    return min(n_users, n_ratings), n_movies


def synthesize(
    n_ratings: int,
    *,
    n_users: int | None = None,
    n_movies: int | None = None,
    seed: int = 0,
    start: str = "1999-11-11",
    end: str = "2005-12-31",
    movie_counts: str = "lognormal",
) -> Dataset:
    """A Netflix-like data set of exactly n_ratings ratings, in canonical form.

    Every user rates at least one movie and no movie twice; ratings are dated between start and
    end (inclusive). Sizes default to `default_sizes`. ``movie_counts="netflix"`` gives the
    movies the published Netflix spread of ratings per movie (`NETFLIX_MOVIE_COUNTS`, scaled
    to the size asked) instead of a milder log-normal one.
    """
    if movie_counts not in ("lognormal", "netflix"):
        raise ConfigError(f"movie_counts must be 'lognormal' or 'netflix', got {movie_counts!r}")
    default_users, default_movies = default_sizes(max(int(n_ratings), 1))
    n_users = default_users if n_users is None else int(n_users)
    n_movies = default_movies if n_movies is None else int(n_movies)
    first, last = _day(start, "start"), _day(end, "end")
    most = max(1, int(0.9 * n_movies))  # the keenest Netflix user rated 99% of the movies
    if n_ratings < 1 or n_users < 1 or n_movies < 1:
        raise ConfigError("synthesize needs at least one rating, one user and one movie")
    if n_users > n_ratings:
        raise ConfigError(f"{n_users:,} users cannot all rate among {n_ratings:,} ratings")
    if n_ratings > n_users * most:
        raise ConfigError(f"{n_ratings:,} ratings do not fit {n_users:,} users who rate at most "
                          f"{most:,} of {n_movies:,} movies each")  # fmt: skip
    if first > last:
        raise ConfigError(f"start {start} is after end {end}")

    rng = np.random.default_rng(seed)
    key = np.uint64(rng.integers(0, 2**63))
    # Latent model: scales chosen so the dot product has spread INTERACTION.
    scale = math.sqrt(INTERACTION / math.sqrt(FACTORS))
    factors_u = rng.normal(0, scale, (n_users, FACTORS)).astype(np.float32)
    factors_m = rng.normal(0, scale, (n_movies, FACTORS)).astype(np.float32)
    popularity = rng.lognormal(0.0, POPULARITY_SIGMA, n_movies)
    years = _release_years(rng, n_movies, last)
    recent = np.nan_to_num(years, nan=0) >= 1990
    popularity *= np.where(recent, 1.5, 1.0)  # the catalogue's newer films draw more viewers
    z_popularity = (np.log(popularity) - np.log(popularity).mean()) / np.log(popularity).std()
    bias_m = rng.normal(0, MOVIE_BIAS, n_movies) + 0.15 * z_popularity
    bias_m += np.where(np.nan_to_num(years, nan=9999) < 1970, 0.1, 0.0)  # classics that last
    bias_u = rng.normal(0, USER_BIAS, n_users)
    activity = rng.lognormal(0.0, ACTIVITY_SIGMA, n_users)
    counts = _allocate(n_ratings, activity, 1, most)
    first_day = _first_days(rng, n_users, first, last)
    release_day = np.where(
        np.isnan(years), first, _year_start(np.nan_to_num(years, nan=1970))
    ).astype(np.int64)
    user_ids = _sparse_ids(rng, n_users)

    starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    drawn = np.empty(n_ratings, np.int32)
    heavy = max(1, n_movies // 4)
    if movie_counts == "netflix":  # the same ranking of movies, with Netflix's counts
        rank = np.argsort(np.argsort(popularity))
        target = np.sort(netflix_movie_counts(n_movies, n_ratings))[rank]
        popularity = _calibrate(target, counts, key ^ _mix(_GOLDEN), heavy)
        log.info("calibrated movie popularity to the Netflix counts")
    _draw_movies(counts, starts, popularity, key, heavy, drawn)
    _draw_heavy(counts, starts, popularity, key, heavy, drawn)
    advance("synthesizing ratings", n_ratings // 2, n_ratings)  # about half the work
    user = np.empty(n_ratings, np.int32)
    item = np.empty(n_ratings, np.int32)
    _group_by_movie(drawn, counts, n_movies, user, item)
    del drawn
    rating = np.empty(n_ratings, np.float32)
    stamp = np.empty(n_ratings, np.int64)
    _score(user, item, factors_u, factors_m, bias_u.astype(np.float32), bias_m.astype(np.float32),
           first_day, release_day, last, key ^ _GOLDEN, rating, stamp)  # fmt: skip
    advance("synthesizing ratings", n_ratings - n_ratings // 2, n_ratings)
    probe = rng.integers(0, n_ratings, min(n_ratings, 500_000))
    cuts = np.quantile(rating[probe], np.cumsum(HISTOGRAM)[:-1]).astype(np.float32)
    user_ids = user_ids.astype(np.int32)
    for lo in range(0, n_ratings, 1 << 22):  # in place, a block at a time: memory stays flat
        block = slice(lo, lo + (1 << 22))
        rating[block] = np.searchsorted(cuts, rating[block]) + 1  # scores to 1..5 stars
        user[block] = user_ids[user[block]]  # dense indices to raw ids
    item += 1

    movies = movies_frame(
        np.arange(1, n_movies + 1), _titles(rng, n_movies), years, _genres(rng, factors_m)
    )
    name = f"synthetic-{n_ratings}-seed{seed}"
    report = CleaningReport(n_ratings, {}, {}, [name])
    return Dataset(ratings_frame(user, item, rating, stamp), movies, WHOLE_STARS, report, name)


def netflix_movie_counts(n_movies: int, n_ratings: int) -> np.ndarray:
    """Expected ratings per movie, ascending, spread like Netflix's (`NETFLIX_MOVIE_COUNTS`)
    and summing to n_ratings."""
    from scipy.special import ndtri

    knots_z, knots_count = np.array(NETFLIX_MOVIE_COUNTS).T
    z = ndtri((np.arange(n_movies) + 0.5) / n_movies)
    counts = np.exp(np.interp(z, knots_z, np.log(knots_count)))
    return counts * (n_ratings / counts.sum())


def _calibrate(target: np.ndarray, counts: np.ndarray, key, heavy: int, rounds: int = 4):
    """Movie weights whose draws give about ``target`` ratings per movie: popular movies are
    rated by a large share of users, and a user never rates one twice, so their weights must
    rise above their share. Fitted on a sample of users (about 10 M draws) a few rounds."""
    step = max(1, int(counts.sum() // 10_000_000))
    sample = counts[::step]
    starts = np.concatenate(([0], np.cumsum(sample)[:-1])).astype(np.int64)
    wanted = target * (sample.sum() / target.sum())
    weights = target.astype(np.float64)
    drawn = np.empty(int(sample.sum()), np.int32)
    for _ in range(rounds):
        _draw_movies(sample, starts, weights, key, heavy, drawn)
        _draw_heavy(sample, starts, weights, key, heavy, drawn)
        got = np.bincount(drawn, minlength=len(target))
        weights *= (wanted + 5) / (got + 5)  # damped: a rare movie's count is mostly noise
    return weights


def synthesize_netflix(fraction: float = 1.0, *, seed: int = 0) -> Dataset:
    """A data set shaped like the Netflix Prize training set: at ``fraction`` 1, 100,480,507
    ratings by 480,189 users of 17,770 movies between 1999-11-11 and 2005-12-31, with Netflix's
    ratings per movie (top about 232 k, median about 560), per user (median about 96) and star
    histogram. A smaller fraction scales the users and ratings, keeping every movie (so
    ratings per user keep their spread and ratings per movie shrink by the fraction)."""
    if not 0 < fraction <= 1:
        raise ConfigError(f"fraction must be in (0, 1], got {fraction}")
    return synthesize(
        max(1, round(NETFLIX_RATINGS * fraction)), n_users=max(1, round(NETFLIX_USERS * fraction)),
        n_movies=NETFLIX_MOVIES, seed=seed, movie_counts="netflix",
    )  # fmt: skip


@numba.njit(cache=True)
def _latest(code, stamp, n_users, k, best_row):
    """The rows of each user's k latest ratings (later rows first among equal times); -1 pads."""
    for r in range(len(code)):
        u = code[r]
        j = k - 1
        if best_row[u, j] >= 0 and stamp[best_row[u, j]] > stamp[r]:
            continue
        while j > 0 and (best_row[u, j - 1] < 0 or stamp[best_row[u, j - 1]] <= stamp[r]):
            best_row[u, j] = best_row[u, j - 1]
            j -= 1
        best_row[u, j] = r


def latest_ratings(ratings, per_user: int = NETFLIX_PROBE_PER_USER) -> np.ndarray:
    """Rows (ascending) of each user's ``per_user`` latest ratings, leaving every user at least
    one rating besides: a probe set like the Netflix Prize's."""
    codes, uniques = pd.factorize(ratings[USER].to_numpy())
    best = np.full((len(uniques), per_user), -1, np.int64)
    _latest(codes, ratings[TIMESTAMP].to_numpy(np.int64), len(uniques), per_user, best)
    keep = np.minimum(per_user, np.bincount(codes, minlength=len(uniques)) - 1)
    chosen = best[np.arange(per_user) < keep[:, None]]
    return np.sort(chosen[chosen >= 0])


def write_netflix_synthetic(folder: str | Path, fraction: float = 1.0, *, seed: int = 0) -> Path:
    """`synthesize_netflix` written in the Netflix (Kaggle) layout with a ``probe.txt`` of each
    user's latest ratings (`latest_ratings`) and a manifest; return the folder. A folder of other
    files is refused (`clear_data_folder`)."""
    folder = clear_data_folder(folder)
    dataset = synthesize_netflix(fraction, seed=seed)
    probe_rows = latest_ratings(dataset.ratings)
    manifest = {
        "kind": "synthetic",
        "generator": "recsys.data.synthetic.synthesize_netflix",
        "recsys_version": recsys.__version__,
        "format": "netflix",
        "params": {"fraction": fraction, "seed": seed},
        "counts": dataset_counts(dataset) | {"probe": len(probe_rows)},
        "fingerprint": dataset.fingerprint,
    }
    return _write_with_probe(dataset, folder, manifest, probe_rows)


def _write_with_probe(dataset: Dataset, folder: Path, manifest: dict, probe_rows=None) -> Path:
    """The Netflix layout plus ``probe.txt`` (`latest_ratings` unless rows are given)."""
    probe_rows = latest_ratings(dataset.ratings) if probe_rows is None else probe_rows
    folder = write_netflix(dataset, folder, manifest=manifest)
    write_probe(dataset.ratings.iloc[probe_rows][[USER, ITEM]], folder / "probe.txt")
    return folder


@functools.cache
def demo_dataset() -> Dataset:
    """The small data set the service serves with no configuration (made, never downloaded):
    80,000 ratings by 610 users of 1,500 movies. Shared: do not modify it."""
    dataset = synthesize(80_000, n_users=610, n_movies=1_500, seed=20060402)
    return Dataset(dataset.ratings, dataset.movies, dataset.scale, dataset.report, name="demo")


def write_synthetic(
    folder: str | Path,
    n_ratings: int,
    *,
    format: str = "netflix",
    seed: int = 0,
    n_users: int | None = None,
    n_movies: int | None = None,
    start: str = "1999-11-11",
    end: str = "2005-12-31",
) -> Path:
    """Synthesize a data set and write it in the Netflix (Kaggle) layout with a ``probe.txt`` of
    each user's latest ratings, or the MovieLens (latest) layout, with a manifest.json of the
    parameters and counts; return the folder. A folder of other files is refused
    (`clear_data_folder`)."""
    if format not in ("netflix", "movielens"):
        raise ConfigError(f"unknown synthetic data format {format!r}: netflix or movielens")
    folder = clear_data_folder(folder)
    params = {"n_ratings": n_ratings, "n_users": n_users, "n_movies": n_movies, "seed": seed,
              "start": start, "end": end}  # fmt: skip
    dataset = synthesize(**params)
    manifest = {
        "kind": "synthetic",
        "generator": "recsys.data.synthetic.synthesize",
        "recsys_version": recsys.__version__,
        "format": format,
        "params": params,
        "counts": dataset_counts(dataset),
        "fingerprint": dataset.fingerprint,
    }
    if format == "netflix":  # with a probe.txt of each user's latest ratings, as the Prize had
        return _write_with_probe(dataset, folder, manifest)
    from recsys.data.movielens import write_movielens_csv

    write_movielens_csv(dataset, folder)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return folder


def dataset_counts(dataset: Dataset) -> dict:
    """Ratings, users, movies and the date range: what a manifest records of a data set."""
    described = dataset.describe()
    keys = ("ratings", "users", "movies_rated", "movies_in_catalogue", "first_rating",
            "last_rating")  # fmt: skip
    return {k: described[k] for k in keys}


# -- pieces -------------------------------------------------------------------------------------
def _day(date: str, what: str) -> int:
    try:
        return int(np.datetime64(date, "D").astype(np.int64))
    except ValueError as error:
        raise ConfigError(f"{what} date {date!r} is not a YYYY-MM-DD date") from error


def _year_start(years: np.ndarray) -> np.ndarray:
    """Day number of 1 January of each year."""
    return (np.asarray(years, np.int64) - 1970).astype("datetime64[Y]").astype("datetime64[D]"
                                                                              ).astype(np.int64)


def _allocate(total: int, weights: np.ndarray, low: int, high: int) -> np.ndarray:
    """Integers in [low, high], about proportional to weights, that sum to exactly total."""
    lo, hi = 0.0, high / weights.min()
    for _ in range(100):  # the scale s with sum(clip(s * w)) = total
        mid = (lo + hi) / 2
        if np.clip(mid * weights, low, high).sum() >= total:
            hi = mid
        else:
            lo = mid
    share = np.clip(hi * weights, low, high)
    counts = np.floor(share).astype(np.int64)
    rest = share - counts
    while (missing := total - int(counts.sum())) != 0:
        if missing > 0:  # round up the largest remainders that still have room
            room = np.flatnonzero(counts < high)
            chosen = room[np.argsort(-rest[room], kind="stable")[:missing]]
            counts[chosen] += 1
        else:
            room = np.flatnonzero(counts > low)
            chosen = room[np.argsort(rest[room], kind="stable")[:-missing]]
            counts[chosen] -= 1
        rest[chosen] = 0
    return counts


def _first_days(rng: np.random.Generator, n_users: int, first: int, last: int) -> np.ndarray:
    """Each user's first rating day: sign-ups grow at JOIN_GROWTH a day, and the last month
    of the window is left for rating."""
    span = max(1, last - first + 1 - 30) if last - first > 60 else last - first + 1
    x = rng.random(n_users)
    offset = np.log1p(x * np.expm1(JOIN_GROWTH * span)) / JOIN_GROWTH
    return first + np.minimum(offset.astype(np.int64), span - 1)


def _release_years(rng: np.random.Generator, n_movies: int, last_day: int) -> np.ndarray:
    """Years over the eras (before 1970, 1970-89, 1990 on, skewed to recent), 2% unknown."""
    last_year = int(np.datetime64(last_day, "D").astype("datetime64[Y]").astype(int)) + 1970
    era = rng.choice(4, n_movies, p=[*(share for *_, share in ERAS), 0.02])
    years = np.full(n_movies, np.nan)
    for k, (low, high, _) in enumerate(ERAS):
        n = int((era == k).sum())
        if high is None:  # recent films dominate a rental catalogue
            drawn = last_year - np.floor(rng.exponential(4.0, n))
            years[era == k] = np.maximum(drawn, low)
        else:
            years[era == k] = rng.integers(low, high + 1, n)
    return np.minimum(years, last_year)


def _sparse_ids(rng: np.random.Generator, n_users: int) -> np.ndarray:
    """Raw user ids spread like Netflix's (480,189 customers numbered up to 2,649,429)."""
    ids = rng.choice(int(n_users * 5.5) + 10, n_users, replace=False) + 1
    return np.sort(ids)


_ADJECTIVES = (
    "Silent Broken Last Hidden Golden Dark Little Wild Lost Final Secret Crimson Endless Frozen "
    "Midnight Burning Quiet Savage Distant Electric Sweet Bitter Perfect Dangerous Forgotten "
    "Brave Strange Eternal Blue Iron Lonely Scarlet Hollow Northern Restless"
).split()
_NOUNS = (
    "River Heart City Summer Road Kingdom Stranger Promise Garden Storm Island Horizon Empire "
    "Shadow Mirror Journey Winter Harbor Game Letter Witness Dream Frontier Station Border "
    "Voyage Detective Orchestra Machine Valley Bridge Family Wedding Lighthouse Circus"
).split()
_NAMES = (
    "Paris|Texas|Amélie|José|Zoë|Renée|Björn|Chloé|Montréal|São Paulo|Málaga|Jürgen|Françoise|"
    "Noël|Señor Díaz|Max|Lucy|Harry|Vienna|Tokyo|Lisbon|Günter|Inés|Søren|Héloïse|Frank"
).split("|")
_PATTERNS = (
    ("The {a} {n}", 0.28), ("{a} {n}", 0.20), ("{n} of {p}", 0.08), ("{p}, {q}", 0.05),
    ("Goodbye, {p}", 0.03), ("The {n}, the {m} and the {o}", 0.03), ("{a} {n}: Season {k}", 0.08),
    ("{a} {n} {r}", 0.07), ("{p}'s {n}", 0.06), ("Café {n}", 0.02), ("{a} {n}, {a2} {m}", 0.04),
    ("A {n} in {p}", 0.06),
)  # fmt: skip
_ROMAN = ("II", "III", "IV", "Part II", "Returns")


def _titles(rng: np.random.Generator, n_movies: int) -> list[str]:
    """Plausible titles: sequels, TV seasons, some with commas or accented (latin-1) letters."""
    weights = np.array([w for _, w in _PATTERNS])
    pattern = rng.choice(len(_PATTERNS), n_movies, p=weights / weights.sum())
    words = {
        "a": rng.choice(_ADJECTIVES, n_movies), "a2": rng.choice(_ADJECTIVES, n_movies),
        "n": rng.choice(_NOUNS, n_movies), "m": rng.choice(_NOUNS, n_movies),
        "o": rng.choice(_NOUNS, n_movies), "p": rng.choice(_NAMES, n_movies),
        "q": rng.choice(_NAMES, n_movies), "k": rng.integers(1, 8, n_movies),
        "r": rng.choice(_ROMAN, n_movies),
    }  # fmt: skip
    return [
        _PATTERNS[p][0].format(**{k: v[i] for k, v in words.items()})
        for i, p in enumerate(pattern)
    ]


def _genres(rng: np.random.Generator, factors_m: np.ndarray) -> list[list[str]]:
    """Genres that follow the movie factors: each genre is a direction in factor space, taken
    by the share of movies (GENRES) that lie furthest along it; 2% are listed without genres."""
    names = list(GENRES)
    directions = rng.normal(size=(factors_m.shape[1], len(names)))
    affinity = factors_m @ directions + rng.normal(0, 0.3, (len(factors_m), len(names)))
    affinity /= affinity.std(axis=0)
    cuts = np.diagonal(np.quantile(affinity, 1 - np.array(list(GENRES.values())), axis=0))
    member = affinity > cuts
    lonely = ~member.any(axis=1)
    member[lonely, np.argmax(affinity[lonely] - cuts, axis=1)] = True
    member[rng.random(len(member)) < 0.02] = False
    return [[n for n, on in zip(names, row, strict=True) if on] for row in member]
