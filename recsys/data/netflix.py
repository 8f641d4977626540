"""Netflix Prize files: the ratings (Kaggle ``combined_data_*.txt`` or the original per-movie
``training_set/mv_*.txt``), ``movie_titles``, ``probe.txt`` and ``qualifying.txt``, and a writer
of the Kaggle layout for samples and synthetic data.

Every ratings file is a run of ``MovieID:`` headers, each followed by lines of one shape
(``CustomerID,Rating,YYYY-MM-DD`` in the training set, ``CustomerID`` in the probe set,
``CustomerID,YYYY-MM-DD`` in the qualifying set). One compiled kernel reads all three shapes
from fixed-size chunks straight into typed columns, so 100 M ratings cost their 2 GB of columns
and no Python object per line.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import re
import tarfile
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numba
import numpy as np
import pandas as pd

from recsys.data.cleaning import clean_ratings
from recsys.data.dataset import Dataset
from recsys.data.frames import catalogue_from_ratings, movies_frame
from recsys.data.schema import DAY, ITEM, RATING, TIMESTAMP, USER, WHOLE_STARS
from recsys.data.sources import CORRUPT, Source, basename
from recsys.errors import BadRowError, ConfigError, DataFormatError
from recsys.progress import advance, finished

log = logging.getLogger(__name__)

RATING_FILES = ("combined_data_*.txt", "mv_*.txt")
TITLE_FILES = ("movie_titles.txt", "movie_titles.csv")
TRAINING_TAR = "training_set.tar"
READING = "reading Netflix files (bytes)"  # a progress step
CHUNK_BYTES = 32 << 20  # read size: big enough to amortise calls, small beside 100 M ratings
MAX_LINE = 1 << 16  # a longer line means the file is not Netflix data

# Line shapes under a "MovieID:" header, and the shortest line of each shape with its newline
# (the bound that sizes the output columns before a chunk is parsed).
RATINGS, PROBE, QUALIFYING = 0, 1, 2
_SHORTEST_LINE = {RATINGS: len("1,1,2000-01-01\n"), PROBE: len("1\n"),
                  QUALIFYING: len("1,2000-01-01\n")}  # fmt: skip
_SHAPE_TEXT = {RATINGS: "CustomerID,Rating,YYYY-MM-DD", PROBE: "CustomerID",
               QUALIFYING: "CustomerID,YYYY-MM-DD"}  # fmt: skip

# Why the kernel skipped a line (all are counted as "malformed_line" in the cleaning report).
_WRONG_FIELDS, _NOT_A_NUMBER, _BAD_DATE, _NO_HEADER, _BAD_HEADER = 1, 2, 3, 4, 5
MALFORMED = {
    _WRONG_FIELDS: "wrong number of fields",
    _NOT_A_NUMBER: "a field that is not a whole number",
    _BAD_DATE: "a date that is not a valid YYYY-MM-DD",
    _NO_HEADER: "a line before any valid MovieID: header",
    _BAD_HEADER: "a MovieID: header that is not a whole number",
}

# Slots of the kernel's state vector, carried from chunk to chunk and file to file.
(_MOVIE, _ROWS, _LINE, _CONTENT, _MALFORMED, _STOP, _BAD_LINE, _BAD_KIND, _BAD_START,
 _BAD_END, _BAD_ROW, _TARGET, _TARGET_LINE, _FULL) = range(14)  # fmt: skip
_STATE_SIZE = 14
_NO_DAY = -(1 << 40)


# -- the kernel -------------------------------------------------------------------------------
@numba.njit(cache=True)
def days_from_civil(year, month, day):
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's formula)."""
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


@numba.njit(cache=True, nogil=True)
def _digits(buf, start, end):
    """The digits buf[start:end] as a number, or -1 if any is not a digit."""
    value = 0
    for p in range(start, end):
        digit = np.int64(buf[p]) - 48
        if digit < 0 or digit > 9:
            return -1
        value = value * 10 + digit
    return value


@numba.njit(cache=True, nogil=True)
def _whole_number(buf, start, end):
    """The digits buf[start:end] as an int32-sized number, or -1."""
    if end <= start or end - start > 10:
        return -1
    value = _digits(buf, start, end)
    return value if value < 2**31 else -1


@numba.njit(cache=True, nogil=True)
def _date(buf, start, end):
    """A YYYY-MM-DD date in buf[start:end] as days since 1970-01-01, or _NO_DAY."""
    if end - start != 10 or buf[start + 4] != 45 or buf[start + 7] != 45:
        return _NO_DAY
    year = _digits(buf, start, start + 4)
    month = _digits(buf, start + 5, start + 7)
    day = _digits(buf, start + 8, start + 10)
    if year < 0 or month < 1 or month > 12 or day < 1:
        return _NO_DAY
    if month == 2:
        leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
        month_days = 29 if leap else 28
    else:
        month_days = 30 + (month + month // 8) % 2
    if day > month_days:
        return _NO_DAY
    return days_from_civil(year, month, day)


@numba.njit(cache=True, nogil=True)
def _parse_lines(buf, pos, length, final, shape, state, user, item, rating, stamp):
    """Parse the lines of buf[pos:length] into the columns; return where parsing stopped.

    A last line without a newline is parsed only when ``final`` (else it is carried over to the
    next chunk). With state[_TARGET] >= 0 nothing is written: the kernel only finds the line of
    that row (to name a bad row). It stops early when the columns are full, or at the first
    malformed line when state[_STOP] is set.
    """
    n_fields = 3 if shape == RATINGS else (1 if shape == PROBE else 2)
    date_field = -1 if shape == PROBE else n_fields - 1
    rows, movie, line = state[_ROWS], state[_MOVIE], state[_LINE]
    target = state[_TARGET]
    capacity = len(user)
    while pos < length:
        end = pos
        while end < length and buf[end] != 10:
            end += 1
        if end == length and not final:
            break  # a partial line: the caller carries it over
        if target < 0 and rows >= capacity:
            state[_FULL] = 1
            break
        start = pos
        pos = end + 1
        line += 1
        while end > start and (buf[end - 1] == 13 or buf[end - 1] == 32 or buf[end - 1] == 9):
            end -= 1
        if end == start:
            continue  # blank line
        state[_CONTENT] += 1
        kind = 0
        if buf[end - 1] == 58:  # "MovieID:"
            movie = _whole_number(buf, start, end - 1)
            if movie < 0:
                kind = _BAD_HEADER
        elif movie < 0:
            kind = _NO_HEADER
        else:
            customer, score, day = -1, 0, _NO_DAY
            fields, p = 0, start
            while True:
                q = p
                while q < end and buf[q] != 44:
                    q += 1
                if fields == 0:
                    customer = _whole_number(buf, p, q)
                    if customer < 0 and kind == 0:
                        kind = _NOT_A_NUMBER
                elif fields == date_field:
                    day = _date(buf, p, q)
                    if day == _NO_DAY and kind == 0:
                        kind = _BAD_DATE
                elif fields == 1:
                    score = _whole_number(buf, p, q)
                    if score < 0 and kind == 0:
                        kind = _NOT_A_NUMBER
                fields += 1
                if q >= end:
                    break
                p = q + 1
            if fields != n_fields:
                kind = _WRONG_FIELDS
            if kind == 0:
                if target >= 0:
                    if rows == target:
                        state[_TARGET_LINE] = line
                        break
                else:
                    user[rows] = customer
                    item[rows] = movie
                    if shape == RATINGS:
                        rating[rows] = score
                    if shape != PROBE:
                        stamp[rows] = day * DAY
                rows += 1
        if kind != 0:
            state[_MALFORMED] += 1
            if state[_BAD_LINE] == 0:
                state[_BAD_LINE] = line
                state[_BAD_KIND] = kind
                state[_BAD_START] = start
                state[_BAD_END] = end
                state[_BAD_ROW] = rows
            if state[_STOP]:
                break
    state[_ROWS], state[_MOVIE], state[_LINE] = rows, movie, line
    return min(pos, length)


# -- driving the kernel over files ----------------------------------------------------------------
@dataclass
class _Scan:
    """Columns filled by the kernel over one file after another, and where each file's rows are.

    The columns grow in place (`ndarray.resize` reallocates, which on Linux remaps pages rather
    than copying them) by the most rows the next chunk can hold, and are trimmed the same way,
    so the peak stays near the final size.
    """

    shape: int
    strict: bool = False
    user: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    item: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    rating: np.ndarray = field(default_factory=lambda: np.empty(0, np.float32))
    stamp: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    state: np.ndarray = field(default_factory=lambda: np.zeros(_STATE_SIZE, np.int64))
    files: list[str] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)  # first row of each file
    malformed: int = 0
    first_bad: tuple[str, int, str] | None = None  # (file, line, kind) of the first malformed
    bad: tuple[str, int, str] | None = None  # strict mode: (file, line, reason) to raise
    buffer: np.ndarray | None = None

    @property
    def rows(self) -> int:
        return int(self.state[_ROWS])

    def columns(self) -> list[np.ndarray]:
        if self.shape == RATINGS:
            return [self.user, self.item, self.rating, self.stamp]
        if self.shape == QUALIFYING:
            return [self.user, self.item, self.stamp]
        return [self.user, self.item]

    def _resize(self, rows: int) -> None:
        for column in self.columns():
            column.resize(rows, refcheck=False)

    def feed(self, label: str, stream: BinaryIO) -> None:
        """Parse one file; in strict mode stop at its first malformed line (see `bad`)."""
        state = self.state
        state[[_MOVIE, _LINE, _CONTENT, _MALFORMED, _BAD_LINE, _FULL]] = (-1, 0, 0, 0, 0, 0)
        state[[_STOP, _TARGET]] = (int(self.strict), -1)
        self.files.append(label)
        self.starts.append(self.rows)
        if self.buffer is None:
            self.buffer = np.empty(CHUNK_BYTES + MAX_LINE, np.uint8)
        for buf, length, final in _chunks(stream, label, self.buffer):
            pos = 0
            while True:
                room = (length - pos) // _SHORTEST_LINE[self.shape] + 1
                if len(self.user) - self.rows < room:
                    self._resize(self.rows + room)
                state[_FULL] = 0
                pos = _parse_lines(buf, pos, length, final, self.shape, state,
                                   self.user, self.item, self.rating, self.stamp)  # fmt: skip
                if not state[_FULL]:
                    break
            if self.strict and state[_BAD_LINE]:
                text = bytes(buf[state[_BAD_START] : state[_BAD_END]]).decode("latin-1")
                kind = MALFORMED[int(state[_BAD_KIND])]
                self.bad = (label, int(state[_BAD_LINE]), f"malformed line: {kind} ({text!r})")
                return
        if state[_CONTENT] == 0:
            raise DataFormatError(label, "is empty")
        malformed = int(state[_MALFORMED])
        if malformed:
            self.malformed += malformed
            self.first_bad = self.first_bad or (label, int(state[_BAD_LINE]),
                                                MALFORMED[int(state[_BAD_KIND])])  # fmt: skip
            log.warning("%s: skipped %d malformed line(s); the first, line %d: %s", label,
                        malformed, state[_BAD_LINE], MALFORMED[int(state[_BAD_KIND])])  # fmt: skip

    def finish(self) -> None:
        """Trim the columns to the rows read; a source with no line of the expected shape (but
        malformed ones) is in another format."""
        finished(READING)
        self.buffer = None
        self._resize(self.rows)
        if self.rows == 0 and self.first_bad:
            label, line, kind = self.first_bad
            raise DataFormatError(
                label,
                f"holds no '{_SHAPE_TEXT[self.shape]}' lines under 'MovieID:' headers "
                f"({self.malformed:,} lines of another shape, the first at line {line}: {kind})",
            )

    def reorder(self, files: list[str]) -> None:
        """Put the files' rows in the order of ``files`` (a tarball streams its members in stored
        order, which need not be combined_data_1, _2, ...), a column at a time, so the peak
        stays one column above the final size."""
        if files == self.files or self.rows == 0:
            return
        ends = [*self.starts[1:], self.rows]
        where = {label: (start, end) for label, start, end in
                 zip(self.files, self.starts, ends, strict=True)}  # fmt: skip
        blocks = [where[label] for label in files]
        for name in ("user", "item", "rating", "stamp"):
            column = getattr(self, name)
            if len(column) == self.rows:
                setattr(self, name, np.concatenate([column[a:b] for a, b in blocks]))
        self.files = list(files)
        self.starts = list(np.cumsum([0] + [b - a for a, b in blocks[:-1]]).tolist())

    def locate(self, row: int) -> tuple[int, int]:
        """(index of the file, row within it) of a row of the columns."""
        index = bisect_right(self.starts, row) - 1
        return index, row - self.starts[index]


Window = tuple[np.ndarray, int, bool]


def _chunks(stream: BinaryIO, label: str, buf: np.ndarray) -> Iterator[Window]:
    """(buffer, length, final) windows over a stream, each ending with a complete line (or the
    stream): the partial last line of a read is carried to the front of the next. The caller
    must parse every complete line of a window before asking for the next one."""
    chunk = len(buf) - MAX_LINE
    view = memoryview(buf)
    carry, first = 0, True
    while True:
        length = carry + _fill(stream, view[carry : carry + chunk])
        advance(READING, length - carry)
        final = length < carry + chunk
        if first:
            _check_first_line(bytes(buf[: min(length, 256)]), label)
            first = False
        yield buf, length, final
        if final:
            return
        window = max(0, length - MAX_LINE)
        newline = bytes(buf[window:length]).rfind(b"\n")
        if newline < 0 and length - window >= MAX_LINE:
            raise DataFormatError(label, f"has a line longer than {MAX_LINE:,} bytes: "
                                         "it is not Netflix Prize data")  # fmt: skip
        carry = length - (window + newline + 1)
        buf[:carry] = buf[length - carry : length]


def _fill(stream: BinaryIO, view: memoryview) -> int:
    """readinto until the view is full or the stream ends (archive members read short)."""
    filled = 0
    while filled < len(view):
        got = stream.readinto(view[filled:])
        if not got:
            break
        filled += got
    return filled


_HEADER = re.compile(rb"\s*\d+:\s*$")


def _check_first_line(head: bytes, label: str) -> None:
    """A Netflix file starts with a "MovieID:" header; anything else is another format."""
    if not head:
        raise DataFormatError(label, "is empty")
    text = head.lstrip(b"\r\n\t ")
    first = text.split(b"\n", 1)[0]
    if text and not _HEADER.match(first):
        shown = first[:60].decode("latin-1")
        raise DataFormatError(
            label,
            f"is not in the Netflix Prize format: it should start with a 'MovieID:' line, "
            f"found {shown!r}",
        )


# -- what a source holds ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Layout:
    ratings: tuple[str, ...]  # rating files, in reading order
    training_tar: str | None  # training_set.tar, streamed for its mv_*.txt
    titles: str | None


def _numeric_order(names: list[str]) -> list[str]:
    def key(name: str) -> tuple[int, str]:
        digits = re.findall(r"\d+", basename(name))
        return (int(digits[-1]) if digits else 0, name)

    return sorted(names, key=key)


def _layout(source: Source) -> _Layout:
    titles = source.find_one(*TITLE_FILES)
    combined = source.find("combined_data_*.txt")
    movies = source.find("mv_*.txt")
    if combined and movies:
        log.warning("%s holds both combined_data_*.txt and mv_*.txt: reading combined_data only",
                    source.path)  # fmt: skip
    if combined:
        source.together(*combined, *([titles] if titles else []))
        return _Layout(tuple(_numeric_order(combined)), None, titles)
    if movies:
        return _Layout(tuple(movies if source.kind == "tar" else sorted(movies)), None, titles)
    training_tar = source.find_one(TRAINING_TAR)
    if training_tar:
        return _Layout((), training_tar, titles)
    if len(source.names) == 1 and titles is None:
        return _Layout((source.names[0],), None, None)  # one file of "MovieID:" blocks
    raise DataFormatError(
        source.path,
        "holds no Netflix Prize ratings (combined_data_*.txt, training_set/mv_*.txt or "
        f"training_set.tar); found: {', '.join(source.names[:8])}",
    )


def _members(source: Source, layout: _Layout, titles: bool) -> Iterator[tuple[str, str, BinaryIO]]:
    """(member, label, stream) of every rating file and, with ``titles``, the titles file, in
    one pass over the source (a tarball is streamed once; so is a training_set.tar inside it)."""
    names = list(layout.ratings)
    if layout.training_tar:
        names.append(layout.training_tar)
    if titles and layout.titles:
        names.insert(0, layout.titles)
    for name, stream in source.iter_open(names):
        if name == layout.training_tar:
            yield from _training_tar(source.label(name), stream)
        else:
            yield name, source.label(name), stream


def _training_tar(label: str, stream: BinaryIO) -> Iterator[tuple[str, str, BinaryIO]]:
    found = False
    with tarfile.open(fileobj=stream, mode="r|*") as archive:
        for member in archive:
            if member.isfile() and fnmatch.fnmatch(basename(member.name).lower(), "mv_*.txt"):
                found = True
                yield member.name, f"{label}!{member.name}", archive.extractfile(member)
    if not found:
        raise DataFormatError(label, "holds no training_set/mv_*.txt files")


# -- reading --------------------------------------------------------------------------------------
def read_netflix(source: Source, strict: bool = False) -> Dataset:
    """Netflix Prize ratings and catalogue from any of its layouts, in canonical form.

    Reads ``combined_data_*.txt`` (in numeric order), or the per-movie ``mv_*.txt`` files (in
    a folder, a tarball, or ``training_set.tar``), or one file of ``MovieID:`` blocks; the
    catalogue comes from ``movie_titles.txt``/``.csv`` when present. A date is its midnight UTC.
    """
    layout = _layout(source)
    scan = _Scan(RATINGS, strict)
    title_bytes, label = None, str(source.path)
    try:
        for name, label, stream in _members(source, layout, titles=True):
            if name == layout.titles:
                title_bytes = stream.read()
                continue
            scan.feed(label, stream)
            if scan.bad:
                break
    except CORRUPT as error:
        raise DataFormatError(label, f"truncated or corrupt archive ({error})") from error
    if not scan.files:
        raise DataFormatError(source.path, "holds no Netflix Prize rating files")
    scan.finish()
    scan.reorder(_numeric_order(scan.files))

    movies = None
    if layout.titles is not None:
        if title_bytes is None:  # a tarball without the member it listed
            raise DataFormatError(source.label(layout.titles), "could not be read")
        movies = read_titles(title_bytes, source.label(layout.titles))
    where = scan.files[0] if len(scan.files) == 1 else f"{source.path} ({len(scan.files):,} files)"

    def locate(row: int) -> tuple[str, int]:
        index, local = scan.locate(row)
        return scan.files[index], _line_of_row(source, layout, scan.files[index], local)

    raw = {USER: scan.user, ITEM: scan.item, RATING: scan.rating, TIMESTAMP: scan.stamp}
    ratings, report = clean_ratings(
        raw,
        WHOLE_STARS,
        source=where,
        locate=locate,
        known_items=None if movies is None else movies[ITEM].to_numpy(),
        malformed_lines=scan.malformed,
        strict=strict,
    )
    if scan.bad:  # every row before the malformed line was clean: report the line
        raise BadRowError(*scan.bad)
    if movies is None:
        movies = catalogue_from_ratings(ratings)
    return Dataset(ratings, movies, WHOLE_STARS, report, name=str(source.path))


def _line_of_row(source: Source, layout: _Layout, label: str, row: int) -> int:
    """Re-scan one file for the line of its row-th rating (strict mode's error message)."""
    for _, member_label, stream in _members(source, layout, titles=False):
        if member_label == label:
            state = np.zeros(_STATE_SIZE, np.int64)
            state[[_MOVIE, _TARGET]] = (-1, row)
            empty = np.empty(0, np.int32)
            buffer = np.empty(CHUNK_BYTES + MAX_LINE, np.uint8)
            for buf, length, final in _chunks(stream, label, buffer):
                _parse_lines(buf, 0, length, final, RATINGS, state, empty, empty,
                             np.empty(0, np.float32), np.empty(0, np.int64))  # fmt: skip
                if state[_TARGET_LINE]:
                    return int(state[_TARGET_LINE])
    return 0


def read_titles(data: bytes, label: str) -> pd.DataFrame:
    """The catalogue from movie_titles (``MovieID,YearOfRelease,Title``, no header, latin-1;
    the year may be NULL and titles hold commas, so only the first two commas split)."""
    if not data.strip():
        raise DataFormatError(label, "is empty")
    try:
        text = data.decode("utf-8")  # a re-encoded copy; the original is not valid UTF-8
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    # split("\n"), not splitlines(): latin-1 "\x85" is a character here, not a line break
    lines = [(n, line.rstrip("\r")) for n, line in enumerate(text.split("\n"), 1)]
    rows = [(n, line.split(",", 2)) for n, line in lines if line.strip()]
    for n, parts in rows:
        if len(parts) < 3 or not parts[0].strip().isdigit():
            raise DataFormatError(
                label,
                f"line {n}: expected 'MovieID,YearOfRelease,Title', found {','.join(parts)!r}",
            )
    ids = np.array([int(parts[0]) for _, parts in rows], dtype=np.int64)
    years = [None if p[1].strip().upper() in ("", "NULL") else p[1].strip() for _, p in rows]
    titles = [p[2] if p[2] else None for _, p in rows]
    movies = movies_frame(ids, titles, years, [[] for _ in rows])
    repeated = movies[ITEM].duplicated()
    if repeated.any():
        log.warning("%s: %d movie id(s) listed twice; keeping the first", label, repeated.sum())
        movies = movies[~repeated].reset_index(drop=True)
    return movies


def _pairs(source: Source | str | Path, patterns: tuple[str, ...], shape: int,
           strict: bool) -> pd.DataFrame:  # fmt: skip
    source = source if isinstance(source, Source) else Source(source)
    name = source.find_one(*patterns) or (source.names[0] if len(source.names) == 1 else None)
    if name is None:
        raise DataFormatError(source.path, f"holds no {' or '.join(patterns)}")
    label = source.label(name)
    scan = _Scan(shape, strict)
    try:
        with source.open(name) as stream:
            scan.feed(label, stream)
    except CORRUPT as error:
        raise DataFormatError(label, f"truncated or corrupt archive ({error})") from error
    if scan.bad:
        raise BadRowError(*scan.bad)
    scan.finish()
    columns = {USER: scan.user, ITEM: scan.item}
    if shape == QUALIFYING:
        columns[TIMESTAMP] = scan.stamp
    return pd.DataFrame(columns, copy=False)


def read_probe(source: Source | str | Path, *, strict: bool = False) -> pd.DataFrame:
    """The probe set's (user_id, item_id) pairs from probe.txt, in file order."""
    return _pairs(source, ("probe.txt",), PROBE, strict)


def read_qualifying(source: Source | str | Path, *, strict: bool = False) -> pd.DataFrame:
    """The qualifying set's (user_id, item_id, timestamp) from qualifying.txt, in file order."""
    return _pairs(source, ("qualifying.txt",), QUALIFYING, strict)


# -- writing --------------------------------------------------------------------------------------
@numba.njit(cache=True)
def _put_number(out, p, value):
    """Write a non-negative integer's digits at out[p:]; return the end."""
    if value == 0:
        out[p] = 48
        return p + 1
    digits = 0
    rest = value
    while rest > 0:
        digits += 1
        rest //= 10
    end = p + digits
    for k in range(end - 1, p - 1, -1):
        out[k] = 48 + value % 10
        value //= 10
    return end


@numba.njit(cache=True)
def _put_fixed(out, p, value, width):
    """Write value zero-padded to width digits at out[p:]."""
    for k in range(p + width - 1, p - 1, -1):
        out[k] = 48 + value % 10
        value //= 10


@numba.njit(cache=True)
def _put_date(out, p, days):
    """Write days since 1970-01-01 as YYYY-MM-DD (H. Hinnant's civil_from_days)."""
    z = days + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    day_of_era = z - era * 146097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36524
                   - day_of_era // 146096) // 365  # fmt: skip
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    mp = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = year_of_era + era * 400 + (month <= 2)
    _put_fixed(out, p, year, 4)
    out[p + 4] = 45
    _put_fixed(out, p + 5, month, 2)
    out[p + 7] = 45
    _put_fixed(out, p + 8, day, 2)
    return p + 10


@numba.njit(cache=True)
def _format_block(user, item, rating, stamp, order, lo, hi, previous, out):
    """Lines of rows order[lo:hi] (or lo:hi without an order), a header before each new movie."""
    p = 0
    for j in range(lo, hi):
        r = order[j] if len(order) else j
        movie = item[r]
        if movie != previous:
            p = _put_number(out, p, movie)
            out[p], out[p + 1] = 58, 10
            p += 2
            previous = movie
        p = _put_number(out, p, user[r])
        out[p] = 44
        p = _put_number(out, p + 1, np.int64(rating[r]))
        out[p] = 44
        p = _put_date(out, p + 1, stamp[r] // DAY)
        out[p] = 10
        p += 1
    return p, previous


@numba.njit(cache=True)
def _counting_order(codes, n_codes):
    """Stable order of rows by code (O(n))."""
    starts = np.zeros(n_codes + 1, np.int64)
    for c in codes:
        starts[c + 1] += 1
    starts = np.cumsum(starts)
    order = np.empty(len(codes), np.int64)
    for r in range(len(codes)):
        order[starts[codes[r]]] = r
        starts[codes[r]] += 1
    return order


def _by_movie(item: np.ndarray) -> np.ndarray:
    """An order that groups the rows by movie (empty: they already are), stable within one."""
    if len(item) < 2 or bool((item[1:] >= item[:-1]).all()):
        return np.empty(0, np.int64)
    codes, uniques = pd.factorize(item, sort=True)
    runs = 1 + int(np.count_nonzero(item[1:] != item[:-1]))
    if runs == len(uniques):
        return np.empty(0, np.int64)  # grouped, in another order of movies: keep it
    return _counting_order(codes, len(uniques))


def write_netflix(dataset: Dataset, folder: Path, *, manifest: dict | None = None) -> Path:
    """Write the Kaggle layout: ``combined_data_1.txt`` (``MovieID:`` blocks of
    ``CustomerID,Rating,YYYY-MM-DD``), ``movie_titles.csv`` (latin-1 as in the original, or
    UTF-8 when a title does not fit it; NULL for unknown years) and, when given,
    ``manifest.json``. Ratings must be whole stars; times keep only their date. Reading the
    folder back gives the same ratings, grouped by movie, and the same titles.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    others = [p.name for p in folder.iterdir() if p.name != "combined_data_1.txt"
              and any(fnmatch.fnmatch(p.name, pattern) for pattern in RATING_FILES)]  # fmt: skip
    if others:
        listed = ", ".join(sorted(others)[:4])
        raise ConfigError(f"{folder} already holds other Netflix rating files ({listed})")
    user, item, rating, stamp = _writable(dataset)
    order = _by_movie(item)
    block = 1 << 20
    out = np.empty(block * 48, np.uint8)  # a row: <= 10+1+10+1+10+1 bytes, a header <= 12
    target = folder / "combined_data_1.txt"
    partial = target.with_name(target.name + ".partial")
    with open(partial, "wb") as stream:
        previous = -1
        for lo in range(0, len(user), block):
            hi = min(lo + block, len(user))
            size, previous = _format_block(user, item, rating, stamp, order, lo, hi, previous, out)
            stream.write(out[:size])
            advance("writing ratings", hi - lo, len(user))
    os.replace(partial, target)
    _write_titles(dataset.movies, folder / "movie_titles.csv")
    if manifest is not None:
        text = json.dumps(manifest, indent=2, default=str)
        (folder / "manifest.json").write_text(text + "\n", encoding="utf-8")
    log.info("wrote %d ratings of %d movies to %s", len(user), len(dataset.movies), folder)
    return folder


def _writable(dataset: Dataset) -> tuple[np.ndarray, ...]:
    """The rating columns, checked to fit the format: whole non-negative ids and stars, dates
    in years 0..9999."""
    r = dataset.ratings
    user, item = r[USER].to_numpy(), r[ITEM].to_numpy()
    rating, stamp = r[RATING].to_numpy(), r[TIMESTAMP].to_numpy().astype(np.int64, copy=False)
    for name, ids in (("user", user), ("movie", item)):
        if ids.dtype.kind not in "iu" or (len(ids) and ids.min() < 0):
            raise ConfigError(f"the Netflix layout needs non-negative integer {name} ids")
    if len(rating) and not (np.isfinite(rating).all() and (rating >= 0).all()
                            and (rating == np.floor(rating)).all()):  # fmt: skip
        raise ConfigError("the Netflix layout holds whole-star ratings only (e.g. 1-5)")
    first, last = -719_528 * DAY, 2_932_897 * DAY  # 0000-01-01, 10000
    if len(stamp) and (stamp.min() < first or stamp.max() >= last):
        raise ConfigError("the Netflix layout holds dates in the years 0 to 9999 only")
    return user, item, rating, stamp


def _write_titles(movies: pd.DataFrame, path: Path) -> None:
    ids = movies[ITEM].to_numpy()
    if ids.dtype.kind not in "iu":
        raise ConfigError("the Netflix layout needs integer movie ids")
    years = movies["year"].astype("object").where(movies["year"].notna(), "NULL").astype(str)
    titles = movies["title"].astype("object").fillna("").astype(str)
    titles = titles.str.replace(r"[\r\n]+", " ", regex=True)
    lines = pd.Series(ids).astype(str) + "," + years.to_numpy() + "," + titles.to_numpy()
    text = "\n".join(lines) + ("\n" if len(lines) else "")
    path.write_bytes(_title_bytes(text))


def _title_bytes(text: str) -> bytes:
    """Titles in latin-1, as the original files are, or in UTF-8 when a title does not fit it.
    `read_titles` tries UTF-8 first, so UTF-8 is written too when the latin-1 bytes would read
    as other UTF-8 text ("Ã©" would come back as "é")."""
    try:
        latin = text.encode("latin-1")
    except UnicodeEncodeError:  # a title beyond latin-1 (Japanese, emoji)
        return text.encode("utf-8")
    try:
        latin.decode("utf-8")
    except UnicodeDecodeError:
        return latin  # read back as latin-1
    return latin if latin.isascii() else text.encode("utf-8")


@numba.njit(cache=True)
def _format_pairs(user, item, order, previous, out):
    """probe.txt lines of the pairs in ``order`` (grouped by movie): ``MovieID:`` then users;
    a header before each movie other than ``previous``."""
    p = 0
    for r in order:
        if item[r] != previous:
            p = _put_number(out, p, item[r])
            out[p], out[p + 1] = 58, 10
            p += 2
            previous = item[r]
        p = _put_number(out, p, user[r])
        out[p] = 10
        p += 1
    return p, previous


def write_probe(pairs: pd.DataFrame, path: Path) -> Path:
    """Write (user_id, item_id) pairs as a ``probe.txt``: a ``MovieID:`` line, then one
    ``CustomerID`` a line, movies ascending and users in the order given within a movie."""
    user = pairs[USER].to_numpy().astype(np.int64, copy=False)
    item = pairs[ITEM].to_numpy().astype(np.int64, copy=False)
    if len(user) and min(user.min(), item.min()) < 0:
        raise ConfigError("probe.txt needs non-negative integer user and movie ids")
    order = np.argsort(item, kind="stable")
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    block = 1 << 20
    out = np.empty(block * 24, np.uint8)  # a user line <= 11 bytes, a header <= 12
    with open(partial, "wb") as stream:
        previous = -1
        for lo in range(0, len(order), block):
            size, previous = _format_pairs(user, item, order[lo : lo + block], previous, out)
            stream.write(out[:size])
    os.replace(partial, path)
    return path
