"""Rating-store benchmark (issue 11, "Write" targets, the store alone, no HTTP):

    python benchmarks/store.py
    RECSYS_TEST_DATABASE_URL=postgresql+psycopg://recsys@127.0.0.1:55432/postgres \\
        python benchmarks/store.py            # PostgreSQL too, in a fresh database, dropped after

Prints for SQLite (a fresh file in a temp folder, WAL, synchronous FULL: every commit fsynced)
and, when RECSYS_TEST_DATABASE_URL names a server, PostgreSQL:
- one-rating upsert latency, p50 and p99 over --single writes (target p50 <= 5 ms);
- ratings/s stored in batches of 100 by 4 threads sharing one store (target >= 5,000/s).

Every write is a committed transaction; each user's movies are new, so every row is stored.
Figures are printed; nothing here is a pass/fail test. The machine may be shared: run it when
it is quiet.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recsys.store import open_store

WARM_UP = 20  # writes first, untimed: the pool's connections, statement caches


def single(store, n: int) -> list[float]:
    seconds = []
    for i in range(n + WARM_UP):
        start = time.perf_counter()
        store.upsert("single", [(str(i), 4.0, 1_700_000_000 + i)])
        if i >= WARM_UP:
            seconds.append(time.perf_counter() - start)
    return seconds


def batches(store, threads: int, per_thread: int, size: int) -> float:
    def write(k: int) -> None:
        for b in range(per_thread):
            rows = [(str(b * size + m), 3.5, 1_700_000_000 + m) for m in range(size)]
            store.upsert(f"batch-{k}", rows)

    workers = [threading.Thread(target=write, args=(k,)) for k in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return threads * per_thread * size / (time.perf_counter() - start)


def run(name: str, url: str | None, state_dir: Path, args: argparse.Namespace) -> None:
    store = open_store(url, state_dir)
    try:
        latency = sorted(single(store, args.single))
        p50 = statistics.median(latency) * 1e3
        p99 = latency[int(0.99 * (len(latency) - 1))] * 1e3
        rate = batches(store, args.threads, args.batches, args.batch_size)
        written = WARM_UP + args.single + args.threads * args.batches * args.batch_size
        assert store.count() == written, (store.count(), written)
    finally:
        store.close()
    print(f"{name:<10} one-rating upsert p50 {p50:6.2f} ms, p99 {p99:6.2f} ms; batches of "
          f"{args.batch_size} from {args.threads} threads: {rate:8,.0f} ratings/s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=500, help="one-rating upserts timed")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--batches", type=int, default=100, help="batches per thread")
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="recsys-store-bench-") as folder:
        run("sqlite", None, Path(folder), args)
    server = os.environ.get("RECSYS_TEST_DATABASE_URL")
    if not server:
        print("postgres   skipped: set RECSYS_TEST_DATABASE_URL to a server URL")
        return
    import sqlalchemy as sa

    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    name = f"recsys_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        url = admin.url.set(database=name).render_as_string(hide_password=False)
        run("postgresql", url, Path(tempfile.gettempdir()), args)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))  # the store is closed


if __name__ == "__main__":
    main()
