"""The web page, the offline docs and the page's finders (/v1/users, /v1/movies?q=), through
the real app. The page's behaviour in a browser is tested in tests/browser."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from recsys.api.browse import fold

PAGES = ["/", "/docs", "/redoc", "/docs/oauth2-redirect"]


class References(HTMLParser):
    """Every address an HTML page loads or links to (src, href, action), and inline scripts."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self._in_script = tag == "script"
        self.urls += [v for k, v in attrs if k in ("src", "href", "action") and v]

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def references(html: str) -> References:
    found = References()
    found.feed(html)
    return found


ELSEWHERE = re.compile(r"""(?:https?:)?//[^/'"\s]+""")


def other_hosts(text: str) -> list[str]:
    return [u for u in ELSEWHERE.findall(text) if "127.0.0.1" not in u and "localhost" not in u]


@pytest.mark.parametrize("page", PAGES)
def test_no_page_the_app_serves_references_another_host(client, page):
    response = client.get(page)
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    found = references(response.text)
    assert found.urls or found.scripts
    assert not [u for u in found.urls if other_hosts(u)]
    assert not [s for s in found.scripts if other_hosts(s)]
    for url in found.urls:  # every local asset is there
        if url.startswith("/") and not url.startswith("//"):
            assert client.get(url).status_code == 200, url


def test_the_page_s_own_files_reference_no_other_host(client):
    for name in ("app.js", "style.css"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200
        assert other_hosts(response.text) == [], name


def test_the_docs_load_the_schema_and_their_assets_from_the_app(client):
    swagger = client.get("/docs").text
    assert "/static/docs/swagger-ui-bundle.js" in swagger and "/openapi.json" in swagger
    assert '"validatorUrl": null' in swagger
    redoc = client.get("/redoc").text
    assert "/static/docs/redoc.standalone.js" in redoc and "fonts.googleapis" not in redoc
    assert (
        client.get("/static/docs/swagger-ui-bundle.js")
        .headers["content-type"]
        .startswith(("application/javascript", "text/javascript"))
    )
    assert client.get("/openapi.json").json()["info"]["title"] == "recsys"


@pytest.mark.parametrize("name", ["../app.py", "nothing.js", "index.html"])
def test_only_the_page_s_files_are_served(client, name):
    assert client.get(f"/static/{name}").status_code == 404
    assert client.get(f"/static/docs/{name}").status_code == 404


def test_the_page_and_its_finders_stay_out_of_the_schema_or_are_documented(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert "/" not in paths and "/docs" not in paths and "/static/{name}" not in paths
    assert "/v1/users" in paths and "/v1/movies" in paths


def test_fold_ignores_case_and_accents():
    assert fold("Amélie (2001)") == "amelie (2001)"
    assert fold("STRASSE") == "strasse" and fold("Straße") == "strasse"


def test_title_search_needs_every_word_in_any_order(client, service):
    titles = [t or "" for t in service.movie_titles]
    word = next(w for w in fold(titles[0]).split() if w.isalpha() and len(w) > 2)
    second = next((w for t in titles for w in fold(t).split() if w != word and len(w) > 3), word)
    body = client.get("/v1/movies", params={"q": f"{second} {word.upper()}", "n": 100}).json()
    def starts(w: str, title: str) -> bool:
        return any(t.startswith(w) for t in re.findall(r"\w+", fold(title)))

    expected = [r for r, t in enumerate(titles) if starts(word, t) and starts(second, t)]
    assert body["total"] == len(expected)
    counts = np.zeros(len(service.movies), np.int64)
    counts[service.item_movie] = service.rating_count
    assert [m["ratings"] for m in body["items"]] == sorted(counts[expected].tolist(), reverse=True)
    assert {m["id"] for m in body["items"]} <= {service.movies.ids[r].item() for r in expected}
    assert all(starts(word, m["title"]) and starts(second, m["title"]) for m in body["items"])


def test_a_title_word_matches_at_the_start_of_a_word_only(client):
    found = client.get("/v1/movies", params={"q": "the", "n": 100}).json()["items"]
    assert found and all(re.search(r"\bthe", fold(m["title"])) for m in found)


def test_title_search_pages_and_rejects_an_empty_query(client):
    one = client.get("/v1/movies", params={"q": "a", "n": 3}).json()
    two = client.get("/v1/movies", params={"q": "a", "n": 3, "offset": 3}).json()
    assert len(one["items"]) == 3 and one["total"] == two["total"]
    assert not {m["id"] for m in one["items"]} & {m["id"] for m in two["items"]}
    assert client.get("/v1/movies", params={"q": ""}).status_code == 422
    assert client.get("/v1/movies").status_code == 422
    assert client.get("/v1/movies", params={"q": "zzzqqq-nothing"}).json()["total"] == 0


def test_users_come_most_active_first_and_by_id_prefix(client, service):
    body = client.get("/v1/users", params={"n": 5}).json()
    counts = [service.history(u["id"]).total for u in body["items"]]
    assert [u["ratings"] for u in body["items"]] == counts == sorted(counts, reverse=True)
    assert body["total"] == len(service.users)
    everyone = [service.history(u).total for u in service.users.ids.tolist()]
    assert counts[0] == max(everyone)
    found = client.get("/v1/users", params={"q": "1", "n": 100}).json()
    expected = [u for u in service.users.ids.tolist() if str(u).startswith("1")]
    assert found["total"] == len(expected)
    assert all(str(u["id"]).startswith("1") for u in found["items"])
    assert client.get("/v1/users", params={"n": 0}).status_code == 422


def test_every_reference_in_the_schema_is_defined(client):
    schema = client.get("/openapi.json").json()
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(schema)))
    assert refs and refs <= set(schema["components"]["schemas"])


def test_redoc_s_logo_is_not_fetched_from_its_cdn(client):
    script = client.get("/static/docs/redoc.standalone.js")
    assert script.status_code == 200 and len(script.content) > 500_000
    assert b"cdn.redoc.ly" not in script.content
