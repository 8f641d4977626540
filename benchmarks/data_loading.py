"""Data-loading benchmarks (SPEC §2.2): how fast the data layer reads its sources.

    python benchmarks/data_loading.py                      # ml-latest-small + 20 M Netflix layout
    python benchmarks/data_loading.py --ratings 100000000  # the Netflix parse at full size
    python benchmarks/data_loading.py --skip-movielens --runs 3

Prints, as medians of several runs (other jobs may share the machine):
- ml-latest-small from its CSV files, cache off (target <= 0.5 s), and from the cache
  (target <= 0.05 s);
- the Netflix (Kaggle) layout: parse rate of `load(folder, cache=False)` on a synthetic set
  (target >= 5 M ratings/s), and the parse's peak RSS, measured in a fresh child process as
  its RSS high-water mark after the load minus its RSS before it (VmHWM reset first on Linux,
  else ru_maxrss), against the size of the final columns (target <= 2x).

The synthetic set is written once to $RECSYS_BENCH_DIR (default /tmp/recsys-bench) and reused.
Runs start with a warm-up (numba compilation, the page cache), which is not counted. Figures are
printed; nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECSYS_SHARED_DATA", ROOT.parent / "shared" / "data"))
BENCH_DIR = Path(os.environ.get("RECSYS_BENCH_DIR", "/tmp/recsys-bench"))

sys.path.insert(0, str(ROOT))


def _median_time(run, repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def movielens(runs: int) -> None:
    from recsys.data.loading import load

    path = SHARED / "ml-latest-small"
    if not (path / "ratings.csv").exists():
        print(f"ml-latest-small not found in {SHARED}: skipped")
        return
    with tempfile.TemporaryDirectory() as cache:
        os.environ["RECSYS_CACHE_DIR"] = cache
        dataset = load(path, cache=False)  # warm-up: numba kernels, page cache
        csv, csv_times = _median_time(lambda: load(path, cache=False), runs)
        load(path)  # writes the cache
        cached, cached_times = _median_time(lambda: load(path), runs)
        size = sum(f.stat().st_size for f in Path(cache).glob("*.npz"))
        del os.environ["RECSYS_CACHE_DIR"]
    print(f"ml-latest-small ({dataset.n_ratings:,} ratings, {len(dataset.movies):,} movies)")
    print(
        f"  from CSV, cache off: median {csv:.3f} s (target <= 0.5 s)   runs: "
        + ", ".join(f"{t:.3f}" for t in csv_times)
    )
    print(
        f"  from the cache:      median {cached:.4f} s (target <= 0.05 s) runs: "
        + ", ".join(f"{t:.4f}" for t in cached_times)
        + f"   [cache file {size / 1e6:.1f} MB]"
    )


def synthetic_folder(n_ratings: int) -> Path:
    """The synthetic Netflix-layout set of n_ratings, written once and reused."""
    folder = BENCH_DIR / f"netflix-{n_ratings}-seed0"
    if (folder / "combined_data_1.txt").exists() and (folder / "manifest.json").exists():
        return folder
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    print(f"writing {n_ratings:,} synthetic ratings to {folder} (once) ...", flush=True)
    start = time.perf_counter()
    # In a child: this process stays small, and the children it starts to measure a parse
    # inherit its peak RSS (ru_maxrss survives fork and exec).
    code = (
        "import sys; from recsys.data.synthetic import write_synthetic as w; "
        "w(sys.argv[1], int(sys.argv[2]), seed=0)"
    )
    subprocess.run([sys.executable, "-c", code, str(partial), str(n_ratings)], check=True,
                   env=dict(os.environ, PYTHONPATH=str(ROOT)))  # fmt: skip
    partial.rename(folder)
    print(f"  written in {time.perf_counter() - start:.1f} s", flush=True)
    return folder


# Run in a fresh interpreter so the high-water mark of its RSS sees only this parse. On Linux
# the mark (VmHWM) is reset to the current RSS first, since ru_maxrss also counts what the
# parent held when it forked; elsewhere ru_maxrss is the measure.
_CHILD = """
import json, resource, sys, tempfile, time
from pathlib import Path
from recsys.data.loading import load
from recsys.data.netflix import write_netflix
from recsys.data.synthetic import synthesize

def kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])

with tempfile.TemporaryDirectory() as tiny:  # warm-up: compile or load the numba kernels
    load(write_netflix(synthesize(2000, seed=1), Path(tiny)), cache=False)
try:
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # reset VmHWM to VmRSS
    base, peak_of = kb("VmRSS"), lambda: kb("VmHWM")
except OSError:
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_of = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
dataset = load(sys.argv[1], cache=False)
seconds = time.perf_counter() - start
peak = peak_of()
columns = int(dataset.ratings.memory_usage(index=False, deep=True).sum())
print(json.dumps({"seconds": seconds, "rows": dataset.n_ratings,
                  "dropped": dataset.report.rows_dropped, "growth_kb": peak - base,
                  "base_kb": base, "columns_bytes": columns}))
"""


def netflix(n_ratings: int, runs: int) -> None:
    folder = synthetic_folder(n_ratings)
    size = (folder / "combined_data_1.txt").stat().st_size
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with open(folder / "combined_data_1.txt", "rb") as stream:  # warm the page cache
        while stream.read(64 << 20):
            pass
    results = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", _CHILD, str(folder)], capture_output=True,
                              text=True, check=True, env=env)  # fmt: skip
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    rows = results[0]["rows"]
    seconds = statistics.median(r["seconds"] for r in results)
    growth = statistics.median(r["growth_kb"] for r in results) * 1024
    columns = results[0]["columns_bytes"]
    print(
        f"Netflix layout, synthetic: {rows:,} ratings kept of {n_ratings:,} "
        f"({results[0]['dropped']:,} dropped), file {size / 1e9:.2f} GB, page cache warm"
    )
    print(
        f"  parse (load, cache off): median {seconds:.2f} s = {rows / seconds / 1e6:.1f} M "
        "ratings/s (target >= 5 M/s)   runs: " + ", ".join(f"{r['seconds']:.2f}" for r in results)
    )
    print(
        f"  peak RSS growth: median {growth / 1e6:.0f} MB against final columns "
        f"{columns / 1e6:.0f} MB = {growth / columns:.2f}x (target <= 2x)   runs: "
        + ", ".join(f"{r['growth_kb'] * 1024 / columns:.2f}x" for r in results)
        + f"   [child baseline {results[0]['base_kb'] / 1024:.0f} MB]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--ratings",
        type=int,
        default=20_000_000,
        help="size of the synthetic Netflix set (default 20 M; try 100 M)",
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure (median)")
    parser.add_argument("--skip-movielens", action="store_true")
    parser.add_argument("--skip-netflix", action="store_true")
    args = parser.parse_args()
    if not args.skip_movielens:
        movielens(max(args.runs, 5) if args.runs > 1 else 1)
    if not args.skip_netflix:
        netflix(args.ratings, args.runs)


if __name__ == "__main__":
    main()
