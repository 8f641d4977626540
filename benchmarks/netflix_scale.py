"""Netflix-scale benchmarks (issue 12): every figure of the issue's Targets, medians over
repeats, with a reference measured in the same run.

    python benchmarks/netflix_scale.py mf         # mf rating-updates/s at 64 factors vs an
                                                  # implicit ALS iteration, same data, same run
    python benchmarks/netflix_scale.py closest --sample DIR [--full DIR] [--capped]
                                                  # exact (and capped) closest-rater targets/s
    python benchmarks/netflix_scale.py pipeline --sample DIR
                                                  # recsys evaluate --split temporal, seed models
    python benchmarks/netflix_scale.py synth OUT  # recsys synth --netflix: time and peak memory
    python benchmarks/netflix_scale.py mf-full --full DIR
                                                  # mf on 100 M ratings, --split probe
    python benchmarks/netflix_scale.py gbm-full --full DIR [--blend-sample N]
                    [--max-candidates K]          # gbm on 100 M ratings, --split probe
    python benchmarks/netflix_scale.py gbm-sample --full DIR
                                                  # what gbm's shortcuts cost in RMSE (10 M)

The data sets: ``recsys synth /tmp/nf --netflix`` (100 M ratings) and ``recsys sample /tmp/nf
/tmp/nfs --movies 100`` (about 520 k). The 100 M runs take minutes; give them a bounded
``--timeout``. Timings are wall clock on a shared machine: the reference beside each figure is
what makes two runs comparable. Nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit's advice for its own threads

import numba
import numpy as np
from data_loading import _median_time  # the same medians as the loading benchmark


def _timed_command(command: list[str], timeout: float) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in GiB and the output of a command run under /usr/bin/time."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        timed = ["/usr/bin/time", "-f", "%e %M", "-o", report.name, *command]
        done = subprocess.run(timed, capture_output=True, text=True, timeout=timeout, check=True)
        seconds, kib = report.read().split()[-2:]
    return float(seconds), int(kib) / 2**20, done.stdout + done.stderr


def mf(args) -> None:
    """Blocked SGD epochs at 64 factors against one implicit ALS iteration at 64 factors."""
    import implicit
    import scipy.sparse as sp

    from recsys.data.interactions import Interactions
    from recsys.data.synthetic import synthesize_netflix
    from recsys.models import mf as sgd

    data = synthesize_netflix(args.fraction, seed=1)
    history = Interactions.from_ratings(data.ratings)
    rng = np.random.default_rng(0)
    user, item, rating, cells = sgd._grid(history, rng)
    p = rng.normal(0, 0.1, (history.n_users, 64)).astype(np.float32)
    q = rng.normal(0, 0.1, (history.n_items, 64)).astype(np.float32)
    biases = (np.zeros(history.n_users, np.float32), np.zeros(history.n_items, np.float32))
    hyper = (np.float32(0.005), np.float32(0.02), np.float32(0.01))
    mean = np.float32(history.global_mean)

    def epoch() -> None:
        rounds = rng.permutation(sgd.BLOCKS)
        sgd._epoch(user, item, rating, cells, rounds, mean, p, q, *biases, *hyper)

    epoch()  # compile
    cpu = time.process_time()
    epoch_s, epochs = _median_time(epoch, args.repeats)
    cpu_per_epoch = (time.process_time() - cpu) / args.repeats  # both threads' CPU seconds
    matrix = sp.csr_matrix(
        (history.rating, (history.user, history.item)), shape=(history.n_users, history.n_items)
    )
    als = implicit.cpu.als.AlternatingLeastSquares(
        factors=64, iterations=1, num_threads=numba.get_num_threads(), random_state=0
    )
    als.fit(matrix, show_progress=False)  # warm up
    als_s, iterations = _median_time(lambda: als.fit(matrix, show_progress=False), args.repeats)
    print(f"mf data: {len(history):,} ratings, {history.n_users:,} users, "
          f"{history.n_items:,} movies (synthesize_netflix({args.fraction}))")  # fmt: skip
    print(f"mf SGD epoch at 64 factors, {numba.get_num_threads()} threads: median {epoch_s:.2f} s "
          f"{np.round(epochs, 2).tolist()} = {len(history) / epoch_s / 1e6:.1f} M "
          f"rating-updates/s; {len(history) / cpu_per_epoch / 1e6:.1f} M per CPU-second "
          f"(x {numba.get_num_threads()} cores idle = "
          f"{numba.get_num_threads() * len(history) / cpu_per_epoch / 1e6:.1f} M/s)")  # fmt: skip
    print(f"reference: implicit {implicit.__version__} ALS iteration at 64 factors: median "
          f"{als_s:.2f} s {np.round(iterations, 2).tolist()}; epoch/iteration = "
          f"{epoch_s / als_s:.2f}")  # fmt: skip


def _closest_rate(history, user, item, repeats: int, **kwargs):
    """Median targets/s of closest_raters over repeats, the times, targets per CPU-second, and
    the answer."""
    from recsys.features.closest import closest_raters

    closest_raters(history, user[:100], item[:100], **kwargs)  # compile
    answers = []
    cpu = time.process_time()
    seconds, times = _median_time(
        lambda: answers.append(closest_raters(history, user, item, **kwargs)), repeats
    )
    cpu_seconds = (time.process_time() - cpu) / repeats  # both threads' CPU seconds
    return len(user) / seconds, times, len(user) / cpu_seconds, answers[-1]


def _assert_same(one, other) -> None:
    for name in ("raters", "ratings", "distances"):
        np.testing.assert_array_equal(getattr(one, name), getattr(other, name))


def _co_rater_visits(history, user) -> float:
    """Σ over the distinct target users u of Σ_{i∈I_u} n_i: the co-rater visits of one sweep
    per user, what the exact kernel's work grows with (a scan of R(m) per target comes on top)."""
    csr_u = history.by_user
    weights = history.by_item.counts[csr_u.indices].astype(np.float64)
    per_user = np.bincount(csr_u.rows, weights, minlength=history.n_users)
    return float(per_user[np.unique(user)].sum())


def _overlaps(history, user, item) -> tuple[float, float]:
    """Mean over targets of Σ_{i∈I_u, i≠m} |R(i) ∩ R(m)|: the (rater, movie) entries an exact
    target adds up however it is grouped (the by-movie walk reads each once). Counted per movie
    of the targets, so only for sets grouped by movie or on the small sample. And the share of
    those entries among all of m's raters' entries times m's targets: the share of useful
    lanes in a bit-parallel count over a movie's targets (a lane a target, for every entry)."""
    from scipy.sparse import csr_matrix

    by_user, by_item = history.by_user, history.by_item
    rated = csr_matrix((np.ones(len(by_user.indices), np.float64), by_user.indices,
                        by_user.indptr), shape=(history.n_users, history.n_items))  # fmt: skip
    order = np.argsort(item, kind="stable")
    movies, first = np.unique(item[order], return_index=True)
    total = lanes = 0.0
    for m, targets in zip(movies, np.split(user[order], first[1:]), strict=True):
        raters = by_item.indices[by_item.indptr[m] : by_item.indptr[m + 1]]
        shared = np.asarray(rated[raters].sum(axis=0)).ravel()  # |R(i) ∩ R(m)| for every i
        shared[m] = 0
        total += float((rated[targets] @ shared).sum())
        lanes += len(targets) * float(shared.sum())
    return total / len(user), total / lanes


def _pair_by_pair_reference(history, user, item, size: int, repeats: int, group_by) -> None:
    """The exact kernel (grouped by ``group_by``) against pair-by-pair exact scoring of every
    rater of m (the capped kernel with a cap above every movie's raters: |R(m)| pair walks a
    target) on the same random subset of targets, in the same run; the two must agree."""

    chosen = np.sort(np.random.default_rng(1).permutation(len(user))[:size])
    user, item = user[chosen], item[chosen]
    cap = int(history.by_item.counts.max()) + 1
    rate, times, _, exact = _closest_rate(history, user, item, repeats, group_by=group_by)
    ref_rate, ref_times, _, brute = _closest_rate(history, user, item, repeats,
                                                  max_candidates=cap)  # fmt: skip
    _assert_same(exact, brute)
    print(f"    reference on {len(user):,} of these targets (same results): exact, by {group_by}, "
          f"{rate:,.0f} targets/s {np.round(times, 2).tolist()}, pair-by-pair "
          f"{ref_rate:,.0f} targets/s {np.round(ref_times, 2).tolist()}; ratio "
          f"{rate / ref_rate:.1f}x")  # fmt: skip


def _closest_set(history, label, user, item, group_by, args, reference_size) -> None:
    """One set of targets: the chosen grouping timed, the other beside it as the reference,
    pair-by-pair scoring of a subset, and the capped kernel if asked."""
    from recsys.features.closest import grouping

    chosen = group_by or grouping(history, user, item)
    rate, times, per_cpu, answer = _closest_rate(history, user, item, args.repeats,
                                                 group_by=chosen)  # fmt: skip
    visits = _co_rater_visits(history, user)
    print(f"  {label}: {len(user):,} targets; grouped by {chosen}"
          f"{'' if group_by else ' (its estimate)'}: median {statistics.median(times):.2f} s "
          f"{np.round(times, 2).tolist()} = {rate:,.0f} targets/s; {per_cpu:,.0f} per "
          f"CPU-second; one sweep a user would visit {visits / len(user):,.0f} co-raters a "
          f"target")  # fmt: skip
    if chosen == "movie":
        overlaps, useful = _overlaps(history, user, item)
        print(f"    each target adds up {overlaps:,.0f} (rater, movie) overlaps: "
              f"{1e9 / per_cpu / overlaps:.2f} ns of CPU an overlap, all costs included; "
              f"20,000 targets/s on {numba.get_num_threads()} threads would leave "
              f"{1e9 * numba.get_num_threads() / 20_000 / overlaps:.3f} ns an overlap; a "
              f"count bit-parallel over a movie's targets would use {useful:.1%} of its "
              f"lanes")  # fmt: skip
    if group_by is None:  # the other grouping, same targets, same run
        other = "user" if chosen == "movie" else "movie"
        other_rate, other_times, _, again = _closest_rate(history, user, item, args.repeats,
                                                          group_by=other)  # fmt: skip
        _assert_same(answer, again)
        print(f"    grouped by {other} instead (same results): {other_rate:,.0f} targets/s "
              f"{np.round(other_times, 2).tolist()}; ratio {rate / other_rate:.2f}x")  # fmt: skip
    _pair_by_pair_reference(history, user, item, reference_size, args.repeats, chosen)
    if args.capped:  # what gbm-full examines instead: the capped pool
        rate, times, _, capped = _closest_rate(history, user, item, args.repeats,
                                               max_candidates=args.max_candidates)  # fmt: skip
        same = np.mean(np.all(capped.raters == answer.raters, axis=1))
        print(f"    capped at max_candidates={args.max_candidates}: median "
              f"{statistics.median(times):.2f} s {np.round(times, 2).tolist()} = "
              f"{rate:,.0f} targets/s; the exact four raters for {same:.1%} of the targets, "
              f"mean distance {np.nanmean(capped.distances):.2f} against "
              f"{np.nanmean(answer.distances):.2f}")  # fmt: skip


def closest(args) -> None:
    """Exact closest raters on the sample: every period-one rating (left out of its own
    description) and every period-two rating, grouped as the estimate chooses and the other
    way beside it. On the 100 M set, the same two periods' targets of a random share of the
    users (--share) grouped by user, each period alone and both in one call; and the probe
    targets of a random share of the users grouped by user and of a random share of the
    movies grouped by movie (--movie-share): each sample keeps its grouping's unit whole, so
    each rate stands for its whole set. Each set beside pair-by-pair scoring of a subset."""
    from recsys.data.interactions import Interactions
    from recsys.data.loading import load
    from recsys.data.splits import make_splits
    from recsys.data.vocabulary import Vocabulary
    from recsys.features.closest import grouping

    print(f"load average at start: {os.getloadavg()[0]:.2f} (1 min), "
          f"{numba.get_num_threads()} numba threads")  # fmt: skip
    runs = [(args.sample, "temporal")]
    runs += [(args.full, "temporal"), (args.full, "probe")] if args.full else []
    for folder, split_name in runs:
        dataset = load(folder)
        ratings = dataset.ratings
        (split,) = make_splits(ratings, split_name, probe=folder)
        users = Vocabulary(ratings["user_id"].to_numpy())
        items = Vocabulary(ratings["item_id"].to_numpy())
        history = Interactions.from_ratings(split.train, users, items)
        del dataset, ratings
        test_user = users.index(split.test["user_id"].to_numpy())
        test_item = items.index(split.test["item_id"].to_numpy())
        del split
        known = (test_user >= 0) & (test_item >= 0)
        test_user, test_item = test_user[known], test_item[known]
        counts = history.by_item.counts.astype(np.float64)
        print(f"closest on {folder} ({split_name}): history {len(history):,} ratings, "
              f"{history.n_users:,} users; sum of n_i^2 = {np.sum(counts**2):.3g}")  # fmt: skip
        if split_name == "temporal":
            full = folder == args.full  # a share of the users, each grouped by user
            kept = np.random.default_rng(0).random(history.n_users) < args.share
            sets = [("period two", test_user, test_item),
                    ("period one (leave-one-out)", history.user, history.item)]
            if full:  # the seed's targets as one call: a user's sweep serves both periods
                sets.append(("both periods in one call", np.r_[history.user, test_user],
                             np.r_[history.item, test_item]))  # fmt: skip
            for label, user, item in sets:
                if full:
                    keep = kept[user]
                    user, item = user[keep], item[keep]
                    label = f"{label}, targets of {args.share:.1%} of the users"
                _closest_set(history, label, user, item, "user" if full else None, args,
                             args.reference_full if full else args.reference)  # fmt: skip
            continue
        whole = grouping(history, test_user, test_item)
        print(f"  all {len(test_user):,} probe targets: the estimate groups them by {whole}")
        rng = np.random.default_rng(0)
        for unit, share, size in (("user", args.share, history.n_users),
                                  ("movie", args.movie_share, history.n_items)):  # fmt: skip
            keep = (rng.random(size) < share)[test_user if unit == "user" else test_item]
            label = f"probe targets of {share:.1%} of the {unit}s"
            _closest_set(history, label, test_user[keep], test_item[keep], unit, args,
                         args.reference_full)  # fmt: skip
    print(f"load average at end: {os.getloadavg()[0]:.2f} (1 min)")


def pipeline(args) -> None:
    """The seed's pipeline end to end on the sample, as a user runs it."""
    command = ["recsys", "evaluate", "--data", str(args.sample), "--split", "temporal",
               "--model", args.models, "--no-ranking"]  # fmt: skip
    seconds, peak, output = _timed_command(command, args.timeout)
    print(f"$ {' '.join(command)}")
    print("\n".join(line for line in output.splitlines() if "%|" not in line))
    print(f"pipeline: {seconds:.0f} s wall, peak {peak:.2f} GiB")


def synth(args) -> None:
    command = ["recsys", "synth", str(args.out), "--netflix"]
    seconds, peak, _ = _timed_command(command, args.timeout)
    print(f"$ {' '.join(command)}: {seconds:.0f} s wall, peak {peak:.2f} GiB")


def mf_full(args) -> None:
    command = ["recsys", "evaluate", "--data", str(args.full), "--split", "probe", "--model",
               "mf", "--no-ranking"]  # fmt: skip
    seconds, peak, output = _timed_command(command, args.timeout)
    print(f"$ {' '.join(command)}")
    print("\n".join(line for line in output.splitlines() if "%|" not in line))
    print(f"mf on the full set: {seconds:.0f} s wall (load, split, fit, score), "
          f"peak {peak:.2f} GiB")  # fmt: skip


def _gbm_command(data: Path, params: list[str]) -> list[str]:
    command = ["recsys", "evaluate", "--data", str(data), "--split", "probe", "--model", "gbm",
               "--no-ranking"]  # fmt: skip
    for param in params:
        command += ["--param", param]
    return command


def _gbm_params(args) -> list[str]:
    params = [f"blend_sample={args.blend_sample}"] if args.blend_sample else []
    return params + ([f"max_candidates={args.max_candidates}"] if args.max_candidates else [])


def _rmse(output: str, model: str = "gbm") -> str:
    """The RMSE column of a model's row in `recsys evaluate`'s table."""
    for line in output.splitlines():
        if line.split()[:1] == [model] or line.startswith(f"{model}("):
            return line.split()[1]
    return "?"


def gbm_full(args) -> None:
    """gbm as a user runs it on the full set: the blend learns from a sample of the training
    ratings, the closest raters examined capped (`--max-candidates`)."""
    command = _gbm_command(args.full, _gbm_params(args))
    seconds, peak, output = _timed_command(command, args.timeout)
    print(f"$ {' '.join(command)}")
    print("\n".join(line for line in output.splitlines() if "%|" not in line))
    print(f"gbm on {args.full}: {seconds:.0f} s wall (load, split, fit, score), "
          f"peak {peak:.2f} GiB")  # fmt: skip


def gbm_sample(args) -> None:
    """What gbm-full's two shortcuts cost, on a set small enough for the exact blend: out of
    fold on every rating with exact closest raters, then the blend sample alone, then with
    the capped closest raters too; the same probe split, each run timed."""
    runs = [("every rating, out of fold, exact", []),
            (f"blend_sample={args.blend_sample}, exact", [f"blend_sample={args.blend_sample}"]),
            (f"blend_sample={args.blend_sample}, max_candidates={args.max_candidates}",
             _gbm_params(args))]  # fmt: skip
    for label, params in runs:
        seconds, peak, output = _timed_command(_gbm_command(args.full, params), args.timeout)
        print(f"gbm, {label}: probe RMSE {_rmse(output)}, {seconds:.0f} s, peak {peak:.2f} GiB",
              flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["mf", "closest", "pipeline", "synth", "mf-full",
                                         "gbm-full", "gbm-sample"])  # fmt: skip
    parser.add_argument("out", nargs="?", default="/tmp/nf", help="synth: folder to write")
    parser.add_argument("--sample", type=Path, default=Path("/tmp/nfs"))
    parser.add_argument("--full", type=Path)
    parser.add_argument("--share", type=float, default=0.005, help="closest on --full: share "
                        "of the users whose targets are timed grouped by user")  # fmt: skip
    parser.add_argument("--movie-share", type=float, default=0.02, help="closest on --full: "
                        "share of the movies whose targets are timed grouped by movie")  # fmt: skip
    parser.add_argument("--reference", type=int, default=1000, help="closest: targets scored "
                        "pair by pair beside the exact kernel")  # fmt: skip
    parser.add_argument("--reference-full", type=int, default=40, help="the same on --full")
    parser.add_argument("--capped", action="store_true", help="closest: time the capped "
                        "kernel (--max-candidates) on the same targets too")  # fmt: skip
    parser.add_argument("--fraction", type=float, default=0.1, help="mf: synthetic data size")
    parser.add_argument("--models", default="baseline,gbm-seed,gbm")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--blend-sample", type=int, default=1_000_000, help="gbm: ratings "
                        "the blend learns from")  # fmt: skip
    parser.add_argument("--max-candidates", type=int, default=100, help="gbm: raters of a "
                        "movie examined for its closest raters")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per command run")
    args = parser.parse_args()
    if args.what in ("mf-full", "gbm-full", "gbm-sample") and args.full is None:
        sys.exit(f"{args.what} needs --full DIR")
    {"mf": mf, "closest": closest, "pipeline": pipeline, "synth": synth, "mf-full": mf_full,
     "gbm-full": gbm_full, "gbm-sample": gbm_sample}[args.what](args)  # fmt: skip


if __name__ == "__main__":
    main()
