"""Generic rating tables: CSV, TSV or Parquet with user, item, rating and optional timestamp
columns, named by the caller or found among the usual names."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pandas as pd

from recsys.data.cleaning import clean_ratings
from recsys.data.dataset import Dataset
from recsys.data.frames import catalogue_from_ratings
from recsys.data.schema import HALF_STARS, ITEM, RATING, TIMESTAMP, USER, RatingScale
from recsys.data.sources import Source, basename, hidden
from recsys.data.tables import parse_table, row_locator
from recsys.errors import DataFormatError

ALIASES = {
    USER: ["user_id", "userId", "user", "userid", "customer_id", "CustomerID", "uid"],
    ITEM: ["item_id", "movieId", "movie_id", "item", "itemid", "movie", "MovieID", "iid"],
    RATING: ["rating", "score", "stars", "Rating"],
    TIMESTAMP: ["timestamp", "time", "ts", "date", "datetime", "Date"],
}
TABLE_PATTERNS = ("*.csv", "*.tsv", "*.txt", "*.parquet", "*.pq")
NOTES = re.compile(
    r"(^|[-_ .])(readme|read[-_ ]me|licen[cs]e|notes?|changelog|changes|copying|citation|authors)"
    r"([-_ .]|$)"
)  # the base names of files that come with data and hold none (README.txt, LICENSE.txt)


@dataclass(frozen=True)
class Columns:
    """Which columns of a generic table hold what; None means "find it by its usual names"."""

    user: str | None = None
    item: str | None = None
    rating: str | None = None
    timestamp: str | None = None
    scale: RatingScale = HALF_STARS


def data_files(source: Source, names: list[str]) -> list[str]:
    """``names`` without hidden files (macOS ``__MACOSX/`` and ``._*`` forks, dot files and
    folders) and, unless nothing else is left, without notes such as README.txt. A source that
    is one file keeps it: it was asked for by name."""
    if source.kind in ("file", "gz"):
        return names
    shown = [n for n in names if not hidden(n)]
    data = [n for n in shown if not NOTES.search(basename(n).lower())]
    return data or shown


def rating_tables(source: Source) -> list[str]:
    """The members that may be a generic rating table (see `data_files`)."""
    return data_files(source, source.find(*TABLE_PATTERNS))


def read_generic(source: Source, strict: bool = False, columns: Columns = Columns()) -> Dataset:
    tables = rating_tables(source)
    if len(tables) != 1:
        found = ", ".join(source.names[:10]) or "nothing"
        raise DataFormatError(
            source.path,
            f"a generic source must hold exactly one rating table ({len(tables)} found: {found})",
        )
    name = tables[0]
    label = source.label(name)
    with source.open(name) as stream:
        data = stream.read()
    if not data.strip():
        raise DataFormatError(label, "is empty")
    skipped: list[int] = []
    if name.lower().endswith((".parquet", ".pq")):
        try:
            table = pd.read_parquet(io.BytesIO(data))
        except Exception as error:  # pyarrow raises many types for a broken file
            raise DataFormatError(label, f"is not a readable Parquet file ({error})") from error
        first_line = 1
    else:
        sep = "\t" if name.lower().endswith(".tsv") or b"\t" in data[:4096] else ","
        table, skipped = parse_table(data, label, strict=strict, sep=sep)
        first_line = 2
    raw = _pick_columns(table, columns, label)
    ratings_label = label
    ratings, report = clean_ratings(
        raw,
        columns.scale,
        source=ratings_label,
        locate=row_locator(ratings_label, first_line, skipped),
        integer_ids=None,
        malformed_lines=len(skipped),
        strict=strict,
    )
    movies = catalogue_from_ratings(ratings)
    return Dataset(ratings, movies, columns.scale, report, str(source.path))


def _pick_columns(table: pd.DataFrame, columns: Columns, label: str) -> pd.DataFrame:
    chosen = {}
    for canonical, given in [(USER, columns.user), (ITEM, columns.item),
                             (RATING, columns.rating), (TIMESTAMP, columns.timestamp)]:  # fmt: skip
        candidates = [given] if given else ALIASES[canonical]
        hit = next((c for c in candidates if c in table.columns), None)
        if hit is None and canonical != TIMESTAMP:
            raise DataFormatError(
                label,
                f"no {canonical} column (looked for {', '.join(candidates)}; "
                f"found {', '.join(map(str, table.columns))}); name it with a flag",
            )
        if hit is None and given:
            raise DataFormatError(label, f"no timestamp column {given!r}")
        if hit is not None:
            chosen[canonical] = table[hit]
    raw = pd.DataFrame(chosen)
    if TIMESTAMP in raw:
        raw[TIMESTAMP] = _as_seconds(raw[TIMESTAMP])
    return raw


def _as_seconds(values: pd.Series) -> pd.Series:
    """Numbers stay (seconds); dates and date-times become seconds since 1970 UTC. A column
    mostly of numbers is numbers: cleaning reports the values that are not (parsed as dates,
    the numbers among them would be lost too)."""
    if values.dtype.kind in "iuf":
        return values
    if values.dtype.kind != "M":
        numeric = pd.to_numeric(values, errors="coerce")
        if numeric.notna().sum() * 2 >= values.notna().sum():
            return values
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
    seconds = (parsed - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    # A date that does not parse stays visible to cleaning as a value it cannot read.
    return seconds.astype(object).where(parsed.notna() | values.isna(), "unparsable")
