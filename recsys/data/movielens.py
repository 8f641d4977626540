"""MovieLens releases: latest/small/20m/25m/32m (CSV), 100k (``u.data``/``u.item``) and
1m/10m (``ratings.dat``/``movies.dat``)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from recsys.data.cleaning import clean_ratings
from recsys.data.dataset import Dataset
from recsys.data.frames import movies_frame
from recsys.data.schema import HALF_STARS, ITEM, RATING, TIMESTAMP, USER, WHOLE_STARS, RatingScale
from recsys.data.sources import Source
from recsys.data.tables import parse_table, read_table, row_locator
from recsys.errors import ConfigError, DataFormatError

YEAR_IN_TITLE = r"\((\d{4})(?:\s*[–-]\s*\d{4})?\)\s*$"
ML100K_GENRES = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
]  # fmt: skip

log = logging.getLogger(__name__)


def year_from_title(titles: pd.Series) -> pd.Series:
    """The trailing "(YYYY)" of a MovieLens title (the first year of a "(YYYY–YYYY)" range)."""
    return titles.astype("object").str.extract(YEAR_IN_TITLE, expand=False)


def split_genres(genres: pd.Series) -> list[list[str]]:
    """"A|B" as ["A", "B"]; "(no genres listed)" and empty as []."""
    text = genres.astype("object").fillna("").to_numpy()
    return [[] if g in ("", "(no genres listed)") else g.split("|") for g in text]


def _finish(source, ratings_name, raw, skipped, first_line, movies, scale, strict) -> Dataset:
    label = source.label(ratings_name)
    ratings, report = clean_ratings(
        raw,
        scale,
        source=label,
        locate=row_locator(label, first_line, skipped),
        known_items=movies[ITEM].to_numpy(),
        malformed_lines=len(skipped),
        strict=strict,
    )
    return Dataset(ratings, movies, scale, report, name=str(source.path))


def read_movielens_csv(source: Source, strict: bool = False) -> Dataset:
    """ml-latest, ml-latest-small, ml-20m, ml-25m, ml-32m: ratings.csv + movies.csv."""
    ratings_name = source.find_one("ratings.csv")
    movies_name = source.find_one("movies.csv")
    if ratings_name is None or movies_name is None:
        raise DataFormatError(
            source.path, "a MovieLens CSV release needs ratings.csv and movies.csv"
        )
    source.together(ratings_name, movies_name)
    movie_table, _ = read_table(
        source, movies_name, strict=strict, expect=["movieId", "title", "genres"],
        encoding="utf-8", dtype={"title": "object", "genres": "object"},
    )  # fmt: skip
    movies = _catalogue(source.label(movies_name), movie_table, movie_table["title"],
                        year_from_title(movie_table["title"]), split_genres(movie_table["genres"]))
    raw, skipped = read_table(
        source, ratings_name, strict=strict, expect=["userId", "movieId", "rating", "timestamp"]
    )
    raw = raw.rename(columns={"userId": USER, "movieId": ITEM})
    return _finish(source, ratings_name, raw, skipped, 2, movies, HALF_STARS, strict)


def read_ml100k(source: Source, strict: bool = False) -> Dataset:
    """ml-100k: tab-separated u.data, pipe-separated latin-1 u.item with 19 genre flags."""
    data_name = source.find_one("u.data")
    item_name = source.find_one("u.item")
    if data_name is None or item_name is None:
        raise DataFormatError(source.path, "MovieLens 100k needs u.data and u.item")
    source.together(data_name, item_name)
    columns = ["id", "title", "release", "video", "url", *ML100K_GENRES]
    items, _ = read_table(source, item_name, strict=strict, sep="|", header=None,
                          names=columns, encoding="latin-1", dtype={"title": "object"})
    flags = items[ML100K_GENRES].fillna(0).to_numpy(dtype=bool)
    genres = [[g for g, on in zip(ML100K_GENRES[1:], row[1:], strict=True) if on] for row in flags]
    released = pd.to_datetime(items["release"], format="%d-%b-%Y", errors="coerce").dt.year
    year = released.fillna(pd.to_numeric(year_from_title(items["title"]), errors="coerce"))
    movies = _catalogue(source.label(item_name), items.rename(columns={"id": "movieId"}),
                        items["title"], year, genres)
    raw, skipped = read_table(source, data_name, strict=strict, sep="\t", header=None,
                              names=[USER, ITEM, RATING, TIMESTAMP])
    return _finish(source, data_name, raw, skipped, 1, movies, WHOLE_STARS, strict)


def read_ml_dat(source: Source, strict: bool = False) -> Dataset:
    """ml-1m (latin-1) and ml-10m (UTF-8): "::"-separated ratings.dat and movies.dat."""
    ratings_name = source.find_one("ratings.dat")
    movies_name = source.find_one("movies.dat")
    if ratings_name is None or movies_name is None:
        raise DataFormatError(source.path, "MovieLens 1m/10m needs ratings.dat and movies.dat")
    source.together(ratings_name, movies_name)
    movie_bytes = _read_dat(source, movies_name)
    encoding = "utf-8"
    try:
        movie_bytes.decode("utf-8")
    except UnicodeDecodeError:
        encoding = "latin-1"  # ml-1m
    movie_table, _ = parse_table(movie_bytes, source.label(movies_name), strict=strict, sep="\t",
                                 header=None, names=["movieId", "title", "genres"],
                                 encoding=encoding, quoting=3, dtype={"title": "object"})
    movies = _catalogue(source.label(movies_name), movie_table, movie_table["title"],
                        year_from_title(movie_table["title"]), split_genres(movie_table["genres"]))
    raw, skipped = parse_table(_read_dat(source, ratings_name), source.label(ratings_name),
                               strict=strict, sep="\t", header=None,
                               names=[USER, ITEM, RATING, TIMESTAMP])
    scale = _scale_of(raw[RATING], default=WHOLE_STARS)
    return _finish(source, ratings_name, raw, skipped, 1, movies, scale, strict)


def _read_dat(source: Source, name: str) -> bytes:
    """A .dat file with its "::" separators turned into tabs (titles hold single colons)."""
    with source.open(name) as stream:
        data = stream.read()
    if not data.strip():
        raise DataFormatError(source.label(name), "is empty")
    if b"::" not in data[:4096]:
        raise DataFormatError(source.label(name), 'is not "::"-separated MovieLens .dat data')
    return data.replace(b"::", b"\t")


def _scale_of(ratings: pd.Series, default: RatingScale) -> RatingScale:
    """ml-10m rates in half stars, ml-1m in whole stars: tell them apart by the values."""
    values = pd.to_numeric(ratings, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    on_half = np.isfinite(values) & (values % 1 == 0.5) & (values > 0) & (values < 5)
    return HALF_STARS if on_half.any() else default


def _catalogue(label: str, table: pd.DataFrame, titles, years, genres) -> pd.DataFrame:
    ids = pd.to_numeric(table["movieId"], errors="coerce")
    bad = ids.isna() | (ids != ids.round())
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        raise DataFormatError(label, f"movie id {table['movieId'].iloc[row]!r} is not a number")
    first = ~ids.duplicated().to_numpy()
    if not first.all():
        log.warning("%s: %d repeated movie ids, each kept once (its first row)", label,
                    int((~first).sum()))  # fmt: skip
    return movies_frame(ids.to_numpy(dtype=np.int64)[first], np.asarray(titles, object)[first],
                        np.asarray(years, object)[first],
                        [g for g, keep in zip(genres, first, strict=True) if keep])  # fmt: skip


def write_movielens_csv(dataset: Dataset, folder: str | Path) -> Path:
    """Write ratings.csv and movies.csv in the MovieLens latest layout: headers, titles as
    "Title (YYYY)" quoted when they hold commas, genres "A|B" or "(no genres listed)"."""
    import pyarrow as pa  # imported here: only writing needs it
    from pyarrow import csv

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    r, m = dataset.ratings, dataset.movies
    for column in (USER, ITEM):
        if r[column].dtype.kind not in "iu" or m[ITEM].dtype.kind not in "iu":
            raise ConfigError("the MovieLens layout needs integer user and movie ids")
    # Ratings as MovieLens writes them ("4.0", "3.5"): format each distinct value once.
    codes, values = pd.factorize(r[RATING].to_numpy())
    text = pa.array([repr(round(float(v), 6)) for v in values], pa.string())
    rating = pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), text).cast(pa.string())
    table = pa.table({"userId": r[USER].to_numpy(), "movieId": r[ITEM].to_numpy(),
                      "rating": rating, "timestamp": r[TIMESTAMP].to_numpy()})  # fmt: skip
    with open(folder / "ratings.csv", "wb") as stream:
        stream.write(b"userId,movieId,rating,timestamp\n")
        csv.write_csv(table, stream, csv.WriteOptions(include_header=False,
                                                      quoting_style="needed"))  # fmt: skip
    titles = m["title"].astype("object").fillna("").astype(str).to_numpy()
    years = m["year"].to_numpy(dtype=np.float64, na_value=np.nan)
    dated = pd.Series(titles).str.extract(YEAR_IN_TITLE)[0].notna().to_numpy()
    titles = [t if dated[k] or np.isnan(years[k]) else f"{t} ({int(years[k])})".lstrip()
              for k, t in enumerate(titles)]  # fmt: skip
    genres = ["|".join(g) if len(g) else "(no genres listed)" for g in m["genres"]]
    movies = pd.DataFrame({"movieId": m[ITEM].to_numpy(), "title": titles, "genres": genres})
    movies.to_csv(folder / "movies.csv", index=False, encoding="utf-8", lineterminator="\n")
    return folder
