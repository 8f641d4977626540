"""Progress of long library steps, for a front end to show: the library reports units of work
done, a CLI listening through `reporting` draws the bar. Nothing is reported to nobody: with no
listener `advance` costs one lookup."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: (step, units done now, total or None); a total of 0 says a step of unknown size is over.
Listener = Callable[[str, int, int | None], None]
_listener: ContextVar[Listener | None] = ContextVar("recsys_progress", default=None)


def advance(step: str, done: int, total: int | None = None) -> None:
    """Report ``done`` more units of ``step`` (of ``total`` in all, when known)."""
    listener = _listener.get()
    if listener is not None:
        listener(step, done, total)


def finished(step: str) -> None:
    """Report that ``step``, of unknown size (a stream's bytes), is over."""
    advance(step, 0, 0)


@contextmanager
def reporting(listener: Listener) -> Iterator[None]:
    """Send every `advance` made inside the block to ``listener``."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)
