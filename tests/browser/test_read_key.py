"""A service that guards reads (RECSYS_READ_KEY), in a real browser: the page says a key is
needed instead of showing nothing, and once the read key is entered it shows the user's lists,
every request carrying the key, which never appears in a URL."""

from __future__ import annotations

import httpx
import pytest

from tests.browser.conftest import READ_KEY
from tests.browser.test_rating import TIMEOUT, enter_key, panel

pytestmark = pytest.mark.browser


def test_a_guarded_service_asks_for_the_key_then_shows_the_lists(visit, guarded_server):
    headers = {"Authorization": f"Bearer {READ_KEY}"}
    with httpx.Client(base_url=guarded_server, timeout=10, headers=headers) as api:
        user = api.get("/v1/users", params={"n": 1}).json()["items"][0]["id"]
        expected = [m["id"] for m in api.get(f"/v1/users/{user}/recommendations").json()["items"]]
    tab = visit(on=guarded_server)
    urls = []
    tab.page.on("request", lambda request: urls.append(request.url))
    page = tab.open(f"/?user={user}")
    asked = page.get_by_role("alert").filter(has_text="needs a key to read").first
    asked.wait_for(timeout=TIMEOUT)
    assert "enter it in the API key field above" in asked.inner_text()
    tab.shot("asked")
    enter_key(page, READ_KEY)
    recommended = panel(page, "Recommended")
    recommended.locator("li[data-movie]").first.wait_for(timeout=TIMEOUT)
    shown = recommended.locator("li[data-movie]").evaluate_all(
        "rows => rows.map((row) => Number(row.dataset.movie))")  # fmt: skip
    assert shown[:5] == expected[:5]
    assert page.get_by_role("alert").filter(has_text="needs a key to read").count() == 0
    tab.shot("with-key")
    assert not [url for url in urls if READ_KEY in url]
