"""What a person meets first (issue 13): how fast the CLI answers and how fast the web page shows
a user's recommendations.

    python benchmarks/page.py --artifact ART        # ART: a `recsys train` folder

- CLI: wall time of `recsys --help`, of an unknown model and of a parameter of the wrong type,
  each a fresh process (median of 7; target <= 0.5 s).
- Page: `recsys serve` on 127.0.0.1 serving ART, Debian's chromium through Playwright
  (RECSYS_CHROMIUM, default /usr/bin/chromium). For users from the activity list, the time from
  navigating to `/?user=ID` until its first recommendation is on screen, in a fresh tab each
  time (median over the users), and the same for the home page's list of users.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.service import Server  # noqa: E402

CHROMIUM = os.environ.get("RECSYS_CHROMIUM", "/usr/bin/chromium")
CLI = {  # each with the exit code it must give (2: a usage or settings error)
    "help": (["--help"], 0),
    "unknown_model": (["evaluate", "--data", "demo", "--model", "baseline,svd"], 2),
    "wrong_param_type": (["train", "--data", "demo", "--param", "n_factors=abc", "--out", "x"], 2),
}


def cli_seconds(args: list[str], code: int, times: int = 7) -> float:
    """Median wall seconds of a fresh `recsys` process, which must exit with ``code`` (a run
    that did other work than answering would time the wrong thing)."""
    taken = []
    for _ in range(times):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "recsys.cli", *args], cwd=ROOT,
                              capture_output=True)  # fmt: skip
        taken.append(time.perf_counter() - start)
        if done.returncode != code:
            sys.exit(f"recsys {' '.join(args)}: exit {done.returncode}, expected {code}")
    return statistics.median(taken)


def page_ms(url: str, users: list, times: int) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:

            def shown(path: str, selector: str) -> float:
                context = browser.new_context(base_url=url)
                page = context.new_page()
                start = time.perf_counter()
                page.goto(path)
                page.locator(selector).first.wait_for(timeout=30_000)
                took = (time.perf_counter() - start) * 1e3
                context.close()
                return took

            shown("/", "li")  # the browser's own first start is not the page's
            user = [shown(f"/?user={u}", "section.panel li[data-movie]") for u in users[:times]]
            home = [shown("/", "a[href^='/?user=']") for _ in range(times)]
        finally:
            browser.close()
    return {"page_user_first_recommendation_ms": statistics.median(user),
            "page_home_users_listed_ms": statistics.median(home)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifact", required=True, help="a trained artifact (recsys train)")
    parser.add_argument("--times", type=int, default=9, help="page loads per figure (median)")
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    figures = {f"cli_{name}_s": round(cli_seconds(argv, code), 3)
               for name, (argv, code) in CLI.items()}  # fmt: skip
    server = Server(Path(args.artifact))
    try:
        with urllib.request.urlopen(f"{server.url}/v1/users?n={args.times}&offset=50") as reply:
            users = [u["id"] for u in json.load(reply)["items"]]
        figures |= {k: round(v, 1) for k, v in page_ms(server.url, users, args.times).items()}
    finally:
        server.stop()
    for name, value in figures.items():
        target = "  target <= 0.5" if name.startswith("cli_") else ""
        print(f"  {name:38s} {value:>8}{target}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
