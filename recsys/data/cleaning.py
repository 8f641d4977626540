"""Cleaning raw rows into canonical ratings, and the report of what was dropped and why.

Every row a loader reads is either kept or dropped for exactly one reason, its primary one (the
first in `REASONS` that applies), so ``rows_read == rows_kept + sum(dropped)``. Separately,
`problems` counts every fault seen, a row may show several, and `also` the faults of dropped
rows beyond their primary reason (the dirty MovieLens copy's 1,804 rows without a user id are
dropped for that; 568 of them are also off the scale, 693 also repeat a pair). The summary says
"dropped 1,804 (missing id 1,804; of these also off scale 568, duplicate 693)". Strict mode
raises at the first bad row instead.

Memory stays close to the size of the columns themselves: typed columns pass through without
copies, faults are folded into one byte per row, and duplicates are found in O(n) without sorting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recsys.data.frames import ratings_frame
from recsys.data.schema import ITEM, RATING, TIMESTAMP, USER, RatingScale, blockwise
from recsys.errors import BadRowError

log = logging.getLogger(__name__)

REASONS = {
    "malformed_line": "line with the wrong number of fields",
    "missing_id": "missing user or movie id",
    "unparsable": "value that is not a number (or an id that is not a whole number)",
    "missing_value": "missing rating or timestamp",
    "off_scale": "rating off the scale",
    "time_off_range": "timestamp outside 1900-01-01 to 2200-01-01 (seconds since 1970, UTC)",
    "unknown_item": "movie absent from the catalogue",
    "duplicate": "(user, movie) pair rated again; the latest rating is kept",
}


@dataclass
class CleaningReport:
    """Rows read, kept, and dropped per reason; `problems` counts every fault found."""

    rows_read: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    problems: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    @property
    def rows_dropped(self) -> int:
        return sum(self.dropped.values())

    @property
    def rows_kept(self) -> int:
        return self.rows_read - self.rows_dropped

    @property
    def also(self) -> dict[str, int]:
        """Faults of dropped rows counted under another, earlier reason (every faulty row is
        dropped, so that is each fault's count less the rows it is the primary reason of)."""
        return {k: v - self.dropped.get(k, 0) for k, v in self.problems.items()
                if v > self.dropped.get(k, 0)}  # fmt: skip

    def merge(self, other: CleaningReport) -> CleaningReport:
        def add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
            return {k: a.get(k, 0) + b.get(k, 0) for k in REASONS if a.get(k, 0) + b.get(k, 0)}

        return CleaningReport(
            self.rows_read + other.rows_read,
            add(self.dropped, other.dropped),
            add(self.problems, other.problems),
            self.files + other.files,
        )

    def summary(self) -> str:
        """One line: what was read, kept and dropped."""
        where = ", ".join(self.files) if len(self.files) <= 3 else f"{len(self.files)} files"
        text = f"{where}: read {self.rows_read:,} rows, kept {self.rows_kept:,}"
        if self.dropped:
            also = f"; of these also {_counts(self.also)}" if self.also else ""
            text += f", dropped {self.rows_dropped:,} ({_counts(self.dropped)}{also})"
        return text

    def to_dict(self) -> dict:
        return {
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "dropped": dict(self.dropped),
            "problems": dict(self.problems),
            "also": self.also,
            "files": list(self.files),
        }

    @classmethod
    def from_dict(cls, d: dict) -> CleaningReport:
        return cls(d["rows_read"], dict(d["dropped"]), dict(d["problems"]), list(d["files"]))


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in counts.items())


def _shown(value: object) -> str:
    """A raw value for an error message: "missing", or as the file had it."""
    if value is None or (isinstance(value, float | np.floating) and np.isnan(value)):
        return "missing"
    return repr(value.item() if isinstance(value, np.generic) else value)


INT64_MAX = np.iinfo(np.int64).max
EXACT_FLOAT = 2**53  # float64 holds every whole number below this, and not all beyond it
TIMES = (-2_208_988_800, 7_258_118_400)  # 1900-01-01 and 2200-01-01 in seconds since 1970, UTC
"""The timestamps a rating may have: the range covers every real data set, and leaves out
epoch milliseconds (years beyond 9999) and other values that are not seconds."""

Locate = Callable[[int], tuple[str, int]]
"""Maps a raw row number to (file, line); called only to name a bad row in strict mode."""


def as_ids(values, integer: bool | None = True):
    """Parse an id column: (ids, missing mask or None, unparsable mask or None).

    ``integer=True`` demands whole numbers that fit int64 (MovieLens, Netflix; "1.0" is read
    as 1); ``None`` keeps string ids, exactly as written, when any id is not such a number
    (generic files). An id that reached us as a float beyond 2**53 has lost digits already, so
    it is unparsable either way: two ids are never merged into one. NumPy integer columns pass
    through without a copy.
    """
    series = pd.Series(values, copy=False)
    if _fits_int64(series.dtype):
        return series.to_numpy(), None, None
    missing = series.isna().to_numpy()
    ids, whole, lost = _whole_ids(series, missing)
    unparsable = ~missing & ~whole
    if integer is None and (unparsable & ~lost if lost is not None else unparsable).any():
        text = series.astype("object").to_numpy()
        pairs = zip(text, missing, strict=True)
        strings = np.array([None if m else str(v).strip() for v, m in pairs], object)
        return strings, missing, lost
    return ids, missing, unparsable


def _fits_int64(dtype) -> bool:
    """A NumPy integer type whose every value fits int64 (not uint64, not a nullable one)."""
    return isinstance(dtype, np.dtype) and (dtype.kind == "i" or
                                            (dtype.kind == "u" and dtype.itemsize < 8))  # fmt: skip


def _whole_ids(series: pd.Series, missing: np.ndarray):
    """(int64 ids, 0 where there is none; mask of the values that are whole numbers within
    int64; mask of floats whose digits beyond 2**53 are lost, or None)."""
    if series.dtype.kind in "iu":  # uint64, or nullable Int*/UInt* with gaps
        unsigned = series.dtype.kind == "u"
        wide = series.to_numpy(dtype=np.uint64 if unsigned else np.int64, na_value=0)
        whole = ~missing & (wide <= INT64_MAX) if unsigned else ~missing
        return np.where(whole, wide, 0).astype(np.int64), whole, None
    numbers = pd.to_numeric(series, errors="coerce")
    if numbers.dtype.kind in "iu":  # text that is all whole numbers
        return _whole_ids(numbers, missing)
    numbers = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    whole = np.isfinite(numbers) & (numbers == np.round(numbers))
    large = whole & (np.abs(numbers) >= EXACT_FLOAT)
    ids = np.where(whole & ~large, numbers, 0).astype(np.int64)
    whole &= ~large
    if series.dtype.kind == "f":
        return ids, whole, large if large.any() else None
    text = series.to_numpy()
    for row in np.flatnonzero(large):  # few: written as text, read again digit for digit
        try:
            ids[row] = int(str(text[row]).strip())
            whole[row] = True
        except (ValueError, OverflowError):  # not an integer literal, or beyond int64
            pass
    return ids, whole, None


def as_numbers(values):
    """Parse a numeric column: (values, missing mask or None, unparsable mask or None);
    infinities are unparsable."""
    series = pd.Series(values, copy=False)
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iu":
        return series.to_numpy(), None, None
    if series.dtype.kind in "iuf":  # floats, or nullable numbers with gaps
        array = series.to_numpy(
            dtype=None if isinstance(series.dtype, np.dtype) else np.float64, na_value=np.nan
        )
        missing, infinite = np.isnan(array), np.isinf(array)
        return array, (missing if missing.any() else None), (infinite if infinite.any() else None)
    missing = series.isna().to_numpy()
    numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return numbers, missing, ~missing & ~np.isfinite(numbers)


def as_seconds(timestamp: np.ndarray, unreadable: np.ndarray | None):
    """Timestamps as int64 seconds (0 where not a usable time) and the mask of the readable
    ones outside `TIMES`, which no rating data holds (milliseconds, say)."""
    inside = blockwise(timestamp, _in_times)
    off = ~inside if unreadable is None else ~inside & ~unreadable
    if timestamp.dtype != np.int64:
        timestamp = np.where(inside, timestamp, 0).astype(np.int64)
    return timestamp, off


def _in_times(seconds: np.ndarray) -> np.ndarray:
    return (seconds >= TIMES[0]) & (seconds < TIMES[1])


def _milliseconds(times: np.ndarray) -> np.ndarray:
    """Mask of the times beyond the range that would be in it as milliseconds."""
    return (times >= TIMES[1]) & _in_times(times / 1000)


def _off_time_hint(timestamp) -> str:
    """What a timestamp off the range looks like, for the message that names its row."""
    if _milliseconds(np.asarray(timestamp)):
        return "; it looks like milliseconds, and recsys reads seconds"
    return ""


def _warn_of_milliseconds(times: np.ndarray, off: np.ndarray | None, source: str) -> None:
    """Log the dropped timestamps that look like milliseconds: a likely mistake to fix."""
    if off is None or not off.any():
        return
    in_milliseconds = int(np.count_nonzero(_milliseconds(times[off])))
    if in_milliseconds:
        log.warning("%s: %d timestamp(s) look like milliseconds since 1970; recsys reads "
                    "seconds, so their rows are dropped", source, in_milliseconds)  # fmt: skip


def _either(*masks: np.ndarray | None) -> np.ndarray | None:
    present = [m for m in masks if m is not None]
    return np.logical_or.reduce(present) if present else None


def clean_ratings(
    raw: Mapping[str, object],
    scale: RatingScale,
    *,
    source: str,
    locate: Locate,
    known_items: np.ndarray | None = None,
    integer_ids: bool | None = True,
    malformed_lines: int = 0,
    strict: bool = False,
) -> tuple[pd.DataFrame, CleaningReport]:
    """Turn raw columns into canonical ratings, in file order, and report what was dropped.

    ``raw`` maps the canonical column names to columns as read (numbers, strings or NaN; without
    a timestamp column every timestamp is 0). ``malformed_lines`` counts lines the reader
    already skipped. Rows are charged to the first reason in `REASONS` that applies.
    """
    n = len(raw[USER])
    user, user_missing, user_bad = as_ids(raw[USER], integer_ids)
    item, item_missing, item_bad = as_ids(raw[ITEM], integer_ids)
    rating, rating_missing, rating_bad = as_numbers(raw[RATING])
    if TIMESTAMP in raw:
        times, ts_missing, ts_bad = as_numbers(raw[TIMESTAMP])
        if times.dtype.kind == "f":
            fractional = np.isfinite(times) & (times != np.round(times))
            ts_bad = _either(ts_bad, fractional if fractional.any() else None)
        timestamp, off_time = as_seconds(times, _either(ts_missing, ts_bad))
        _warn_of_milliseconds(times, off_time, source)
    else:
        timestamp, ts_missing, ts_bad, off_time = np.zeros(n, np.int64), None, None, None
        times = timestamp

    id_missing = _either(user_missing, item_missing)
    id_bad = _either(user_bad, item_bad)
    faults: dict[str, np.ndarray | None] = {
        "missing_id": id_missing,
        "unparsable": _either(id_bad, rating_bad, ts_bad),
        "missing_value": _either(rating_missing, ts_missing),
    }
    off = ~scale.contains(rating)
    rating_unreadable = _either(rating_missing, rating_bad)
    faults["off_scale"] = off & ~rating_unreadable if rating_unreadable is not None else off
    faults["time_off_range"] = off_time
    if known_items is not None:
        unknown = ~blockwise(item, lambda part: np.isin(part, known_items))
        item_unreadable = _either(item_missing, item_bad)
        readable = ~item_unreadable if item_unreadable is not None else True
        faults["unknown_item"] = unknown & readable

    # One byte per row: 0 kept, k the first reason (in REASONS order) that drops it.
    codes = list(REASONS)
    reason = np.zeros(n, np.uint8)
    problems = {"malformed_line": malformed_lines} if malformed_lines else {}
    for name, mask in faults.items():
        if mask is not None and mask.any():
            problems[name] = int(mask.sum())
            reason[mask & (reason == 0)] = codes.index(name)
    ok = reason == 0
    if ok.all():  # no subset copies of the columns (100 M ratings: 2 GB saved)
        duplicate = superseded_pairs(user, item, timestamp)
    else:
        duplicate = np.zeros(n, bool)
        duplicate[ok] = superseded_pairs(user[ok], item[ok], timestamp[ok])
    reason[duplicate] = codes.index("duplicate")
    # A pair repeated anywhere in the file is a problem even when its rows fail for other
    # reasons too (the dirty MovieLens copy repeats pairs only among rows without a user id);
    # ids that cannot be read are no evidence of a repeat (a float may have lost digits).
    if ok.all():
        repeats = int(duplicate.sum())
    elif id_missing is None and id_bad is None:
        repeats = int(superseded_pairs(user, item, timestamp).sum())
    else:
        pairs = pd.DataFrame({USER: raw[USER], ITEM: raw[ITEM]})
        repeats = int((pairs if id_bad is None else pairs[~id_bad]).duplicated().sum())
    if repeats:
        problems["duplicate"] = repeats

    if strict and reason.any():
        row = int(np.argmax(reason != 0))
        path, line = locate(row)
        values = ", ".join(f"{k}={_shown(pd.Series(raw[k], copy=False).iloc[row])}" for k in raw)
        hint = _off_time_hint(times[row]) if codes[reason[row]] == "time_off_range" else ""
        raise BadRowError(path, line, f"{REASONS[codes[reason[row]]]}{hint} ({values})")

    counts = [n - int(np.count_nonzero(reason))]  # (bincount would copy reason into intp)
    counts += [int(np.count_nonzero(reason == k)) if counts[0] < n else 0
               for k in range(1, len(codes))]  # fmt: skip
    dropped = {"malformed_line": malformed_lines} if malformed_lines else {}
    dropped |= {codes[k]: int(counts[k]) for k in range(1, len(codes)) if counts[k]}
    report = CleaningReport(n + malformed_lines, dropped, problems, [source])
    if counts[0] == n:  # nothing dropped: no copies
        return ratings_frame(user, item, rating, timestamp), report
    keep = reason == 0
    return ratings_frame(user[keep], item[keep], rating[keep], timestamp[keep]), report


def superseded_pairs(user: np.ndarray, item: np.ndarray, timestamp: np.ndarray) -> np.ndarray:
    """Mask of rows whose (user, item) pair has a later row: the latest timestamp wins, and on
    equal timestamps the last row in the file. O(n), no sort when rows come grouped by user or
    by item (MovieLens files come by user, Netflix files by movie)."""
    if len(user) < 2:
        return np.zeros(len(user), bool)
    from recsys.data._superseded import superseded  # numba: imported only when needed

    user, item = _codes(user), _codes(item)
    common = np.result_type(user, item)  # one integer type for the kernel's two branches
    return superseded(
        user.astype(common, copy=False),
        item.astype(common, copy=False),
        np.asarray(timestamp, dtype=np.int64),
    )


def _codes(ids: np.ndarray) -> np.ndarray:
    """Non-negative integer codes: the ids themselves when they are small enough, else ranks."""
    if ids.dtype.kind in "iu" and ids.min() >= 0 and ids.max() <= 8 * len(ids) + (1 << 22):
        return ids
    return pd.factorize(ids)[0]
