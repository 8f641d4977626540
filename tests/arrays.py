"""Reading and rewriting the arrays of a saved model or artifact, to damage them in tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def read_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as stored:
        return {k: stored[k] for k in stored.files}


def rewrite_npz(path: Path, **changes: np.ndarray) -> None:
    """The file's arrays with ``changes`` put in their place (or added)."""
    arrays = read_npz(path) | changes
    with open(path, "wb") as out:
        np.savez(out, **arrays)
