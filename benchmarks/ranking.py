"""Ranking benchmarks (issue 9): what the lists are worth, and what they cost.

    python benchmarks/ranking.py quality      # ranking tables on seed1 and user-last 5
    python benchmarks/ranking.py references   # our ALS against the `implicit` package's
    python benchmarks/ranking.py ease         # EASE's max_items: NDCG, memory, fit time
    python benchmarks/ranking.py learner      # HistGradientBoostingClassifier vs LightGBM
    python benchmarks/ranking.py http         # the default artifact, scored over HTTP
    python benchmarks/ranking.py rmse         # rating accuracy kept (dirty seed1)

Every table has `popular`, `ease` and `als` measured in the same run, on the project's ranking
protocol (`recsys.evaluation.protocols.rank_test_users`: a test rating >= 4 is relevant, every
unseen training movie is a candidate). The data is the genuine ml-latest-small in
../shared/data (skipped with a message when absent).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
SMALL = DATA / "ml-latest-small"
DIRTY = DATA / "movielens-small-dirty"
MODELS = ("popular", "item-cooc", "als", "ease", "ranker")


def _load(path: Path):
    from recsys.data.loading import load_or_demo

    if not path.exists():
        sys.exit(f"skipped: {path} is not there")
    return load_or_demo(str(path))


def _split(dataset, name: str):
    from recsys.data.splits import make_splits

    return make_splits(dataset.ratings, name, last_k=5)[0]


def _fit_rank(name: str, dataset, split, params: dict | None = None) -> dict:
    from recsys.evaluation.protocols import rank_test_users
    from recsys.models.registry import make_model

    start = time.perf_counter()
    model = make_model(name, **(params or {})).fit(dataset.with_ratings(split.train))
    fit = time.perf_counter() - start
    start = time.perf_counter()
    result = rank_test_users(model, split)
    return result | {"fit_seconds": fit, "rank_seconds": time.perf_counter() - start}


def _print_table(title: str, rows: dict[str, dict], reference: str = "ease") -> None:
    print(f"\n{title}")
    print(f"  {'model':12s} {'NDCG@5':>7s} {'NDCG@10':>8s} {'NDCG@20':>8s} {'P@10':>7s} "
          f"{'R@10':>7s} {'MAP@10':>7s} {'cover':>6s} {'pop%':>5s} {'x ease':>7s} "
          f"{'fit s':>7s} {'rank s':>7s}")  # fmt: skip
    base = rows.get(reference, {}).get("ndcg_at_10")
    for name, r in rows.items():
        ratio = r["ndcg_at_10"] / base if base else float("nan")
        print(f"  {name:12s} {r['ndcg_at_5']:7.4f} {r['ndcg_at_10']:8.4f} {r['ndcg_at_20']:8.4f} "
              f"{r['precision_at_10']:7.4f} {r['recall_at_10']:7.4f} {r['map_at_10']:7.4f} "
              f"{r['coverage_at_10']:6.3f} {r['novelty_at_10']:5.1f} {ratio:7.3f} "
              f"{r['fit_seconds']:7.1f} {r['rank_seconds']:7.2f}")  # fmt: skip


def quality(args) -> dict:
    dataset = _load(SMALL)
    tables = {}
    for split_name in ("seed1", "user-last"):
        split = _split(dataset, split_name)
        rows = {name: _fit_rank(name, dataset, split) for name in MODELS}
        title = f"ml-latest-small --split {split_name}" + (" --last-k 5" * (split_name != "seed1"))
        _print_table(title, rows)
        tables[split_name] = rows
    r = tables["seed1"]["ranker"]["ndcg_at_10"]
    e = tables["seed1"]["ease"]["ndcg_at_10"]
    u = tables["user-last"]["ranker"]["ndcg_at_10"] / tables["user-last"]["ease"]["ndcg_at_10"]
    print(
        f"\ntargets: seed1 ranker {r:.4f} (>= 0.27, >= 1.05 x ease = {1.05 * e:.4f}); "
        f"user-last ranker / ease {u:.3f} (>= 1.05); popular on seed1 "
        f"{tables['seed1']['popular']['ndcg_at_10']:.4f} (reads 0.118)"
    )
    print(f"ranker fit on seed1: {tables['seed1']['ranker']['fit_seconds']:.1f} s (<= 120 s)")
    return tables


def references(args) -> dict:
    """Our ALS against the `implicit` package's, same factors, same split, same protocol."""
    import implicit
    from threadpoolctl import threadpool_limits

    from recsys.evaluation.metrics import ranking_metrics
    from recsys.models.ranking import rated_matrix

    dataset = _load(SMALL)
    split = _split(dataset, "seed1")
    rows = {name: _fit_rank(name, dataset, split) for name in ("popular", "ease", "als")}
    ours = rows["als"]
    from recsys.data.interactions import Interactions
    from recsys.data.schema import ITEM, RATING, USER

    history = Interactions.from_ratings(split.train)
    X = rated_matrix(history.by_user.indptr, history.by_user.indices, history.n_items).tocsr()
    liked = split.test[split.test[RATING] >= 4]
    liked = liked[liked[USER].isin(split.train[USER])]
    groups = liked.groupby(USER, sort=True)[ITEM]
    for alpha in (5.0, 40.0):
        model = implicit.cpu.als.AlternatingLeastSquares(
            factors=64, regularization=10.0 if alpha == 5.0 else 0.1, alpha=alpha,
            iterations=15, random_state=0,
        )  # fmt: skip
        with threadpool_limits(1, "blas"):
            start = time.perf_counter()
            model.fit(X, show_progress=False)
            fit = time.perf_counter() - start
        users = history.users.index(np.array([u for u, _ in groups]))
        ids, _ = model.recommend(users, X[users], N=20, filter_already_liked_items=True)
        lists = [history.items.to_ids(row) for row in ids]
        hits = [items.to_numpy() for _, items in groups]
        result = {f"ndcg_at_{k}": ranking_metrics([x[:k] for x in lists], hits, k)[f"ndcg_at_{k}"]
                  for k in (5, 10, 20)}  # fmt: skip
        print(
            f"implicit {implicit.__version__} ALS alpha={alpha}: NDCG@10 "
            f"{result['ndcg_at_10']:.4f}, fit {fit:.1f} s"
        )
        rows[f"implicit-a{alpha:g}"] = result | {"fit_seconds": fit}
    print(
        f"recsys als: NDCG@10 {ours['ndcg_at_10']:.4f}, fit {ours['fit_seconds']:.1f} s "
        f"(popular {rows['popular']['ndcg_at_10']:.4f}, ease {rows['ease']['ndcg_at_10']:.4f})"
    )
    return rows


def ease(args) -> dict:
    dataset = _load(SMALL)
    split = _split(dataset, "seed1")
    rows = {}
    for max_items in (1000, 2000, 4000, 6000, 9000):
        r = _fit_rank("ease", dataset, split, {"max_items": max_items})
        kept = min(max_items, split.train["item_id"].nunique())
        rows[max_items] = r | {"B_mib": kept**2 * 4 / 2**20}
        mib = kept**2 * 4 / 2**20
        print(f"  max_items {max_items:5d}: NDCG@10 {r['ndcg_at_10']:.4f}  B {mib:6.1f} MiB  "
              f"fit {r['fit_seconds']:5.1f} s")  # fmt: skip
    full, capped = 59_047**2 * 4 / 2**30, 4000**2 * 4 / 2**20
    print(
        f"  ml-25m's 59,047 movies: a full B would be {full:.1f} GiB; "
        f"max_items 4000 keeps it at {capped:.0f} MiB"
    )
    return rows


def learner(args) -> dict:
    """The ranker's classifier against LightGBM's lambdarank on the same labelled pairs."""
    import lightgbm
    from sklearn.ensemble import HistGradientBoostingClassifier

    from recsys.data.interactions import Interactions
    from recsys.data.schema import ITEM, RATING, USER
    from recsys.features.builder import item_years
    from recsys.features.era import movie_eras
    from recsys.features.pairs import genre_matrix
    from recsys.models.ranker import Ranker, _blocks

    dataset = _load(SMALL)
    rows = {}
    for split_name in ("seed1", "user-last"):
        split = _split(dataset, split_name)
        train = dataset.with_ratings(split.train)
        history = Interactions.from_ratings(split.train)
        ranker = Ranker(precompute=0)
        ranker.item_year_ = item_years(history.items, train.movies)
        ranker.item_era_ = movie_eras(ranker.item_year_)
        ranker.item_genres_ = genre_matrix(history.items, train.movies)
        parts = [ranker._labelled_pairs(train, history, r) for r in range(ranker.label_rounds)]
        X = np.concatenate([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts])
        group_of = np.concatenate([p[2] + r * history.n_users for r, p in enumerate(parts)])
        final = ranker._stage(train, history)
        liked = split.test[split.test[RATING] >= 4]
        liked = liked[liked[USER].isin(split.train[USER])]
        groups = liked.groupby(USER, sort=True)[ITEM]
        users = history.users.index(np.array([u for u, _ in groups]))
        pairs = [ranker._pairs(final, b) for b in _blocks(np.sort(users))]
        pair_user = np.concatenate([p[0] for p in pairs])
        pair_item = np.concatenate([p[1] for p in pairs])
        Xt = np.concatenate([p[2] for p in pairs])
        hits = {history.users.find(u): items.to_numpy() for u, items in groups}

        def ndcg(scores: np.ndarray, pairs=(pair_user, pair_item, history, hits)) -> float:
            return _candidate_ndcg(scores, *pairs)

        start = time.perf_counter()
        hgb = HistGradientBoostingClassifier(
            max_iter=ranker.max_iter, learning_rate=ranker.learning_rate,
            max_leaf_nodes=ranker.max_leaf_nodes, min_samples_leaf=ranker.min_samples_leaf,
            l2_regularization=ranker.l2_regularization, early_stopping=True,
            n_iter_no_change=20, random_state=0,
        ).fit(X, y)  # fmt: skip
        hgb_fit = time.perf_counter() - start
        order = np.argsort(group_of, kind="stable")
        sizes = np.unique(group_of[order], return_counts=True)[1]
        start = time.perf_counter()
        lgb = lightgbm.LGBMRanker(
            objective="lambdarank", n_estimators=300, learning_rate=0.05, num_leaves=15,
            min_child_samples=200, lambdarank_truncation_level=20, verbose=-1, random_state=0,
        ).fit(X[order], y[order], group=sizes)  # fmt: skip
        lgb_fit = time.perf_counter() - start
        rows[split_name] = {
            "hgb_classifier": ndcg(hgb.predict_proba(Xt)[:, 1]), "hgb_fit_seconds": hgb_fit,
            "lightgbm_lambdarank": ndcg(lgb.predict(Xt)), "lightgbm_fit_seconds": lgb_fit,
            "ease_score_alone": ndcg(np.nan_to_num(
                Xt[:, ranker.feature_names().index("ease_score")], nan=-1e9)),
        }  # fmt: skip
        print(f"  {split_name}: " + ", ".join(f"{k} {v:.4f}" for k, v in rows[split_name].items()))
    return rows


def _candidate_ndcg(scores, pair_user, pair_item, history, hits) -> float:
    """NDCG@10 of each user's candidates ordered by ``scores``."""
    from recsys.evaluation.metrics import ranking_metrics

    lists, relevant = [], []
    for u in np.unique(pair_user):
        rows_u = np.flatnonzero(pair_user == u)
        best = rows_u[np.argsort(-scores[rows_u], kind="stable")[:10]]
        lists.append(history.items.to_ids(pair_item[best]))
        relevant.append(hits[u])
    return ranking_metrics(lists, relevant, 10)["ndcg_at_10"]


def http(args) -> dict:
    """The default artifact trained on the seed1 train part, scored from GET /recommendations."""
    import urllib.request

    from benchmarks.service import Server
    from recsys.data.schema import ITEM, RATING, USER
    from recsys.evaluation.metrics import ranking_metrics
    from recsys.models.registry import make_model
    from recsys.service import save_artifact

    dataset = _load(SMALL)
    split = _split(dataset, "seed1")
    train = dataset.with_ratings(split.train)
    with tempfile.TemporaryDirectory() as work:
        start = time.perf_counter()  # what `recsys train` does, with its default model
        model = make_model("ranker").fit(train)
        folder = save_artifact(model, train, Path(work) / "artifact")
        fit = time.perf_counter() - start
        size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6
        server = Server(folder)
        try:
            liked = split.test[split.test[RATING] >= 4]
            liked = liked[liked[USER].isin(split.train[USER])]
            lists, hits, latencies = [], [], []
            for user, items in liked.groupby(USER, sort=True)[ITEM]:
                start = time.perf_counter()
                with urllib.request.urlopen(f"{server.url}/recommendations/{user}") as reply:
                    body = json.load(reply)
                latencies.append((time.perf_counter() - start) * 1e3)
                lists.append(np.array([int(x["id"]) for x in body["items"]]))
                hits.append(items.to_numpy())
            rss = server.rss_mib()
        finally:
            server.stop()
    result = ranking_metrics(lists, hits, 10) | {
        "users": len(lists), "train_seconds": fit, "artifact_mb": size, "rss_mib": rss,
        "median_request_ms": statistics.median(latencies),
    }  # fmt: skip
    print(
        f"  over HTTP, {len(lists)} seed1 test users: NDCG@10 {result['ndcg_at_10']:.4f} "
        f"(>= 0.25), P@10 {result['precision_at_10']:.4f}; artifact {size:.1f} MB (<= 150), "
        f"server RSS {rss:.0f} MiB (<= 400), train + save {fit:.1f} s"
    )
    return result


def rmse(args) -> dict:
    from recsys.evaluation.protocols import evaluate

    dataset = _load(DIRTY)
    results = evaluate(dataset, "seed1", ["mf", "gbm"], ranking=True)["models"]
    for name, r in results.items():
        print(
            f"  {name:8s} RMSE {r.get('rmse', float('nan')):.4f}  NDCG@10 "
            f"{r.get('ndcg_at_10', float('nan')):.4f}  rank {r.get('rank_seconds', 0):.1f} s"
        )
    print("targets: gbm <= 0.820, mf <= 0.845 on dirty seed1; gbm ranks in <= 30 s")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["quality", "references", "ease", "learner", "http",
                                         "rmse", "all"])  # fmt: skip
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    steps = {"quality": quality, "references": references, "ease": ease, "learner": learner,
             "http": http, "rmse": rmse}  # fmt: skip
    chosen = list(steps) if args.what == "all" else [args.what]
    results = {name: steps[name](args) for name in chosen}
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=float) + "\n")


if __name__ == "__main__":
    main()
