"""recsys on Dask (issue 12, item 5): the time of ``recsys evaluate`` on one machine and on
``--cluster local:1`` and ``local:2``, medians over repeats, with each path's RMSE.

    python benchmarks/cluster.py --ratings 1000000 --models mf --repeats 3
    python benchmarks/cluster.py --ratings 200000 --models gbm --repeats 1 --timeout 1200

Each run is the real command, ``recsys -q evaluate --data DIR --split temporal --model M
--no-ranking --json FILE [--cluster local:N]``, timed end to end (start-up, loading, the local
cluster's start and close, fit and scoring); ``fit`` is the model's own fit time from the JSON.
The data set is ``recsys synth DIR --ratings N`` (seed 0), written once. The target: local:2
within 1.3 × the single-machine time. Wall clock on a shared machine: compare the rows of one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RECSYS = [sys.executable, "-m", "recsys.cli"]


def synth(folder: Path, ratings: int) -> Path:
    if not (folder / "manifest.json").is_file():
        subprocess.run([*RECSYS, "-q", "synth", str(folder), "--ratings", str(ratings)],
                       check=True)  # fmt: skip
    return folder


def run(data: Path, model: str, cluster: str | None, timeout: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [*RECSYS, "-q", "evaluate", "--data", str(data), "--split", "temporal",
                   "--model", model, "--no-ranking", "--json", str(out)]  # fmt: skip
        if cluster:
            command += ["--cluster", cluster]
        start = time.perf_counter()
        subprocess.run(command, check=True, timeout=timeout, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)  # fmt: skip
        seconds = time.perf_counter() - start
        scores = json.loads(out.read_text())["models"][model]
    return {"seconds": seconds, "fit": scores["fit_seconds"], "rmse": scores["rmse"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=1_000_000)
    parser.add_argument("--models", default="mf,gbm")
    parser.add_argument("--workers", default="1,2", help="local:N cluster sizes to time")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per run")
    parser.add_argument("--data", help="a data folder (default: synthesised under /tmp)")
    args = parser.parse_args()
    default = Path(tempfile.gettempdir()) / f"recsys-cluster-bench-{args.ratings}"
    data = Path(args.data) if args.data else synth(default, args.ratings)
    paths = [None, *(f"local:{n}" for n in args.workers.split(","))]
    print(f"data {data} ({args.ratings:,} ratings), temporal split, {args.repeats} repeats")
    print(f"{'model':<10}{'path':<10}{'median s':>10}{'fit s':>9}{'RMSE':>9}{'× one':>8}")
    for model in args.models.split(","):
        base = None
        for path in paths:
            runs = [run(data, model, path, args.timeout) for _ in range(args.repeats)]
            seconds = statistics.median(r["seconds"] for r in runs)
            fit = statistics.median(r["fit"] for r in runs)
            base = seconds if path is None else base
            print(f"{model:<10}{path or 'one':<10}{seconds:>10.1f}{fit:>9.1f}"
                  f"{runs[0]['rmse']:>9.4f}{seconds / base:>8.2f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
