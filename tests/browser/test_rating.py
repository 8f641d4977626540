"""Rating from the web page in a real browser against a real server with an API key and a
real SQLite rating store: a rating changes the list, a wrong key or a refused write shows a
message and stores nothing, a stored rating can be removed, a brand-new user is rated into
recommendations (on a 360 px screen), and the key stays in the tab, out of every URL.

What is in the store is read from its SQLite file, not from the page or the API. Where a test
needs a request the page cannot make (an off-scale rating, too many ratings), it rewrites the
page's real request on its way out; the real server answers it."""

from __future__ import annotations

import json
import re
import sqlite3

import httpx
import pytest

from tests.browser.conftest import API_KEY, PHONE

pytestmark = pytest.mark.browser

TIMEOUT = 10_000  # ms, as in test_page.py
RATING = re.compile(r"^Your rating of ")


@pytest.fixture(scope="module")
def api(keyed_server):
    with httpx.Client(base_url=keyed_server, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def users(api) -> list[int]:
    """Users from the middle of the activity list, one per test, so no test sees another's
    ratings (the store is shared by the module)."""
    return [u["id"] for u in api.get("/v1/users", params={"n": 10, "offset": 200}).json()["items"]]


def stored(store, user) -> dict[str, float | None]:
    """The store's rows of a user, read from its SQLite file: movie id -> rating (None: a
    deletion)."""
    with sqlite3.connect(store / "feedback.sqlite3") as db:
        rows = db.execute("SELECT movie_id, rating FROM ratings WHERE user_id = ?", (str(user),))
        return dict(rows.fetchall())


def panel(page, heading: str):
    return page.locator("section.panel", has=page.get_by_role("heading", name=heading))


def movie_ids(section) -> list[int]:
    return [int(m) for m in section.locator("li[data-movie]").evaluate_all(
        "rows => rows.map((row) => row.dataset.movie)")]  # fmt: skip


def enter_key(page, key: str = API_KEY) -> None:
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Use key").click()
    page.get_by_role("button", name="Forget key").wait_for(timeout=TIMEOUT)


def rate(row, value: str) -> None:
    row.get_by_label(RATING).select_option(value)
    row.get_by_role("button", name="Rate", exact=True).click()


def open_user(tab, user):
    page = tab.open(f"/?user={user}")
    recommended = panel(page, "Recommended")
    recommended.locator("li[data-movie]").first.wait_for(timeout=TIMEOUT)
    return page, recommended


def test_rating_a_recommended_movie_changes_the_list(visit, keyed_server, api, users, store):
    user = users[0]
    tab = visit(on=keyed_server)
    page, recommended = open_user(tab, user)
    enter_key(page)
    scale = api.get("/v1/model").json()["scale"]
    first = recommended.locator("li[data-movie]").first
    options = first.get_by_label(RATING).locator("option:not([disabled])").all_inner_texts()
    low, high, step = scale["low"], scale["high"], scale["step"]
    assert options == [f"★ {low + k * step:g}" for k in range(int((high - low) / step) + 1)]
    before = movie_ids(recommended)
    movie = before[0]
    assert page.locator(".list-note.folded").count() == 0
    tab.shot("before")
    rate(first, f"{low:g}")
    page.get_by_role("status").filter(has_text="Stored your rating").wait_for(timeout=TIMEOUT)
    note = recommended.locator(".list-note.folded")
    note.wait_for(timeout=TIMEOUT)
    assert "Folded in" in note.inner_text()
    after = movie_ids(recommended)
    assert movie not in after
    assert after != [m for m in before if m != movie]  # the fold-in re-ranked, not just removed
    assert after == [m["id"] for m in api.get(f"/v1/users/{user}/recommendations",
                                              params={"n": 20}).json()["items"]]  # fmt: skip
    assert stored(store, user) == {str(movie): low}
    rated = panel(page, "Rated").locator(f'li[data-movie="{movie}"]')
    rated.wait_for(timeout=TIMEOUT)
    assert f"★ {low:.1f}" in rated.inner_text() and "stored" in rated.inner_text()
    tab.shot("after")


def test_a_wrong_key_shows_an_error_and_nothing_is_stored(visit, keyed_server, users, store):
    user = users[1]
    tab = visit(on=keyed_server)
    page, recommended = open_user(tab, user)
    before = movie_ids(recommended)
    first = recommended.locator("li[data-movie]").first
    rate(first, "5")  # no key yet: the page asks for one and sends nothing
    error = first.locator(".write-error")
    error.wait_for(timeout=TIMEOUT)
    assert "Enter the API key above" in error.inner_text()
    enter_key(page, "not-the-key")
    rate(first, "5")
    page.get_by_text("the key is not valid").wait_for(timeout=TIMEOUT)
    assert error.inner_text() == (
        "Not saved: the key is not valid (HTTP 401). Check the API key above."
    )
    tab.shot("wrong-key")
    assert stored(store, user) == {}
    assert movie_ids(recommended) == before
    assert page.locator(".list-note.folded").count() == 0


def test_removing_a_stored_rating(visit, keyed_server, api, users, store):
    user = users[2]
    movie = api.get(f"/v1/users/{user}/recommendations", params={"n": 1}).json()["items"][0]["id"]
    body = {"ratings": [{"movie_id": movie, "rating": 4}]}
    written = api.post(f"/v1/users/{user}/ratings", json=body,
                       headers={"Authorization": f"Bearer {API_KEY}"})  # fmt: skip
    assert written.status_code == 200, written.text
    tab = visit(on=keyed_server)
    page, recommended = open_user(tab, user)
    enter_key(page)
    history = panel(page, "Rated")
    row = history.locator(f'li[data-movie="{movie}"]')
    row.wait_for(timeout=TIMEOUT)
    assert history.get_by_role("button", name="Remove").count() == 1  # training ratings stay
    assert movie not in movie_ids(recommended)
    tab.shot("stored")
    row.get_by_role("button", name="Remove").click()
    page.get_by_role("status").filter(has_text="Removed your rating").wait_for(timeout=TIMEOUT)
    history.locator("li[data-movie]").first.wait_for(timeout=TIMEOUT)  # the re-loaded list
    assert row.count() == 0
    assert stored(store, user) == {str(movie): None}  # a deletion, kept as such
    items = api.get(f"/v1/users/{user}/history", params={"n": 100}).json()["items"]
    assert movie not in [m["id"] for m in items]
    tab.shot("removed")


def test_a_new_user_is_rated_into_recommendations_on_a_phone(visit, keyed_server, api, store):
    user = 990_123
    tab = visit(PHONE, on=keyed_server)
    page = tab.open(f"/?user={user}")
    new = page.locator("#new-user")
    new.wait_for(timeout=TIMEOUT)
    assert f"unknown user '{user}'" in new.inner_text()
    enter_key(page)
    popular = panel(page, "Popular movies to rate")
    first = popular.locator("li[data-movie]").first
    first.wait_for(timeout=TIMEOUT)
    movie = int(first.get_attribute("data-movie"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    tab.shot("new")
    rate(first, "5")
    recommended = panel(page, "Recommended")
    recommended.locator("li[data-movie]").first.wait_for(timeout=TIMEOUT)
    assert "Folded in" in recommended.locator(".list-note").inner_text()
    assert movie not in movie_ids(recommended)
    assert len(movie_ids(recommended)) == 20
    assert "1 rating" in page.locator("h1").inner_text()
    assert stored(store, user) == {str(movie): 5.0}
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    tab.shot("rated")


def _off_scale(route):
    body = json.loads(route.request.post_data)
    body["ratings"][0]["rating"] = 99
    route.continue_(post_data=json.dumps(body))


def _too_many(route):
    body = json.loads(route.request.post_data)
    route.continue_(post_data=json.dumps({"ratings": body["ratings"] * 1_001}))


def only_posts(change):
    def handle(route):
        if route.request.method == "POST":
            change(route)
        else:
            route.continue_()

    return handle


REFUSALS = [
    (_off_scale, "Not saved (HTTP 422): a rating is between 1 and 5"),
    (_too_many, "Not saved: too much at once: 1001 ratings; at most 1000 per request"),
    (lambda route: route.abort(), "Not saved: cannot reach the recsys service"),
]


def test_a_refused_write_shows_why_and_stores_nothing(visit, keyed_server, users, store):
    """422 with the entry's message, 413, and no answer at all, one after the other."""
    user = users[3]
    tab = visit(on=keyed_server)
    page, recommended = open_user(tab, user)
    enter_key(page)
    first = recommended.locator("li[data-movie]").first
    error = first.locator(".write-error")
    for change, message in REFUSALS:
        tab.page.route("**/ratings", only_posts(change))
        rate(first, "4")
        first.locator(".write-error", has_text=message).wait_for(timeout=TIMEOUT)
        assert error.count() == 1 and error.inner_text().startswith(message)
        tab.page.unroute("**/ratings")
    tab.shot("error")
    assert stored(store, user) == {}
    assert page.locator(".list-note.folded").count() == 0


def test_a_server_without_a_key_says_how_to_set_one(visit, server):
    tab = visit()
    page = tab.open("/?view=movies")
    page.locator("section.panel li[data-movie] .title").first.click()
    page.get_by_label("as user id").wait_for(timeout=TIMEOUT)
    enter_key(page, "any-key")
    page.get_by_label("as user id").fill("990124")
    rate(page.locator(".rate-as"), "3")
    error = page.locator(".rate-as .write-error")
    error.wait_for(timeout=TIMEOUT)
    assert "writes are disabled: no API key is configured" in error.inner_text()
    assert "RECSYS_API_KEY" in error.inner_text() and "(HTTP 403)" in error.inner_text()
    tab.shot("no-key-configured")


def test_rating_from_a_movie_s_page_as_a_user(visit, keyed_server, api, users, store):
    user = users[4]
    movie = api.get(f"/v1/users/{user}/recommendations", params={"n": 1}).json()["items"][0]["id"]
    tab = visit(on=keyed_server)
    page = tab.open(f"/?user={user}")  # the last user opened is who rates on a movie's page
    panel(page, "Recommended").locator("li[data-movie]").first.wait_for(timeout=TIMEOUT)
    page = tab.open(f"/?movie={movie}")
    enter_key(page)
    assert page.get_by_label("as user id").input_value() == str(user)
    rate(page.locator(".rate-as"), "4")
    done = page.get_by_role("status").filter(has_text="Stored")
    done.wait_for(timeout=TIMEOUT)
    assert f"user {user} rated it ★ 4" in done.inner_text()
    assert stored(store, user) == {str(movie): 4.0}
    tab.shot("movie")
    done.get_by_role("link").click()
    page.wait_for_url(f"**/?user={user}")
    panel(page, "Recommended").locator(".list-note.folded").wait_for(timeout=TIMEOUT)


def test_the_key_is_a_password_kept_in_the_tab_never_in_a_url(visit, keyed_server, users):
    tab = visit(on=keyed_server)
    urls = []
    tab.page.on("request", lambda request: urls.append(request.url))
    page = tab.open("/?view=movies")
    field = page.get_by_label("API key")
    assert field.get_attribute("type") == "password" and field.get_attribute("name") is None
    enter_key(page)
    assert page.evaluate("sessionStorage.getItem('recsys.apiKey')") == API_KEY
    page = tab.open(f"/?user={users[5]}")  # another view in the same tab: the key is still set
    page.get_by_role("button", name="Forget key").click()
    page.get_by_label("API key").wait_for(timeout=TIMEOUT)
    assert page.evaluate("sessionStorage.getItem('recsys.apiKey')") is None
    other = visit(on=keyed_server).open("/")  # a new tab (context) starts without it
    other.get_by_label("API key").wait_for(timeout=TIMEOUT)
    assert not [url for url in urls if API_KEY in url]
    assert API_KEY not in page.url
