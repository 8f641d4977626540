"""The canonical frames (SPEC §2.2, columns in `recsys.data.schema`) built from arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys.data.schema import ITEM, RATING, TIMESTAMP, USER


def compact_ids(values: np.ndarray) -> np.ndarray:
    """Integer ids in int32 when every one fits, else int64; anything else unchanged."""
    values = np.asarray(values)
    if values.dtype.kind in "iu":
        if len(values) == 0 or (values.min() >= -(2**31) and values.max() < 2**31):
            return values.astype(np.int32, copy=False)
        return values.astype(np.int64, copy=False)
    return values


def ratings_frame(user_id, item_id, rating, timestamp) -> pd.DataFrame:
    """Build a canonical ratings frame from four aligned arrays."""
    return pd.DataFrame(
        {
            USER: compact_ids(user_id),
            ITEM: compact_ids(item_id),
            RATING: np.asarray(rating, dtype=np.float32),
            TIMESTAMP: np.asarray(timestamp, dtype=np.int64),
        },
        copy=False,
    )


def movies_frame(item_id, title, year, genres) -> pd.DataFrame:
    """Build a canonical catalogue; ``year`` may hold NaN/None for unknown years."""
    year = pd.array(pd.to_numeric(pd.Series(year, dtype="object"), errors="coerce"), dtype="Int32")
    return pd.DataFrame(
        {
            ITEM: compact_ids(item_id),
            "title": pd.Series(title, dtype="object").to_numpy(),
            "year": year,
            "genres": pd.Series(list(genres), dtype="object").to_numpy(),
        }
    )


def catalogue_from_ratings(ratings: pd.DataFrame) -> pd.DataFrame:
    """A catalogue that knows only the ids, for sources that ship no movie file."""
    ids = np.unique(ratings[ITEM].to_numpy())
    return movies_frame(ids, [None] * len(ids), [None] * len(ids), [[] for _ in ids])
