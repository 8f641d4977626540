"""The `recsys` command: inspect, synthesise, sample, split, download, train, evaluate, tune,
serve."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import sys
from pathlib import Path

from recsys.choices import MAX_FOLDS, SPLIT_NAMES, checked_params
from recsys.errors import ConfigError, DataError, RecsysError

log = logging.getLogger("recsys")


def _data_argument(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument(
        "--data",
        required=required,
        help="a data folder, archive or file (MovieLens, Netflix Prize, generic), or 'demo'",
    )
    parser.add_argument("--format", default="auto", help="force a format instead of detecting it")
    parser.add_argument("--strict", action="store_true", help="stop at the first bad row")
    _generic_arguments(parser)


def _generic_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--columns", metavar="USER,ITEM,RATING[,TIME]",
                        help="a generic table's column names (else found by the usual names)")
    parser.add_argument("--scale", metavar="LOW,HIGH[,STEP]",
                        help="a generic table's rating scale (default 0.5,5,0.5)")  # fmt: skip


def _load_options(args: argparse.Namespace) -> dict:
    """`load` keywords from the data arguments; --columns or --scale mean a generic table."""
    options = {"format": args.format, "strict": args.strict}
    if args.columns is None and args.scale is None:
        return options
    names, given = _generic_table(args)
    from recsys.data.generic import Columns
    from recsys.data.schema import HALF_STARS, RatingScale

    scale = HALF_STARS if given is None else RatingScale(*given)
    options["columns"] = Columns(*names, scale=scale)
    options["format"] = "generic" if args.format == "auto" else args.format
    return options


def _generic_table(args: argparse.Namespace) -> tuple[list, tuple | None]:
    """--columns as names (None: found by the usual names) and --scale as (low, high, step),
    checked without an import."""
    names = [n.strip() or None for n in args.columns.split(",")] if args.columns else []
    named = [n for n in names if n]
    if args.columns and (len(names) not in (3, 4) or len(set(named)) < len(named)):
        raise ConfigError(f"--columns {args.columns!r}: give USER,ITEM,RATING[,TIME], each once")
    if not args.scale:
        return names, None
    try:
        low, high, *step = (float(v) for v in args.scale.split(","))
        finite = all(math.isfinite(v) for v in (low, high, *step))
        if len(step) > 1 or not finite or not low < high:
            raise ValueError
        if step and not 0 < step[0] <= high - low:
            raise ValueError
    except ValueError:
        raise ConfigError(f"--scale {args.scale!r}: give LOW,HIGH[,STEP], finite numbers "
                          "with LOW < HIGH and 0 < STEP <= HIGH - LOW") from None  # fmt: skip
    return names, (low, high, step[0] if step else None)


def _load(args: argparse.Namespace):
    if args.data not in (None, "demo") and not Path(args.data).exists():  # before pandas
        raise DataError(args.data, "no such file or folder")
    from recsys.data.loading import load_or_demo

    return load_or_demo(args.data, **_load_options(args))


def _progress_bar(args: argparse.Namespace, total: int | None, unit: str):
    """A bar on stderr for a step of the command itself; none with ``--quiet``."""
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, unit_scale=unit == "B", file=sys.stderr,
                disable=args.quiet)  # fmt: skip


class _ProgressBars:
    """A tqdm bar with its rate for each long library step that reports progress."""

    def __init__(self) -> None:
        self.bars: dict = {}

    def __call__(self, step: str, done: int, total: int | None) -> None:
        bar = self.bars.get(step)
        if bar is None:
            if total == 0:  # the end of a step never shown
                return
            from tqdm import tqdm

            bar = self.bars[step] = tqdm(total=total, desc=step, unit="", unit_scale=True,
                                         file=sys.stderr)  # fmt: skip
        bar.update(done)
        if total is not None and bar.n >= total:
            bar.close()
            del self.bars[step]

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()


def _peak_memory_gib() -> float:
    """This process's peak resident memory (Linux reports KiB, macOS bytes)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**30 if sys.platform == "darwin" else 2**20)


# -- commands ---------------------------------------------------------------------------
def cmd_info(args: argparse.Namespace) -> None:
    dataset = _load(args)
    info = dataset.describe() | {"cleaning": dataset.report.to_dict()}
    print(json.dumps(info, indent=2, default=str))


def cmd_synth(args: argparse.Namespace) -> None:
    from recsys.data.synthetic import write_netflix_synthetic, write_synthetic

    if args.netflix:
        folder = write_netflix_synthetic(Path(args.out), args.fraction, seed=args.seed)
        print(f"wrote a Netflix-shaped synthetic data set (fraction {args.fraction}) to {folder}")
        return
    with _quiet("recsys.data.netflix"):  # its writer logs what the line below prints
        folder = write_synthetic(
            Path(args.out), args.ratings, format=args.format, seed=args.seed,
            n_users=args.users, n_movies=args.movies,
        )  # fmt: skip
    print(f"wrote a synthetic data set of {args.ratings:,} ratings to {folder}")


def cmd_sample(args: argparse.Namespace) -> None:
    from recsys.data.loading import load_or_demo
    from recsys.data.sampling import sample, write_sample

    source = load_or_demo(args.source, **_load_options(args))
    params = {
        "n_movies": args.movies, "min_ratings": args.min_ratings, "seed": args.seed,
        "start": args.start, "end": args.end,
    }  # fmt: skip
    sampled = sample(source, **params)
    folder = write_sample(sampled, source, Path(args.out), params=params)
    print(f"sampled {len(sampled.ratings):,} ratings of {sampled.ratings['item_id'].nunique()} "
          f"movies by {sampled.ratings['user_id'].nunique():,} users into {folder}")  # fmt: skip


def cmd_split(args: argparse.Namespace) -> None:
    from recsys.data.splits import make_splits

    dataset = _load(args)
    splits = make_splits(
        dataset.ratings, args.split, test_fraction=args.test_fraction, folds=args.folds,
        seed=args.seed, cutoff=args.cutoff, last_k=args.last_k,
        **({"probe": args.data} if args.split == "probe" else {}),
    )  # fmt: skip
    out = Path(args.out)  # made only once the split succeeded
    out.mkdir(parents=True, exist_ok=True)
    for split in splits:
        split.train.to_csv(out / f"{split.name}-train.csv", index=False)
        split.test.to_csv(out / f"{split.name}-test.csv", index=False)
        print(json.dumps(split.describe()))


def cmd_download(args: argparse.Namespace) -> None:
    from recsys.data.download import download

    bar = None

    def progress(done: int, total: int | None) -> None:
        nonlocal bar
        if bar is None:
            bar = _progress_bar(args, total, "B")
        bar.update(done - bar.n)

    try:
        folder = download(args.name, Path(args.dest), url=args.url, sha256=args.sha256,
                          progress=progress)  # fmt: skip
    finally:
        if bar is not None:
            bar.close()
    print(folder)


def _params(pairs: list[str]) -> dict:
    """``key=value`` pairs; values read as JSON when they parse (numbers, true, null, lists),
    a comma-separated value as a tuple, anything else as text."""
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise RecsysError(f"--param {pair!r}: expected key=value")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = tuple(value.split(",")) if "," in value else value
    return params


@contextlib.contextmanager
def _quiet(name: str):
    """Only warnings from one logger while a block runs."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _model_names(text: str) -> list[str]:
    """``--model a,b``: names checked at once, before anything is imported or loaded."""
    names = [n.strip() for n in text.split(",")]
    if not text.strip() or not all(names):
        raise ConfigError(f"--model {text!r}: give model names, comma-separated, e.g. baseline,mf")
    return names


def _given_params(args: argparse.Namespace) -> dict:
    """--param values, each taken by every --model and of the right type; no heavy import."""
    return checked_params(_model_names(args.model), _params(args.param))


def _whole_number(low: int, high: int):
    """An argparse type: a whole number from low to high, checked before any work."""

    def parse(text: str) -> int:
        if not text.strip().isdigit() or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"give {low} to {high}, not {text!r}")
        return int(text)

    return parse


def _checked_models(args: argparse.Namespace) -> tuple[list[str], dict]:
    """Model names and --param values: names and types at once, before anything heavy is
    imported; ranges then, before any data is loaded."""
    params = _given_params(args)
    from recsys.experiment import check_models

    return check_models(_model_names(args.model), params), params


def _model_params(args: argparse.Namespace, models: list[str]) -> dict[str, dict] | None:
    """Hyperparameters per model: a `recsys tune` file (--params), then --param for all."""
    from_file = {}
    if getattr(args, "params", None):
        from recsys.evaluation.tuning import read_params

        from_file = read_params(args.params)
        missing = [m for m in models if m not in from_file]
        if len(missing) == len(models):
            raise ConfigError(f"--params {args.params}: holds parameters for "
                              f"{', '.join(from_file) or 'no model'}, not for "
                              f"{', '.join(models)}")  # fmt: skip
        if missing:
            log.info("--params %s: nothing for %s, which keep their defaults", args.params,
                     ", ".join(missing))  # fmt: skip
    given = _given_params(args)
    merged = {m: from_file.get(m, {}) | given for m in models}
    return merged if any(merged.values()) else None


def cmd_train(args: argparse.Namespace) -> None:
    _checked_models(args)
    params = (_model_params(args, [args.model]) or {}).get(args.model, {})
    if args.feedback:
        folder = _train_with_feedback(args, params)
        print(f"saved {args.model} to {folder}")
        return
    from recsys.service import train_artifact

    folder = train_artifact(
        args.data, args.model, Path(args.out), evaluate=not args.no_evaluate,
        load_options=_load_options(args), **params,
    )  # fmt: skip
    print(f"saved {args.model} to {folder}")


def _train_with_feedback(args: argparse.Namespace, params: dict) -> Path:
    """--feedback URL: the data set plus the ratings stored at URL (recsys.data.feedback),
    fitted, and saved with the store's watermark in the artifact's ``feedback`` metadata, so
    the service folds in only what was stored after it."""
    from recsys.data.feedback import with_feedback
    from recsys.service.artifact import check_destination, publish_artifact
    from recsys.store import open_store

    folder = check_destination(args.out)
    _check_sqlite_file(args.feedback)
    store = open_store(args.feedback, Path.cwd(), read_only=True)  # read it, never create
    try:
        merged, counts = with_feedback(_load(args), store)
    finally:
        store.close()
    c = counts
    print(f"feedback from {c['url']} up to seq {c['seq']}: added {c['added']:,}, replaced "
          f"{c['replaced']:,}, deleted {c['deleted']:,}, older than the data {c['older']:,}; "
          f"dropped: unknown movies {c['unknown_movies']:,}, unusable user ids "
          f"{c['unusable_user_ids']:,}, off scale {c['off_scale']:,}")  # fmt: skip

    from recsys.models.registry import make_model
    from recsys.service.startup import _evaluate  # train_artifact's hold-out, on the merge

    log.info("training %s on %s plus stored ratings (%s ratings)", args.model, args.data,
             f"{merged.n_ratings:,}")  # fmt: skip
    model = make_model(args.model, **params).fit(merged)
    metrics = None if args.no_evaluate else _evaluate(merged, args.model, params)
    watermark = {"feedback": {"seq": counts["seq"], "url": counts["url"]}}
    return publish_artifact(model, merged, folder, metrics, extra_meta=watermark)


def _check_sqlite_file(url: str) -> None:
    """A SQLite URL must name a store that exists: a typo would train on no feedback."""
    import sqlalchemy as sa

    try:
        parsed = sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        return  # open_store says what is wrong, without echoing the URL
    database = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if database not in (None, "", ":memory:") and not Path(database).is_file():
        raise ConfigError(f"--feedback: no SQLite file {database} (the service keeps its "
                          "store in RECSYS_STATE_DIR/feedback.sqlite3)")  # fmt: skip


def cmd_tune(args: argparse.Namespace) -> None:
    from recsys.evaluation.tuning import check_tunable

    check_tunable(args.model, args.metric)  # before any work
    from recsys.evaluation.tuning import plot_search, tune, write_params

    dataset = _load(args)
    bar = _progress_bar(args, args.trials, "trial")
    best: list[float] = []

    def on_trial(trial: dict) -> None:
        better = max if args.metric != "rmse" else min
        best[:] = [better([*best, trial["value"]])]
        bar.set_postfix_str(f"{args.metric} {trial['value']:.4f} (best {best[0]:.4f})")
        bar.update(1)

    try:
        result = tune(
            dataset, args.model, args.split, metric=args.metric, trials=args.trials,
            seed=args.seed, on_trial=on_trial, test_fraction=args.test_fraction,
            folds=args.folds, cutoff=args.cutoff, last_k=args.last_k,
        )  # fmt: skip
    finally:
        bar.close()
    out = write_params(result, args.out)
    plot = plot_search(result, _tune_plot(args))
    print(f"best {args.metric} {result['value']:.4f} on the validation part: "
          f"{json.dumps(result['params'])}")  # fmt: skip
    print(f"wrote {out} (use it with --params) and {plot}")


def cmd_evaluate(args: argparse.Namespace) -> None:
    _check_sources(args)  # every check before the heavy imports
    models, _ = _checked_models(args)

    from recsys.evaluation.protocols import evaluate, with_reference
    from recsys.evaluation.report import table, write_json, write_plots

    dataset, split = _evaluation_data(args)
    _check_evaluation_data(args, dataset)
    params = _model_params(args, models)
    if args.repeat:
        return _evaluate_repeated(args, dataset, models, params)
    folds = args.folds if args.split == "kfold" and split is None else 1
    scored = with_reference(models, not args.no_ranking)  # popular joins as the reference
    bar = _progress_bar(args, len(scored) * folds, "model")

    def on_model(name: str) -> None:
        bar.set_postfix_str(f"{name} done")
        bar.update(1)

    try:  # the bar is closed before any error line
        if split is not None:  # --train and --test
            from recsys.evaluation.protocols import evaluate_split

            results = evaluate_split(dataset, split, models, params=params,
                                     relevant=args.relevant, ranking=not args.no_ranking,
                                     on_model=on_model)  # fmt: skip
        else:
            results = evaluate(
                dataset, args.split, models, params=params, ranking=not args.no_ranking,
                relevant=args.relevant, on_model=on_model, test_fraction=args.test_fraction,
                folds=args.folds, seed=args.seed, cutoff=args.cutoff, last_k=args.last_k,
                **({"probe": args.data} if args.split == "probe" else {}),
            )  # fmt: skip
    finally:
        bar.close()
    results["data"] = {"path": str(args.data or args.train), **dataset.describe()}
    print(table(results))
    reference = results.get("split", {}).get("reference_rmse", {})
    for name, rmse in reference.items():  # the probe split's yardstick
        print(f"reference: {name} RMSE {rmse}")
    if args.json:
        print(f"wrote {write_json(results, args.json)}")
    if args.plots:
        for png in write_plots(results, args.plots):
            print(f"wrote {png}")
    if args.report:
        from recsys.evaluation.html import write_report

        print(f"wrote {write_report(results, args.report)}")


def _check_sources(args: argparse.Namespace) -> None:
    """--data, or --train and --test, and that the files are there."""
    if (args.train is None) != (args.test is None):
        raise ConfigError("give both --train and --test (files `recsys split` writes)")
    if args.train is None and args.data is None:
        raise ConfigError("give --data, or --train and --test")
    for path in (args.data, args.train, args.test):
        if path not in (None, "demo") and not Path(path).exists():
            raise DataError(path, "no such file or folder")


def _evaluation_data(args: argparse.Namespace):
    """The data set, and the split of --train/--test files (None: the --split by name)."""
    if args.train is None:
        return _load(args), None
    from recsys.experiment import split_from_files

    columns = _load_options(args).get("columns")  # --scale
    return split_from_files(args.train, args.test, _load(args) if args.data else None,
                            scale=columns.scale if args.scale else None)  # fmt: skip


def _check_evaluation_data(args: argparse.Namespace, dataset) -> None:
    """Data with ratings to score, and a --relevant that some rating of its scale reaches."""
    if dataset.n_ratings == 0:
        raise DataError(args.data or args.train, "kept 0 ratings: nothing to evaluate")
    top = dataset.scale.high
    if not args.no_ranking and args.relevant > top:
        raise ConfigError(f"--relevant {args.relevant:g}: above the top of the rating scale "
                          f"({top:g}), so no test rating would count as relevant")  # fmt: skip


# The metrics --repeat shows as mean ± std: the rating ones, and the ranking ones when scored.
REPEAT_METRICS = ("rmse", "mae", "ndcg_at_10", "precision_at_10", "recall_at_10", "map_at_10")


def _evaluate_repeated(args: argparse.Namespace, dataset, models: list[str],
                       params: dict[str, dict] | None) -> None:  # fmt: skip
    """--repeat N: the split's seed and the models' random_state from --seed on; mean ± std
    per model and paired t-tests between the models over the runs. ``params``: per model, as
    `_model_params` gives them (--params FILE and --param)."""
    from recsys.experiment import make, paired_test, repeat, summarize

    ranking = not args.no_ranking
    runs = repeat(
        dataset, [make(m, **(params or {}).get(m, {})) for m in models], args.split,
        times=args.repeat, seed=args.seed, ranking=ranking, test_fraction=args.test_fraction,
        folds=args.folds, cutoff=args.cutoff, last_k=args.last_k,
        **({"relevant": args.relevant} if ranking else {}),  # passed on to each evaluation
    )  # fmt: skip
    summary, tests = summarize(runs, REPEAT_METRICS), paired_test(runs)
    last = args.seed + args.repeat - 1
    print(f"split {args.split}, {args.repeat} runs (seeds {args.seed}..{last})")
    print(_mean_std_table(summary))
    if len(tests):
        print("paired t-test on RMSE (first - second):")
        print(tests.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.json:
        body = {"runs": runs.reset_index().to_dict("records"), "paired": tests.to_dict("records")}
        print(f"wrote {_write_text(args.json, json.dumps(body, indent=2, default=str))}")
    if args.report:
        from recsys.evaluation.html import write_repeat_report

        print(f"wrote {write_repeat_report(runs, summary, tests, args.report)}")


def _mean_std_table(summary) -> str:
    cells = {
        metric: [f"{m:.4f} ± {s:.4f}" if math.isfinite(s) else f"{m:.4f}"  # one run: no std
                 for m, s in zip(summary[(metric, "mean")], summary[(metric, "std")],
                                 strict=True)]
        for metric in summary.columns.get_level_values(0).unique()
    }  # fmt: skip
    import pandas as pd

    return pd.DataFrame(cells, index=summary.index).to_string()


def _write_text(path: str, text: str) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return out


def cmd_serve(args: argparse.Namespace) -> None:
    """Serve with every limit of the settings (recsys.api.serving), not uvicorn's defaults."""
    import os

    if args.model is not None:
        os.environ["RECSYS_MODEL"] = args.model
    if args.data is not None:
        os.environ["RECSYS_DATA"] = args.data
    _check_settings("--model" if args.model is not None else "RECSYS_MODEL")
    _check_port(args.host, args.port)  # before the model is loaded or trained
    from recsys.api.serving import serve

    serve(args.host, args.port, access_log=args.access_log, debug=args.debug)


def _check_settings(model_from: str = "RECSYS_MODEL") -> None:
    """The RECSYS_* settings, each fault in one line, before the server starts; ``model_from``
    names where the model's folder came from."""
    from recsys.config import read_settings

    settings = read_settings()
    if settings.model is not None and not (settings.model / "artifact.json").is_file():
        what = ("no such folder" if not settings.model.exists() else
                "a file, not an artifact folder" if not settings.model.is_dir() else
                "no artifact.json in it")  # fmt: skip
        shown = f"--model {str(settings.model)!r}" if model_from == "--model" else \
            f"RECSYS_MODEL={str(settings.model)!r}"  # fmt: skip
        raise ConfigError(f"{shown}: {what} (see recsys train)")
    data = settings.data
    if settings.model is None and data not in (None, "demo") and not Path(data).exists():
        raise ConfigError(f"RECSYS_DATA={data!r}: no such file or folder")


def _check_port(host: str, port: int) -> None:
    """That the server can listen on host:port, checked by binding it for a moment (as uvicorn
    will, with SO_REUSEADDR), so a taken port fails before a long model load."""
    import socket

    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = found[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as error:  # socket.gaierror too
        reason = error.strerror or str(error)
        raise ConfigError(f"--host {host} --port {port}: cannot listen there ({reason})") from None


# The split options: their defaults, the splits that use each, and whether one given for a
# split that ignores it is refused (a size or date that would silently change nothing) or only
# warned about (a count that scripts pass to every split, as `--folds 3` in a loop).
SPLIT_OPTIONS = {
    "test_fraction": (0.1, ("temporal", "random"), True),
    "cutoff": (None, ("temporal",), True),
    "folds": (5, ("kfold",), False),
    "last_k": (9, ("user-last",), False),
}


def _split_arguments(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--split", choices=SPLIT_NAMES, default=None,
                        help=f"how to cut train and test (default {default})")  # fmt: skip
    parser.set_defaults(default_split=default)
    parser.add_argument("--test-fraction", type=float,
                        help="temporal and random splits: the test share (default 0.1)")
    parser.add_argument("--folds", type=_whole_number(2, MAX_FOLDS),
                        help=f"folds for --split kfold (2 to {MAX_FOLDS}, default 5)")
    parser.add_argument("--seed", type=int, default=0,
                        help="the random split's, the folds' and the models' seed (default 0)")
    parser.add_argument("--cutoff", help="temporal split: first day of period two (YYYY-MM-DD)")
    parser.add_argument("--last-k", type=int, help="user-last split: ratings held out (default 9)")


def _check_split_options(args: argparse.Namespace) -> None:
    """Split options that the split would ignore are refused; the rest get their defaults."""
    if not hasattr(args, "default_split"):
        return
    files = getattr(args, "train", None) is not None  # evaluate --train/--test
    if files and args.split is not None:
        raise ConfigError(f"--split {args.split}: --train and --test are the split; give one "
                          "or the other")  # fmt: skip
    split = args.split or args.default_split
    if split == "temporal" and args.cutoff is not None and args.test_fraction is not None:
        raise ConfigError("--test-fraction: the temporal split takes --cutoff or "
                          "--test-fraction, not both")  # fmt: skip
    for name, (default, used_by, refused) in SPLIT_OPTIONS.items():
        flag = "--" + name.replace("_", "-")
        if getattr(args, name) is None:
            setattr(args, name, default)
        elif files:
            raise ConfigError(f"{flag}: --train and --test are already split; it does nothing")
        elif split not in used_by:
            users = " and ".join(used_by) + (" use" if len(used_by) > 1 else " uses")
            if refused:
                raise ConfigError(f"{flag}: the {split} split ignores it (only {users} it)")
            log.warning("%s: the %s split ignores it (only %s it)", flag, split, users)
    args.split = split


def _cluster_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cluster", metavar="ADDRESS",
                        help="run on a Dask cluster: a scheduler (tcp://host:8786), or local:N "
                             "to start N worker processes here")  # fmt: skip


def _on_cluster(args: argparse.Namespace):
    """--cluster: the Dask engine for the command (recsys.distributed); dask is imported only
    then."""
    if getattr(args, "cluster", None) is None:
        return contextlib.nullcontext()
    import dask

    from recsys.distributed import cluster

    # Dask's own start-up and shutdown lines (read when distributed is first imported)
    dask.config.set({"logging.distributed": "warning"})
    return cluster(args.cluster)


def _force_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true",
                        help="replace output files that already exist (else refused)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recsys", description=__doc__)
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="log warnings only, and draw no progress bars"
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("info", help="load a data set and show it and its cleaning report")
    _data_argument(p)
    p.set_defaults(run=cmd_info)

    p = commands.add_parser("synth", help="write a synthetic data set (Netflix or MovieLens)")
    p.add_argument("out", help="a new or empty folder to write (or one recsys wrote before)")
    p.add_argument("--ratings", type=int, help="how many ratings (default 100,000)")
    p.add_argument("--users", type=int, help="how many users (default: from --ratings)")
    p.add_argument("--movies", type=int, help="how many movies (default: from --ratings)")
    p.add_argument("--seed", type=int, default=0, help="the random seed (default 0)")
    p.add_argument("--format", choices=["netflix", "movielens"],
                   help="the files' layout (default netflix, with a probe.txt)")
    p.add_argument("--netflix", action="store_true",
                   help="the Netflix Prize's size and marginals, with a probe.txt")
    p.add_argument("--fraction", type=float,
                   help="with --netflix: this share of the users and ratings (default 1)")
    p.set_defaults(run=cmd_synth)

    p = commands.add_parser(
        "sample", help="sample movies and their raters into a Netflix layout (half stars: CSV)"
    )
    p.add_argument("source", help="data folder, archive or file to sample from, or 'demo'")
    p.add_argument("out", help="a new or empty folder to write (or one recsys wrote before)")
    p.add_argument("--movies", type=int, default=100,
                   help="how many movies to pick at random (default 100)")
    p.add_argument("--min-ratings", type=int, default=2,
                   help="keep users who rated at least this many of them (default 2)")
    p.add_argument("--seed", type=int, default=0, help="the random seed (default 0)")
    p.add_argument("--start", help="keep ratings on or after this date first")
    p.add_argument("--end", help="keep ratings before this date first")
    p.add_argument("--format", default="auto", help="force the source's format")
    p.add_argument("--strict", action="store_true", help="stop at the source's first bad row")
    _generic_arguments(p)
    p.set_defaults(run=cmd_sample)

    p = commands.add_parser("split", help="write train/test CSVs of a split")
    _data_argument(p)
    _split_arguments(p, "temporal")
    p.add_argument("--out", required=True, help="folder for SPLIT-train.csv and SPLIT-test.csv")
    _force_argument(p)
    p.set_defaults(run=cmd_split)

    p = commands.add_parser(
        "download", help="download a public MovieLens release (sha256-checked)",
        description="Download a MovieLens release into DEST/NAME.zip and extract it into "
        "DEST/NAME. An existing DEST/NAME is replaced only when every file in it is the "
        "archive's own; a folder with any other file is refused and left as it is.",
    )  # fmt: skip
    p.add_argument("name", help="ml-latest-small, ml-100k, ml-1m, ml-25m, …")
    p.add_argument("--dest", default="data", help="data folder (default: ./data)")
    p.add_argument("--url", help="a mirror to download from instead")
    p.add_argument("--sha256", metavar="HEX",
                   help="the archive's SHA-256, for a release recsys knows no checksum of (or "
                        "whose checksum went stale); an archive already in DEST that does not "
                        "match it is refused, not deleted")  # fmt: skip
    p.set_defaults(run=cmd_download)

    p = commands.add_parser("train", help="fit a model and save an artifact the service loads")
    _data_argument(p)
    p.add_argument("--model", default="ranker",
                   help="the model (default: ranker, with its rating model for predictions)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a hyperparameter of the model")  # fmt: skip
    p.add_argument("--params", metavar="FILE", help="hyperparameters `recsys tune` wrote")
    p.add_argument("--out", required=True,
                   help="the artifact's folder (an earlier artifact there is replaced)")
    p.add_argument("--no-evaluate", action="store_true",
                   help="skip scoring the model on a 90/10 hold-out for /v1/model")  # fmt: skip
    p.add_argument("--feedback", metavar="DATABASE_URL",
                   help="also train on the ratings stored there (the latest wins): "
                        "sqlite:////PATH/feedback.sqlite3 or postgresql+psycopg://USER@HOST/DB")
    _cluster_argument(p)
    p.set_defaults(run=cmd_train)

    p = commands.add_parser("evaluate", help="fit and score models on a split")
    _data_argument(p, required=False)
    p.add_argument("--train", help="a training ratings file (as `recsys split` writes) ...")
    p.add_argument("--test", help="... and its test file, instead of --split")
    p.add_argument("--repeat", type=int, metavar="N",
                   help="N runs with seeds --seed.. (split and models): mean ± std, paired tests")
    p.add_argument("--report", metavar="FILE.html",
                   help="write one self-contained HTML page with the tables and plots")  # fmt: skip
    _split_arguments(p, "seed1")
    p.add_argument("--model", required=True, help="model names, comma-separated")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a hyperparameter for every model given")  # fmt: skip
    p.add_argument("--json", help="write the results as JSON here")
    p.add_argument("--plots", help="write PNG plots into this folder")
    p.add_argument("--params", metavar="FILE", help="hyperparameters `recsys tune` wrote")
    p.add_argument("--no-ranking", action="store_true", help="skip the ranking metrics")
    p.add_argument("--relevant", type=float, default=4.0,
                   help="ranking: a test rating at least this is relevant (default 4)")
    _force_argument(p)
    _cluster_argument(p)
    p.set_defaults(run=cmd_evaluate)

    p = commands.add_parser("tune", help="search a model's hyperparameters with Optuna")
    _data_argument(p)
    _split_arguments(p, "seed1")
    p.add_argument("--model", required=True, help="the one model to tune")
    p.add_argument("--metric", default="ndcg@10", help="ndcg@10 (maximised) or rmse")
    p.add_argument("--trials", type=int, default=20,
                   help="how many settings to try (default 20)")
    p.add_argument("--out", default="params.json", help="where the best hyperparameters go")
    p.add_argument("--plot", help="a PNG of the search (default: beside --out); .svg and .pdf "
                                  "work too")  # fmt: skip
    _force_argument(p)
    p.set_defaults(run=cmd_tune)

    p = commands.add_parser("serve", help="run the HTTP service")
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    p.add_argument("--port", type=_whole_number(1, 65535), default=8000,
                   help="1 to 65535 (default 8000)")
    p.add_argument("--model", help="a trained artifact folder (RECSYS_MODEL)")
    p.add_argument("--data", help="a data set to train on at start-up (RECSYS_DATA)")
    p.add_argument("--access-log", action="store_true", help="log every request")
    p.set_defaults(run=cmd_serve)
    return parser


# Where each command writes, and whether it names a folder: checked before any work, so that an
# unwritable path fails at once, not after a long fit.
OUTPUTS = {
    "synth": (("out", True),), "sample": (("out", True),), "split": (("out", True),),
    "download": (("dest", True),), "tune": (("out", False), ("plot", False)),
    "evaluate": (("report", False), ("json", False), ("plots", True)),
}  # fmt: skip


# The file names each command writes into its output folders (replaced only with --force).
PLOT_FILES = ("rmse.png", "error_by_activity.png")  # recsys.evaluation.report.write_plots
# What matplotlib (Agg) can save a plot as, for `tune --plot`.
PLOT_FORMATS = (".png", ".svg", ".svgz", ".pdf", ".ps", ".eps", ".jpg", ".jpeg", ".tif", ".tiff",
                ".webp", ".pgf", ".raw", ".rgba")  # fmt: skip


def _tune_plot(args: argparse.Namespace) -> Path:
    """Where `tune` draws its search: --plot, or beside --out as a PNG."""
    return Path(args.plot) if args.plot else Path(args.out).with_suffix(".png")


def _files_written(args: argparse.Namespace, name: str, path: Path) -> list[Path]:
    """The files a command writes for its output ``name``."""
    if args.command == "split":
        splits = [f"kfold-{i}" for i in range(args.folds)] if args.split == "kfold" else \
            [args.split]  # fmt: skip
        return [path / f"{s}-{part}.csv" for s in splits for part in ("train", "test")]
    if args.command == "evaluate" and name == "plots":
        return [path / f for f in PLOT_FILES]
    return [path]


def _check_outputs(args: argparse.Namespace) -> None:
    import tempfile

    outputs = list(OUTPUTS.get(args.command, ()))
    if args.command == "tune" and args.plot is None:
        args.plot = str(_tune_plot(args))
    if args.command == "tune" and _tune_plot(args).suffix.lower() not in PLOT_FORMATS:
        raise ConfigError(f"--plot {args.plot}: give a file ending in "
                          f"{', '.join(PLOT_FORMATS[:3])}, … (matplotlib's formats)")  # fmt: skip
    for name, folder in outputs:
        value = getattr(args, name, None)
        if value is None:
            continue
        path = Path(value)
        if folder and path.exists() and not path.is_dir():
            raise ConfigError(f"{value}: a file is there; give a folder to write into")
        if not folder and path.is_dir():
            raise ConfigError(f"{value}: a folder is there; give a file name")
        if args.command in ("synth", "sample"):
            from recsys.data.destination import check_data_folder

            check_data_folder(path)
        if hasattr(args, "force") and not args.force:
            there = [str(f) for f in _files_written(args, name, path) if f.exists()]
            if there:
                raise ConfigError(f"{', '.join(there)}: already there; pass --force to "
                                  "replace it")  # fmt: skip
        existing = (path if folder else path.parent).absolute()
        while not existing.exists():
            existing = existing.parent
        try:
            with tempfile.TemporaryFile(dir=existing):  # what writing there will need
                pass
        except OSError as error:
            raise ConfigError(f"{value}: cannot write in {existing} ({error.strerror})") from None


# Options that name a file, folder, URL or value: an empty one is refused, never read as "not
# given" or as the current folder. (Model names are checked by `_model_names`.)
NON_EMPTY = {
    "data": "--data", "out": "--out", "source": "SOURCE", "dest": "--dest", "url": "--url",
    "sha256": "--sha256", "train": "--train", "test": "--test", "json": "--json",
    "plots": "--plots", "report": "--report", "params": "--params", "plot": "--plot",
    "feedback": "--feedback", "columns": "--columns", "scale": "--scale", "start": "--start",
    "end": "--end", "cutoff": "--cutoff", "cluster": "--cluster", "host": "--host",
}  # fmt: skip


def _check_not_empty(args: argparse.Namespace) -> None:
    names = {**NON_EMPTY, "out": "OUT" if args.command in ("synth", "sample") else "--out"}
    if args.command == "serve":
        names["model"] = "--model"
    for name, flag in names.items():
        value = getattr(args, name, None)
        if isinstance(value, str) and not value.strip():
            raise ConfigError(f"{flag} {value!r}: empty; give a value (an empty path is not "
                              "read as the current folder)")  # fmt: skip


def _check_synth_options(args: argparse.Namespace) -> None:
    """--netflix sets the size and layout; --fraction is its only size. Then the defaults."""
    if args.netflix:
        given = [flag for flag, value in (("--format", args.format), ("--ratings", args.ratings),
                                          ("--users", args.users), ("--movies", args.movies))
                 if value is not None]  # fmt: skip
        if given:
            raise ConfigError(f"{', '.join(given)}: --netflix sets the size and layout itself "
                              "(scale it with --fraction)")  # fmt: skip
    elif args.fraction is not None:
        raise ConfigError("--fraction: only with --netflix (give --ratings otherwise)")
    args.ratings = 100_000 if args.ratings is None else args.ratings
    args.format = args.format or "netflix"
    args.fraction = 1.0 if args.fraction is None else args.fraction


def _check_evaluate_options(args: argparse.Namespace) -> None:
    if args.repeat is not None and args.repeat < 1:
        raise ConfigError(f"--repeat must be >= 1, got {args.repeat}")
    if args.repeat is not None and args.train is not None:
        raise ConfigError("--repeat: each run draws its own split, so not with --train and "
                          "--test; give --data and --split")  # fmt: skip
    if not math.isfinite(args.relevant):
        raise ConfigError(f"--relevant {args.relevant}: give a rating of the data's scale")


def _precheck(args: argparse.Namespace) -> None:
    """The checks that need no import: model names, a generic table's options, that the files
    named are there and that the outputs can be written."""
    _check_not_empty(args)
    if args.command in ("train", "tune") and "," in args.model:
        raise ConfigError(f"--model {args.model!r}: {args.command} takes one model")
    if args.command in ("train", "evaluate"):
        _given_params(args)
    if args.command == "evaluate":
        _check_sources(args)
        _check_evaluate_options(args)
    if args.command == "tune" and args.trials < 1:
        raise ConfigError(f"--trials must be >= 1, got {args.trials}")
    if args.command == "synth":
        _check_synth_options(args)
    _check_split_options(args)
    if hasattr(args, "columns"):
        _generic_table(args)
    _check_outputs(args)
    if getattr(args, "cutoff", None) is not None:
        import datetime

        try:
            datetime.date.fromisoformat(args.cutoff)
        except ValueError:
            raise ConfigError(f"--cutoff {args.cutoff!r}: give a day as YYYY-MM-DD") from None
    if getattr(args, "cluster", None) is not None:
        from recsys.distributed import check_address  # imports nothing

        check_address(args.cluster)
    data = getattr(args, "data", None)
    if args.command != "serve" and data not in (None, "demo") and not Path(data).exists():
        raise DataError(data, "no such file or folder")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO, format="recsys: %(message)s"
    )
    try:
        _precheck(args)  # before tqdm and the rest are imported: mistakes come back at once
        from tqdm.contrib.logging import logging_redirect_tqdm

        from recsys.progress import reporting

        bars = _ProgressBars()
        listening = contextlib.nullcontext() if args.quiet else reporting(bars)
        with logging_redirect_tqdm(), listening, _on_cluster(args):  # log lines above bars
            try:
                args.run(args)
            finally:
                bars.close()  # so an error line below never lands on a bar
        if args.command in ("train", "evaluate") and not args.quiet:
            print(f"peak memory {_peak_memory_gib():.2f} GiB", file=sys.stderr)
    except RecsysError as error:
        if args.debug:
            raise
        print(f"recsys: error: {error}", file=sys.stderr)
        return 2
    except (OSError, ValueError, MemoryError) as error:  # a file, a value: one line
        if args.debug:
            raise
        print(f"recsys: error: {type(error).__name__}: {error} (--debug shows where)",
              file=sys.stderr)  # fmt: skip
        return 1
    except KeyboardInterrupt:
        print("recsys: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
