"""A loaded data set: canonical ratings, the catalogue, the scale and the cleaning report."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from recsys.data.cleaning import CleaningReport
from recsys.data.schema import ITEM, RATING, RATING_COLUMNS, TIMESTAMP, USER, RatingScale


@dataclass(frozen=True)
class Dataset:
    """Ratings, the movie catalogue, the rating scale, and what cleaning did to get them."""

    ratings: pd.DataFrame
    movies: pd.DataFrame
    scale: RatingScale
    report: CleaningReport = field(default_factory=CleaningReport)
    name: str = "ratings"

    @cached_property
    def fingerprint(self) -> str:
        """A short content hash of the ratings: equal data, equal fingerprint."""
        digest = hashlib.blake2b(digest_size=12)
        for column in RATING_COLUMNS:
            values = self.ratings[column].to_numpy()
            if values.dtype == object:
                values = np.asarray(values.astype(str), dtype=np.bytes_)
            digest.update(np.ascontiguousarray(values).tobytes())
        return digest.hexdigest()

    @property
    def n_ratings(self) -> int:
        return len(self.ratings)

    def with_ratings(self, ratings: pd.DataFrame) -> Dataset:
        """The same catalogue and scale around another set of ratings (a split, a sample)."""
        return Dataset(ratings, self.movies, self.scale, self.report, self.name)

    def describe(self) -> dict:
        r = self.ratings
        times = r[TIMESTAMP].to_numpy()
        return {
            "name": self.name,
            "ratings": len(r),
            "users": int(r[USER].nunique()),
            "movies_rated": int(r[ITEM].nunique()),
            "movies_in_catalogue": len(self.movies),
            "scale": self.scale.to_dict(),
            "mean_rating": round(float(r[RATING].mean()), 4) if len(r) else None,
            "first_rating": date_of(times.min()) if len(r) else None,
            "last_rating": date_of(times.max()) if len(r) else None,
            "fingerprint": self.fingerprint,
        }


def date_of(seconds: int) -> str:
    """A timestamp's date, "YYYY-MM-DD" (any int64 seconds, unlike `datetime.date`)."""
    return str(np.datetime64(int(seconds), "s").astype("datetime64[D]"))
