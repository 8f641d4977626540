// The recsys web page: reads the JSON API of the same service, nothing else.
//
// Each view has its own address: /?user=ID, /?movie=ID, /?view=movies&q=WORDS, /?view=model,
// and / (users). Links and forms navigate normally, so the back button and bookmarks work.
// Every request goes through api(); a failure shows as a message, never a blank page.
//
// Writing ratings (the live-service feedback API, POST /v1/users/{id}/ratings) plugs in at
// two places: a row's actions (the `actions` argument of movieRow) and UserView.refresh(),
// which reloads the user's lists. api() already sends a JSON body and a bearer key.
"use strict";

// -- talking to the API ------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function detailText(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => [(d.loc || []).slice(1).join("."), d.msg].filter(Boolean).join(": ")).join("; ");
  }
  return JSON.stringify(detail);
}

async function api(path, { method = "GET", body, key } = {}) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (key) headers.authorization = `Bearer ${key}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, "cannot reach the recsys service; is it running?");
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch (error) {
    if (response.ok) throw new ApiError(response.status, `unreadable answer from ${path}`);
  }
  if (!response.ok) {
    const text = payload && payload.detail !== undefined ? detailText(payload.detail) : response.statusText;
    throw new ApiError(response.status, text || `HTTP ${response.status}`);
  }
  return payload;
}

function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, value);
  }
  return search.toString();
}

const path = {
  user: (id) => `/v1/users/${encodeURIComponent(id)}`,
  movie: (id) => `/v1/movies/${encodeURIComponent(id)}`,
};

// -- building the page -------------------------------------------------------------------
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const link = {
  user: (id, text) => el("a", { href: `/?${query({ user: id })}` }, text ?? `user ${id}`),
  movie: (id, text) => el("a", { href: `/?${query({ movie: id })}`, class: "title" }, text ?? `movie ${id}`),
};

function showMessage(text) {
  const box = document.getElementById("message");
  box.textContent = text;
  box.hidden = !text;
}

function errorBox(error) {
  return el("p", { class: "error", role: "alert" }, error.message || String(error));
}

// A panel that shows "Loading…", then what fill() built, or the error in place.
function panel(heading, fill) {
  const body = el("div", {}, el("p", { class: "muted" }, "Loading…"));
  const node = el("section", { class: "panel" }, el("h2", {}, heading), body);
  Promise.resolve()
    .then(fill)
    .then((content) => body.replaceChildren(...[content].flat().filter(Boolean)))
    .catch((error) => body.replaceChildren(errorBox(error)));
  return node;
}

const number = new Intl.NumberFormat("en");
const year = (item) => (item.year ? ` (${item.year})` : "");
const stars = (rating) => el("span", { class: "stars", title: "rating" }, `★ ${Number(rating).toFixed(1)}`);
const day = (seconds) => (seconds ? new Date(seconds * 1000).toISOString().slice(0, 10) : "");

function cleanTitle(item) {
  // MovieLens titles carry their year; the year is shown apart.
  const title = item.title ?? `movie ${item.id}`;
  return item.year ? title.replace(new RegExp(`\\s*\\(${item.year}\\)\\s*$`), "") : title;
}

// One movie in a list: its title (a link), year and genres, what the list scores it by,
// and optional actions (buttons) and details below.
function movieRow(item, { score, actions = [], details } = {}) {
  return el(
    "li",
    { "data-movie": item.id },
    el(
      "div",
      { class: "row" },
      el(
        "div",
        { class: "what" },
        link.movie(item.id, cleanTitle(item)),
        " ",
        el("span", { class: "meta" }, [item.year, (item.genres || []).join(", ")].filter(Boolean).join(" · ")),
      ),
      el("div", { class: "side" }, score !== undefined && el("span", { class: "score" }, score), actions),
    ),
    details,
  );
}

function moreButton(load) {
  const button = el("button", { class: "plain more", type: "button" }, "Show more");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      if (await load()) button.disabled = false;
      else button.remove();
    } catch (error) {
      button.replaceWith(errorBox(error));
    }
  });
  return button;
}

// A paged list: fetch(offset) returns an API list; row(item) renders one entry.
async function pagedList(fetchPage, row, empty) {
  const list = el("ol", { class: "items" });
  let offset = 0;
  const load = async () => {
    const page = await fetchPage(offset);
    list.append(...page.items.map(row));
    offset += page.items.length;
    return offset < page.total && page.items.length > 0;
  };
  const hasMore = await load();
  if (offset === 0) return el("p", { class: "muted" }, empty);
  return [list, hasMore && moreButton(load)];
}

function searchForm({ name, label, value, placeholder, hidden = {} }) {
  return el(
    "form",
    { class: "search", action: "/", method: "get", role: "search" },
    Object.entries(hidden).map(([k, v]) => el("input", { type: "hidden", name: k, value: v })),
    el("label", { for: `search-${name}`, class: "muted" }, label),
    el("input", { id: `search-${name}`, name, value: value ?? "", placeholder, required: true, autocomplete: "off" }),
    el("button", { type: "submit" }, "Go"),
  );
}

// -- views -------------------------------------------------------------------------------
function usersView() {
  document.title = "recsys · users";
  const matches = el("div");
  const form = searchForm({ name: "user", label: "User id", placeholder: "e.g. 1" });
  const input = form.querySelector("input");
  let typed = 0;
  input.addEventListener("input", () => {
    const mine = ++typed;
    const text = input.value.trim();
    if (!text) return matches.replaceChildren();
    api(`/v1/users?${query({ q: text, n: 8 })}`)
      .then((page) => {
        if (mine !== typed) return;
        matches.replaceChildren(
          page.items.length
            ? el("p", { class: "chips" }, page.items.map((u) => link.user(u.id, `${u.id} (${number.format(u.ratings)})`)))
            : el("p", { class: "muted" }, "no user id starts with that"),
        );
      })
      .catch((error) => matches.replaceChildren(errorBox(error)));
  });
  return [
    el("h1", {}, "Pick a user"),
    el(
      "div",
      { class: "grid" },
      el("section", { class: "panel" }, el("h2", {}, "Find a user"), form, matches),
      panel("Most active users", () =>
        pagedList(
          (offset) => api(`/v1/users?${query({ n: 20, offset })}`),
          (u) => el("li", {}, el("div", { class: "row" }, el("div", { class: "what" }, link.user(u.id)), el("span", { class: "score" }, `${number.format(u.ratings)} ratings`))),
          "no users",
        ),
      ),
      el("section", { class: "panel" }, el("h2", {}, "Find a movie"), searchForm({ name: "q", label: "Title", placeholder: "e.g. matrix", hidden: { view: "movies" } })),
    ),
  ];
}

class UserView {
  constructor(id) {
    this.id = id;
    this.rated = null; // movie id -> rating, all of the user's history, loaded for "why"
  }

  async render() {
    document.title = `recsys · user ${this.id}`;
    const first = await api(`${path.user(this.id)}/history?n=1`); // 404 for an unknown user
    this.total = first.total;
    this.node = el("div");
    this.refresh();
    return [
      el("h1", {}, `User ${this.id} `, el("span", { class: "muted" }, `· ${number.format(this.total)} ratings`)),
      this.node,
    ];
  }

  // Reload the user's lists (after a rating is written, say).
  refresh() {
    this.rated = null;
    this.node.replaceChildren(
      el("div", { class: "grid" }, this.recommendations(), this.history()),
    );
  }

  recommendations() {
    return panel("Recommended", () =>
      pagedList(
        (offset) => api(`${path.user(this.id)}/recommendations?${query({ n: 20, offset })}`),
        (item) => this.recommendationRow(item),
        "nothing to recommend",
      ),
    );
  }

  recommendationRow(item) {
    const details = el("div", { class: "why", hidden: true });
    const button = el("button", { class: "plain", type: "button", "aria-expanded": "false" }, "Why?");
    button.addEventListener("click", () => {
      const open = details.hidden;
      details.hidden = !open;
      button.setAttribute("aria-expanded", String(open));
      if (open && !details.childElementCount) this.explain(item, details);
    });
    return movieRow(item, {
      score: el("span", { title: "predicted rating" }, `predicted ${item.score.toFixed(2)}`),
      actions: [button],
      details,
    });
  }

  // Why a movie is recommended: the user's closest raters of it who liked it, and movies
  // like it that the user rated.
  async explain(item, into) {
    into.replaceChildren(el("p", { class: "muted" }, "Loading…"));
    try {
      const [raters, similar, rated] = await Promise.all([
        api(`${path.user(this.id)}/closest-raters?${query({ movie_id: item.id, n: 10 })}`),
        api(`${path.movie(item.id)}/similar?n=100`),
        this.ratedMovies(),
      ]);
      const liked = raters.raters.filter((r) => r.rating !== null && r.rating >= 4);
      const theirs = similar.items.filter((m) => rated.has(m.id)).slice(0, 5);
      into.replaceChildren(
        el("h3", {}, "Closest raters who liked it"),
        liked.length
          ? el("ul", {}, liked.map((r) => el("li", {}, link.user(r.user_id), " rated it ", stars(r.rating),
              el("span", { class: "meta" }, ` · ${r.common_movies} movies in common, distance ${r.distance.toFixed(2)}`))))
          : el("p", { class: "muted" }, `none of its ${raters.raters.length} closest raters rated it 4 or more`),
        el("h3", {}, "Similar movies this user rated"),
        theirs.length
          ? el("ul", {}, theirs.map((m) => el("li", {}, link.movie(m.id, cleanTitle(m)), " ", stars(rated.get(m.id)),
              el("span", { class: "meta" }, ` · similarity ${m.score.toFixed(2)}`))))
          : el("p", { class: "muted" }, "none among its 100 most similar movies"),
      );
    } catch (error) {
      into.replaceChildren(errorBox(error));
    }
  }

  async ratedMovies() {
    if (this.rated) return this.rated;
    const rated = new Map();
    const limit = Math.min(this.total, 5000); // a very active user: their 5,000 latest
    for (let offset = 0; offset < limit; offset += 100) {
      const page = await api(`${path.user(this.id)}/history?${query({ n: 100, offset })}`);
      for (const entry of page.items) rated.set(entry.id, entry.rating);
      if (page.items.length < 100) break;
    }
    this.rated = rated;
    return rated;
  }

  history() {
    return panel("Rated", () =>
      pagedList(
        (offset) => api(`${path.user(this.id)}/history?${query({ n: 20, offset })}`),
        (item) => movieRow(item, { score: el("span", {}, stars(item.rating), el("span", { class: "meta" }, ` ${day(item.timestamp)}`)) }),
        "no ratings",
      ),
    );
  }
}

function moviesView(words) {
  document.title = words ? `recsys · “${words}”` : "recsys · movies";
  const form = searchForm({ name: "q", label: "Title", value: words, placeholder: "e.g. matrix", hidden: { view: "movies" } });
  const parts = [el("h1", {}, "Movies"), el("section", { class: "panel" }, el("h2", {}, "Search by title"), form)];
  const results = words
    ? panel(`Titles with “${words}”`, () =>
        pagedList(
          (offset) => api(`/v1/movies?${query({ q: words, n: 20, offset })}`),
          (item) => movieRow(item, { score: `${number.format(item.ratings)} ratings` }),
          "no title matches all of these words",
        ),
      )
    : panel("Most rated", () =>
        pagedList(
          (offset) => api(`/v1/movies/popular?${query({ n: 20, offset })}`),
          (item) => movieRow(item, { score: `${number.format(item.score)} ratings` }),
          "no movies",
        ),
      );
  return [...parts, el("div", { class: "grid", style: "margin-top:1rem" }, results)];
}

async function movieView(id) {
  const movie = await api(path.movie(id)); // 404 for an unknown movie
  document.title = `recsys · ${cleanTitle(movie)}`;
  const facts = [
    ["Year", movie.year ?? "unknown"],
    ["Genres", movie.genres.length ? movie.genres.join(", ") : "none listed"],
    ["Ratings", number.format(movie.ratings)],
    ["Mean rating", movie.mean_rating === null ? "–" : movie.mean_rating.toFixed(2)],
    ["Id", movie.id],
  ];
  return [
    el("h1", {}, cleanTitle(movie)),
    el(
      "div",
      { class: "grid" },
      el("section", { class: "panel" }, el("h2", {}, "Details"), definitionList(facts)),
      movie.recommendable
        ? panel("Similar movies", () =>
            pagedList(
              (offset) => api(`${path.movie(id)}/similar?${query({ n: 20, offset })}`),
              (item) => movieRow(item, { score: el("span", { title: "cosine similarity" }, `similarity ${item.score.toFixed(2)}`) }),
              "no similar movies",
            ),
          )
        : el("section", { class: "panel" }, el("h2", {}, "Similar movies"), el("p", { class: "muted" }, "This movie has no ratings in the training data, so the model cannot compare it.")),
    ),
  ];
}

function definitionList(pairs) {
  return el("dl", { class: "card" }, pairs.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
}

function shown(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "number") return Number.isInteger(value) ? number.format(value) : value.toFixed(4);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

async function modelView() {
  document.title = "recsys · model";
  const info = await api("/v1/model");
  const entries = (object) => Object.entries(object || {}).map(([k, v]) => [k.replaceAll("_", " "), shown(v)]);
  const trained = info.trained_at ? `${info.trained_at} (${new Date(info.trained_at).toLocaleString()})` : "unknown";
  const metrics = entries(info.metrics);
  return [
    el("h1", {}, "Model ", el("span", { class: "muted" }, info.model)),
    el(
      "div",
      { class: "grid" },
      el("section", { class: "panel", id: "model-card" }, el("h2", {}, "Model card"), definitionList([
        ["Model", info.model],
        ["Trained", trained],
        ["Users", number.format(info.users)],
        ["Movies", number.format(info.movies)],
        ["Rating scale", `${shown(info.scale.low)} – ${shown(info.scale.high)}`],
        ["recsys", info.recsys_version ?? "–"],
      ])),
      el("section", { class: "panel" }, el("h2", {}, "Hold-out metrics"),
        metrics.length ? definitionList(metrics) : el("p", { class: "muted" }, "not evaluated")),
      el("section", { class: "panel" }, el("h2", {}, "Training data"), definitionList(entries(info.data))),
      el("section", { class: "panel" }, el("h2", {}, "Hyperparameters"), definitionList(entries(info.params))),
    ),
  ];
}

// -- start -------------------------------------------------------------------------------
function currentView(params) {
  if (params.has("user")) return "users";
  if (params.has("movie") || params.has("q")) return "movies";
  return params.get("view") || "users";
}

async function render() {
  const params = new URLSearchParams(location.search);
  const view = currentView(params);
  for (const a of document.querySelectorAll("nav a[data-view]")) {
    if (a.dataset.view === view) a.setAttribute("aria-current", "page");
  }
  if (params.has("user")) return new UserView(params.get("user").trim()).render();
  if (params.has("movie")) return movieView(params.get("movie").trim());
  if (view === "movies") return moviesView((params.get("q") || "").trim());
  if (view === "model") return modelView();
  if (view === "users") return usersView();
  throw new ApiError(404, `no view ${JSON.stringify(view)}; try the links above`);
}

window.addEventListener("error", (event) => showMessage(`Something went wrong on this page: ${event.message}`));
window.addEventListener("unhandledrejection", (event) => showMessage(`Something went wrong on this page: ${event.reason}`));

document.addEventListener("DOMContentLoaded", async () => {
  const target = document.getElementById("view");
  try {
    target.replaceChildren(...[await render()].flat().filter(Boolean));
  } catch (error) {
    showMessage(error.message || String(error));
    target.replaceChildren(el("p", {}, el("a", { href: "/" }, "Back to the list of users")));
  }
});
