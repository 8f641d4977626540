"""Reading delimited text tables with pandas: malformed lines counted, never dropped silently,
and every failure turned into an error that names the file."""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from recsys.data.sources import Source
from recsys.errors import BadRowError, DataFormatError

_SKIPPED = re.compile(r"Skipping line (\d+): (.*)")


def read_table(
    source: Source,
    name: str,
    *,
    strict: bool = False,
    expect: list[str] | None = None,
    **read_csv: object,
) -> tuple[pd.DataFrame, list[int]]:
    """Read one member as a table: (frame, line numbers of malformed lines that were skipped).

    ``expect`` names columns the header must hold. In strict mode a malformed line raises
    `BadRowError` with its line number.
    """
    label = source.label(name)
    with source.open(name) as stream:
        data = stream.read()
    if not data.strip():
        raise DataFormatError(label, "is empty")
    return parse_table(data, label, strict=strict, expect=expect, **read_csv)


def parse_table(
    data: bytes,
    label: str,
    *,
    strict: bool = False,
    expect: list[str] | None = None,
    **read_csv: object,
) -> tuple[pd.DataFrame, list[int]]:
    """`read_table` on bytes already in memory."""
    frame, skipped = _read_csv(data, label, strict, read_csv)
    header = read_csv.get("header", "infer") is not None
    at = _longer_first_row(data, header, len(frame.columns), read_csv)
    if at is not None:
        # pandas reads a first row with more fields than the header as an index column (or,
        # with index_col=False, cuts every such line short): a row of the right width put
        # ahead of it makes it one more malformed line, skipped and counted like the others.
        filler = (str(read_csv.get("sep", ",")).join(["0"] * len(frame.columns)) + "\n").encode()
        frame, skipped = _read_csv(data[:at] + filler + data[at:], label, strict, read_csv, at=1)
        frame = frame.iloc[1:].reset_index(drop=True)
    if expect is not None:
        missing = [c for c in expect if c not in frame.columns]
        if missing:
            raise DataFormatError(
                label,
                f"is not in the expected format: no column {', '.join(missing)} "
                f"(found {', '.join(map(str, frame.columns))})",
            )
    return frame, skipped


def _read_csv(
    data: bytes, label: str, strict: bool, read_csv: dict, at: int = 0
) -> tuple[pd.DataFrame, list[int]]:
    """`pd.read_csv` with errors naming the file: (frame, malformed line numbers), the line
    numbers less ``at`` (the lines put in ahead of them)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            frame = pd.read_csv(
                io.BytesIO(data),
                on_bad_lines="error" if strict else "warn",
                index_col=False,
                **read_csv,
            )
        except pd.errors.ParserError as error:
            found = re.search(r"line (\d+)", str(error))
            if strict and found:
                line = int(found.group(1)) - at
                message = re.sub(r"line \d+", f"line {line}", str(error), count=1)
                raise BadRowError(label, line, message) from error
            raise DataFormatError(label, f"cannot be parsed as a table ({error})") from error
        except (UnicodeDecodeError, ValueError) as error:
            raise DataFormatError(label, f"cannot be parsed as a table ({error})") from error
        except pd.errors.EmptyDataError as error:
            raise DataFormatError(label, "is empty") from error
    skipped = []
    for warning in caught:
        skipped += [int(m.group(1)) - at for m in _SKIPPED.finditer(str(warning.message))]
    return frame, sorted(skipped)


def _longer_first_row(data: bytes, header: bool, width: int, read_csv: dict) -> int | None:
    """Where the first data row starts when it holds more fields than the header (or than
    ``names``), else None. Blank lines are skipped, as pandas skips them."""
    lines, start = [], 0
    while len(lines) < 1 + header and start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end + 1
        if data[start:end].strip():
            lines.append((start, end))
        start = end
    if len(lines) < 1 + header:
        return None
    first, end = lines[-1]
    text = data[first:end].decode(str(read_csv.get("encoding") or "utf-8"), errors="replace")
    dialect = {"delimiter": str(read_csv.get("sep", ",")),
               "quoting": read_csv.get("quoting", csv.QUOTE_MINIMAL)}  # fmt: skip
    fields = next(csv.reader([text.rstrip("\r\n")], **dialect))
    return first if len(fields) > width else None


def row_locator(
    label: str, first_line: int, skipped: list[int]
) -> Callable[[int], tuple[str, int]]:
    """Map row i of a parsed table back to its line in the file (malformed lines skipped)."""
    skipped_lines = np.asarray(skipped, dtype=np.int64)

    def locate(row: int) -> tuple[str, int]:
        line = first_line + row
        for s in skipped_lines:
            if s <= line:
                line += 1
        return label, int(line)

    return locate
