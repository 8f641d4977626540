"""Raw ids <-> positions for the service, in plain NumPy (no pandas on the serving path)."""

from __future__ import annotations

import re

import numpy as np

_INTEGER = re.compile(r"-?[0-9]{1,19}")


class IdIndex:
    """Sorted unique raw ids (integers or strings) and their positions 0..n-1.

    The same order as `recsys.data.vocabulary.Vocabulary`, so positions are the model's indices.
    An id given as text (a URL path) finds the integer id it spells.
    """

    def __init__(self, ids: np.ndarray):
        self.ids = np.asarray(ids)
        self.integer = self.ids.dtype.kind in "iu"
        if self.integer:
            self.ids = self.ids.astype(np.int64)
        self._lookup = dict(zip(self.ids.tolist(), range(len(self.ids)), strict=True))

    def __len__(self) -> int:
        return len(self.ids)

    def parse(self, raw: object) -> object:
        """The raw id in the index's own type, or None when it cannot be one."""
        if self.integer:
            if isinstance(raw, bool):
                return None
            if isinstance(raw, str):
                text = raw.strip()
                return int(text) if _INTEGER.fullmatch(text) else None
            return raw if isinstance(raw, int | np.integer) else None
        return raw if isinstance(raw, str) else str(raw)

    def find(self, raw: object) -> int | None:
        """Position of one raw id, or None."""
        key = self.parse(raw)
        return None if key is None else self._lookup.get(key)

    def index(self, raws: list | np.ndarray) -> np.ndarray:
        """Positions of many raw ids (int64); -1 where an id is unknown."""
        if len(raws) == 0:
            return np.zeros(0, np.int64)
        try:
            keys = np.asarray(raws, dtype=np.int64 if self.integer else np.str_)
        except (ValueError, TypeError, OverflowError):  # mixed or odd values: one at a time
            return np.fromiter((-1 if (p := self.find(r)) is None else p for r in raws), np.int64)
        if len(self.ids) == 0:
            return np.full(len(keys), -1, np.int64)
        position = np.minimum(np.searchsorted(self.ids, keys), len(self.ids) - 1)
        return np.where(self.ids[position] == keys, position, -1).astype(np.int64)

    def to_ids(self, positions: np.ndarray) -> list:
        """Raw ids of positions, as Python values (ready for JSON)."""
        return self.ids[positions].tolist()
