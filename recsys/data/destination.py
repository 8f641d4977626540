"""Where `synth` and `sample` may write a data set: a new or empty folder, or one that holds a
data set recsys wrote (its ``manifest.json`` and files) and nothing else. Light to import: the
CLI checks a destination before anything heavy is loaded."""

from __future__ import annotations

import fnmatch
from pathlib import Path

from recsys.errors import ConfigError

# What `synth` and `sample` write: an earlier data set of theirs is removed before a new one is
# written in its folder (else a reader would find both).
WRITTEN = ("manifest.json", "ratings.csv", "movies.csv", "combined_data_*.txt", "movie_titles.*",
           "probe.txt")  # fmt: skip


def check_data_folder(folder: str | Path, what: str = "the data set") -> Path:
    """``folder`` as a Path, if a data set may be written there; anything else, or an empty
    path (the current folder), raises ConfigError, so the user's own files are never written
    over."""
    if not str(folder).strip():
        raise ConfigError(f"no folder given for {what} (an empty path is the current folder)")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{folder}: a file is there; give a folder for {what}")
    if not folder.is_dir() or not any(folder.iterdir()):
        return folder
    others = [p.name for p in folder.iterdir()
              if not (p.is_file() and any(fnmatch.fnmatch(p.name, w) for w in WRITTEN))]
    if not (folder / "manifest.json").exists():
        raise ConfigError(f"{folder} holds files recsys did not write (no manifest.json): a "
                          "folder that holds no recsys manifest.json must be new or empty; "
                          f"choose a new folder for {what}")  # fmt: skip
    if others:
        raise ConfigError(f"{folder} holds files recsys did not write "
                          f"({', '.join(sorted(others)[:3])}): choose a new folder for {what}")
    return folder


def clear_data_folder(folder: str | Path, what: str = "the data set") -> Path:
    """`check_data_folder`, then the earlier data set in it removed: ready to write into."""
    folder = check_data_folder(folder, what)
    if folder.is_dir():
        for earlier in folder.iterdir():
            earlier.unlink()
    return folder
