"""Ratings stored over HTTP (`recsys.store`) merged into a data set, for `recsys train
--feedback`.

On a (user, movie) pair a stored row wins over the training rating when its timestamp is later
or equal (the latest wins, as in cleaning); a stored deletion removes the training rating. A
stored row is dropped, and counted, when its user id cannot be one of the data set's ids
(text where the data set's ids are integers), its movie is not in the catalogue, or its rating
is off the data set's scale. Nothing is dropped silently.

The merge takes the store's last change number *before* reading its rows and keeps only rows
numbered up to it, so the returned ``seq`` is a watermark the model has learnt everything up
to: a row written meanwhile has a larger number, and a service following the store folds it
in on top of the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from recsys.data.dataset import Dataset
from recsys.data.frames import ratings_frame
from recsys.data.schema import ITEM, RATING, TIMESTAMP, USER

if TYPE_CHECKING:
    from recsys.store import RatingStore


def with_feedback(dataset: Dataset, store: RatingStore) -> tuple[Dataset, dict]:
    """``dataset`` with the ratings of ``store`` merged in, and what the merge did: ``url``
    (password masked), ``seq`` (the watermark), ``added``, ``replaced``, ``deleted`` (training
    ratings), ``older`` (stored rows a later training rating outranks), and the rows dropped:
    ``unknown_movies``, ``unusable_user_ids``, ``off_scale``."""
    seq = store.last_seq()  # first: rows numbered after it are left to the service
    stored = store.frame()
    merged, counts = merge_stored(dataset, stored[stored["seq"].to_numpy() <= seq])
    return merged, {"url": store.describe(), "seq": seq, **counts}


def merge_stored(dataset: Dataset, stored: pd.DataFrame) -> tuple[Dataset, dict]:
    """Merge a `RatingStore.frame` (text ids, NaN ratings for deletions) into ``dataset``."""
    train = dataset.ratings
    users, user_ok = _as_ids(stored["user_id"], train[USER].dtype)
    items, item_ok = _as_ids(stored["movie_id"], dataset.movies[ITEM].dtype)
    catalogued = item_ok.copy()
    catalogued[item_ok] = np.isin(items[item_ok], dataset.movies[ITEM].to_numpy())
    rating = stored["rating"].to_numpy(np.float64)
    deletion = np.isnan(rating)
    on_scale = deletion | dataset.scale.contains(np.where(deletion, dataset.scale.low, rating))
    counts = {
        "unusable_user_ids": int((~user_ok).sum()),
        "unknown_movies": int((user_ok & ~catalogued).sum()),
        "off_scale": int((user_ok & catalogued & ~on_scale).sum()),
    }
    usable = user_ok & catalogued & on_scale
    new = pd.DataFrame({
        USER: users[usable], ITEM: items[usable], RATING: rating[usable],
        TIMESTAMP: stored["timestamp"].to_numpy(np.int64)[usable],
    })  # fmt: skip

    # The training rows of the pairs stored, found among the rows of the users stored only.
    candidates = np.flatnonzero(train[USER].isin(new[USER].unique()).to_numpy())
    rated = pd.DataFrame({
        USER: _comparable(train[USER].to_numpy()[candidates]),
        ITEM: _comparable(train[ITEM].to_numpy()[candidates]),
        "train_timestamp": train[TIMESTAMP].to_numpy()[candidates],
        "position": candidates,
    })  # fmt: skip
    pairs = new.assign(**{USER: _comparable(new[USER].to_numpy()),
                          ITEM: _comparable(new[ITEM].to_numpy())})  # fmt: skip
    pairs = pairs.merge(rated, on=[USER, ITEM], how="left", validate="one_to_one")
    in_train = pairs["position"].notna().to_numpy()
    position = pairs["position"].to_numpy(np.float64)
    wins = ~in_train | (pairs[TIMESTAMP].to_numpy() >= pairs["train_timestamp"].to_numpy())
    is_deletion = np.isnan(pairs[RATING].to_numpy())
    replaced = in_train & wins & ~is_deletion
    deleted = in_train & wins & is_deletion
    added = ~in_train & ~is_deletion  # a deletion of nothing in the data changes nothing
    counts |= {
        "added": int(added.sum()), "replaced": int(replaced.sum()),
        "deleted": int(deleted.sum()), "older": int((in_train & ~wins).sum()),
    }  # fmt: skip

    ratings = train[RATING].to_numpy().copy()
    timestamps = train[TIMESTAMP].to_numpy().copy()
    at = position[replaced].astype(np.int64)
    ratings[at] = pairs[RATING].to_numpy()[replaced]
    timestamps[at] = pairs[TIMESTAMP].to_numpy()[replaced]
    keep = np.ones(len(train), bool)
    keep[position[deleted].astype(np.int64)] = False
    extra = new[added]  # the stored ids in the data set's own type
    merged = ratings_frame(
        np.concatenate([train[USER].to_numpy()[keep], extra[USER].to_numpy()]),
        np.concatenate([train[ITEM].to_numpy()[keep], extra[ITEM].to_numpy()]),
        np.concatenate([ratings[keep], extra[RATING].to_numpy(np.float32)]),
        np.concatenate([timestamps[keep], extra[TIMESTAMP].to_numpy()]),
    )
    return dataset.with_ratings(merged), counts


def _as_ids(text: pd.Series, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Stored text ids in a data set's id type, and the mask of those that are one: whole
    numbers within int64 for integer ids ("19", "-3"; exactly, beyond 2**53 too), the text
    itself otherwise."""
    text = text.astype(object).to_numpy()
    if not pd.api.types.is_integer_dtype(dtype):
        return text, np.ones(len(text), bool)
    spelled = pd.Series(text, dtype=object).astype(str)
    ok = spelled.str.fullmatch(r"-?\d{1,18}").to_numpy(bool, copy=True)  # all fit int64
    ids = np.zeros(len(text), np.int64)
    ids[ok] = spelled[ok].astype(np.int64).to_numpy()
    for k in np.flatnonzero(spelled.str.fullmatch(r"-?\d{19}").to_numpy()):  # near the limits
        value = int(spelled.iloc[k])
        if np.iinfo(np.int64).min <= value <= np.iinfo(np.int64).max:
            ids[k], ok[k] = value, True
    return ids, ok


def _comparable(ids: np.ndarray) -> np.ndarray:
    """One key type on both sides of the merge: int64 for integer ids, text otherwise."""
    return ids.astype(np.int64) if ids.dtype.kind in "iu" else ids.astype(object)
