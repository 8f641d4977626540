"""Reading delimited text tables with pandas: malformed lines counted, never dropped silently,
and every failure turned into an error that names the file."""

from __future__ import annotations

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

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            frame = pd.read_csv(
                io.BytesIO(data),
                on_bad_lines="error" if strict else "warn",
                **read_csv,
            )
        except pd.errors.ParserError as error:
            found = re.search(r"line (\d+)", str(error))
            if strict and found:
                raise BadRowError(label, int(found.group(1)), str(error)) from error
            raise DataFormatError(label, f"cannot be parsed as a table ({error})") from error
        except (UnicodeDecodeError, ValueError) as error:
            raise DataFormatError(label, f"cannot be parsed as a table ({error})") from error
        except pd.errors.EmptyDataError as error:
            raise DataFormatError(label, "is empty") from error
    skipped = []
    for warning in caught:
        skipped += [int(m.group(1)) for m in _SKIPPED.finditer(str(warning.message))]
    if expect is not None:
        missing = [c for c in expect if c not in frame.columns]
        if missing:
            raise DataFormatError(
                label,
                f"is not in the expected format: no column {', '.join(missing)} "
                f"(found {', '.join(map(str, frame.columns))})",
            )
    return frame, sorted(skipped)


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
