"""Model benchmarks (issue 3): accuracy on the seed's split, fit time and peak memory, the
choice of SGD over ALS for `mf`, and how fit time grows with data.

    python benchmarks/models.py accuracy   # every model: seed1, 5-fold, temporal, ml-latest-small
    python benchmarks/models.py cost       # gbm fit time and peak RSS; mf fit time (median of 5)
    python benchmarks/models.py als        # mf: SGD against biased ALS
    python benchmarks/models.py scaling   # fit time from 100 k to 10 M ratings

Figures are printed; nothing here is a pass/fail test. The real data sets are read from
../shared/data (or $RECSYS_SHARED_DATA).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numba
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECSYS_SHARED_DATA", ROOT.parent / "shared" / "data"))
DIRTY = SHARED / "movielens-small-dirty"
GENUINE = SHARED / "ml-latest-small"
MODELS = "global-mean,baseline,mf,item-knn,closest-raters,gbm-seed,gbm"


def accuracy(args) -> None:
    from recsys.data.loading import load
    from recsys.evaluation.protocols import evaluate
    from recsys.evaluation.report import table

    runs = [(DIRTY, "seed1", {}), (DIRTY, "kfold", {"folds": 5}),
            (DIRTY, "temporal", {"test_fraction": 0.1}), (GENUINE, "seed1", {})]  # fmt: skip
    out = {}
    for path, split, options in runs:
        result = evaluate(load(path), split, args.models.split(","), ranking=split != "kfold",
                          **options)  # fmt: skip
        print(f"\n== {path.name}, split {split}")
        print(table(result))
        out[f"{path.name}/{split}"] = result
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=float))


def _peak_fit(name: str, path: Path) -> dict:
    """Fit one model on all of a data set in a fresh process; its time and peak RSS."""
    code = f"""
import json, resource, time
from recsys.data.loading import load
from recsys.models.registry import make_model
data = load({str(path)!r}); base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter(); make_model({name!r}).fit(data); seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": seconds, "peak_mib": peak / 1024, "before_fit_mib": base / 1024}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def cost(args) -> None:
    gbm = [_peak_fit("gbm", GENUINE) for _ in range(args.repeats)]
    print(
        f"gbm fit on ml-latest-small (100,836 ratings): median "
        f"{statistics.median(g['seconds'] for g in gbm):.1f} s, peak RSS "
        f"{max(g['peak_mib'] for g in gbm):.0f} MiB (targets: 60 s, 1536 MiB)   runs: "
        + ", ".join(f"{g['seconds']:.1f}" for g in gbm)
    )
    from recsys.data.loading import load
    from recsys.models.registry import make_model

    data = load(GENUINE)
    make_model("mf", epochs=1).fit(data)  # compile once
    times = []
    for _ in range(5):
        start = time.perf_counter()
        make_model("mf").fit(data)
        times.append(time.perf_counter() - start)
    print(
        f"mf fit on ml-latest-small (100,836 ratings): median {statistics.median(times):.2f} s "
        f"of 5 (target 2 s)"
    )


# -- ALS, for the comparison only ---------------------------------------------------------------
@numba.njit(parallel=True, cache=True)
def _als_half(indptr, other, rating, mean, other_bias, other_factors, bias, factors, reg):
    """Solve every row's [bias, factors] given the other side (ALS-WR: λ·n_u ridge)."""
    k = factors.shape[1]
    for u in numba.prange(len(indptr) - 1):
        lo, hi = indptr[u], indptr[u + 1]
        n = hi - lo
        if n == 0:
            continue
        a = np.eye(k + 1) * reg * n
        b = np.zeros(k + 1)
        z = np.empty(k + 1)
        for t in range(lo, hi):
            j = other[t]
            z[0] = 1.0
            z[1:] = other_factors[j]
            a += np.outer(z, z)
            b += z * (rating[t] - mean - other_bias[j])
        x = np.linalg.solve(a, b)
        bias[u] = x[0]
        factors[u] = x[1:]


def fit_als(history, k: int, reg: float, sweeps: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    p = rng.normal(0, 0.1, (history.n_users, k))
    q = rng.normal(0, 0.1, (history.n_items, k))
    bu, bi = np.zeros(history.n_users), np.zeros(history.n_items)
    mean = history.global_mean
    by_u, by_i = history.by_user, history.by_item
    for _ in range(sweeps):
        _als_half(
            by_u.indptr, by_u.indices, by_u.ratings.astype(np.float64), mean, bi, q, bu, p, reg
        )
        _als_half(
            by_i.indptr, by_i.indices, by_i.ratings.astype(np.float64), mean, bu, p, bi, q, reg
        )
    return lambda u, i: mean + bu[u] + bi[i] + np.einsum("ij,ij->i", p[u], q[i])


def als(args) -> None:
    from recsys.data.interactions import Interactions
    from recsys.data.loading import load
    from recsys.data.splits import make_splits
    from recsys.evaluation.metrics import rmse
    from recsys.models.registry import make_model

    data = load(DIRTY)
    split = make_splits(data.ratings, "seed1")[0]
    train = data.with_ratings(split.train)
    history = Interactions.from_ratings(split.train)
    warm = ~split.cold_mask()
    test = split.test[warm]
    u = history.users.index(test["user_id"].to_numpy())
    i = history.items.index(test["item_id"].to_numpy())
    truth = test["rating"].to_numpy()
    fit_als(history, 8, 0.1, 1)  # compile
    print("warm test ratings of seed1; fit seconds are medians of 3")
    for k in (16, 64):
        for reg in (0.05, 0.1, 0.2):
            times, error = [], None
            for _ in range(3):
                start = time.perf_counter()
                predict = fit_als(history, k, reg, sweeps=15)
                times.append(time.perf_counter() - start)
                error = rmse(np.clip(predict(u, i), 0.5, 5.0), truth)
            print(
                f"ALS k={k:<3} reg={reg:<5} RMSE {error:.4f}  fit {statistics.median(times):.2f} s"
            )
    times = []
    for _ in range(3):
        start = time.perf_counter()
        model = make_model("mf").fit(train)
        times.append(time.perf_counter() - start)
    error = rmse(model.predict(test["user_id"], test["item_id"]).rating, truth)
    print(f"SGD (mf defaults)  RMSE {error:.4f}  fit {statistics.median(times):.2f} s")


def scaling(args) -> None:
    """Fit seconds per model as the data grows; above --exact-max ratings the closest-rater
    models examine only the --cap most active raters of a movie (max_candidates), the speed
    knob for Netflix-sized data."""
    from recsys.data.synthetic import synthesize
    from recsys.models.registry import make_model

    sizes = [n for n in (100_000, 300_000, 1_000_000, 3_000_000, 10_000_000)
             if args.min <= n <= args.max]  # fmt: skip
    models = args.models.split(",")
    print(f"{'ratings':>12} " + " ".join(f"{m:>14}" for m in models) + "   (fit seconds)")
    for n in sizes:
        data = synthesize(n, seed=1)
        row = []
        for name in models:
            params = {}
            if name in ("gbm", "gbm-seed", "closest-raters") and n > args.exact_max:
                params["max_candidates"] = args.cap
            start = time.perf_counter()
            make_model(name, **params).fit(data)
            capped = "*" if params else ""
            row.append(f"{f'{time.perf_counter() - start:.1f}{capped}':>14}")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{n:>12,} " + " ".join(row) + f"   peak RSS so far {rss:,.0f} MiB", flush=True)
    print(f"* max_candidates={args.cap} (exact up to {args.exact_max:,} ratings)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("accuracy")
    p.add_argument("--models", default=MODELS)
    p.add_argument("--json")
    p.set_defaults(run=accuracy)
    p = commands.add_parser("cost")
    p.add_argument("--repeats", type=int, default=3)
    p.set_defaults(run=cost)
    commands.add_parser("als").set_defaults(run=als)
    p = commands.add_parser("scaling")
    p.add_argument("--min", type=int, default=100_000)
    p.add_argument("--max", type=int, default=10_000_000)
    p.add_argument("--exact-max", type=int, default=1_000_000)
    p.add_argument("--cap", type=int, default=100)
    p.add_argument("--models", default="baseline,mf,item-knn,gbm")
    p.set_defaults(run=scaling)
    args = parser.parse_args()
    if not DIRTY.exists() and args.command != "scaling":
        sys.exit(f"real data not found in {SHARED}: set RECSYS_SHARED_DATA")
    args.run(args)


if __name__ == "__main__":
    main()
