"""A real server process (`recsys serve`) serving a small model (the API tests' artifact: mf
on the demo data) and Debian's chromium driven by Playwright. Without chromium or Playwright
these tests skip, unless RECSYS_REQUIRE_BROWSER is set (CI), where they fail instead.

`server` has no API key (writes are refused); `keyed_server` has one (`API_KEY`) and its own
SQLite rating store in a temporary state folder, for the rating tests; `guarded_server` needs
`READ_KEY` (or `API_KEY`) for reads as well.

Screenshots go to test-output/browser/ (or $RECSYS_TEST_OUTPUT/browser/), which git ignores.
Every request a page makes is watched: one to another host fails the test.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.api.conftest import artifact, dataset, model  # noqa: F401 (the shared fixtures)
from tests.api.live_server import LiveServer

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("RECSYS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
API_KEY = "browser-test-key-0123456789"
READ_KEY = "browser-read-key-9876543210"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}


def _unavailable(reason: str):
    if os.environ.get("RECSYS_REQUIRE_BROWSER"):  # CI: the browser tests must run, not skip
        pytest.fail(f"RECSYS_REQUIRE_BROWSER is set but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    base = Path(os.environ.get("RECSYS_TEST_OUTPUT", ROOT / "test-output"))
    folder = base / "browser"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture(scope="session")
def store(tmp_path_factory) -> Path:
    """The state folder of `keyed_server`: its SQLite rating store lives there."""
    return tmp_path_factory.mktemp("keyed-state")


@pytest.fixture(scope="session")
def servers(artifact, screenshots, store, tmp_path_factory):  # noqa: F811
    """`recsys serve` (what the README runs) three times, started at once: without an API key;
    with one and a fresh SQLite store; with a read key too. Each on a free port, its log beside
    the screenshots."""
    serving = {"RECSYS_MODEL": str(artifact)}
    plain = {**serving, "RECSYS_STATE_DIR": str(tmp_path_factory.mktemp("state"))}
    keyed = {**serving, "RECSYS_API_KEY": API_KEY, "RECSYS_STATE_DIR": str(store)}
    guarded = {**serving, "RECSYS_API_KEY": API_KEY, "RECSYS_READ_KEY": READ_KEY,
               "RECSYS_STATE_DIR": str(tmp_path_factory.mktemp("guarded-state"))}  # fmt: skip
    started = [LiveServer(plain, screenshots / "server.log"),
               LiveServer(keyed, screenshots / "keyed-server.log"),
               LiveServer(guarded, screenshots / "guarded-server.log")]  # fmt: skip
    try:
        yield [live.wait_ready().url for live in started]
    finally:
        for live in started:
            live.stop()


@pytest.fixture(scope="session")
def server(servers) -> str:
    """The server without an API key: it refuses every write."""
    return servers[0]


@pytest.fixture(scope="session")
def keyed_server(servers) -> str:
    """The server with RECSYS_API_KEY (`API_KEY`) and its rating store in `store`."""
    return servers[1]


@pytest.fixture(scope="session")
def guarded_server(servers) -> str:
    """The server with RECSYS_READ_KEY (`READ_KEY`) as well: every read needs a key."""
    return servers[2]


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (poetry install --with dev)")
    if not Path(CHROMIUM).exists():
        _unavailable(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Visit:
    """A browser tab on the server: opens paths, takes named screenshots, and records what
    went wrong (requests to other hosts, script errors)."""

    def __init__(self, browser, server: str, screenshots: Path, name: str, viewport: dict):
        self.server = server
        self.folder = screenshots
        self.name = name
        self.context = browser.new_context(viewport=viewport, base_url=server)
        self.page = self.context.new_page()
        self.elsewhere: list[str] = []
        self.script_errors: list[str] = []
        self.page.on("pageerror", lambda error: self.script_errors.append(str(error)))
        self.context.route("**/*", self._only_the_server)

    def _only_the_server(self, route):
        here = urlsplit(self.server).netloc
        url = route.request.url
        if urlsplit(url).netloc == here or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.elsewhere.append(url)
            route.abort()

    def open(self, path: str):
        self.page.goto(path)
        return self.page

    def shot(self, label: str, full_page: bool = True) -> Path:
        path = self.folder / f"{self.name}-{label}.png"
        self.page.screenshot(path=path, full_page=full_page)
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser, server, screenshots, request):
    opened = []

    def make(viewport: dict = DESKTOP, on: str | None = None) -> Visit:
        """A tab on `server`, or on the server at ``on`` (e.g. `keyed_server`)."""
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name.removeprefix("test_")).strip("-")
        tab = Visit(browser, on or server, screenshots, name, viewport)
        opened.append(tab)
        return tab

    yield make
    for tab in opened:
        tab.close()
        assert tab.elsewhere == [], f"requests to other hosts: {tab.elsewhere}"
        assert tab.script_errors == [], f"script errors: {tab.script_errors}"
