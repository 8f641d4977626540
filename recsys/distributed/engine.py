"""The Dask side of `recsys.distributed`: connecting, scattering, blocks of targets as tasks,
LightGBM's Dask estimator for the trees, and the blocked SGD's cells as tasks."""

from __future__ import annotations

import copy
import logging
import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from recsys.data.dataset import Dataset
from recsys.data.interactions import Interactions
from recsys.distributed import tasks
from recsys.distributed.boosting import first_trees, forest_from_lightgbm, stopped_at
from recsys.errors import ConfigError
from recsys.models import gbm
from recsys.models.trees import Forest
from recsys.progress import advance

log = logging.getLogger(__name__)

#: A worker process of ``local:N`` runs one task at a time on one thread: compiled kernels
#: and BLAS use that thread only, so N workers use N cores.
SINGLE_THREAD = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                 "MKL_NUM_THREADS": "1"}  # fmt: skip
#: The early-stopping patience each boosted model gives scikit-learn (`recsys.models.gbm`).
N_ITER_NO_CHANGE = {"gbm-seed": 10, "gbm": gbm.N_ITER_NO_CHANGE}
#: Trees grown a round: LightGBM starts again from the scores of the trees before, so the
#: rounds grow what one run would, and no more than a round past the stopping point.
ROUND_TREES = 200


@contextmanager
def connect(address: str) -> Iterator:
    """A `distributed.Client` of the scheduler at ``address``, or of a new ``local:N``
    cluster (N single-threaded worker processes), closed on the way out."""
    from recsys.distributed import check_address

    check_address(address)
    import dask
    from distributed import Client, LocalCluster

    if address.startswith("local:"):
        n = int(address.removeprefix("local:"))
        # Set before the worker processes start (Nanny's ``env`` is applied later, after
        # numba may have read it). The nanny sets them in this process too and leaves them:
        # they are put back once the workers run, or this process's next numba compile would
        # find NUMBA_NUM_THREADS changed under its running threads.
        env = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in SINGLE_THREAD.items()}
        saved = {k: os.environ.get(k) for k in SINGLE_THREAD}
        try:
            with (
                dask.config.set(env),
                LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
                ) as local,
                Client(local) as client,
            ):
                # LocalCluster returns before its workers register with the scheduler; work
                # placed on "every worker" must see all of them.
                client.wait_for_workers(n)
                _restore(saved)
                log.info("started a local Dask cluster of %d worker processes", n)
                yield client
        finally:
            _restore(saved)
        return
    try:
        client = Client(address, timeout="30s")
    except OSError as error:
        raise ConfigError(f"--cluster {address}: no Dask scheduler answers ({error})") from None
    with client:
        try:
            client.wait_for_workers(1, timeout=30)
        except TimeoutError:
            raise ConfigError(f"--cluster {address}: the scheduler has no workers") from None
        log.info("connected to the Dask scheduler at %s (%d workers)", address,
                 len(client.nthreads()))  # fmt: skip
        yield client


def _restore(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


class Engine:
    """Runs the distributed paths of the models on one client."""

    #: Fewer pairs than this are scored on the client (a page of recommendations, a fold-in).
    min_distributed = 20_000

    def __init__(self, client) -> None:
        self.client = client
        self._fitted: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    # -- helpers ---------------------------------------------------------------------------
    @property
    def workers(self) -> list[str]:
        """The workers' addresses, asked of the scheduler each time (`Client.scheduler_info`
        returns a cached identity that the client's periodic refresh, which lists no workers,
        can replace between its own update and its return: CI once saw none)."""
        return sorted(self.client.nthreads())

    def broadcast(self, value):
        """``value`` sent once to every worker; a future the tasks take as an argument."""
        return self.client.scatter([value], broadcast=True, hash=False)[0]  # one value

    def _put(self, value, worker: str | None = None):
        """``value`` (a tuple too, as one value) on one worker."""
        return self.client.scatter([value], workers=worker and [worker], hash=False)[0]

    def blocks(self, rows: np.ndarray, users: np.ndarray) -> list[np.ndarray]:
        """``rows`` (targets of ``users``, one user each) in blocks of whole users, one block
        per worker (at least 5,000 rows each, to outweigh the cost of a task). The
        closest-rater features sweep a user's co-raters once for all of that user's targets in
        a call, so a user split over blocks pays that sweep once a block (blocks cut from rows
        in file order did, for almost every user: 4x the work on 1 M ratings); and item-kNN
        computes the similarity rows of a block's movies once a block, which with four blocks
        a worker cost 60 worker-seconds of features on 1 M ratings against 42 with one."""
        n_blocks = max(1, min(len(self.workers), -(-len(rows) // 5_000)))
        rows = rows[np.argsort(users[rows], kind="stable")]
        return [b for b in np.array_split(rows, n_blocks) if len(b)]

    def distributes(self, n_pairs: int) -> bool:
        return n_pairs >= self.min_distributed

    @staticmethod
    def _shell(model, *strip: str):
        """A copy of the model without its large state (put back on the workers)."""
        shell = copy.copy(model)
        for key in ("history_", "seen_indptr_", "seen_items_", "_history_biases", *strip):
            if hasattr(shell, key):
                setattr(shell, key, None)
        return shell

    @staticmethod
    def _light(data: Dataset) -> Dataset:
        """The data set as the base models read it (scale, catalogue, fingerprint): one
        rating row stands for the ratings, which the workers get as the history instead."""
        light = data.with_ratings(data.ratings.iloc[:1])
        light.__dict__["fingerprint"] = data.fingerprint  # the cached_property's slot
        return light

    # -- the boosted models ------------------------------------------------------------------
    def fit_seed(self, model, history: Interactions, data: Dataset) -> None:
        """`GBMSeed._fit` on the cluster: its features over blocks of training targets."""
        from recsys.features.builder import SEED_FEATURES

        submit = self.client.submit
        shell = self._shell(model)
        history_f = self.broadcast(history)
        held = gbm.held_out(model.random_state, len(history))
        parts: dict[str, list] = {"train": [], "valid": []}
        for k, b in enumerate(self.blocks(np.arange(len(history)), history.user)):
            where = self._pin(k)
            block = submit(tasks.seed_block, shell, history_f, b, workers=where, pure=False)
            self._split(block, held[b], parts, where)
        model.regressor_ = self._boost(model, parts, len(SEED_FEATURES))
        model.feature_names_ = SEED_FEATURES
        self._fitted[model] = {"history_": history_f}

    def fit_blend(self, model, history: Interactions, data: Dataset) -> None:
        """`GBMBlend._fit` on the cluster: per fold, the base models fitted on the other folds
        and the fold's features over blocks of its targets; the final bases beside them
        (``blend_sample``: one fold, of the sampled targets)."""
        from recsys.features.builder import BLEND_FEATURES

        submit = self.client.submit
        shell = self._shell(model, "base_models_")
        history_f, data_f = self.broadcast(history), self.broadcast(self._light(data))
        fold = model.assignment(len(history))
        fold_f = self.broadcast(fold)
        held = gbm.held_out(model.random_state, len(history))
        parts: dict[str, list] = {"train": [], "valid": []}
        placed = 0
        for f in range(fold.max() + 1):
            rest = submit(tasks.fold_history, history_f, fold_f, f, pure=False)
            bases = submit(tasks.fit_bases, shell, data_f, rest, pure=False)
            biases = submit(tasks.history_biases, shell, rest, pure=False)
            for b in self.blocks(np.flatnonzero(fold == f), history.user):
                where = self._pin(placed)
                placed += 1
                block = submit(tasks.blend_block, shell, rest, biases, bases, history_f, b,
                               workers=where, pure=False)  # fmt: skip
                self._split(block, held[b], parts, where)
        bases_f = submit(tasks.fit_bases, shell, data_f, history_f, pure=False)
        biases_f = submit(tasks.history_biases, shell, history_f, pure=False)
        width = len(BLEND_FEATURES) + len(model.base_models)
        model.regressor_ = self._boost(model, parts, width)
        model.base_models_ = bases_f.result()
        model._history_biases = biases_f.result()
        model.feature_names_ = [*BLEND_FEATURES, *model.base_models]
        self._fitted[model] = {"history_": history_f, "base_models_": bases_f,
                               "_history_biases": biases_f}  # fmt: skip

    def _pin(self, k: int) -> list[str]:
        """The worker the k-th block of boosting rows lives on, round robin. LightGBM bins
        and histograms each worker's rows: blocks left where the scheduler happens to run
        them made the trees, and the RMSE, differ from run to run (by 0.002 on 60 k ratings)."""
        workers = self.workers
        return [workers[k % len(workers)]]

    def _split(self, block, held: np.ndarray, parts: dict[str, list], where: list[str]) -> None:
        """A block's training and held-out rows as two parts (taken on the block's worker), so
        that a user's targets are described in one call whichever part they fall in."""
        for name, rows in (("train", ~held), ("valid", held)):
            if rows.any():
                part = self.client.submit(tasks.take, block, rows, workers=where, pure=False)
                parts[name].append((part, int(rows.sum())))

    def _boost(self, model, parts: dict[str, list], width: int):
        """LightGBM's Dask estimator on the training blocks (features, rating last), grown
        ``ROUND_TREES`` at a time from the scores of the trees before, until scikit-learn's
        early stopping on the held-out blocks would have stopped; the trees up to there."""
        import dask.array as da

        train = da.concatenate(
            [da.from_delayed(f, (n, width + 1), np.float32) for f, n in parts["train"]]
        )
        patience = N_ITER_NO_CHANGE.get(model.name, 10)
        start = float(train[:, width].mean().compute())
        per_round = ROUND_TREES if parts["valid"] else model.max_iter  # no stopping: one run
        rounds: list = []
        scores = None  # per training block, the raw scores of the trees so far
        grown = 0
        while grown < model.max_iter:
            size = min(per_round, model.max_iter - grown)
            init = None if scores is None else da.concatenate(
                [da.from_delayed(s, (n,), np.float64) for s, (_, n) in zip(scores, parts["train"],
                                                                             strict=True)]
            )  # fmt: skip
            trees = self._lightgbm(model, train[:, :width], train[:, width], init, size, width)
            rounds.append(trees)
            grown += trees.n_trees
            advance(f"{model.name} trees", grown, model.max_iter)
            forest = Forest.chain(rounds)
            if not parts["valid"] or trees.n_trees < size:  # LightGBM found nothing to split
                return forest
            forest_f = self.broadcast(forest)
            errors = [self.client.submit(tasks.staged_error, forest_f, f, start, pure=False)
                      for f, _ in parts["valid"]]  # fmt: skip
            n_valid = sum(n for _, n in parts["valid"])
            loss = 0.5 * np.sum(self.client.gather(errors), axis=0) / n_valid
            if (stop := stopped_at(loss, patience)) is not None:
                log.info("%s: LightGBM on %d workers, %d trees kept by early stopping of %d "
                         "grown", model.name, len(self.workers), stop, grown)  # fmt: skip
                return first_trees(forest, max(stop, 1))
            trees_f = self.broadcast(trees)
            scores = [
                self.client.submit(tasks.add_scores, trees_f, f, None if scores is None
                                   else scores[k], pure=False)
                for k, (f, _) in enumerate(parts["train"])
            ]  # fmt: skip
        log.info("%s: LightGBM on %d workers, %d trees (max_iter, not stopped early)", model.name,
                 len(self.workers), grown)  # fmt: skip
        return forest  # max_iter trees without stopping (max_iter >= 1: the loop ran)

    def _lightgbm(self, model, features, target, init, n_trees: int, width: int) -> Forest:
        """``n_trees`` more trees from LightGBM's Dask estimator, as a `Forest`."""
        import lightgbm

        regressor = lightgbm.DaskLGBMRegressor(
            client=self.client, n_estimators=n_trees, learning_rate=model.learning_rate,
            num_leaves=model.max_leaf_nodes, min_child_samples=model.min_samples_leaf,
            reg_lambda=model.l2_regularization, min_child_weight=1e-3, max_bin=255,
            random_state=model.random_state, deterministic=True, force_col_wise=True,
            verbose=-1,
        )  # fmt: skip
        regressor.fit(features, target, init_score=init)
        return forest_from_lightgbm(regressor.booster_, width)

    def predict(self, model, user: np.ndarray, item: np.ndarray, timestamps: np.ndarray):
        """``model._predict`` over blocks of pairs on the workers, in order."""
        state = self._fitted.get(model)
        if state is None:  # fitted elsewhere: its large state goes out once
            keys = ("history_", "base_models_", "_history_biases")
            state = {k: self.broadcast(getattr(model, k)) for k in keys if hasattr(model, k)}
            self._fitted[model] = state
        if "replicas" not in state:
            shell = self._shell(model, "base_models_")
            large = {k: v for k, v in state.items() if k != "replicas"}
            state["replicas"] = [
                self.client.submit(tasks.with_state, shell, workers=[w], pure=False, **large)
                for w in self.workers
            ]  # fmt: skip
        replicas = state["replicas"]
        blocks = self.blocks(np.arange(len(user)), user)
        submit, predict = self.client.submit, tasks.predict_block
        futures = [
            submit(predict, replicas[k % len(replicas)], user[b], item[b], timestamps[b])
            for k, b in enumerate(blocks)
        ]
        scores = np.concatenate(self.client.gather(futures))
        out = np.empty_like(scores)
        out[np.concatenate(blocks)] = scores  # back in the order of the pairs
        return out

    # -- factorisation -------------------------------------------------------------------------
    def sgd(self, model, user, item, rating, cells, rng, mean, P, Q, b_u, b_i, hyper) -> None:
        """`mf`'s epochs on the cluster, updating ``P``, ``Q``, ``b_u``, ``b_i`` in place.

        The grid is `mf._grid`'s: user blocks are its rows, movie blocks its columns. Each
        worker holds user blocks b ≡ w (mod W) with their cells' ratings in an actor
        (`tasks.UserBlocks`), sent once; per round s the client sends each actor the movie
        blocks of its cells (b, (b + s) mod B) and takes them back updated. The rounds run in
        `mf`'s order and each cell's ratings in its order, so the factors are those of one
        machine; only the movie blocks (movies ≪ users) travel, twice a round.
        """
        from recsys.models.mf import BLOCKS as B

        client, workers = self.client, self.workers
        bounds = cells.reshape(-1)
        row_users = [np.unique(user[bounds[b * B] : bounds[(b + 1) * B]]) for b in range(B)]
        column = [[item[bounds[b * B + c] : bounds[b * B + c + 1]] for b in range(B)]
                  for c in range(B)]  # fmt: skip
        col_items = [np.unique(np.concatenate(parts)) for parts in column]
        actors = []
        for w, worker in enumerate(workers[:B]):
            mine = range(w, B, min(len(workers), B))
            blocks = {b: (P[row_users[b]], b_u[row_users[b]]) for b in mine}
            local = {}
            for b in mine:
                for c in range(B):
                    span = slice(bounds[b * B + c], bounds[b * B + c + 1])
                    local[b, c] = (np.searchsorted(row_users[b], user[span]).astype(np.int32),
                                   np.searchsorted(col_items[c], item[span]).astype(np.int32),
                                   rating[span])  # fmt: skip
            state = [self._put(v, worker) for v in (blocks, local)]
            actor = client.submit(tasks.UserBlocks, *state, mean, *hyper, workers=[worker],
                                  actor=True, pure=False)  # fmt: skip
            actors.append((actor.result(), list(mine)))
        movie_blocks = {c: (Q[i], b_i[i]) for c, i in enumerate(col_items)}
        for _ in range(model.epochs):
            for s in rng.permutation(B):  # the draws `mf` makes, in its order
                calls = [
                    actor.round(int(s), {(b + s) % B: movie_blocks[(b + s) % B] for b in mine})
                    for actor, mine in actors
                ]
                for call in calls:
                    movie_blocks.update(call.result())
            advance("mf epochs (ratings)", len(rating), model.epochs * len(rating))
        for actor, _ in actors:
            for b, (P_b, b_u_b) in actor.factors().result().items():
                P[row_users[b]], b_u[row_users[b]] = P_b, b_u_b
        for c, (Q_c, b_i_c) in movie_blocks.items():
            Q[col_items[c]], b_i[col_items[c]] = Q_c, b_i_c
