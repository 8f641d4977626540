"""The web page in a real browser (chromium, headless) against a real server: a user's lists
and why a movie is recommended, finding users and movies, the model card, the docs, errors as
messages, and a phone-sized screen. Each test leaves screenshots in test-output/browser/."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.browser.conftest import PHONE

pytestmark = pytest.mark.browser

TIMEOUT = 10_000  # ms: generous for a loaded CI machine; the page takes well under a second


@pytest.fixture(scope="module")
def api(server):
    with httpx.Client(base_url=server, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def user(api) -> int:
    return api.get("/v1/users", params={"n": 1}).json()["items"][0]["id"]


def titles(page, selector: str) -> list[str]:
    return page.locator(f"{selector} li[data-movie] .title").all_inner_texts()


def bare(title: str, year: int | None) -> str:
    return title.removesuffix(f" ({year})") if year else title


def panel(page, heading: str):
    return page.locator("section.panel", has=page.get_by_role("heading", name=heading))


def test_the_home_page_lists_the_most_active_users_with_links(visit, api):
    tab = visit()
    page = tab.open("/")
    users = panel(page, "Most active users")
    first = api.get("/v1/users", params={"n": 20}).json()["items"]
    users.locator("li").first.wait_for(timeout=TIMEOUT)
    assert users.locator("li").count() == 20
    assert users.locator("li a").first.get_attribute("href") == f"/?user={first[0]['id']}"
    assert f"{first[0]['ratings']:,} ratings" in users.locator("li").first.inner_text()
    tab.shot("home")
    users.get_by_role("button", name="Show more").click()
    page.wait_for_function("document.querySelectorAll('section.panel li').length >= 40")
    users.locator("li a").first.click()
    page.wait_for_url(f"**/?user={first[0]['id']}")


def test_a_user_s_recommendations_and_history_match_the_api(visit, api, user):
    tab = visit()
    started = time.perf_counter()
    page = tab.open(f"/?user={user}")
    recommended = panel(page, "Recommended")
    recommended.locator("li[data-movie]").first.wait_for(timeout=TIMEOUT)
    rated = panel(page, "Rated")
    rated.locator("li[data-movie]").first.wait_for(timeout=TIMEOUT)
    shown = time.perf_counter() - started
    timing = page.evaluate("JSON.stringify(performance.getEntriesByType('navigation')[0])")
    load = json.loads(timing)
    (tab.folder / "page-load.json").write_text(json.dumps(
        {"user_lists_shown_seconds": round(shown, 3),
         "dom_content_loaded_ms": round(load["domContentLoadedEventEnd"], 1),
         "load_event_ms": round(load["loadEventEnd"], 1)}, indent=2))  # fmt: skip
    expected = api.get(f"/v1/users/{user}/recommendations", params={"n": 20}).json()["items"]
    assert titles(page, "section.panel:has(h2:text('Recommended'))") == [
        bare(m["title"], m["year"]) for m in expected
    ]
    assert f"predicted {expected[0]['score']:.2f}" in recommended.locator("li").first.inner_text()
    history = api.get(f"/v1/users/{user}/history", params={"n": 20}).json()
    assert titles(page, "section.panel:has(h2:text('Rated'))") == [
        bare(m["title"], m["year"]) for m in history["items"]
    ]
    assert f"{history['total']:,} ratings" in page.locator("h1").inner_text()
    assert page.title() == f"recsys · user {user}"
    assert shown < 5
    tab.shot("user")


def test_why_shows_closest_raters_who_liked_it_and_similar_movies_the_user_rated(visit, api, user):
    tab = visit()
    page = tab.open(f"/?user={user}")
    recommended = panel(page, "Recommended")
    recommended.locator("li[data-movie]").first.wait_for(timeout=TIMEOUT)
    rows = api.get(f"/v1/users/{user}/recommendations", params={"n": 20}).json()["items"]
    rated = {}
    total = api.get(f"/v1/users/{user}/history", params={"n": 1}).json()["total"]
    for offset in range(0, total, 100):
        page_ = api.get(f"/v1/users/{user}/history", params={"n": 100, "offset": offset}).json()
        rated |= {m["id"]: m["rating"] for m in page_["items"]}

    def reasons(movie: dict) -> tuple[list, list]:
        raters = api.get(f"/v1/users/{user}/closest-raters",
                         params={"movie_id": movie["id"], "n": 10}).json()["raters"]  # fmt: skip
        liked = [r for r in raters if r["rating"] is not None and r["rating"] >= 4]
        similar = api.get(f"/v1/movies/{movie['id']}/similar", params={"n": 100}).json()["items"]
        return liked, [m for m in similar if m["id"] in rated][:5]

    # The first recommendation with both kinds of reason, so both lists are checked.
    position = next((i for i, movie in enumerate(rows) if all(reasons(movie))), None)
    assert position is not None, "no recommendation has both reasons"
    liked, theirs = reasons(rows[position])
    row = recommended.locator("li[data-movie]").nth(position)
    row.get_by_role("button", name="Why?").click()
    why = row.locator(".why")
    why.get_by_role("heading", name="Similar movies this user rated").wait_for(timeout=TIMEOUT)
    assert why.locator("ul").first.locator("li a").all_inner_texts() == [
        f"user {r['user_id']}" for r in liked
    ]
    assert why.locator("ul").nth(1).locator("li a").all_inner_texts() == [
        bare(m["title"], m["year"]) for m in theirs
    ]
    first = why.locator("ul").nth(1).locator("li").first.inner_text()
    assert f"★ {rated[theirs[0]['id']]:.1f}" in first
    row.scroll_into_view_if_needed()
    tab.shot("why")
    row.get_by_role("button", name="Why?").click()
    assert why.is_hidden()


def test_finding_a_user_by_id_as_you_type(visit, api):
    tab = visit()
    page = tab.open("/")
    page.get_by_label("User id").fill("1")
    chips = page.locator(".chips a")
    chips.first.wait_for(timeout=TIMEOUT)
    expected = api.get("/v1/users", params={"q": "1", "n": 8}).json()["items"]
    assert chips.count() == len(expected)
    assert chips.first.get_attribute("href") == f"/?user={expected[0]['id']}"
    page.get_by_label("User id").fill("1")
    page.get_by_label("User id").press("Enter")
    page.wait_for_url("**/?user=1")
    panel(page, "Recommended").locator("li[data-movie]").first.wait_for(timeout=TIMEOUT)


def test_searching_a_title_then_opening_the_movie_and_its_similar_movies(visit, api):
    movie = api.get("/v1/movies/popular", params={"n": 1}).json()["items"][0]
    word = max(bare(movie["title"], movie["year"]).split(), key=len)
    tab = visit()
    page = tab.open("/?view=movies")
    page.get_by_label("Title").fill(word)
    page.get_by_label("Title").press("Enter")
    page.wait_for_url("**/?view=movies&q=*")
    results = panel(page, f"Titles with “{word}”")
    results.locator("li[data-movie]").first.wait_for(timeout=TIMEOUT)
    expected = api.get("/v1/movies", params={"q": word, "n": 20}).json()["items"]
    assert results.locator("li[data-movie] .title").all_inner_texts() == [
        bare(m["title"], m["year"]) for m in expected
    ]
    tab.shot("search")
    results.locator("li[data-movie] .title").first.click()
    page.wait_for_url(f"**/?movie={expected[0]['id']}")
    similar = panel(page, "Similar movies")
    similar.locator("li[data-movie]").first.wait_for(timeout=TIMEOUT)
    details = api.get(f"/v1/movies/{expected[0]['id']}").json()
    card = panel(page, "Details").inner_text()
    assert f"{details['ratings']:,}" in card and ", ".join(details["genres"]) in card
    first = api.get(f"/v1/movies/{expected[0]['id']}/similar", params={"n": 1}).json()["items"]
    assert similar.locator(".title").first.inner_text() == bare(first[0]["title"], first[0]["year"])
    tab.shot("movie")


def test_a_search_with_no_match_says_so(visit):
    tab = visit()
    page = tab.open("/?view=movies&q=zzqx-no-such-title")
    page.get_by_text("no title matches all of these words").wait_for(timeout=TIMEOUT)


def test_the_model_card_shows_the_model_its_metrics_and_data(visit, api):
    info = api.get("/v1/model").json()
    tab = visit()
    page = tab.open("/?view=model")
    card = page.locator("#model-card")
    card.wait_for(timeout=TIMEOUT)
    assert info["model"] in card.inner_text() and info["trained_at"] in card.inner_text()
    metrics = panel(page, "Hold-out metrics").inner_text()
    assert f"{info['metrics']['rmse']:.4f}" in metrics
    assert info["data"]["fingerprint"] in panel(page, "Training data").inner_text()
    tab.shot("model")


def test_an_unknown_user_gets_a_message_not_a_blank_page(visit):
    tab = visit()
    page = tab.open("/?user=999999")
    message = page.locator("#new-user")  # a user id with no ratings yet: rating creates it
    message.wait_for(timeout=TIMEOUT)
    assert "unknown user '999999'" in message.inner_text()
    assert page.get_by_role("link", name="Back to the list of users").is_visible()
    panel(page, "Popular movies to rate").locator("li[data-movie]").first.wait_for(timeout=TIMEOUT)
    tab.shot("unknown-user")


def test_an_unknown_movie_and_a_bad_view_get_messages(visit):
    tab = visit()
    page = tab.open("/?movie=abc")
    page.locator("#message").wait_for(timeout=TIMEOUT)
    assert "unknown movie" in page.locator("#message").inner_text()
    page = tab.open("/?view=nonsense")
    page.locator("#message").wait_for(timeout=TIMEOUT)
    assert "no view" in page.locator("#message").inner_text()


def test_a_service_that_stops_answering_shows_a_message(visit):
    tab = visit()
    tab.page.route("**/v1/model", lambda route: route.abort())
    page = tab.open("/?view=model")
    page.locator("#message").wait_for(timeout=TIMEOUT)
    assert "cannot reach the recsys service" in page.locator("#message").inner_text()
    tab.shot("service-down")


def test_a_failing_list_shows_its_error_in_place(visit, user):
    tab = visit()
    tab.page.route("**/recommendations?*", lambda route: route.fulfill(
        status=503, content_type="application/json", body='{"detail":"the model is not loaded yet"}'
    ))  # fmt: skip
    page = tab.open(f"/?user={user}")
    error = panel(page, "Recommended").locator(".error")
    error.wait_for(timeout=TIMEOUT)
    assert error.inner_text() == "the model is not loaded yet"
    panel(page, "Rated").locator("li[data-movie]").first.wait_for(timeout=TIMEOUT)


@pytest.mark.parametrize(
    "path", ["/", "/?user={user}", "/?view=movies&q=the", "/?view=model"],
    ids=["users", "user", "search", "model"],
)  # fmt: skip
def test_every_view_fits_a_360_px_screen(visit, user, path):
    tab = visit(PHONE)
    page = tab.open(path.format(user=user))
    page.locator("section.panel").first.wait_for(timeout=TIMEOUT)
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    tab.shot("phone")


@pytest.mark.parametrize(
    "path, ready", [("/docs", ".swagger-ui .info .title"), ("/redoc", "h1")], ids=["docs", "redoc"]
)
def test_the_api_docs_render_from_the_app_alone(visit, path, ready):
    tab = visit()
    page = tab.open(path)
    heading = page.locator(ready).first
    heading.wait_for(timeout=TIMEOUT)
    assert "recsys" in heading.inner_text()
    page.wait_for_load_state("networkidle")
    tab.shot(path.strip("/"), full_page=False)
