"""recsys on a Dask distributed cluster: ``recsys train|evaluate --cluster ADDRESS``.

``with cluster("tcp://host:8786"):`` (or ``cluster("local:2")``, a `LocalCluster` of two
single-threaded worker processes, closed at the end) makes an `Engine` current; the models
that have a distributed path look it up with `recsys.execution.current_engine` and hand it
their work:

- ``gbm`` and ``gbm-seed``: closest-rater, era and activity features, the blend's
  out-of-fold base-model fits and predictions, and the scoring of test pairs run as tasks over
  blocks of targets, the training history scattered once to every worker. The trees come from
  LightGBM's Dask estimator (`lightgbm.DaskLGBMRegressor`), converted to the project's node
  arrays (`recsys.models.trees.Forest`), so the artifact is the same as on one machine.
- ``mf``: the blocked SGD's cells (user block, movie block) run as tasks, each user block's
  factors kept on one worker, the movie blocks passed between workers; the same rounds in the
  same order as on one machine, so the factors are the same.

Every other model fits on the client as it does without a cluster. Nothing here imports dask
until a cluster is asked for: `recsys` without ``--cluster`` never loads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from recsys.execution import current_engine, engine_in_use

if TYPE_CHECKING:
    from recsys.distributed.engine import Engine

__all__ = ["check_address", "cluster", "current_engine"]


@contextmanager
def cluster(address: str) -> Iterator[Engine]:
    """Connect to a Dask scheduler (``tcp://host:8786``) or start ``local:N``, and make it the
    engine of the block (`recsys.execution`); a local cluster is closed when the block ends."""
    from recsys.distributed.engine import Engine, connect

    with connect(address) as client, engine_in_use(Engine(client)) as engine:
        yield engine


def check_address(address: str) -> None:
    """``local:N`` with N >= 1, or a scheduler address (``tcp://host:port``, ``host:port``);
    raises `ConfigError` otherwise. Imports nothing."""
    from recsys.errors import ConfigError

    if address.startswith("local:"):
        count = address.removeprefix("local:")
        if not count.isdigit() or int(count) < 1:
            raise ConfigError(f"--cluster {address!r}: give local:N with N >= 1 worker processes")
        return
    host, sep, port = address.rpartition("://")[2].rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(
            f"--cluster {address!r}: give a scheduler address (tcp://host:8786) or local:N"
        )
