"""Where heavy work runs: on this machine, or on the engine of an enclosing
``recsys.distributed.cluster`` block.

Models that have a distributed path (``mf``, ``gbm``, ``gbm-seed``) ask `current_engine` and
hand the engine their work. This module imports nothing of the project, so the models need not
import the distributed package, which imports them: imports flow distributed → models →
execution.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_engine: ContextVar[Any] = ContextVar("recsys_engine", default=None)


def current_engine() -> Any:
    """The engine in use (a `recsys.distributed.engine.Engine`), or None: work stays on this
    machine."""
    return _engine.get()


@contextmanager
def engine_in_use(engine: Any) -> Iterator[Any]:
    """Make ``engine`` current for the block."""
    token = _engine.set(engine)
    try:
        yield engine
    finally:
        _engine.reset(token)
