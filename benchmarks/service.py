"""Service benchmarks (issue 4): latency, throughput, batch predictions, start-up, memory, soak.

    python benchmarks/service.py                      # ml-latest-small, 60 s soak
    python benchmarks/service.py --soak 300           # the final 5-minute soak figure
    python benchmarks/service.py --json out.json --client python

Trains the default model (the ranker, with matrix factorisation for predicted ratings) on the
data (or takes --artifact), starts `recsys serve` (one uvicorn worker) on 127.0.0.1, and drives it
from a second process: `wrk` when installed (apt-get install wrk), else a multi-process asyncio
client on raw keep-alive sockets. Every load phase is bounded in time and in requests. Figures
are medians over repeats; targets are printed beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "ml-latest-small"
TARGETS = {
    "p50_1_client_ms": ("<=", 3.0),
    "throughput_16_clients_rps": (">=", 1000),
    "throughput_over_health_live": (">=", 0.5),
    "artifact_mb": ("<=", 150.0),
    "p99_16_clients_ms": ("<=", 25.0),
    "predict_10000_pairs_ms": ("<=", 50.0),
    "startup_to_ready_s": ("<=", 2.0),
    "rss_mib": ("<=", 400.0),
    "soak_errors": ("<=", 0),
    "soak_rss_growth_pct": ("<", 5.0),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="data set to train on")
    parser.add_argument("--artifact", help="a trained artifact (skips training)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per load run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--soak", type=float, default=60.0, help="soak seconds (300: final)")
    parser.add_argument("--max-requests", type=int, default=2_000_000, help="cap per run")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"

    work = Path(tempfile.mkdtemp(prefix="recsys-bench-"))
    try:
        artifact = Path(args.artifact) if args.artifact else train(args.data, work / "model")
        results = {"client": client, "data": args.data}
        results |= in_process(artifact, args.data)
        results |= over_http(artifact, args, client, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


def train(data: str, folder: Path) -> Path:
    from recsys.data.loading import load_or_demo
    from recsys.models.registry import make_model
    from recsys.service import save_artifact

    dataset = load_or_demo(data)
    print(f"training the ranker on {dataset.n_ratings:,} ratings …", flush=True)
    model = make_model("ranker").fit(dataset)
    return save_artifact(model, dataset, folder)


def in_process(artifact: Path, data: str) -> dict:
    """The service's recommend call, and as a reference measured in the same run, the MovieLens
    seed's request path: filter the user's unseen movies with pandas, build Python lists of
    pairs, predict every one, argsort (its Keras model.predict replaced by our model's)."""
    from recsys.api.app import limit_blas_threads
    from recsys.data.loading import load_or_demo
    from recsys.models.persistence import load_model
    from recsys.service import load_artifact

    limit_blas_threads()
    service = load_artifact(artifact)
    users = np.random.default_rng(0).choice(service.users.ids, 2000).tolist()
    for user in users[:200]:
        service.recommend(user, 10)
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for user in users:
            service.recommend(user, 10)
        runs.append((time.perf_counter() - start) / len(users) * 1e3)
    model, dataset = load_model(artifact), load_or_demo(data)
    seed_way = []
    for user in users[:100]:
        start = time.perf_counter()
        seed_recommend(model, dataset.ratings, dataset.movies, user)
        seed_way.append((time.perf_counter() - start) * 1e3)
    ours = statistics.median(runs)
    reference = statistics.median(seed_way)
    return {
        "recommend_in_process_ms": round(ours, 4),
        "seed_request_path_ms": round(reference, 3),
        "speedup_over_seed_path": round(reference / ours, 1),
    }


def seed_recommend(model, ratings, movies, user_id) -> list:
    """The seed's recommendation code path (the Keras collaborative-filtering example it
    follows), with our fitted model predicting."""
    watched = ratings[ratings["user_id"] == user_id]
    not_watched = movies[~movies["item_id"].isin(watched["item_id"].to_numpy())]["item_id"]
    not_watched = list(set(not_watched).intersection(set(model.items_.ids.tolist())))
    predicted = model.predict(np.full(len(not_watched), user_id), np.array(not_watched)).rating
    best = predicted.argsort()[-10:][::-1]
    return [not_watched[k] for k in best]


# -- the server ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, artifact: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # `recsys serve`, what is deployed: the app with the connection limits of recsys.api
        command = [sys.executable, "-m", "recsys.cli", "-q", "serve", "--host", "127.0.0.1",
                   "--port", str(self.port)]  # fmt: skip
        # As deployed: with bytecode (the image compiles it at build, a virtual environment
        # writes it on first run). A shell that forbids writing it would time the compiler.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["RECSYS_MODEL"] = str(artifact)
        self.started = time.perf_counter()
        self.process = subprocess.Popen(command, cwd=ROOT, env=env)
        self.ready_after = self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}")
            try:
                status, _ = http_get(self.port, "/health/ready")
                if status == 200:
                    return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.01)
        raise RuntimeError("the server did not become ready")

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def http_get(port: int, path: str) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1]), data.split(b"\r\n\r\n", 1)[1]


def over_http(artifact: Path, args, client: str, work: Path) -> dict:
    from recsys.service import load_artifact

    users = load_artifact(artifact).users.ids.tolist()
    Server(artifact).stop()  # unmeasured: writes the bytecode and compiles the kernels
    startups = []
    for _ in range(args.repeats):
        server = Server(artifact)
        startups.append(server.ready_after)
        server.stop()
    results = {"startup_to_ready_s": round(statistics.median(startups), 3)}
    server = Server(artifact)
    try:
        paths = [f"/recommendations/{u}" for u in users]
        load = Load(client, server.port, paths, work, args.max_requests)
        load.run(1, 2.0)  # warm-up
        one = [load.run(1, args.duration) for _ in range(args.repeats)]
        results["p50_1_client_ms"] = med(one, "p50_ms")
        many = [load.run(args.clients, args.duration) for _ in range(args.repeats)]
        results["throughput_16_clients_rps"] = med(many, "rps", 0)
        health = Load(client, server.port, ["/health/live"], work, args.max_requests)
        live = [health.run(args.clients, args.duration) for _ in range(args.repeats)]
        results["health_live_16_clients_rps"] = med(live, "rps", 0)
        results["throughput_over_health_live"] = round(
            results["throughput_16_clients_rps"] / results["health_live_16_clients_rps"], 3
        )
        # Filters that reach past the precomputed lists take the live ranking path.
        deep = [f"/v1/users/{u}/recommendations?n=20&offset=100" for u in users]
        ranked_live = Load(client, server.port, deep, work, args.max_requests)
        results["p50_live_ranking_1_client_ms"] = med(
            [ranked_live.run(1, args.duration) for _ in range(args.repeats)], "p50_ms"
        )
        results["p50_16_clients_ms"] = med(many, "p50_ms")
        results["p99_16_clients_ms"] = med(many, "p99_ms")
        results["errors_16_clients"] = sum(r["errors"] for r in many)
        results["predict_10000_pairs_ms"] = predict_batch(server.port, users, artifact)
        results["rss_mib"] = round(server.rss_mib(), 1)
        size = sum(f.stat().st_size for f in Path(artifact).rglob("*") if f.is_file())
        results["artifact_mb"] = round(size / 1e6, 1)
        before = server.rss_mib()
        soak = load.run(args.clients, args.soak)
        after = server.rss_mib()
        results |= {
            "soak_seconds": args.soak,
            "soak_requests": soak["requests"],
            "soak_rps": round(soak["rps"]),
            "soak_p99_ms": soak["p99_ms"],
            "soak_errors": soak["errors"],
            "soak_rss_before_mib": round(before, 1),
            "soak_rss_after_mib": round(after, 1),
            "soak_rss_growth_pct": round((after - before) / before * 100, 2),
        }
    finally:
        server.stop()
    return results


def med(runs: list[dict], key: str, digits: int = 3) -> float:
    return round(statistics.median(r[key] for r in runs), digits)


def predict_batch(port: int, users: list, artifact: Path, repeats: int = 15) -> float:
    """Median time of POST /predictions with 10,000 pairs, sent one at a time."""
    from recsys.service import load_artifact

    items = load_artifact(artifact).items.ids.tolist()
    rng = np.random.default_rng(1)
    chosen = zip(rng.choice(users, 10_000), rng.choice(items, 10_000), strict=True)
    pairs = [{"user_id": int(u), "movie_id": int(m)} for u, m in chosen]
    body = json.dumps({"pairs": pairs}).encode()
    request = (f"POST /predictions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
               f"\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body  # fmt: skip
    times = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        reader = s.makefile("rb")
        for _ in range(repeats + 2):
            start = time.perf_counter()
            s.sendall(request)
            status, _ = read_response(reader)
            times.append((time.perf_counter() - start) * 1e3)
            if status != 200:
                raise RuntimeError(f"POST /predictions answered {status}")
    return round(statistics.median(times[2:]), 2)


def read_response(reader) -> tuple[int, bytes]:
    status = int(reader.readline().split(b" ", 2)[1])
    length = 0
    while (line := reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return status, reader.read(length)


# -- load generators -------------------------------------------------------------------------
WRK_SCRIPT = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %%d, "seconds": %%f, "p50_us": %%f, ' ..
    '"p99_us": %%f, "errors": %%d}\\n', summary.requests, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


class Load:
    def __init__(self, client: str, port: int, paths: list[str], work: Path, max_requests: int):
        self.client, self.port, self.paths, self.max_requests = client, port, paths, max_requests
        rng = np.random.default_rng(2)
        self.order = [paths[k] for k in rng.permutation(len(paths))]
        if client == "wrk":  # a script of its own: each load keeps its paths
            self.script = Path(tempfile.mkstemp(suffix=".lua", dir=work)[1])
            quoted = ", ".join(f'"{p}"' for p in self.order)
            self.script.write_text(WRK_SCRIPT % quoted)

    def run(self, clients: int, seconds: float) -> dict:
        if self.client == "wrk":
            return self._wrk(clients, seconds)
        return python_load(self.port, self.order, clients, seconds, self.max_requests)

    def _wrk(self, clients: int, seconds: float) -> dict:
        command = ["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "5s",
                   "-s", str(self.script), f"http://127.0.0.1:{self.port}"]  # fmt: skip
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        line = next(x for x in output.splitlines() if x.startswith("RESULT "))
        r = json.loads(line[len("RESULT ") :])
        return {
            "requests": r["requests"],
            "rps": r["requests"] / r["seconds"],
            "p50_ms": r["p50_us"] / 1e3,
            "p99_ms": r["p99_us"] / 1e3,
            "errors": r["errors"],
        }


def python_load(port: int, paths: list[str], clients: int, seconds: float, cap: int) -> dict:
    """Keep-alive connections on raw sockets, spread over processes (at most one per core)."""
    processes = max(1, min(clients, (os.cpu_count() or 2) - 1))
    shares = [clients // processes + (k < clients % processes) for k in range(processes)]
    requests = [
        [f"GET {p} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode() for p in paths[k::processes]]
        for k in range(processes)
    ]
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        parts = pool.starmap(
            _worker,
            [(port, requests[k], shares[k], seconds, cap // processes) for k in range(processes)],
        )
    latencies = np.concatenate([p[0] for p in parts])
    elapsed = max(p[1] for p in parts)
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": float(np.percentile(latencies, 50)) * 1e3 if len(latencies) else float("nan"),
        "p99_ms": float(np.percentile(latencies, 99)) * 1e3 if len(latencies) else float("nan"),
        "errors": sum(p[2] for p in parts),
    }


def _worker(port: int, requests: list[bytes], clients: int, seconds: float, cap: int):
    return asyncio.run(_drive(port, requests, clients, seconds, cap))


async def _drive(port, requests, clients, seconds, cap):
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    start = time.perf_counter()

    async def connection(offset: int) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        k = offset
        while time.perf_counter() < deadline and len(latencies) < cap:
            request = requests[k % len(requests)]
            k += clients
            sent = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - sent)
            if not head.startswith(b"HTTP/1.1 2"):
                errors += 1
        writer.close()

    results = await asyncio.gather(*(connection(k) for k in range(clients)), return_exceptions=True)
    errors += sum(isinstance(r, Exception) for r in results)
    return np.asarray(latencies), time.perf_counter() - start, errors


def report(results: dict) -> None:
    print(f"\nrecsys service benchmark ({results['client']} load, 127.0.0.1, 1 uvicorn worker)")
    for key, value in results.items():
        if key in ("client", "data"):
            continue
        mark = ""
        if key in TARGETS:
            op, target = TARGETS[key]
            ok = {"<=": value <= target, ">=": value >= target, "<": value < target}[op]
            mark = f"   target {op} {target}: {'ok' if ok else 'MISSED'}"
        print(f"  {key:28s} {value!s:>12}{mark}")


if __name__ == "__main__":
    main()
