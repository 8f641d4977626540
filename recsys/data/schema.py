"""The canonical columns and dtypes every loader returns (SPEC §2.2).

Ratings: ``user_id``, ``item_id`` (raw ids as the source wrote them: integers, or strings),
``rating`` (float32) and ``timestamp`` (int64 seconds, UTC). The catalogue: ``item_id``,
``title``, ``year`` (nullable integer) and ``genres`` (a list of str per movie).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

USER, ITEM, RATING, TIMESTAMP = "user_id", "item_id", "rating", "timestamp"
RATING_COLUMNS = [USER, ITEM, RATING, TIMESTAMP]
MOVIE_COLUMNS = [ITEM, "title", "year", "genres"]
BLOCK = 1 << 20  # rows a blockwise check holds temporaries for
DAY = 86_400  # seconds: a timestamp is int64 seconds since 1970-01-01, UTC


@dataclass(frozen=True)
class RatingScale:
    """The values a rating may take: ``low`` to ``high`` in steps of ``step`` (None: any)."""

    low: float
    high: float
    step: float | None = None

    def contains(self, values: np.ndarray) -> np.ndarray:
        """Mask of the values on the scale (NaN is not)."""
        values = np.asarray(values)
        return blockwise(values.reshape(-1), self._contains).reshape(values.shape)

    def _contains(self, part: np.ndarray) -> np.ndarray:
        part = part.astype(np.float64)
        inside = (part >= self.low) & (part <= self.high)
        if self.step:
            part -= self.low
            part /= self.step
            with np.errstate(invalid="ignore"):  # NaN and inf are off the scale, silently
                inside &= np.abs(part - np.round(part)) < 1e-6
        return inside

    def clip(self, values: np.ndarray) -> np.ndarray:
        """Values brought onto [low, high] (NaN stays NaN; two ufuncs, cheaper than np.clip
        on the few values of a request)."""
        return np.minimum(np.maximum(values, self.low), self.high)

    def to_dict(self) -> dict:
        return {"low": self.low, "high": self.high, "step": self.step}


def blockwise(values: np.ndarray, mask_of: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``mask_of`` applied to a block of a 1-d array at a time, so its temporaries stay small
    beside 100 M ratings."""
    out = np.empty(len(values), bool)
    for lo in range(0, len(values), BLOCK):
        out[lo : lo + BLOCK] = mask_of(values[lo : lo + BLOCK])
    return out


HALF_STARS = RatingScale(0.5, 5.0, 0.5)
WHOLE_STARS = RatingScale(1.0, 5.0, 1.0)
