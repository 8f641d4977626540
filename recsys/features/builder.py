"""Feature matrices for the gradient-boosted models: the Netflix seed's five features, and the
full set the blend adds to the base models' predictions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from recsys.data.interactions import Interactions
from recsys.data.schema import ITEM
from recsys.data.vocabulary import Vocabulary
from recsys.features.activity import ACTIVITY_FEATURES, activity_features
from recsys.features.bias import Biases
from recsys.features.closest import closest_raters
from recsys.features.era import era_mean

if TYPE_CHECKING:
    import pandas as pd

N_CLOSEST = 4
CLOSEST = [f"closest_{k}" for k in range(1, N_CLOSEST + 1)]
DISTANCES = [f"dist_{k}" for k in range(1, N_CLOSEST + 1)]
SEED_FEATURES = [*CLOSEST, "era_mean"]
BLEND_FEATURES = [*CLOSEST, *DISTANCES, "era_mean", *ACTIVITY_FEATURES]


def item_years(items: Vocabulary, movies: pd.DataFrame) -> np.ndarray:
    """Release year per item index (float, NaN when unknown or absent from the catalogue)."""
    ids, first = np.unique(movies[ITEM].to_numpy(), return_index=True)  # a repeat: its first row
    years = movies["year"].to_numpy(dtype=np.float64, na_value=np.nan)[first]
    at = items.index(ids)
    out = np.full(len(items), np.nan)
    out[at[at >= 0]] = years[at >= 0]
    return out


def seed_features(
    history: Interactions,
    item_era: np.ndarray,
    user: np.ndarray,
    item: np.ndarray,
    *,
    era_default: float = 2.0,
    max_candidates: int | None = None,
) -> np.ndarray:
    """closest_1..4 and era_mean (SPEC §3), as an (n, 5) float32 matrix."""
    closest = closest_raters(history, user, item, n=N_CLOSEST, max_candidates=max_candidates)
    era = era_mean(history, item_era, user, item, default=era_default)
    return np.column_stack([closest.ratings, era]).astype(np.float32)


def blend_features(
    history: Interactions,
    biases: Biases,
    item_year: np.ndarray,
    item_era: np.ndarray,
    user: np.ndarray,
    item: np.ndarray,
    timestamps: np.ndarray,
    *,
    era_default: float = 2.0,
    max_candidates: int | None = None,
) -> np.ndarray:
    """`BLEND_FEATURES` as an (n, 20) float32 matrix: closest ratings and distances, era mean,
    and activity statistics."""
    closest = closest_raters(history, user, item, n=N_CLOSEST, max_candidates=max_candidates)
    era = era_mean(history, item_era, user, item, default=era_default)
    activity = activity_features(history, biases, item_year, user, item, timestamps)
    return np.column_stack([closest.ratings, closest.distances, era, activity]).astype(np.float32)
