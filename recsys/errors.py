"""Domain errors. HTTP status codes are chosen in `recsys.api`, never here."""

from __future__ import annotations

from pathlib import Path


class RecsysError(Exception):
    """Base of every error recsys raises on purpose."""


class DataError(RecsysError):
    """A data file cannot be used as it is."""

    def __init__(self, path: str | Path, message: str):
        self.path = str(path)
        self.message = message
        super().__init__(f"{self.path}: {message}")


class DataFormatError(DataError):
    """A file or folder is in the wrong format, empty, or truncated."""


class BadRowError(DataError):
    """Strict loading met a bad row: names the file, the line and the reason."""

    def __init__(self, path: str | Path, line: int, reason: str):
        self.line = line
        self.reason = reason
        super().__init__(path, f"line {line}: {reason}")


class UnknownIdError(RecsysError, KeyError):
    """An id the model or data set has never seen."""

    kind = "id"

    def __init__(self, raw_id: object):
        self.raw_id = raw_id
        super().__init__(f"unknown {self.kind} {raw_id!r}")

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class UnknownUserError(UnknownIdError):
    kind = "user"


class UnknownItemError(UnknownIdError):
    kind = "movie"


class ArtifactError(RecsysError):
    """A saved model is missing, corrupt, or was written by an incompatible version."""


class DownloadError(RecsysError):
    """A data set could not be downloaded or failed its checksum."""


class ConfigError(RecsysError):
    """A setting or an argument has a value recsys cannot use."""


class NotFittedError(RecsysError):
    """A model was asked to predict before it was fitted."""
