// The recsys web page: reads the JSON API of the same service, nothing else.
//
// Each view has its own address: /?user=ID, /?movie=ID, /?view=movies&q=WORDS, /?view=model,
// and / (users). Links and forms navigate normally, so the back button and bookmarks work.
// Every request goes through api(); a failure shows as a message, never a blank page.
//
// Ratings are written through the feedback API (POST /v1/users/{id}/ratings, DELETE
// …/ratings/{movie_id}) with the API key the visitor typed in: it is kept in this tab's
// sessionStorage only, sent as a bearer header, never put in a URL. After a write the user's
// lists re-load, and the service folds the new rating in. Where the service guards reads too
// (RECSYS_READ_KEY), every request sends the key, and the view re-loads once one is entered.
"use strict";

// -- talking to the API ------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, message, detail) {
    super(message);
    this.status = status;
    this.detail = detail;
  }
}

function detailText(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => [(d.loc || []).slice(1).join("."), d.msg].filter(Boolean).join(": ")).join("; ");
  }
  return JSON.stringify(detail);
}

async function api(path, { method = "GET", body, key = apiKey.value } = {}) {
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
    const hint = response.status === 401 && method === "GET" ? ": this service needs a key to read; enter it in the API key field above" : "";
    throw new ApiError(response.status, (text || `HTTP ${response.status}`) + hint, payload && payload.detail);
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

// -- the API key and writing ratings -----------------------------------------------------
const KEY_ITEM = "recsys.apiKey";
const USER_ITEM = "recsys.lastUser";

function remembered(name) {
  try {
    return sessionStorage.getItem(name) || "";
  } catch (error) {
    return ""; // storage switched off: nothing is remembered
  }
}

function remember(name, value) {
  try {
    if (value) sessionStorage.setItem(name, value);
    else sessionStorage.removeItem(name);
  } catch (error) {
    showMessage("This browser keeps nothing for the page (sessionStorage is off); the key lasts until you leave.");
  }
}

const apiKey = {
  value: remembered(KEY_ITEM),
  set(key) {
    this.value = key;
    remember(KEY_ITEM, key);
  },
  forget() {
    this.value = "";
    remember(KEY_ITEM, "");
  },
};

// The values a rating can take: the model's scale (/v1/model), else the half-star 0.5..5.
let scaleValues;
function ratingValues() {
  scaleValues ??= api("/v1/model")
    .then((info) => info.scale)
    .catch(() => null)
    .then((scale) => {
      const low = Number(scale?.low ?? 0.5);
      const high = Number(scale?.high ?? 5);
      const step = Number(scale?.step ?? 0.5);
      if (!(low <= high && step > 0)) return halfStars();
      const values = [];
      for (let k = 0; low + k * step <= high + 1e-9; k++) values.push(Math.round((low + k * step) * 100) / 100);
      return values;
    });
  return scaleValues;
}
const halfStars = () => Array.from({ length: 10 }, (_, k) => (k + 1) / 2);

// What a failed write says, by status: the service's own words, with what to do about it.
function writeFailure(error) {
  const what = error.message || String(error);
  if (error.status === 0) return `Not saved: ${what}`;
  if (error.status === 401) return `Not saved: ${what} (HTTP 401). Check the API key above.`;
  if (error.status === 403) return `Not saved: ${what} (HTTP 403)`;
  if (error.status === 413) return `Not saved: too much at once: ${what} (HTTP 413)`;
  if (error.status === 422 && Array.isArray(error.detail)) {
    return `Not saved (HTTP 422): ${error.detail.map((d) => d.msg).join("; ")}`;
  }
  return `Not saved: ${what} (HTTP ${error.status})`;
}

class NoKey extends Error {}

async function write(path, options) {
  if (!apiKey.value) throw new NoKey("Enter the API key above to rate: writes need the service's RECSYS_API_KEY.");
  return api(path, { ...options, key: apiKey.value });
}

const rate = (user, movie, rating) =>
  write(`${path.user(user)}/ratings`, { method: "POST", body: { ratings: [{ movie_id: movie, rating }] } });
const unrate = (user, movie) =>
  write(`${path.user(user)}/ratings/${encodeURIComponent(movie)}`, { method: "DELETE" });

// Shows a write's outcome inside `where` (a list entry, a form): one message at a time.
function report(where, error) {
  where.querySelector(":scope > .write-error")?.remove();
  if (!error) return;
  const text = error instanceof NoKey ? error.message : writeFailure(error);
  where.append(el("p", { class: "error write-error", role: "alert" }, text));
  if (error instanceof NoKey) document.getElementById("api-key")?.focus();
}

// A rating picker and its button; submit(value) writes it and may throw.
function rateForm(title, submit) {
  const select = el("select", { "aria-label": `Your rating of ${title}`, required: true },
    el("option", { value: "", disabled: true, selected: true }, "Rate…"));
  ratingValues().then((values) => select.append(...values.map((v) => el("option", { value: v }, `★ ${v}`))));
  const button = el("button", { type: "submit" }, "Rate");
  const form = el("form", { class: "rate", "aria-label": `Rate ${title}` }, select, button);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      await submit(Number(select.value));
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

// The key field: a password input while no key is set; "Forget key" once it is.
function keyBar() {
  const bar = document.getElementById("key");
  if (!bar) return;
  if (apiKey.value) {
    const forget = el("button", { class: "plain", type: "button" }, "Forget key");
    forget.addEventListener("click", () => {
      apiKey.forget();
      keyBar();
    });
    bar.replaceChildren(el("span", { class: "muted" }, "API key set for this tab: you can rate movies."), " ", forget);
    return;
  }
  // No name on the input: even a form sent without this script puts no key in a URL.
  const input = el("input", { id: "api-key", type: "password", autocomplete: "off", placeholder: "to rate movies", required: true });
  const form = el(
    "form",
    { class: "key", method: "post", action: "/" },
    el("label", { for: "api-key" }, "API key"),
    input,
    el("button", { type: "submit" }, "Use key"),
    el("span", { class: "meta" }, "kept in this tab only"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) return;
    apiKey.set(key);
    keyBar();
    if (!document.getElementById("message").hidden || document.querySelector("#view .error:not(.write-error)")) show(); // the key may be what was missing (a write's own error is not: it stays beside its form)
  });
  bar.replaceChildren(form);
}

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
    await this.count(); // a user the model does not know may still be new: see newUser()
    remember(USER_ITEM, this.id);
    this.heading = el("h1");
    this.notice = el("p", { class: "notice", role: "status", hidden: true });
    this.node = el("div");
    this.show();
    return [this.heading, this.notice, this.node];
  }

  // The number of ratings (0: a user id with none yet, which rating creates).
  async count() {
    try {
      this.total = (await api(`${path.user(this.id)}/history?n=1`)).total;
    } catch (error) {
      if (error.status !== 404) throw error;
      this.unknown = error.message; // "unknown user '…'"
      this.total = 0;
    }
  }

  show() {
    this.rated = null;
    this.heading.replaceChildren(`User ${this.id} `, el("span", { class: "muted" }, `· ${number.format(this.total)} ${this.total === 1 ? "rating" : "ratings"}`));
    this.node.replaceChildren(
      this.total
        ? el("div", { class: "grid" }, this.recommendations(), this.history())
        : el("div", { class: "grid" }, this.newUser(), this.popular()),
    );
  }

  // Reload the user's lists after a rating is written or removed.
  async refresh(notice) {
    try {
      await this.count();
    } catch (error) {
      return showMessage(error.message);
    }
    this.show();
    this.notice.textContent = notice;
    this.notice.hidden = !notice;
  }

  async rate(item, rating, where) {
    report(where);
    try {
      await rate(this.id, item.id, rating);
    } catch (error) {
      return report(where, error);
    }
    await this.refresh(`Stored your rating ★ ${rating} of “${cleanTitle(item)}”. The lists below are re-loaded with it folded in.`);
  }

  async unrate(item, where) {
    report(where);
    try {
      await unrate(this.id, item.id);
    } catch (error) {
      return report(where, error);
    }
    await this.refresh(`Removed your rating of “${cleanTitle(item)}”. The lists below are re-loaded without it.`);
  }

  rateAction(item) {
    return rateForm(cleanTitle(item), (rating) => this.rate(item, rating, this.rowOf(item)));
  }

  rowOf(item) {
    return this.node.querySelector(`li[data-movie="${CSS.escape(String(item.id))}"]`) || this.node;
  }

  newUser() {
    return el(
      "section",
      { class: "panel", id: "new-user" },
      el("h2", {}, "New user"),
      el("p", {}, `${this.unknown || `unknown user '${this.id}'`}: the model has no ratings from this id yet.`),
      el("p", { class: "muted" }, "Rate a few movies (with the API key entered above) and recommendations follow at once."),
      el("p", {}, el("a", { href: "/" }, "Back to the list of users")),
    );
  }

  popular() {
    return panel("Popular movies to rate", () =>
      pagedList(
        (offset) => api(`/v1/movies/popular?${query({ n: 20, offset })}`),
        (item) => movieRow(item, { score: `${number.format(item.score)} ratings`, actions: [this.rateAction(item)] }),
        "no movies",
      ),
    );
  }

  recommendations() {
    const note = el("p", { class: "muted list-note", hidden: true });
    return panel("Recommended", async () => {
      const content = await pagedList(
        async (offset) => {
          const page = await api(`${path.user(this.id)}/recommendations?${query({ n: 20, offset })}`);
          if (offset === 0) this.describe(page, note);
          return page;
        },
        (item) => this.recommendationRow(item),
        "nothing to recommend",
      );
      return [note, ...[content].flat()];
    });
  }

  // Says when a list uses ratings stored after training, or is the popular fallback.
  describe(page, note) {
    const says = [];
    if (page.folded_in) says.push("Folded in: this list uses ratings stored after the model was trained.");
    if (page.fallback) says.push("Popular movies: the model cannot rank movies for this user.");
    note.textContent = says.join(" ");
    note.hidden = !says.length;
    note.classList.toggle("folded", Boolean(page.folded_in));
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
      actions: [button, this.rateAction(item)],
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
        (item) => this.historyRow(item),
        "no ratings",
      ),
    );
  }

  // A stored rating (written after training) can be removed; training ratings stay.
  historyRow(item) {
    const actions = [];
    if (item.stored) {
      const remove = el("button", { class: "plain", type: "button", "aria-label": `Remove your rating of ${cleanTitle(item)}` }, "Remove");
      remove.addEventListener("click", async () => {
        remove.disabled = true;
        await this.unrate(item, this.rowOf(item));
        remove.disabled = false;
      });
      actions.push(el("span", { class: "tag", title: "stored after the model was trained" }, "stored"), remove);
    }
    return movieRow(item, {
      score: el("span", {}, stars(item.rating), el("span", { class: "meta" }, ` ${day(item.timestamp)}`)),
      actions,
    });
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
      el("section", { class: "panel" }, el("h2", {}, "Details"), definitionList(facts), movie.recommendable && rateAsUser(movie)),
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

// On a movie's page: rate it as a user (the last user opened in this tab, or any id).
function rateAsUser(movie) {
  const input = el("input", { id: "rate-user", value: remembered(USER_ITEM), placeholder: "e.g. 1", required: true, autocomplete: "off", inputmode: "numeric" });
  const done = el("p", { class: "notice", role: "status", hidden: true });
  const box = el("div", { class: "rate-as" }, el("h3", {}, "Rate this movie"),
    el("label", { for: "rate-user", class: "muted" }, "as user id"), " ", input);
  const form = rateForm(cleanTitle(movie), async (rating) => {
    report(box);
    done.hidden = true;
    const user = input.value.trim();
    if (!user) return input.focus();
    try {
      await rate(user, movie.id, rating);
    } catch (error) {
      return report(box, error);
    }
    remember(USER_ITEM, user);
    done.replaceChildren(`Stored: user ${user} rated it ★ ${rating}. `, link.user(user, `See user ${user}'s recommendations`));
    done.hidden = false;
  });
  box.append(form, done);
  return box;
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

async function show() {
  showMessage("");
  const target = document.getElementById("view");
  try {
    target.replaceChildren(...[await render()].flat().filter(Boolean));
  } catch (error) {
    showMessage(error.message || String(error));
    target.replaceChildren(el("p", {}, el("a", { href: "/" }, "Back to the list of users")));
  }
}

document.addEventListener("DOMContentLoaded", () => {
  keyBar();
  show();
});
