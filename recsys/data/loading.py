"""`load`: one entry point for every source. Detects the format from the files present, cleans,
logs a one-line report, and caches the prepared data set so a second load is near-instant."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

import recsys
from recsys.data.cleaning import CleaningReport
from recsys.data.dataset import Dataset
from recsys.data.frames import movies_frame, ratings_frame
from recsys.data.generic import Columns, data_files, rating_tables, read_generic
from recsys.data.movielens import read_ml100k, read_ml_dat, read_movielens_csv
from recsys.data.netflix import read_netflix
from recsys.data.schema import ITEM, MOVIE_COLUMNS, RATING_COLUMNS, RatingScale
from recsys.data.sources import Source
from recsys.errors import ConfigError, DataFormatError

log = logging.getLogger(__name__)

FORMATS: dict[str, Callable[..., Dataset]] = {
    "movielens": read_movielens_csv,
    "ml-100k": read_ml100k,
    "ml-dat": read_ml_dat,
    "netflix": read_netflix,
    "generic": read_generic,
}
CLEANING = 2  # part of the cache key: raise it when cleaning keeps other rows than it did
NETFLIX_FILES = ("combined_data_*.txt", "mv_*.txt", "training_set.tar", "movie_titles.*")


def detect_format(source: Source) -> str:
    """The format a source is in, from the names of the files it holds."""
    tables = rating_tables(source)
    if source.find("ratings.csv"):
        # A lone ratings.csv (no movies.csv beside it) is read as a generic table.
        return "generic" if len(tables) == 1 else "movielens"
    if source.find("u.data"):
        return "ml-100k"
    if source.find("ratings.dat"):
        return "ml-dat"
    if source.find(*NETFLIX_FILES):
        return "netflix"
    files = data_files(source, source.names)
    if len(files) == 1 and _looks_like_netflix(source, files[0]):
        return "netflix"
    if len(tables) == 1:
        return "generic"
    listed = ", ".join(source.names[:8]) + (" …" if len(source.names) > 8 else "")
    raise DataFormatError(
        source.path,
        "holds no rating files recsys knows (MovieLens ratings.csv/u.data/ratings.dat, Netflix "
        f"combined_data_*.txt or training_set/mv_*.txt, or one CSV/TSV/Parquet table); "
        f"found: {listed}",
    )


def _looks_like_netflix(source: Source, name: str) -> bool:
    with source.open(name) as stream:
        first = stream.readline(64).strip()
    return first.endswith(b":") and first[:-1].isdigit()


def load(
    path: str | Path,
    *,
    format: str = "auto",
    strict: bool = False,
    cache: bool = True,
    columns: Columns | None = None,
) -> Dataset:
    """Load ratings and the catalogue from a folder, an archive or a file, in canonical form.

    ``format`` is one of `FORMATS` or "auto". ``strict`` stops at the first bad row. ``columns``
    (names and a rating scale) make the source a generic table, as ``--columns``/``--scale``
    do. With ``cache`` the cleaned data set is kept as ``.npz`` in the cache folder
    (`cache_dir`), keyed by the source files' names, sizes and modification times, so a second
    load reads that.
    """
    path = Path(path)
    if columns is not None and format not in ("auto", "generic"):
        raise ConfigError(f"columns apply to a generic table; format {format!r} has its own")
    source = Source(path)
    if format == "auto":
        fmt = "generic" if columns is not None else detect_format(source)
    else:
        fmt = format
    if fmt not in FORMATS:
        raise DataFormatError(path, f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    cache_file = cache_dir() / f"{path.name}-{_cache_key(path, fmt, strict, columns)}.npz"
    if cache and not strict and cache_file.exists():
        try:
            dataset = dataclasses.replace(read_cache(cache_file), name=str(path))
            log.log(_level(dataset), "%s (from cache %s)", dataset.report.summary(), cache_file)
            return dataset
        except (OSError, ValueError, KeyError) as error:
            log.warning("ignoring unreadable cache %s: %s", cache_file, error)
    if fmt == "generic" and columns is not None:
        dataset = read_generic(source, strict, columns)
    else:
        dataset = FORMATS[fmt](source, strict)
    log.log(_level(dataset), "%s", dataset.report.summary())
    if cache and not strict:
        try:
            write_cache(dataset, cache_file)
        except OSError as error:
            log.warning("could not write the cache %s: %s", cache_file, error)
    return dataset


def _level(dataset: Dataset) -> int:
    """Rows dropped are said even to a user who asked for warnings only (``recsys -q``)."""
    return logging.WARNING if dataset.report.dropped else logging.INFO


def cache_dir() -> Path:
    """Where prepared data sets are cached: $RECSYS_CACHE_DIR, else ~/.cache/recsys."""
    return Path(os.environ.get("RECSYS_CACHE_DIR") or Path.home() / ".cache" / "recsys")


def _cache_key(path: Path, fmt: str, strict: bool, columns: Columns | None) -> str:
    files = sorted(path.rglob("*")) if path.is_dir() else [path]
    digest = hashlib.blake2b(digest_size=8)
    digest.update(f"{recsys.__version__}|{CLEANING}|{fmt}|{strict}|{columns}".encode())
    for f in files:
        if f.is_file():
            st = f.stat()
            digest.update(f"{f.relative_to(path) if path.is_dir() else f.name}|{st.st_size}|"
                          f"{st.st_mtime_ns}".encode())  # fmt: skip
    return digest.hexdigest()


def write_cache(dataset: Dataset, file: Path) -> None:
    """Save a data set as one uncompressed ``.npz`` of plain arrays (no pickles)."""
    file.parent.mkdir(parents=True, exist_ok=True)
    r, m = dataset.ratings, dataset.movies
    year = m["year"].to_numpy(dtype=np.float64, na_value=np.nan)
    meta = {
        "name": dataset.name,
        "scale": dataset.scale.to_dict(),
        "report": dataset.report.to_dict(),
    }
    arrays = {f"ratings_{c}": _plain(r[c].to_numpy()) for c in RATING_COLUMNS}
    arrays |= {
        "movies_item_id": _plain(m[ITEM].to_numpy()),
        "movies_title": np.asarray(m["title"].fillna("").astype(str).to_numpy(), dtype=np.str_),
        "movies_has_title": m["title"].notna().to_numpy(),
        "movies_year": np.where(np.isnan(year), -1, year).astype(np.int32),
        "movies_genres": np.asarray(["|".join(g) for g in m["genres"]], dtype=np.str_),
        "meta": np.asarray(json.dumps(meta)),
    }
    tmp = file.with_name(file.name + f".{os.getpid()}.tmp")
    with open(tmp, "wb") as out:
        np.savez(out, **arrays)
    tmp.replace(file)


def read_cache(file: Path) -> Dataset:
    with np.load(file, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        ratings = ratings_frame(*(_ids(z[f"ratings_{c}"]) for c in RATING_COLUMNS))
        year = z["movies_year"]
        title = z["movies_title"].astype(object)
        title[~z["movies_has_title"]] = None
        genres = [g.split("|") if g else [] for g in z["movies_genres"].tolist()]
        movies = movies_frame(
            _ids(z["movies_item_id"]), title, np.where(year < 0, np.nan, year), genres
        )
    report = meta["report"]
    return Dataset(
        ratings,
        movies[MOVIE_COLUMNS],
        RatingScale(**meta["scale"]),
        CleaningReport(report["rows_read"], report["dropped"], report["problems"], report["files"]),
        meta["name"],
    )


def _plain(values: np.ndarray) -> np.ndarray:
    """String ids are stored as fixed-width unicode so loading needs no pickle."""
    return values.astype(np.str_) if values.dtype == object else values


def _ids(values: np.ndarray) -> np.ndarray:
    return values.astype(object) if values.dtype.kind == "U" else values


def load_or_demo(path: str | Path | None, **options) -> Dataset:
    """`load` a data set, or the built-in synthetic demo for None or "demo"."""
    if path is None or str(path) == "demo":
        from recsys.data.synthetic import demo_dataset

        return demo_dataset()
    return load(path, **options)
