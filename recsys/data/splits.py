"""Train/test splits (SPEC §2.5): temporal, random, the MovieLens seed's own (``seed1``),
per-user last-k, and k-fold."""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from recsys.choices import MAX_FOLDS
from recsys.data.dataset import date_of
from recsys.data.schema import DAY, ITEM, TIMESTAMP, USER
from recsys.errors import ConfigError

SPLITS = ("seed1", "temporal", "random", "user-last", "kfold", "probe")
CINEMATCH_RMSE = 0.9514  # Netflix's own system on the quiz set: the Prize's reference


@dataclass
class Split:
    """A training set and a test set of canonical ratings, and how they were made."""

    name: str
    train: pd.DataFrame
    test: pd.DataFrame
    info: dict = field(default_factory=dict)

    def cold_mask(self) -> np.ndarray:
        """Test ratings whose user or movie never appears in training ("cold")."""
        return ~(
            self.test[USER].isin(self.train[USER]).to_numpy()
            & self.test[ITEM].isin(self.train[ITEM]).to_numpy()
        )

    def describe(self) -> dict:
        cold = self.cold_mask()
        return {
            "name": self.name,
            "n_train": len(self.train),
            "n_test": len(self.test),
            "n_test_cold": int(cold.sum()),
            **self.info,
        }


def _check_fraction(test_fraction: float) -> None:
    if not isinstance(test_fraction, numbers.Real) or isinstance(test_fraction, bool):
        raise TypeError(f"test_fraction must be a number, got {test_fraction!r}")
    if not 0 < test_fraction < 1:
        raise ConfigError(f"test fraction must be between 0 and 1, got {test_fraction}")


def _check_integer(name: str, value: int) -> None:
    """A count given as anything but an integer ("5", 2.5, True) is refused, never rounded."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, got {value!r}")


def _check_ratings(ratings: pd.DataFrame) -> None:
    if len(ratings) == 0:
        raise ConfigError("no ratings to split")


def _take(ratings: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    return ratings.iloc[rows].reset_index(drop=True)


def temporal_split(
    ratings: pd.DataFrame, *, cutoff: str | pd.Timestamp | None = None, test_fraction: float = 0.1
) -> Split:
    """Period one = ratings before the cutoff, period two = on or after it.

    Without a cutoff date, the cutoff is the day that leaves about ``test_fraction`` of the
    ratings in period two (whole days, so a day's ratings are never split apart).
    """
    _check_ratings(ratings)
    ts = ratings[TIMESTAMP].to_numpy()
    if cutoff is None:
        _check_fraction(test_fraction)
        quantile_ts = np.quantile(ts, 1 - test_fraction, method="higher")
        cut = int(quantile_ts) // DAY * DAY
    else:
        cut = int(pd.Timestamp(cutoff, tz="UTC").timestamp())
    after = ts >= cut
    info = {"cutoff": date_of(cut)}
    if cutoff is None:
        info["test_fraction"] = test_fraction
    if not after.any() or after.all():
        raise ConfigError(f"cutoff {info['cutoff']} leaves one period empty")
    return Split(
        "temporal",
        _take(ratings, np.flatnonzero(~after)),
        _take(ratings, np.flatnonzero(after)),
        info,
    )


def random_split(ratings: pd.DataFrame, *, test_fraction: float = 0.1, seed: int = 0) -> Split:
    """A seeded shuffle: the last ``test_fraction`` of it is the test set."""
    _check_ratings(ratings)
    _check_fraction(test_fraction)
    order = np.random.default_rng(seed).permutation(len(ratings))
    n_test = max(1, round(len(ratings) * test_fraction))
    info = {"test_fraction": test_fraction, "seed": seed}
    return Split("random", _take(ratings, order[:-n_test]), _take(ratings, order[-n_test:]), info)


def seed1_split(ratings: pd.DataFrame) -> Split:
    """The MovieLens seed's split, row for row: ``df.sample(frac=1, random_state=42)``, then the
    first ``int(0.9 * len)`` rows train and the rest test.

    ``ratings`` must be the cleaned ratings in file order (what `load` returns); on the dirty
    MovieLens copy the seed's cleaning (drop duplicates, keep 0 < rating <= 5, drop NaN) keeps
    the very same 99,032 rows.
    """
    _check_ratings(ratings)
    order = np.random.RandomState(42).permutation(len(ratings))  # == DataFrame.sample's order
    n_train = int(0.9 * len(ratings))
    info = {"protocol": "seed1", "shuffle": "sample(frac=1, random_state=42)", "train_share": 0.9}
    return Split("seed1", _take(ratings, order[:n_train]), _take(ratings, order[n_train:]), info)


def user_last_split(ratings: pd.DataFrame, *, k: int = 9) -> Split:
    """Each user's last ``k`` ratings (by time, then file order) are held out, as the Netflix
    Prize did; a user always keeps at least one rating in training."""
    _check_ratings(ratings)
    _check_integer("k", k)
    if k < 1:
        raise ConfigError(f"k must be at least 1, got {k}")
    users = ratings[USER].to_numpy()
    order = np.lexsort((np.arange(len(ratings)), ratings[TIMESTAMP].to_numpy(), users))
    codes, counts = np.unique(users[order], return_inverse=True, return_counts=True)[1:]
    position = np.arange(len(order)) - np.repeat(np.cumsum(counts) - counts, counts)
    from_end = counts[codes] - position  # 1 for a user's latest rating
    held = from_end <= np.minimum(k, counts[codes] - 1)
    test_rows, train_rows = np.sort(order[held]), np.sort(order[~held])
    return Split("user-last", _take(ratings, train_rows), _take(ratings, test_rows), {"k": k})


def kfold_splits(ratings: pd.DataFrame, *, folds: int = 5, seed: int = 0) -> Iterator[Split]:
    """``folds`` seeded folds: each rating is in exactly one test set."""
    _check_ratings(ratings)
    _check_integer("folds", folds)
    if not 2 <= folds <= min(MAX_FOLDS, len(ratings)):
        raise ConfigError(f"k-fold needs 2 to {min(MAX_FOLDS, len(ratings))} folds (at most "
                          f"{MAX_FOLDS}, and a rating a fold), got {folds}")  # fmt: skip
    order = np.random.default_rng(seed).permutation(len(ratings))
    for fold, test_rows in enumerate(np.array_split(order, folds)):
        train_mask = np.ones(len(ratings), bool)
        train_mask[test_rows] = False
        info = {"fold": fold, "folds": folds, "seed": seed}
        yield Split(
            f"kfold-{fold}",
            _take(ratings, np.flatnonzero(train_mask)),
            _take(ratings, np.sort(test_rows)),
            info,
        )


def probe_split(ratings: pd.DataFrame, probe: pd.DataFrame) -> Split:
    """The Netflix Prize's own hold-out: train on the ratings minus the probe pairs, test on the
    probe pairs' ratings (SPEC §2.1: every probe pair is in the training set). ``probe`` holds
    (user_id, item_id) pairs, as `recsys.data.netflix.read_probe` returns them; pairs with no
    rating are counted in the info, never silently dropped."""
    keys = _pair_keys(ratings, probe)
    if keys is None:
        raise ConfigError("no probe pairs to split on")
    rating_keys, probe_keys = keys
    probe_keys = np.unique(probe_keys)
    position = np.searchsorted(probe_keys, rating_keys)
    held = probe_keys[np.minimum(position, len(probe_keys) - 1)] == rating_keys
    n_held = int(held.sum())
    if n_held == 0:
        raise ConfigError("none of the probe pairs is among the ratings")
    info = {"probe_pairs": len(probe), "probe_pairs_unrated": len(probe_keys) - n_held,
            "reference_rmse": {"Cinematch (quiz)": CINEMATCH_RMSE}}  # fmt: skip
    train, test = _take(ratings, np.flatnonzero(~held)), _take(ratings, np.flatnonzero(held))
    return Split("probe", train, test, info)


def _pair_keys(ratings: pd.DataFrame, pairs: pd.DataFrame):
    """One int64 key per (user, item) of the ratings and of the pairs, equal for equal pairs."""
    if len(pairs) == 0:
        return None
    columns = []
    for column in (USER, ITEM):
        both = pd.concat([ratings[column], pairs[column]], ignore_index=True)
        codes = pd.factorize(both)[0].astype(np.int64)
        columns.append((codes[: len(ratings)], codes[len(ratings) :], codes.max() + 1))
    (user_r, user_p, _), (item_r, item_p, n_items) = columns
    return user_r * n_items + item_r, user_p * n_items + item_p


def make_splits(
    ratings: pd.DataFrame,
    split: str,
    *,
    test_fraction: float = 0.1,
    folds: int = 5,
    seed: int = 0,
    cutoff: str | None = None,
    last_k: int = 9,
    probe: pd.DataFrame | str | Path | None = None,
) -> list[Split]:
    """The split(s) named by ``split`` (one of `SPLITS`; k-fold gives several). ``probe`` is
    what ``split="probe"`` holds out: (user_id, item_id) pairs, or the Netflix data set (folder
    or archive) whose ``probe.txt`` lists them."""
    if split == "seed1":
        return [seed1_split(ratings)]
    if split == "temporal":
        return [temporal_split(ratings, cutoff=cutoff, test_fraction=test_fraction)]
    if split == "random":
        return [random_split(ratings, test_fraction=test_fraction, seed=seed)]
    if split == "user-last":
        return [user_last_split(ratings, k=last_k)]
    if split == "kfold":
        return list(kfold_splits(ratings, folds=folds, seed=seed))
    if split == "probe":
        if probe is None:
            raise ConfigError("--split probe needs a Netflix data set with a probe.txt")
        if not isinstance(probe, pd.DataFrame):
            from recsys.data.netflix import read_probe

            probe = read_probe(probe)
        return [probe_split(ratings, probe)]
    raise ConfigError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
