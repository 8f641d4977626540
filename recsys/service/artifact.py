"""The artifact the service loads: a trained model plus everything a request needs, precomputed.

A folder holds

* ``model.json`` + ``arrays.npz`` — the model itself (`recsys.models.persistence`), so
  `load_model(folder)` works on an artifact too;
* ``serving.npz`` — plain arrays, read with ``allow_pickle=False``: the id vocabularies, the
  training history as CSR by user and by movie, popularity and the catalogue;
* ``artifact.json`` — format, model name and hyperparameters, the rating model behind
  predicted ratings, training-data fingerprint, trained_at and evaluation metrics. Written
  last: a folder without it is incomplete.

Lists, predicted ratings, similar movies and fold-ins all come from the model, whatever it
is, through the model contract; loading reads the model as data, never as code.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import recsys
from recsys.errors import ArtifactError, ConfigError

if TYPE_CHECKING:
    from recsys.data.dataset import Dataset
    from recsys.models.base import Recommender

log = logging.getLogger(__name__)

FORMAT = "recsys-artifact"
FORMAT_VERSION = 3  # 3: everything scored by the model (2 held a copy of MF's vectors)
READABLE_VERSIONS = (2, 3)  # 2 holds every array 3 reads, and more
META_FILE = "artifact.json"
ARRAYS_FILE = "serving.npz"
# The arrays of serving.npz.
REQUIRED = (
    "user_ids", "item_ids", "history_indptr", "history_items", "history_ratings",
    "history_timestamps", "raters_indptr", "raters_users", "raters_ratings", "item_rating_count",
    "item_rating_mean", "movie_ids", "movie_titles", "movie_has_title", "movie_years",
    "movie_genre_indptr", "movie_genre_codes", "genre_names", "item_movie",
)  # fmt: skip


def check_destination(folder: str | Path) -> Path:
    """``folder``, resolved, once it is known that an artifact may be written there: it is
    absent, empty or an artifact and nothing else (which is then replaced whole), never a
    folder with other files or the current one, and its parent is writable. Checked before any
    training, so a typo such as ``--out .`` costs nothing and deletes nothing."""
    folder = Path(folder).resolve()
    if folder.exists():
        if not folder.is_dir():
            raise ConfigError(f"{folder} is a file: an artifact is a folder")
        others = [] if not any(folder.iterdir()) else _not_artifact(folder, top=True)
        if folder == Path.cwd().resolve() or others:
            named = f" ({', '.join(others[:3])}{', ...' if len(others) > 3 else ''})"
            raise ConfigError(f"{folder} holds what is not a recsys artifact"
                              f"{named if others else ''}: name a new or empty folder, or one "
                              "that holds an artifact and nothing else")  # fmt: skip
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        os.rmdir(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    except OSError as error:
        raise ConfigError(f"cannot write an artifact in {folder.parent}: {error}") from error
    return folder


def _not_artifact(folder: Path, top: bool = False) -> list[str]:
    """What in ``folder`` an artifact would not have written (everything, when it holds no
    artifact.json): its files, model.json and arrays.npz, and a folder of the same a
    sub-model (named attribute.model)."""
    if top and not (folder / META_FILE).is_file():
        return [entry.name for entry in folder.iterdir()]
    own = {"model.json", "arrays.npz"} | ({META_FILE, ARRAYS_FILE} if top else set())
    others = []
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink() and "_." in entry.name:
            others += [f"{entry.name}/{name}" for name in _not_artifact(entry)]
        elif entry.name not in own or not entry.is_file():
            others.append(entry.name)
    return others


def publish_artifact(
    model: Recommender,
    dataset: Dataset,
    folder: str | Path,
    metrics: dict | None = None,
    extra_meta: dict | None = None,
) -> Path:
    """`save_artifact` to a folder beside ``folder`` (`check_destination`), then renamed to
    it, so that a reader never sees half an artifact. Where another process published one
    there meanwhile, that one stays."""
    folder = check_destination(folder)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        save_artifact(model, dataset, staging, metrics, extra_meta)
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)
    except OSError:
        if not (folder / META_FILE).is_file():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def save_artifact(
    model: Recommender,
    dataset: Dataset,
    folder: str | Path,
    metrics: dict | None = None,
    extra_meta: dict | None = None,
) -> Path:
    """Write a fitted model and the serving arrays built from ``dataset`` (the data it was
    trained on) to ``folder``; ``metrics`` (e.g. a hold-out evaluation) go into the metadata,
    and so do the keys of ``extra_meta`` (e.g. ``feedback``, the stored ratings learnt)."""
    model.check_fitted()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / META_FILE).unlink(missing_ok=True)  # incomplete until rewritten below
    model.save(folder)
    arrays = _serving_arrays(model, dataset)
    tmp = folder / f"{ARRAYS_FILE}.{os.getpid()}.tmp"
    with open(tmp, "wb") as out:
        np.savez(out, **arrays)
    tmp.replace(folder / ARRAYS_FILE)
    described = dataset.describe()
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "recsys_version": recsys.__version__,
        "model": model.name,
        "params": model.get_params(),
        "rating_model": rating_model(model).name,
        "trained_at": getattr(model, "trained_at_", None),
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "scale": model.scale_.to_dict(),
        "data": {
            "name": Path(str(dataset.name)).name,  # what it was, not where it lies
            "fingerprint": dataset.fingerprint,
            "ratings": described["ratings"],
            "users": described["users"],
            "movies_rated": described["movies_rated"],
            "movies_in_catalogue": described["movies_in_catalogue"],
            "first_rating": described["first_rating"],
            "last_rating": described["last_rating"],
        },
        "metrics": _plain_json(metrics or {}),
    }
    clash = sorted(set(extra_meta or {}) & set(meta))
    if clash:
        raise ValueError(f"extra_meta may not replace {', '.join(clash)}")
    meta |= _plain_json(extra_meta or {})
    (folder / META_FILE).write_text(json.dumps(meta, indent=1, default=_json_default) + "\n")
    log.info("saved %s artifact to %s", model.name, folder)
    return folder


def load_artifact_arrays(folder: str | Path) -> tuple[dict, dict[str, np.ndarray]]:
    """The metadata and serving arrays of an artifact; anything wrong raises ArtifactError."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ArtifactError(f"{folder}: no such artifact folder")
    meta_file = folder / META_FILE
    if not meta_file.is_file():
        raise ArtifactError(
            f"{folder}: not a complete recsys artifact (no {META_FILE}); "
            "write one with `recsys train --out FOLDER`"
        )
    try:
        meta = json.loads(meta_file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArtifactError(f"{meta_file}: unreadable ({error})") from error
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ArtifactError(f"{meta_file}: not a recsys artifact file")
    if meta.get("format_version") not in READABLE_VERSIONS:
        raise ArtifactError(
            f"{folder}: artifact format {meta.get('format_version')} written by recsys "
            f"{meta.get('recsys_version')}; this recsys {recsys.__version__} reads formats "
            f"{', '.join(map(str, READABLE_VERSIONS))} — retrain with `recsys train`"
        )
    _check_meta(meta_file, meta)
    check_npz_sizes(folder / ARRAYS_FILE)
    try:
        with np.load(folder / ARRAYS_FILE, allow_pickle=False) as stored:
            missing = [name for name in REQUIRED if name not in stored.files]
            if missing:
                raise ArtifactError(f"{folder / ARRAYS_FILE}: missing arrays {', '.join(missing)}")
            arrays = {name: stored[name] for name in stored.files}
    except ArtifactError:
        raise
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as error:
        raise ArtifactError(f"{folder / ARRAYS_FILE}: corrupt or unreadable ({error})") from error
    _check_shapes(folder, arrays)
    _check_values(folder / ARRAYS_FILE, arrays)
    return meta, arrays


def check_model_fits(folder: str | Path, model: Recommender, arrays: dict[str, np.ndarray]) -> None:
    """The model in the folder is the one the serving arrays were built for: the same user and
    movie ids in the same order (a model file copied from another training is refused here,
    not answered with an error at its first request)."""
    for name, vocabulary in (("user_ids", model.users_), ("item_ids", model.items_)):
        if not np.array_equal(_plain_ids(vocabulary.ids), arrays[name]):
            raise ArtifactError(
                f"{folder}: the model's {name.removesuffix('_ids')} ids differ from "
                f"{ARRAYS_FILE}'s {name}: the model and its serving arrays come from different "
                "trainings"
            )


def _check_meta(meta_file: Path, meta: dict) -> None:
    """The fields the service reads have the types it reads them as (a hand-edited file is
    refused here, not answered with errors once it serves)."""
    scale = meta.get("scale")
    ok = isinstance(scale, dict) and all(_is_number(scale.get(k)) for k in ("low", "high"))
    if not ok or scale["low"] >= scale["high"]:
        raise ArtifactError(f"{meta_file}: 'scale' must give numeric low < high, got {scale!r}")
    step = scale.get("step")
    if step is not None and not (_is_number(step) and step > 0):
        raise ArtifactError(f"{meta_file}: the scale's 'step' must be a number > 0 or null, "
                            f"got {step!r}")  # fmt: skip
    wrong = [f"'{name}' must be {kind.__name__ if kind is not dict else 'an object'}"
             for name, kind in (("model", str), ("params", dict), ("data", dict),
                                ("metrics", dict))
             if not isinstance(meta.get(name, kind()), kind)]  # fmt: skip
    wrong += [f"'{name}' must be text or null" for name in ("rating_model", "trained_at",
                                                           "recsys_version")
              if not isinstance(meta.get(name), str | None)]  # fmt: skip
    feedback = meta.get("feedback")
    seq = feedback.get("seq", 0) if isinstance(feedback, dict) else None
    if feedback is not None and not (isinstance(seq, int) and not isinstance(seq, bool)
                                     and seq >= 0):  # fmt: skip
        wrong.append("'feedback' must be null or an object whose 'seq' is an integer >= 0")
    if wrong:
        raise ArtifactError(f"{meta_file}: {'; '.join(wrong)}")


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value)


def check_npz_sizes(path: Path) -> None:
    """Every member of an .npz holds as many bytes as its header claims (a header that claims
    2^40 rows is refused before anything is allocated)."""
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                with archive.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(member)
                    else:
                        shape, _, dtype = np.lib.format.read_array_header_2_0(member)
                    claimed = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
                    if claimed > info.file_size:
                        raise ArtifactError(f"{path}: {info.filename} claims {shape} of {dtype}, "
                                            f"more than its {info.file_size:,} bytes")  # fmt: skip
    except ArtifactError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise ArtifactError(f"{path}: corrupt or unreadable ({error})") from error


def _check_values(path: Path, a: dict[str, np.ndarray]) -> None:
    """Ranges and finiteness: catalogue codes inside their tables, numbers finite."""
    wrong = []
    n_movies, n_genres = len(a["movie_ids"]), len(a["genre_names"])
    for name, size in (("item_movie", n_movies), ("movie_genre_codes", n_genres)):
        values = a[name]
        if values.ndim != 1 or (len(values) and not (0 <= values.min() <= values.max() < size)):
            wrong.append(f"{name} points outside its table of {size}")
    indptr = a["movie_genre_indptr"]
    if indptr[0] != 0 or indptr[-1] != len(a["movie_genre_codes"]) or (np.diff(indptr) < 0).any():
        wrong.append("movie_genre_indptr does not index movie_genre_codes")
    for name in ("history_ratings", "raters_ratings", "item_rating_mean"):
        if a[name].dtype.kind != "f" or not np.isfinite(a[name]).all():
            wrong.append(f"{name} is not all finite numbers")
    if wrong:
        raise ArtifactError(f"{path}: {'; '.join(wrong)}")


def _check_shapes(folder: Path, a: dict[str, np.ndarray]) -> None:
    n_users, n_items, n_movies = len(a["user_ids"]), len(a["item_ids"]), len(a["movie_ids"])
    expected = {
        "history_indptr": n_users + 1, "raters_indptr": n_items + 1,
        "item_rating_count": n_items, "item_rating_mean": n_items, "item_movie": n_items,
        "movie_titles": n_movies, "movie_has_title": n_movies, "movie_years": n_movies,
        "movie_genre_indptr": n_movies + 1,
    }  # fmt: skip
    wrong = [f"{k} has {len(a[k])} rows, expected {n}" for k, n in expected.items()
             if len(a[k]) != n]  # fmt: skip
    if not wrong:
        bounds = (
            ("history_items", a["history_indptr"], n_items),
            ("raters_users", a["raters_indptr"], n_users),
        )
        for name, indptr, size in bounds:
            values = a[name]
            in_range = len(values) == 0 or 0 <= values.min() <= values.max() < size
            if indptr[-1] != len(values) or not in_range:
                wrong.append(f"{name} does not match its index")
    if wrong:
        raise ArtifactError(f"{folder / ARRAYS_FILE}: inconsistent arrays: {'; '.join(wrong)}")


# -- building the serving arrays ------------------------------------------------------------
def _serving_arrays(model: Recommender, dataset: Dataset) -> dict[str, np.ndarray]:
    from recsys.data.schema import ITEM, RATING, TIMESTAMP, USER

    users, items = model.users_, model.items_
    n_users, n_items = len(users), len(items)
    r = dataset.ratings
    u = users.index(r[USER].to_numpy()).astype(np.int64)
    i = items.index(r[ITEM].to_numpy()).astype(np.int64)
    keep = (u >= 0) & (i >= 0)
    u, i = u[keep], i[keep]
    rating = r[RATING].to_numpy(np.float32)[keep]
    stamp = r[TIMESTAMP].to_numpy(np.int64)[keep]
    by_user = np.lexsort((i, u))
    by_item = np.lexsort((u, i))
    count = np.bincount(i, minlength=n_items)
    total = np.bincount(i, weights=rating, minlength=n_items)
    arrays = {
        "user_ids": _plain_ids(users.ids),
        "item_ids": _plain_ids(items.ids),
        "history_indptr": _indptr(u, n_users),
        "history_items": i[by_user].astype(np.int32),
        "history_ratings": rating[by_user],
        "history_timestamps": stamp[by_user],
        "raters_indptr": _indptr(i, n_items),
        "raters_users": u[by_item].astype(np.int32),
        "raters_ratings": rating[by_item],
        "item_rating_count": count.astype(np.int64),
        "item_rating_mean": np.divide(total, count, out=np.zeros(n_items), where=count > 0),
    }
    arrays |= _catalogue_arrays(dataset.movies, arrays["item_ids"])
    return arrays


def rating_model(model: Recommender) -> Recommender:
    """The model that answers predicted ratings: a ranker's rating model, else the model."""
    return getattr(model, "rater_", model)


def _catalogue_arrays(movies, item_ids: np.ndarray) -> dict[str, np.ndarray]:
    """The movies table (catalogue plus any rated movie missing from it), sorted by id."""
    from recsys.data.schema import ITEM

    ids = _plain_ids(movies[ITEM].to_numpy())
    titles = movies["title"].to_numpy(dtype=object)
    years = movies["year"].to_numpy(dtype=np.float64, na_value=np.nan)
    genres = list(movies["genres"])
    if len(ids) and len(item_ids) and ids.dtype.kind != item_ids.dtype.kind:
        ids = ids.astype(item_ids.dtype) if item_ids.dtype.kind == "U" else ids
    extra = np.setdiff1d(item_ids, ids) if len(ids) else item_ids
    if len(extra):
        ids = np.concatenate([ids, extra])
        titles = np.concatenate([titles, np.full(len(extra), None, dtype=object)])
        years = np.concatenate([years, np.full(len(extra), np.nan)])
        genres = genres + [[] for _ in range(len(extra))]
    order = np.argsort(ids, kind="stable")
    ids, titles, years = ids[order], titles[order], years[order]
    genres = [list(genres[k]) if isinstance(genres[k], list | tuple | np.ndarray) else []
              for k in order]  # fmt: skip
    names = sorted({g for gs in genres for g in gs})
    code = {g: c for c, g in enumerate(names)}
    lengths = np.fromiter((len(gs) for gs in genres), np.int64, len(genres))
    has_title = np.fromiter((isinstance(t, str) for t in titles), bool, len(titles))
    position = np.searchsorted(ids, item_ids) if len(ids) else np.zeros(0, np.int64)
    return {
        "movie_ids": ids,
        "movie_titles": np.asarray([t if isinstance(t, str) else "" for t in titles], np.str_),
        "movie_has_title": has_title,
        "movie_years": np.where(np.isnan(years), -1, years).astype(np.int32),
        "movie_genre_indptr": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        "movie_genre_codes": np.fromiter((code[g] for gs in genres for g in gs), np.int32),
        "genre_names": np.asarray(names, np.str_),
        "item_movie": position.astype(np.int64),
    }


def _indptr(rows: np.ndarray, n_rows: int) -> np.ndarray:
    indptr = np.zeros(n_rows + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return indptr


def _plain_ids(ids: np.ndarray) -> np.ndarray:
    """Integer ids as int64, anything else as fixed-width unicode (no pickles)."""
    ids = np.asarray(ids)
    return ids.astype(np.int64) if ids.dtype.kind in "iu" else ids.astype(np.str_)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in {META_FILE}")


def _plain_json(value):
    """Metrics as plain JSON values (NaN and infinities become None)."""
    if isinstance(value, dict):
        return {str(k): _plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_json(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
