"""Raw ids <-> positions for the service, in plain NumPy (no pandas on the serving path).

One parser for every route and body: an id is what the data set has, spelled the one way
`str()` spells it. For a data set with integer ids that is an int64, given as a number or as its
decimal text ("42", "-7"; not "+42", "042", " 42", "4.2" or "٤٢"); for one with text ids, the
text (a number is taken as its decimal text). Anything else is simply not an id of the data set:
it is looked up like any unknown id, whatever else a batch holds.
"""

from __future__ import annotations

import re

import numpy as np

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_ID_LENGTH = 256  # longer text is no id of any data set recsys reads
_DECIMAL = re.compile(r"0|-?[1-9][0-9]{0,18}", re.ASCII)


def parse_id(raw: object, integer: bool) -> int | str | None:
    """The id ``raw`` spells, as an int (``integer``: int64 ids) or a str; None when it
    cannot be one."""
    if isinstance(raw, bool):  # a JSON true is no id, although bool is an int in Python
        return None
    if integer:
        if isinstance(raw, str):
            value = int(raw) if _DECIMAL.fullmatch(raw) else None
        elif isinstance(raw, int | np.integer):
            value = int(raw)
        else:
            return None
        return value if value is not None and INT64_MIN <= value <= INT64_MAX else None
    if isinstance(raw, str):
        return raw if len(raw) <= MAX_ID_LENGTH else None
    if isinstance(raw, int | np.integer):
        return str(int(raw))
    return None


class IdIndex:
    """Sorted unique raw ids (integers or strings) and their positions 0..n-1.

    The same order as `recsys.data.vocabulary.Vocabulary`, so positions are the model's indices.
    An id given as text (a URL path) finds the integer id it spells (`parse_id`).
    """

    def __init__(self, ids: np.ndarray):
        self.ids = np.asarray(ids)
        self.integer = self.ids.dtype.kind in "iu"
        if self.integer:
            self.ids = self.ids.astype(np.int64)
        self._lookup = dict(zip(self.ids.tolist(), range(len(self.ids)), strict=True))

    def __len__(self) -> int:
        return len(self.ids)

    def parse(self, raw: object) -> int | str | None:
        """The raw id in the index's own type, or None when it cannot be one."""
        return parse_id(raw, self.integer)

    def find(self, raw: object) -> int | None:
        """Position of one raw id, or None."""
        key = self.parse(raw)
        return None if key is None else self._lookup.get(key)

    def index(self, raws: list | np.ndarray) -> np.ndarray:
        """Positions of many raw ids (int64); -1 where an id is unknown or no id at all.

        Each id gets what `find` gives it: a batch of plain int64 numbers is looked up at once,
        anything else one by one, so no id's answer depends on the others in the batch."""
        if len(raws) == 0:
            return np.zeros(0, np.int64)
        if self.integer and all(type(r) is int for r in raws):
            try:
                keys = np.asarray(raws, dtype=np.int64)
            except OverflowError:  # a number beyond int64: no id, found one by one below
                pass
            else:
                if len(self.ids) == 0:
                    return np.full(len(keys), -1, np.int64)
                position = np.minimum(np.searchsorted(self.ids, keys), len(self.ids) - 1)
                return np.where(self.ids[position] == keys, position, -1).astype(np.int64)
        lookup, integer = self._lookup.get, self.integer
        found = (lookup(key, -1) if (key := parse_id(r, integer)) is not None else -1 for r in raws)
        return np.fromiter(found, np.int64, count=len(raws))

    def canonical(self, raws: list, positions: np.ndarray) -> list:
        """Each raw id as the data set spells it where it is known (``positions`` >= 0, from
        `index`), else parsed to the index's type where it can be, else as it was given."""
        kind = int if self.integer else str
        if all(type(r) is kind for r in raws):  # already spelled as the data set spells ids
            return list(raws)
        known = self.ids[np.maximum(positions, 0)].tolist() if len(self.ids) else []
        return [
            known[k] if p >= 0 else (raw if (key := self.parse(raw)) is None else key)
            for k, (raw, p) in enumerate(zip(raws, positions.tolist(), strict=True))
        ]

    def to_ids(self, positions: np.ndarray) -> list:
        """Raw ids of positions, as Python values (ready for JSON)."""
        return self.ids[positions].tolist()
