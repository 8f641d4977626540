"""The Netflix seed's "small sample of the actual dataset" (SPEC §2.4): a few movies picked at
random, the users who rated enough of them, and only those users' ratings of those movies."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

import recsys
from recsys.data.cleaning import CleaningReport
from recsys.data.dataset import Dataset
from recsys.data.schema import ITEM, TIMESTAMP, USER
from recsys.errors import ConfigError

log = logging.getLogger(__name__)


def _seconds(date: str | None, what: str) -> int | None:
    if date is None:
        return None
    try:
        return int(pd.Timestamp(date, tz="UTC").timestamp())
    except ValueError as error:
        raise ConfigError(f"{what} {date!r} is not a date (YYYY-MM-DD)") from error


def _window(start: str | None, end: str | None) -> str:
    """`` between START and END``, `` on or after START``, `` before END`` or nothing."""
    if start is not None and end is not None:
        return f" between {start} and {end}"
    if start is not None:
        return f" on or after {start}"
    return f" before {end}" if end is not None else ""


def sample(
    dataset: Dataset,
    *,
    n_movies: int = 100,
    min_ratings: int = 2,
    seed: int = 0,
    start: str | None = None,
    end: str | None = None,
) -> Dataset:
    """Pick ``n_movies`` movies at random (seeded) among those rated within [start, end), keep
    the users who rated at least ``min_ratings`` of them, and only those users' ratings of them.
    The same data and arguments always give the same sample."""
    if n_movies < 1 or min_ratings < 1:
        raise ConfigError("sample needs n_movies >= 1 and min_ratings >= 1")
    ratings = dataset.ratings
    low, high = _seconds(start, "start"), _seconds(end, "end")
    if low is not None and high is not None and low >= high:
        raise ConfigError(f"the window {start} .. {end} is empty")
    stamps = ratings[TIMESTAMP].to_numpy()
    inside = np.ones(len(ratings), bool)
    if low is not None:
        inside &= stamps >= low
    if high is not None:
        inside &= stamps < high
    items = ratings[ITEM].to_numpy()
    rated = np.unique(items[inside])
    if len(rated) == 0:
        raise ConfigError(f"no ratings in {dataset.name}{_window(start, end)}")
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(rated, size=min(n_movies, len(rated)), replace=False))
    keep = inside & np.isin(items, chosen)
    users, counts = np.unique(ratings[USER].to_numpy()[keep], return_counts=True)
    keep &= np.isin(ratings[USER].to_numpy(), users[counts >= min_ratings])
    kept = ratings[keep].reset_index(drop=True)
    # A chosen movie whose raters all fell below min_ratings is left out of the catalogue too.
    movies = dataset.movies[dataset.movies[ITEM].isin(kept[ITEM].unique())].reset_index(drop=True)
    name = f"{dataset.name}-sample-{len(chosen)}movies-seed{seed}"
    dropped = int((inside & np.isin(items, chosen)).sum()) - len(kept)
    log.info("picked %d of %d movies; kept %s ratings of %d of them by %s users (dropped %s "
             "ratings by users with fewer than %d of them)", len(chosen), len(rated),
             f"{len(kept):,}", kept[ITEM].nunique(), f"{kept[USER].nunique():,}",
             f"{dropped:,}", min_ratings)  # fmt: skip
    report = CleaningReport(len(kept), {}, {}, [name])
    return Dataset(kept, movies, dataset.scale, report, name)


def write_sample(
    sampled: Dataset, source: Dataset, folder: str | Path, *, params: dict | None = None
) -> Path:
    """Write a sample so every tool reads it like the original, with a ``manifest.json`` of the
    parameters, the source's name, fingerprint and counts, and the sample's counts.

    Whole-star data is written in the Netflix (Kaggle) layout; half stars (MovieLens) cannot be
    written there, so such a sample keeps the MovieLens CSV layout, and the manifest says so.
    """
    from recsys.data.destination import clear_data_folder
    from recsys.data.movielens import write_movielens_csv
    from recsys.data.netflix import write_netflix
    from recsys.data.synthetic import dataset_counts

    whole = bool(np.all(np.mod(sampled.ratings["rating"].to_numpy(), 1) == 0))
    manifest = {
        "kind": "sample",
        "recsys_version": recsys.__version__,
        "format": "netflix" if whole else "movielens",
        "params": params or {},
        "source": {
            "name": source.name, "fingerprint": source.fingerprint, **dataset_counts(source)
        },
        "counts": dataset_counts(sampled),
        "fingerprint": sampled.fingerprint,
    }
    # Never write over a data set (e.g. the very folder sampled from); a sample may replace an
    # earlier sample or synthetic set, which carry a manifest.
    folder = clear_data_folder(folder, "the sample")
    if whole:
        return write_netflix(sampled, folder, manifest=manifest)
    write_movielens_csv(sampled, folder)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return folder
